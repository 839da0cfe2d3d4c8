with

source as (

    select * from {{ source('ledger', 'ledger_expected_receipt') }}

),

renamed as (

    select
        receipt_id,
        facility_id as facility_key,
        reference as receipt_reference,
        document_type,
        vendor_id as vendor_key,
        expected_at,
        qc_required as is_qc_required,
        over_tolerance_pct,
        status as receipt_status,
        comment,
        created_at as registered_at,
        created_by as registered_by,
        closed_at,
        closed_by,
        close_reason as close_reason_code,
        close_comment,

    from source

)

select * from renamed
