{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        replace_partition_by=['facility_id', 'variant_id'],
        replace_from='event_id',
        on_schema_change='fail',
    )
}}

-- The cost position of owned stock per facility + SKU after every event that changes it, in
-- posting order (the order the ledger costs in): quantity, value, the average cost the ledger
-- recorded, and the same average recomputed here from the cumulated quantity and value
-- (value / quantity to six places, half up) so that a test can hold the two together. Bin moves
-- and reclassifications never change a facility's cost and are left out. FIFO items have a
-- history too: their average is the value of their layers over their quantity.

with

events as (

    select * from {{ ref('int_stock_events_enriched') }}

),

costed as (

    select *
    from events
    where is_owned
        and effective_event_kind not in ('bin_move', 'reclassification')

),

{% if is_incremental() %}

previous as (

    select * from {{ this }}

),

new_scope as (

    select distinct
        facility_id,
        variant_id,
    from costed
    where event_id > {{ high_water_mark('event_id') }}

),

scoped as (

    select costed.*
    from costed
    semi join new_scope
        on new_scope.facility_id = costed.facility_id
        and new_scope.variant_id = costed.variant_id
    where costed.event_id > {{ high_water_mark('event_id') }}

),

openings as (

    select
        previous.facility_id,
        previous.variant_id,
        max_by(previous.cost_qty_after, previous.event_id) as opening_qty,
        max_by(previous.cost_value_after_amount, previous.event_id) as opening_value_amount,
        max_by(previous.avg_cost_after_amount, previous.event_id) as opening_avg_cost_amount,
    from previous
    semi join new_scope
        on new_scope.facility_id = previous.facility_id
        and new_scope.variant_id = previous.variant_id
    group by all

),

{% else %}

scoped as (

    select * from costed

),

openings as (

    select
        cast(null as varchar) as facility_id,
        cast(null as varchar) as variant_id,
        cast(null as decimal(18, 6)) as opening_qty,
        cast(null as decimal(18, 6)) as opening_value_amount,
        cast(null as decimal(18, 6)) as opening_avg_cost_amount,
    where false

),

{% endif %}

cumulated as (

    select
        scoped.*,
        coalesce(openings.opening_qty, 0) + sum(scoped.movement_qty) over posting
            as cost_qty_after,
        coalesce(openings.opening_value_amount, 0) + sum(scoped.cost_delta_amount) over posting
            as cost_value_after_amount,
        coalesce(
            lag(scoped.avg_cost_after_amount) over (
                partition by scoped.facility_id, scoped.variant_id order by scoped.event_id
            ),
            openings.opening_avg_cost_amount
        ) as previous_avg_cost_amount,
        -- a receipt that fills a negative-stock hole is costed together with the settlement
        -- the ledger posts right after it in the same request
        case
            when lead(scoped.event_kind) over next_event = 'cost_adjustment'
                and lead(scoped.reason_code) over next_event = 'negative_stock_settlement'
                and lead(scoped.idempotency_key) over next_event = scoped.idempotency_key
                then lead(scoped.cost_delta_amount) over next_event
            else 0
        end as settled_with_amount,
    from scoped
    left join openings
        on openings.facility_id = scoped.facility_id
        and openings.variant_id = scoped.variant_id
    window
        posting as (
            partition by scoped.facility_id, scoped.variant_id
            order by scoped.event_id
            rows between unbounded preceding and current row
        ),
        next_event as (
            partition by scoped.facility_id, scoped.variant_id order by scoped.event_id
        )

),

final as (

    select
        event_id,
        facility_id,
        variant_id,
        item_id,
        costing_method,
        event_kind,
        reason_code,
        occurred_at,
        posted_at,
        movement_qty,
        cost_delta_amount,
        cast(cost_qty_after as decimal(18, 6)) as cost_qty_after,
        cast(cost_value_after_amount as decimal(18, 6)) as cost_value_after_amount,
        avg_cost_after_amount,
        case when cost_qty_after > 0 then
            {{ from_e6(div_half_up(
                to_e6('cost_value_after_amount + settled_with_amount') ~ ' * 1000000',
                to_e6('cost_qty_after'),
            )) }}
        end as computed_avg_cost_amount,
        previous_avg_cost_amount,
        cast(avg_cost_after_amount - previous_avg_cost_amount as decimal(18, 6))
            as avg_cost_change_amount,
        currency_code,
    from cumulated

)

select * from final
