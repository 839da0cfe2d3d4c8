with

source as (

    select * from {{ source('ledger', 'ledger_balances') }}

),

renamed as (

    select
        position_id,
        facility as facility_id,
        facility || '/' || bin as bin_id,
        bin as bin_code,
        sku as variant_id,
        case when lot is not null then sku || '/' || lot end as lot_id,
        lot as lot_number,
        bucket,
        owner as owner_id,
        qty as on_hand_qty,
        value as value_amount,

    from source

)

select * from renamed
