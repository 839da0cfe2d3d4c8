with

source as (

    select * from {{ source('ledger', 'ledger_count_line') }}

),

renamed as (

    select
        session_id,
        line_no,
        variant_id as variant_key,
        location_id as location_key,
        lot_key,
        bucket,
        owner_id as owner_key,
        in_snapshot as is_in_snapshot,
        snapshot_qty,
        status as line_status,
        variance_qty,
        variance_event_id,

    from source

)

select * from renamed
