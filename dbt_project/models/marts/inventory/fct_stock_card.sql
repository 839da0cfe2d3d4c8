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
-- Descriptive attributes live in the dimensions (dim_positions for bin, lot, bucket and owner;
-- dim_variants for the item) and the audit fields (actor, role, comment, source document,
-- idempotency key, posting time) on stg_ledger__events by event_id: the fact stays narrow
-- enough to sort ten million rows twice.
-- An incremental run recomputes, for each facility + SKU with new events, only the rows from
-- the earliest new occurred_at on, starting from the running balances just before it; the
-- older rows it recomputes are read back from the card itself, not from the events.

{%- set event_columns = [
    'event_id', 'position_id', 'facility_id', 'variant_id', 'bin_id', 'lot_id', 'bucket',
    'owner_id', 'is_owned', 'event_kind', 'reversed_event_kind', 'reason_code', 'channel_id',
    'movement_qty', 'unit_cost_amount', 'cost_delta_amount', 'currency_code', 'occurred_at',
    'occurred_date', 'period_id', 'reverses_event_id',
] %}

with

events as (

    select * from {{ ref('int_stock_events_enriched') }}

),

{% if is_incremental() %}

previous as (

    select * from {{ this }}

),

new_events as (

    select {{ event_columns | join(', ') }}
    from events
    where event_id > {{ high_water_mark('event_id') }}

),

new_scope as (

    select
        facility_id,
        variant_id,
        min(occurred_at) as replace_from_at,
    from new_events
    group by all

),

scoped_events as (

    select * from new_events

    union all

    select {% for column in event_columns %}previous.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from previous
    inner join new_scope
        on new_scope.facility_id = previous.facility_id
        and new_scope.variant_id = previous.variant_id
    where previous.occurred_at >= new_scope.replace_from_at

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
        any_value(facility_id) as facility_id,
        any_value(variant_id) as variant_id,
        any_value(bucket) as bucket,
        any_value(is_owned) as is_owned,
        max(position_sequence) as opening_sequence,
        max_by(running_qty, position_sequence) as opening_qty,
        max_by(running_value_amount, position_sequence) as opening_value_amount,
    from kept_rows
    group by position_id

),

-- Every kept row of a facility + SKU is earlier than its cut, so its running totals just before
-- the cut are the sums of its positions' openings (and its row count theirs): the card's kept
-- rows are read once, per position, not a second time per facility + SKU.
facility_openings as (

    select
        facility_id,
        variant_id,
        sum(opening_sequence) as opening_sequence,
        sum(opening_qty) as opening_qty,
        sum(opening_value_amount) as opening_value_amount,
        coalesce(sum(opening_qty) filter (where bucket = 'available'), 0)
            as opening_available_qty,
        coalesce(sum(opening_qty) filter (where is_owned), 0) as opening_owned_qty,
        coalesce(sum(opening_value_amount) filter (where is_owned), 0)
            as opening_owned_value_amount,
    from position_openings
    group by all

),

{% else %}

scoped_events as (

    select {{ event_columns | join(', ') }}
    from events

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
        cast(0 as decimal(18, 6)) as opening_available_qty,
        cast(0 as decimal(18, 6)) as opening_owned_qty,
        cast(0 as decimal(18, 6)) as opening_owned_value_amount,
    where false

),

{% endif %}

running as (

    select
        scoped_events.*,
        row_number() over position_order as position_row,
        row_number() over facility_order as facility_row,
        sum(movement_qty) over position_order as position_qty,
        sum(cost_delta_amount) over position_order as position_value_amount,
        sum(movement_qty) over facility_order as facility_qty,
        sum(cost_delta_amount) over facility_order as facility_value_amount,
        sum(case when bucket = 'available' then movement_qty else 0 end) over facility_order
            as facility_available_qty,
        sum(case when is_owned then movement_qty else 0 end) over facility_order
            as facility_owned_qty,
        sum(case when is_owned then cost_delta_amount else 0 end) over facility_order
            as facility_owned_value_amount,
    from scoped_events
    window
        position_order as (
            partition by position_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ),
        facility_order as (
            partition by facility_id, variant_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        )

),

final as (

    select
        running.event_id,
        running.position_id,
        cast(coalesce(position_openings.opening_sequence, 0) + running.position_row as bigint)
            as position_sequence,
        cast(coalesce(facility_openings.opening_sequence, 0) + running.facility_row as bigint)
            as facility_sequence,
        running.facility_id,
        running.variant_id,
        running.bin_id,
        running.lot_id,
        running.bucket,
        running.owner_id,
        running.is_owned,
        running.event_kind,
        running.reversed_event_kind,
        running.reason_code,
        running.channel_id,
        running.movement_qty,
        running.unit_cost_amount,
        running.cost_delta_amount,
        cast(coalesce(position_openings.opening_qty, 0) + running.position_qty
            as decimal(18, 6)) as running_qty,
        cast(coalesce(position_openings.opening_value_amount, 0) + running.position_value_amount
            as decimal(18, 6)) as running_value_amount,
        cast(coalesce(facility_openings.opening_qty, 0) + running.facility_qty
            as decimal(18, 6)) as facility_running_qty,
        cast(coalesce(facility_openings.opening_value_amount, 0) + running.facility_value_amount
            as decimal(18, 6)) as facility_running_value_amount,
        cast(coalesce(facility_openings.opening_available_qty, 0) + running.facility_available_qty
            as decimal(18, 6)) as facility_available_running_qty,
        cast(coalesce(facility_openings.opening_owned_qty, 0) + running.facility_owned_qty
            as decimal(18, 6)) as facility_owned_running_qty,
        cast(coalesce(facility_openings.opening_owned_value_amount, 0)
            + running.facility_owned_value_amount as decimal(18, 6))
            as facility_owned_running_value_amount,
        running.currency_code,
        running.occurred_at,
        running.occurred_date,
        running.period_id,
        running.reverses_event_id,
    from running
    left join position_openings
        on position_openings.position_id = running.position_id
    left join facility_openings
        on facility_openings.facility_id = running.facility_id
        and facility_openings.variant_id = running.variant_id

)

select * from final
