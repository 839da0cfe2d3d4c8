with

source as (

    select * from {{ source('ledger', 'ledger_count_entry') }}

),

renamed as (

    select
        session_id,
        line_no,
        attempt as attempt_no,
        counted_qty,
        system_qty,
        within_tolerance as is_within_tolerance,
        counter,
        role as counter_role,
        idempotency_key,
        comment,
        recorded_at as counted_at,

    from source

)

select * from renamed
