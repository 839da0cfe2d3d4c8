with

source as (

    select * from {{ source('ledger', 'ledger_events') }}

),

renamed as (

    select
        event_id,
        idempotency_key,
        org as org_id,
        facility as facility_id,
        facility || '/' || bin as bin_id,
        bin as bin_code,
        sku as variant_id,
        case when lot is not null then sku || '/' || lot end as lot_id,
        lot as lot_number,
        bucket,
        owner as owner_id,
        position_id,
        kind as event_kind,
        qty as movement_qty,
        qty_after as posted_after_qty,
        unit_cost as unit_cost_amount,
        cost_delta as cost_delta_amount,
        avg_cost_after as avg_cost_after_amount,
        currency as currency_code,
        reason_code,
        actor,
        role as actor_role,
        comment,
        channel as channel_id,
        cost_centre,
        source_document_type,
        source_document_id,
        source_line,
        occurred_at,
        posted_at,
        reverses_event_id,
        period as period_id,

    from source

)

select * from renamed
