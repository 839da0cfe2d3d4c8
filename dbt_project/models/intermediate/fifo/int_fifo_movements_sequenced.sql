{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        replace_partition_by=['facility_id', 'variant_id'],
        replace_from='event_id',
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
-- Incremental: FIFO runs in posting order, so new events simply continue each facility +
-- SKU's axes from where its last row left them (appended); a facility + SKU whose new events
-- include a reversal is recomputed whole, because a reversal changes what came before it.

with

movements as (

    select * from {{ ref('int_fifo_movements_filtered') }}

),

{% if is_incremental() %}

previous as (

    select * from {{ this }}

),

new_movements as (

    select *
    from movements
    where event_id > {{ high_water_mark('event_id') }}

),

scope as (

    select
        facility_id,
        variant_id,
        bool_or(fifo_role = 'cancelled') as is_rebuilt,
    from new_movements
    group by all

),

scoped as (

    select movements.*
    from movements
    semi join scope
        on scope.facility_id = movements.facility_id
        and scope.variant_id = movements.variant_id
        and scope.is_rebuilt

    union all

    select new_movements.*
    from new_movements
    semi join scope
        on scope.facility_id = new_movements.facility_id
        and scope.variant_id = new_movements.variant_id
        and not scope.is_rebuilt

),

-- where an appended facility + SKU's axes stand after its last row
openings as (

    select
        previous.facility_id,
        previous.variant_id,
        max_by(
            previous.in_before_e6 + case when previous.fifo_role = 'inflow'
                then previous.qty_e6 else 0 end,
            previous.event_id
        ) as in_e6,
        max_by(
            previous.out_before_e6 + case when previous.fifo_role = 'outflow'
                then -previous.qty_e6 else 0 end,
            previous.event_id
        ) as out_e6,
        max_by(
            previous.out_value_before_e6 + previous.positive_out_value_e6, previous.event_id
        ) as out_value_e6,
        max(previous.standing_count) as standing_count,
        max(previous.latest_hole_layer_id) as latest_hole_layer_id,
        max_by(previous.hole_unit_cost_e6, previous.event_id) as latest_hole_unit_cost_e6,
        max(previous.standing_cost_event_id) as standing_cost_event_id,
        max_by(previous.standing_cost_unit_cost_e6, previous.standing_cost_event_id)
            as standing_cost_unit_cost_e6,
        bool_or(previous.has_interleaved_reversal) as has_interleaved_reversal,
    from previous
    semi join scope
        on scope.facility_id = previous.facility_id
        and scope.variant_id = previous.variant_id
        and not scope.is_rebuilt
    group by all

),

{% else %}

scoped as (

    select * from movements

),

openings as (

    select
        cast(null as varchar) as facility_id,
        cast(null as varchar) as variant_id,
        cast(0 as hugeint) as in_e6,
        cast(0 as hugeint) as out_e6,
        cast(0 as hugeint) as out_value_e6,
        cast(0 as bigint) as standing_count,
        cast(null as bigint) as latest_hole_layer_id,
        cast(null as bigint) as latest_hole_unit_cost_e6,
        cast(null as bigint) as standing_cost_event_id,
        cast(null as bigint) as standing_cost_unit_cost_e6,
        false as has_interleaved_reversal,
    where false

),

{% endif %}

flows as (

    select
        scoped.*,
        case when scoped.fifo_role = 'inflow' then scoped.qty_e6 else 0 end as in_qty_e6,
        case when scoped.fifo_role = 'outflow' then -scoped.qty_e6 else 0 end as out_qty_e6,
        coalesce(openings.in_e6, 0) as opening_in_e6,
        coalesce(openings.out_e6, 0) as opening_out_e6,
        coalesce(openings.out_value_e6, 0) as opening_out_value_e6,
        coalesce(openings.standing_count, 0) as opening_standing_count,
        openings.latest_hole_layer_id as opening_hole_layer_id,
        openings.latest_hole_unit_cost_e6 as opening_hole_unit_cost_e6,
        openings.standing_cost_event_id as opening_standing_cost_event_id,
        openings.standing_cost_unit_cost_e6 as opening_standing_cost_unit_cost_e6,
        coalesce(openings.has_interleaved_reversal, false) as opening_has_interleaved_reversal,
    from scoped
    left join openings
        on openings.facility_id = scoped.facility_id
        and openings.variant_id = scoped.variant_id

),

positioned as (

    select
        *,
        opening_in_e6 + coalesce(sum(in_qty_e6) over before_this, 0) as in_before_e6,
        opening_out_e6 + coalesce(sum(out_qty_e6) over before_this, 0) as out_before_e6,
        -- counts the movements that stand (not cancelled), to spot reversals with movements
        -- between them and the event they reverse
        opening_standing_count + count(*) filter (where fifo_role <> 'cancelled') over (
            partition by facility_id, variant_id
            order by event_id
            rows between unbounded preceding and current row
        ) as standing_count,
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
        coalesce(
            max(case when is_hole_opening then event_id end) over up_to_this,
            opening_hole_layer_id
        ) as latest_hole_layer_id,
        -- the last inflow never reversed, before the event and up to it (the latter is the
        -- state an appended run continues from)
        coalesce(
            last_value(case when is_cost_candidate and reversed_by_event_id is null
                then event_id end ignore nulls) over before_this,
            opening_standing_cost_event_id
        ) as standing_event_id,
        coalesce(
            last_value(case when is_cost_candidate and reversed_by_event_id is null
                then unit_cost_e6 end ignore nulls) over before_this,
            opening_standing_cost_unit_cost_e6
        ) as standing_unit_cost_e6,
        coalesce(
            last_value(case when is_cost_candidate and reversed_by_event_id is null
                then event_id end ignore nulls) over up_to_this,
            opening_standing_cost_event_id
        ) as standing_cost_event_id,
        coalesce(
            last_value(case when is_cost_candidate and reversed_by_event_id is null
                then unit_cost_e6 end ignore nulls) over up_to_this,
            opening_standing_cost_unit_cost_e6
        ) as standing_cost_unit_cost_e6,
    from (
        select
            *,
            qty_e6 > 0
                and event_kind in (
                    'adjustment', 'count_variance', 'customer_return', 'receipt', 'transfer_in'
                )
                and unit_cost_e6 is not null as is_cost_candidate,
        from split
    )
    window
        before_this as (
            partition by facility_id, variant_id
            order by event_id
            rows between unbounded preceding and 1 preceding
        ),
        up_to_this as (
            partition by facility_id, variant_id
            order by event_id
            rows between unbounded preceding and current row
        )

),

-- a hole is valued at the last known cost: the latest inflow still standing when it opened.
-- Inflows never reversed are found by the running "last value" above; an inflow that is
-- reversed counts only for holes opened before its reversal, and those are few, so they are
-- joined.
reversed_costs as (

    select
        openings.facility_id,
        openings.variant_id,
        openings.event_id,
        max(candidates.event_id) as reversed_event_id,
        max_by(candidates.unit_cost_e6, candidates.event_id) as reversed_unit_cost_e6,
    from holes as openings
    inner join holes as candidates
        on candidates.facility_id = openings.facility_id
        and candidates.variant_id = openings.variant_id
        and candidates.event_id < openings.event_id
        and candidates.reversed_by_event_id > openings.event_id
    where openings.is_hole_opening and candidates.is_cost_candidate
    group by all

),

hole_costs as (

    select
        holes.facility_id,
        holes.variant_id,
        holes.event_id as hole_layer_id,
        coalesce(
            case
                when reversed_costs.reversed_event_id
                    > coalesce(holes.standing_event_id, 0)
                    then reversed_costs.reversed_unit_cost_e6
                else holes.standing_unit_cost_e6
            end,
            0
        ) as hole_unit_cost_e6,
    from holes
    left join reversed_costs
        on reversed_costs.facility_id = holes.facility_id
        and reversed_costs.variant_id = holes.variant_id
        and reversed_costs.event_id = holes.event_id
    where holes.is_hole_opening

),

interleaved as (

    select
        reversals.facility_id,
        reversals.variant_id,
        bool_or(reversals.standing_count > originals.standing_count) as has_interleaved_reversal,
    from holes as reversals
    inner join holes as originals
        on originals.facility_id = reversals.facility_id
        and originals.variant_id = reversals.variant_id
        and originals.event_id = reversals.reverses_event_id
    where reversals.event_kind = 'reversal'
    group by all

),

valued as (

    select
        holes.*,
        coalesce(interleaved.has_interleaved_reversal, false)
            or holes.opening_has_interleaved_reversal as has_interleaved_reversal,
        case
            when fill_qty_e6 > 0 or fifo_role = 'settlement'
                or (fifo_role = 'outflow' and positive_out_qty_e6 < out_qty_e6)
                then latest_hole_layer_id
        end as hole_layer_id,
        case when fifo_role = 'outflow' then out_qty_e6 - positive_out_qty_e6 end
            as hole_out_qty_e6,
        coalesce(
            hole_costs.hole_unit_cost_e6,
            -- a hole opened before this run's events: its cost is on the last row
            case when holes.latest_hole_layer_id = holes.opening_hole_layer_id
                then holes.opening_hole_unit_cost_e6 end
        ) as hole_unit_cost_e6,
        -- the part of an inflow's value that fills the hole (costing.share)
        case when fill_qty_e6 > 0
            then {{ share_e6('holes.value_e6', 'fill_qty_e6', 'holes.qty_e6') }}
            else 0
        end as fill_value_e6,
    from holes
    left join interleaved
        on interleaved.facility_id = holes.facility_id
        and interleaved.variant_id = holes.variant_id
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
        cast(case when qty_e6 > 0 and event_kind <> 'reversal'
            then qty_e6 - fill_qty_e6 end as bigint) as layer_qty_e6,
        cast(case when qty_e6 > 0 and event_kind <> 'reversal'
            then value_e6 - fill_value_e6 end as bigint) as layer_value_e6,
        cast(positive_out_qty_e6 as bigint) as positive_out_qty_e6,
        cast(hole_out_qty_e6 as bigint) as hole_out_qty_e6,
        cast(hole_value_e6 as bigint) as hole_value_e6,
        -- what an outflow took from positive layers, and that value cumulated before it
        cast(case when fifo_role = 'outflow' then -value_e6 - hole_value_e6 else 0 end as bigint)
            as positive_out_value_e6,
        cast(opening_out_value_e6 + coalesce(sum(
            case when fifo_role = 'outflow' then -value_e6 - hole_value_e6 else 0 end
        ) over before_this, 0) as hugeint) as out_value_before_e6,
        hole_layer_id,
        is_hole_opening,
        hole_unit_cost_e6,
        has_interleaved_reversal,
        -- the running state an appended run starts from
        cast(standing_count as bigint) as standing_count,
        latest_hole_layer_id,
        standing_cost_event_id,
        standing_cost_unit_cost_e6,
    from outflow_values
    window before_this as (
        partition by facility_id, variant_id
        order by event_id
        rows between unbounded preceding and 1 preceding
    )

)

select * from final
