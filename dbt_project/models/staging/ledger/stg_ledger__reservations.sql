with

source as (

    select * from {{ source('ledger', 'ledger_reservation') }}

),

renamed as (

    select
        reservation_id,
        facility_id as facility_key,
        variant_id as variant_key,
        channel as channel_id,
        ref_type as order_document_type,
        ref_id as order_document_id,
        ref_line as order_line,
        status as reservation_status,
        requested_qty,
        held_qty,
        released_qty,
        backordered_qty,
        consumed_qty,
        is_overcommitted,
        expires_at,
        requested_expires_at,
        close_reason as close_reason_code,
        actor,
        role as actor_role,
        created_at as reserved_at,
        updated_at,

    from source

)

select * from renamed
