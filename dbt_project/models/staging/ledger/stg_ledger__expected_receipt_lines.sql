with

source as (

    select * from {{ source('ledger', 'ledger_expected_receipt_line') }}

),

renamed as (

    select
        receipt_id,
        line_no,
        variant_id as variant_key,
        expected_qty,
        lot_number,
        lot_expires_on as lot_expires_on_date,
        unit_cost as unit_cost_amount,
        currency as currency_code,

    from source

)

select * from renamed
