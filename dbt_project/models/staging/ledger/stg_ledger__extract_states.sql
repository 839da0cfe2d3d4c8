with

source as (

    select * from {{ source('ledger', 'extract_state') }}

),

renamed as (

    select
        source as source_id,
        high_water_event_id,
        is_state_consistent,
        events_extracted_last_run,
        extracted_at,

    from source

)

select * from renamed
