with

source as (

    select * from {{ source('ledger', 'ledger_count_session') }}

),

renamed as (

    select
        session_id,
        idempotency_key,
        facility_id as facility_key,
        bins as location_key_list,
        skus as variant_key_list,
        status as session_status,
        comment,
        started_at,
        started_by,
        finalised_at,
        finalised_by,
        final_comment,
        reason_code,

    from source

)

select * from renamed
