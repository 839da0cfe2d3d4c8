with

source as (

    select * from {{ source('ledger', 'ledger_transfer_request_line') }}

),

renamed as (

    select
        transfer_id,
        line_no,
        variant_id as variant_key,
        lot_id as lot_key,
        owner_id as owner_key,
        requested_qty,
        approved_qty,
        shipped_qty,
        short_shipped_qty,
        short_ship_reason as short_ship_reason_code,

    from source

)

select * from renamed
