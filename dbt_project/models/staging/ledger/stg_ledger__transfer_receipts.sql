with

source as (

    select * from {{ source('ledger', 'ledger_transfer_receipt') }}

),

renamed as (

    select
        receipt_id as transfer_receipt_id,
        shipment_id,
        transfer_id,
        facility_id as facility_key,
        received_by,
        received_role,
        occurred_at as received_at,
        posted_at,
        comment,

    from source

)

select * from renamed
