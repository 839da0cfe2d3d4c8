{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        replace_partition_by=['facility_id', 'variant_id'],
        on_schema_change='fail',
    )
}}

-- FIFO set-based: every inflow's units and every outflow's units get consecutive positions on
-- one quantity axis per facility + SKU (cumulative sums in posting order). The n-th unit out is
-- the n-th unit in, so a layer's consumption is the overlap of its interval with the outflows'
-- intervals. An outflow beyond stock opens or deepens a negative-stock hole at the last known
-- cost; a later inflow fills the hole first (its `fill` units) and opens a layer with the rest.
-- Values get a second axis: the value each outflow takes from positive layers, cumulated, so
-- that a layer's consumed value is also an overlap. Everything is in integers of millionths.
-- Incremental: a facility + SKU with new events is recomputed whole.

with

movements as (

    select * from {{ ref('int_fifo_movements_filtered') }}

),

{% if is_incremental() %}

scope as (

    select distinct
        facility_id,
        variant_id,
    from movements
    where event_id > (select coalesce(max(event_id), 0) from {{ this }})

),

scoped as (

    select movements.*
    from movements
    semi join scope
        on scope.facility_id = movements.facility_id
        and scope.variant_id = movements.variant_id

),

{% else %}

scoped as (

    select * from movements

),

{% endif %}

flows as (

    select
        *,
        case when fifo_role = 'inflow' then qty_e6 else 0 end as in_qty_e6,
        case when fifo_role = 'outflow' then -qty_e6 else 0 end as out_qty_e6,
    from scoped

),

positioned as (

    select
        *,
        coalesce(sum(in_qty_e6) over before_this, 0) as in_before_e6,
        coalesce(sum(out_qty_e6) over before_this, 0) as out_before_e6,
        max(event_id) over (partition by facility_id, variant_id) as fifo_max_event_id,
    from flows
    window before_this as (
        partition by facility_id, variant_id
        order by event_id
        rows between unbounded preceding and 1 preceding
    )

),

split as (

    select
        *,
        in_before_e6 - out_before_e6 as stock_before_e6,
        -- an inflow (or a reversed one, for its layer's record) fills the hole first
        case when qty_e6 > 0 and event_kind <> 'reversal'
            then greatest(0, least(qty_e6, out_before_e6 - in_before_e6))
        end as fill_qty_e6,
        case when fifo_role = 'outflow'
            then greatest(0, least(out_qty_e6, in_before_e6 - out_before_e6))
        end as positive_out_qty_e6,
        fifo_role = 'outflow' and in_before_e6 - out_before_e6 >= 0
            and out_qty_e6 > in_before_e6 - out_before_e6 as is_hole_opening,
    from positioned

),

holes as (

    select
        *,
        -- the hole an event deepens, fills or settles: the latest one opened before it
        max(case when is_hole_opening then event_id end) over (
            partition by facility_id, variant_id
            order by event_id
            rows between unbounded preceding and current row
        ) as latest_hole_layer_id,
    from split

),

last_cost_candidates as (

    select
        facility_id,
        variant_id,
        event_id,
        reversed_by_event_id,
        unit_cost_e6,
    from scoped
    where qty_e6 > 0
        and event_kind in ('adjustment', 'count_variance', 'customer_return', 'receipt', 'transfer_in')
        and unit_cost_e6 is not null

),

-- a hole is valued at the last known cost: the latest inflow still standing when it opened
hole_costs as (

    select
        holes.facility_id,
        holes.variant_id,
        holes.event_id as hole_layer_id,
        coalesce(max_by(candidates.unit_cost_e6, candidates.event_id), 0) as hole_unit_cost_e6,
    from holes
    left join last_cost_candidates as candidates
        on candidates.facility_id = holes.facility_id
        and candidates.variant_id = holes.variant_id
        and candidates.event_id < holes.event_id
        and (
            candidates.reversed_by_event_id is null
            or candidates.reversed_by_event_id > holes.event_id
        )
    where holes.is_hole_opening
    group by all

),

valued as (

    select
        holes.*,
        case
            when fill_qty_e6 > 0 or fifo_role = 'settlement'
                or (fifo_role = 'outflow' and positive_out_qty_e6 < out_qty_e6)
                then latest_hole_layer_id
        end as hole_layer_id,
        case when fifo_role = 'outflow' then out_qty_e6 - positive_out_qty_e6 end
            as hole_out_qty_e6,
        hole_costs.hole_unit_cost_e6,
        -- the part of an inflow's value that fills the hole (costing.share)
        case when fill_qty_e6 > 0
            then {{ share_e6('holes.value_e6', 'fill_qty_e6', 'holes.qty_e6') }}
            else 0
        end as fill_value_e6,
    from holes
    left join hole_costs
        on hole_costs.facility_id = holes.facility_id
        and hole_costs.variant_id = holes.variant_id
        and hole_costs.hole_layer_id = holes.latest_hole_layer_id

),

outflow_values as (

    select
        *,
        case when hole_out_qty_e6 > 0
            -- money(units × last cost): to the cent, from millionths × millionths
            then {{ div_half_up('cast(hole_out_qty_e6 as hugeint) * hole_unit_cost_e6', '10000000000') }}
                * 10000
            else 0
        end as hole_value_e6,
    from valued

),

final as (

    select
        facility_id,
        variant_id,
        item_id,
        event_id,
        event_kind,
        reason_code,
        occurred_at,
        currency_code,
        fifo_role,
        reversed_by_event_id,
        qty_e6,
        value_e6,
        unit_cost_e6,
        cast(in_before_e6 as hugeint) as in_before_e6,
        cast(out_before_e6 as hugeint) as out_before_e6,
        cast(fill_qty_e6 as bigint) as fill_qty_e6,
        cast(fill_value_e6 as bigint) as fill_value_e6,
        cast(case when qty_e6 > 0 and event_kind <> 'reversal' then qty_e6 - fill_qty_e6 end as bigint)
            as layer_qty_e6,
        cast(case when qty_e6 > 0 and event_kind <> 'reversal' then value_e6 - fill_value_e6 end as bigint)
            as layer_value_e6,
        cast(positive_out_qty_e6 as bigint) as positive_out_qty_e6,
        cast(hole_out_qty_e6 as bigint) as hole_out_qty_e6,
        cast(hole_value_e6 as bigint) as hole_value_e6,
        -- what an outflow took from positive layers, and that value cumulated before it
        cast(case when fifo_role = 'outflow' then -value_e6 - hole_value_e6 else 0 end as bigint)
            as positive_out_value_e6,
        cast(coalesce(sum(case when fifo_role = 'outflow' then -value_e6 - hole_value_e6 else 0 end)
            over before_this, 0) as hugeint) as out_value_before_e6,
        hole_layer_id,
        is_hole_opening,
        hole_unit_cost_e6,
        fifo_max_event_id,
    from outflow_values
    window before_this as (
        partition by facility_id, variant_id
        order by event_id
        rows between unbounded preceding and 1 preceding
    )

)

select * from final
