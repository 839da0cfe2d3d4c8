with

source as (

    select * from {{ source('ledger', 'ledger_goods_receipt_line') }}

),

renamed as (

    select
        goods_receipt_id,
        entry_no,
        receipt_id,
        line_no,
        qty as received_qty,
        location_id as location_key,
        bucket,
        lot_id as lot_key,
        event_id,

    from source

)

select * from renamed
