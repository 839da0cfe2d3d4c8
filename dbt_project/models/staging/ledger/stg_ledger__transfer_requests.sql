with

source as (

    select * from {{ source('ledger', 'ledger_transfer_request') }}

),

renamed as (

    select
        transfer_id,
        org_id as org_key,
        source_facility_id as source_facility_key,
        destination_facility_id as destination_facility_key,
        in_transit_facility_id as in_transit_facility_key,
        status as transfer_status,
        suggestion_id,
        comment,
        requested_by,
        requested_role,
        requested_at,
        submitted_at,
        request_value as request_value_amount,
        approval_required as is_approval_required,
        approval_triggers,
        approved_by,
        approved_role,
        approved_at,
        approval_reason,
        cancelled_by,
        cancelled_at,
        cancel_reason,
        shipping_closed as is_shipping_closed,
        updated_at,

    from source

)

select * from renamed
