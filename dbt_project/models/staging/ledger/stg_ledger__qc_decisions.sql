with

source as (

    select * from {{ source('ledger', 'ledger_qc_decision') }}

),

renamed as (

    select
        decision_id,
        idempotency_key,
        facility_id as facility_key,
        receipt_id,
        variant_id as variant_key,
        location_id as location_key,
        lot_id as lot_key,
        owner_id as owner_key,
        from_bucket,
        to_bucket,
        qty as decided_qty,
        reason_code,
        comment,
        out_event_id,
        in_event_id,
        actor,
        role as actor_role,
        occurred_at as decided_at,
        decided_at as posted_at,

    from source

)

select * from renamed
