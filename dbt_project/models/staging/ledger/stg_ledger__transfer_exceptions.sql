with

source as (

    select * from {{ source('ledger', 'ledger_transfer_exception') }}

),

renamed as (

    select
        exception_id,
        receipt_id as transfer_receipt_id,
        shipment_id,
        shipment_line_no,
        exception_type,
        qty as exception_qty,
        value as exception_value_amount,
        reason_code,
        facility_id as misrouted_to_facility_key,
        comment,
        recorded_by,
        recorded_at,

    from source

)

select * from renamed
