{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        replace_partition_by=['facility_id', 'variant_id'],
        on_schema_change='fail',
    )
}}

-- Every FIFO cost layer with its place on the quantity and value axes and what is left of it:
-- a layer opened by an inflow (minus the units that filled a hole), or a negative-stock hole
-- opened by an outflow beyond stock. Remaining = what the axis has not consumed yet.

with

movements as (

    select * from {{ ref('int_fifo_movements_sequenced') }}

),

revaluations as (

    select * from {{ ref('int_fifo_revaluations_allocated') }}

),

{{ scoped_to_changes('movements', 'event_id', 'fifo_max_event_id', 'scoped_movements') }}

scoped as (

    select
        *,
        -- the latest FIFO event this facility + SKU's layers were computed with
        max(event_id) over (partition by facility_id, variant_id) as fifo_max_event_id,
    from scoped_movements

),

totals as (

    select
        facility_id,
        variant_id,
        sum(case when fifo_role = 'outflow' then -qty_e6 else 0 end) as out_total_e6,
        sum(positive_out_value_e6) as out_value_total_e6,
    from scoped
    group by all

),

stock_layers as (

    select
        scoped.facility_id,
        scoped.variant_id,
        scoped.item_id,
        scoped.event_id as layer_id,
        'stock' as layer_kind,
        scoped.event_id as opened_event_id,
        scoped.event_kind as opened_event_kind,
        scoped.occurred_at as opened_at,
        scoped.currency_code,
        scoped.unit_cost_e6,
        scoped.fifo_role = 'cancelled' as is_reversed,
        scoped.layer_qty_e6 as opened_qty_e6,
        scoped.in_before_e6 + scoped.fill_qty_e6 as qty_start_e6,
        scoped.in_before_e6 + scoped.qty_e6 as qty_end_e6,
        scoped.layer_value_e6 as opened_value_e6,
        coalesce(revaluations.revaluation_e6, 0) as revaluation_e6,
        scoped.has_interleaved_reversal,
        scoped.fifo_max_event_id,
    from scoped
    left join revaluations
        on revaluations.facility_id = scoped.facility_id
        and revaluations.variant_id = scoped.variant_id
        and revaluations.layer_id = scoped.event_id
    where scoped.layer_qty_e6 > 0

),

stock_layers_positioned as (

    select
        stock_layers.*,
        case when not is_reversed then
            coalesce(sum(opened_value_e6 + revaluation_e6) filter (where not is_reversed) over (
                partition by stock_layers.facility_id, stock_layers.variant_id
                order by layer_id
                rows between unbounded preceding and 1 preceding
            ), 0)
        end as value_start_e6,
        totals.out_total_e6,
        totals.out_value_total_e6,
    from stock_layers
    inner join totals
        on totals.facility_id = stock_layers.facility_id
        and totals.variant_id = stock_layers.variant_id

),

stock_layers_remaining as (

    select
        *,
        value_start_e6 + opened_value_e6 + revaluation_e6 as value_end_e6,
        case when is_reversed then 0
            else qty_end_e6 - greatest(qty_start_e6, least(qty_end_e6, out_total_e6))
        end as remaining_qty_e6,
        -- a reversed layer keeps what cost adjustments gave it while it was open: the ledger
        -- takes back the receipt's own value only
        case when is_reversed then revaluation_e6
            else value_start_e6 + opened_value_e6 + revaluation_e6 - greatest(
                value_start_e6,
                least(value_start_e6 + opened_value_e6 + revaluation_e6, out_value_total_e6)
            )
        end as remaining_value_e6,
    from stock_layers_positioned

),

hole_events as (

    select
        facility_id,
        variant_id,
        hole_layer_id,
        max(item_id) as item_id,
        max(currency_code) as currency_code,
        max(hole_unit_cost_e6) filter (where is_hole_opening) as unit_cost_e6,
        min(occurred_at) filter (where is_hole_opening) as opened_at,
        max(event_kind) filter (where is_hole_opening) as opened_event_kind,
        -sum(hole_out_qty_e6) filter (where is_hole_opening) as opened_qty_e6,
        -sum(hole_value_e6) filter (where is_hole_opening) as opened_value_e6,
        coalesce(sum(hole_out_qty_e6), 0) as issued_qty_e6,
        coalesce(sum(fill_qty_e6) filter (where fifo_role = 'inflow'), 0) as received_qty_e6,
        coalesce(sum(hole_value_e6), 0) as issued_value_e6,
        coalesce(sum(fill_value_e6) filter (where fifo_role = 'inflow'), 0)
            + coalesce(sum(value_e6) filter (where fifo_role = 'settlement'), 0)
            as received_value_e6,
        bool_or(has_interleaved_reversal) as has_interleaved_reversal,
        max(fifo_max_event_id) as fifo_max_event_id,
    from scoped
    where hole_layer_id is not null
    group by all

),

unioned as (

    select
        facility_id,
        variant_id,
        item_id,
        layer_id,
        layer_kind,
        opened_event_id,
        opened_event_kind,
        opened_at,
        currency_code,
        unit_cost_e6,
        is_reversed,
        opened_qty_e6,
        opened_qty_e6 as received_qty_e6,
        case when is_reversed then 0 else opened_qty_e6 - remaining_qty_e6 end as issued_qty_e6,
        case when is_reversed then opened_qty_e6 else 0 end as reversed_qty_e6,
        remaining_qty_e6,
        opened_value_e6,
        opened_value_e6 as received_value_e6,
        revaluation_e6,
        case when is_reversed then 0
            else opened_value_e6 + revaluation_e6 - remaining_value_e6
        end as issued_value_e6,
        case when is_reversed then opened_value_e6 else 0 end as reversed_value_e6,
        remaining_value_e6,
        qty_start_e6,
        qty_end_e6,
        value_start_e6,
        value_end_e6,
        has_interleaved_reversal,
        fifo_max_event_id,
    from stock_layers_remaining

    union all by name

    select
        facility_id,
        variant_id,
        item_id,
        hole_layer_id as layer_id,
        'negative_stock' as layer_kind,
        hole_layer_id as opened_event_id,
        opened_event_kind,
        opened_at,
        currency_code,
        unit_cost_e6,
        false as is_reversed,
        opened_qty_e6,
        received_qty_e6,
        issued_qty_e6,
        0 as reversed_qty_e6,
        received_qty_e6 - issued_qty_e6 as remaining_qty_e6,
        opened_value_e6,
        received_value_e6,
        0 as revaluation_e6,
        issued_value_e6,
        0 as reversed_value_e6,
        received_value_e6 - issued_value_e6 as remaining_value_e6,
        null as qty_start_e6,
        null as qty_end_e6,
        null as value_start_e6,
        null as value_end_e6,
        has_interleaved_reversal,
        fifo_max_event_id,
    from hole_events

),

final as (

    select
        facility_id,
        variant_id,
        item_id,
        cast(layer_id as bigint) as layer_id,
        layer_kind,
        cast(opened_event_id as bigint) as opened_event_id,
        opened_event_kind,
        opened_at,
        currency_code,
        cast(unit_cost_e6 as bigint) as unit_cost_e6,
        is_reversed,
        cast(opened_qty_e6 as bigint) as opened_qty_e6,
        cast(received_qty_e6 as bigint) as received_qty_e6,
        cast(issued_qty_e6 as bigint) as issued_qty_e6,
        cast(reversed_qty_e6 as bigint) as reversed_qty_e6,
        cast(remaining_qty_e6 as bigint) as remaining_qty_e6,
        cast(opened_value_e6 as bigint) as opened_value_e6,
        cast(received_value_e6 as bigint) as received_value_e6,
        cast(revaluation_e6 as bigint) as revaluation_e6,
        cast(issued_value_e6 as bigint) as issued_value_e6,
        cast(reversed_value_e6 as bigint) as reversed_value_e6,
        cast(remaining_value_e6 as bigint) as remaining_value_e6,
        cast(qty_start_e6 as hugeint) as qty_start_e6,
        cast(qty_end_e6 as hugeint) as qty_end_e6,
        cast(value_start_e6 as hugeint) as value_start_e6,
        cast(value_end_e6 as hugeint) as value_end_e6,
        has_interleaved_reversal,
        fifo_max_event_id,
    from unioned

)

select * from final
