with

source as (

    select * from {{ source('ledger', 'ledger_reservation_history') }}

),

renamed as (

    select
        history_id as transition_id,
        reservation_id,
        action as transition_action,
        from_status,
        to_status,
        qty as transition_qty,
        held_after as held_after_qty,
        reason_code,
        expires_at,
        event_ids as event_id_list,
        operation_key as idempotency_key,
        actor,
        role as actor_role,
        comment,
        "at" as occurred_at,
        posted_at,

    from source

)

select * from renamed
