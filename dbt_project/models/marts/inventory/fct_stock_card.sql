{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        replace_partition_by=['facility_id', 'variant_id'],
        replace_from='occurred_at',
        on_schema_change='fail',
    )
}}

-- The stock card: every event with the running quantity and value of its position and of its
-- facility + SKU, in business-time order (occurred_at, then event_id), as the ledger's card.
-- An incremental run recomputes, for each facility + SKU with new events, only the rows from
-- the earliest new occurred_at on, starting from the running balances just before it.

with

events as (

    select * from {{ ref('int_stock_events_enriched') }}

),

{% if is_incremental() %}

previous as (

    select * from {{ this }}

),

new_scope as (

    select
        facility_id,
        variant_id,
        min(occurred_at) as replace_from_at,
    from events
    where event_id > (select coalesce(max(event_id), 0) from previous)
    group by all

),

scoped_events as (

    select events.*
    from events
    inner join new_scope
        on new_scope.facility_id = events.facility_id
        and new_scope.variant_id = events.variant_id
    where events.occurred_at >= new_scope.replace_from_at

),

kept_rows as (

    select previous.*
    from previous
    inner join new_scope
        on new_scope.facility_id = previous.facility_id
        and new_scope.variant_id = previous.variant_id
    where previous.occurred_at < new_scope.replace_from_at

),

position_openings as (

    select
        position_id,
        max(position_sequence) as opening_sequence,
        max_by(running_qty, position_sequence) as opening_qty,
        max_by(running_value_amount, position_sequence) as opening_value_amount,
    from kept_rows
    group by all

),

facility_openings as (

    select
        facility_id,
        variant_id,
        max(facility_sequence) as opening_sequence,
        max_by(facility_running_qty, facility_sequence) as opening_qty,
        max_by(facility_running_value_amount, facility_sequence) as opening_value_amount,
    from kept_rows
    group by all

),

{% else %}

scoped_events as (

    select * from events

),

position_openings as (

    select
        cast(null as bigint) as position_id,
        cast(0 as bigint) as opening_sequence,
        cast(0 as decimal(18, 6)) as opening_qty,
        cast(0 as decimal(18, 6)) as opening_value_amount,
    where false

),

facility_openings as (

    select
        cast(null as varchar) as facility_id,
        cast(null as varchar) as variant_id,
        cast(0 as bigint) as opening_sequence,
        cast(0 as decimal(18, 6)) as opening_qty,
        cast(0 as decimal(18, 6)) as opening_value_amount,
    where false

),

{% endif %}

running as (

    select
        scoped_events.*,
        coalesce(position_openings.opening_sequence, 0) + row_number() over position_order
            as position_sequence,
        coalesce(facility_openings.opening_sequence, 0) + row_number() over facility_order
            as facility_sequence,
        coalesce(position_openings.opening_qty, 0)
            + sum(scoped_events.movement_qty) over position_order as running_qty,
        coalesce(position_openings.opening_value_amount, 0)
            + sum(scoped_events.cost_delta_amount) over position_order as running_value_amount,
        coalesce(facility_openings.opening_qty, 0)
            + sum(scoped_events.movement_qty) over facility_order as facility_running_qty,
        coalesce(facility_openings.opening_value_amount, 0)
            + sum(scoped_events.cost_delta_amount) over facility_order
            as facility_running_value_amount,
    from scoped_events
    left join position_openings
        on position_openings.position_id = scoped_events.position_id
    left join facility_openings
        on facility_openings.facility_id = scoped_events.facility_id
        and facility_openings.variant_id = scoped_events.variant_id
    window
        position_order as (
            partition by scoped_events.position_id
            order by scoped_events.occurred_at, scoped_events.event_id
            rows between unbounded preceding and current row
        ),
        facility_order as (
            partition by scoped_events.facility_id, scoped_events.variant_id
            order by scoped_events.occurred_at, scoped_events.event_id
            rows between unbounded preceding and current row
        )

),

final as (

    select
        event_id,
        position_id,
        cast(position_sequence as bigint) as position_sequence,
        cast(facility_sequence as bigint) as facility_sequence,
        facility_id,
        bin_id,
        bin_code,
        variant_id,
        item_id,
        lot_id,
        lot_number,
        bucket,
        owner_id,
        is_owned,
        event_kind,
        reversed_event_kind,
        period_category,
        reason_code,
        channel_id,
        movement_qty,
        unit_cost_amount,
        cost_delta_amount,
        cast(running_qty as decimal(18, 6)) as running_qty,
        cast(running_value_amount as decimal(18, 6)) as running_value_amount,
        cast(facility_running_qty as decimal(18, 6)) as facility_running_qty,
        cast(facility_running_value_amount as decimal(18, 6)) as facility_running_value_amount,
        posted_after_qty,
        avg_cost_after_amount,
        currency_code,
        occurred_at,
        occurred_date,
        posted_at,
        period_id,
        reverses_event_id,
        idempotency_key,
        actor,
        actor_role,
        comment,
        cost_centre,
        source_document_type,
        source_document_id,
        source_line,
    from running

)

select * from final
