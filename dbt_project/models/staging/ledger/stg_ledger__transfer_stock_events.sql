with

source as (

    select * from {{ source('ledger', 'ledger_transfer_stock_event') }}

),

renamed as (

    select
        event_id,
        transfer_id,
        shipment_id,
        shipment_line_no,
        receipt_id as transfer_receipt_id,
        exception_id,
        leg as transfer_leg,

    from source

)

select * from renamed
