{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        replace_partition_by=['facility_id', 'variant_id'],
        on_schema_change='fail',
    )
}}

-- Which outflow consumed how much of which FIFO layer, in quantity and value: the overlaps of
-- the layers' and the outflows' intervals on the quantity axis, found by one ordered sweep over
-- the interval boundaries (no loop, no range join), valued by the same overlap on the value
-- axis. Units issued beyond stock are not here: they went into a negative-stock layer.

with

movements as (

    select * from {{ ref('int_fifo_movements_sequenced') }}

),

layers as (

    select * from {{ ref('int_fifo_layers_positioned') }}

),

{{ scoped_to_changes('movements', 'event_id', 'fifo_max_event_id', 'scoped_movements') }}

scoped as (

    select
        *,
        -- the latest FIFO event this facility + SKU's consumptions were computed with
        max(event_id) over (partition by facility_id, variant_id) as fifo_max_event_id,
    from scoped_movements

),

-- every inflow and outflow starts an interval on the axis; -1 marks where the units end
boundaries as (

    select
        facility_id,
        variant_id,
        in_before_e6 as axis_e6,
        event_id as inflow_marker,
        null as outflow_marker,
    from scoped
    where fifo_role = 'inflow'

    union all

    select
        facility_id,
        variant_id,
        out_before_e6 as axis_e6,
        null as inflow_marker,
        event_id as outflow_marker,
    from scoped
    where fifo_role = 'outflow'

    union all

    select
        facility_id,
        variant_id,
        max(in_before_e6 + case when fifo_role = 'inflow' then qty_e6 else 0 end) as axis_e6,
        -1 as inflow_marker,
        null as outflow_marker,
    from scoped
    group by all

    union all

    select
        facility_id,
        variant_id,
        max(out_before_e6 + case when fifo_role = 'outflow' then -qty_e6 else 0 end) as axis_e6,
        null as inflow_marker,
        -1 as outflow_marker,
    from scoped
    group by all

),

points as (

    select
        facility_id,
        variant_id,
        axis_e6,
        max(inflow_marker) as inflow_marker,
        max(outflow_marker) as outflow_marker,
    from boundaries
    group by all

),

segments as (

    select
        facility_id,
        variant_id,
        last_value(inflow_marker ignore nulls) over sweep as inflow_event_id,
        last_value(outflow_marker ignore nulls) over sweep as outflow_event_id,
        lead(axis_e6) over (
            partition by facility_id, variant_id order by axis_e6
        ) - axis_e6 as segment_qty_e6,
    from points
    window sweep as (
        partition by facility_id, variant_id
        order by axis_e6
        rows between unbounded preceding and current row
    )

),

-- a unit that came in before it went out was consumed from its layer; one that went out first
-- was issued into a hole and the inflow filled it
consumed as (

    select
        facility_id,
        variant_id,
        inflow_event_id as layer_id,
        outflow_event_id as event_id,
        sum(segment_qty_e6) as consumed_qty_e6,
    from segments
    where segment_qty_e6 > 0
        and inflow_event_id > 0
        and outflow_event_id > inflow_event_id
    group by all

),

valued as (

    select
        consumed.*,
        layers.item_id,
        layers.opened_at as layer_opened_at,
        layers.unit_cost_e6 as layer_unit_cost_e6,
        layers.currency_code,
        outflows.event_kind,
        outflows.occurred_at,
        outflows.fifo_max_event_id,
        greatest(
            0,
            least(layers.value_end_e6, outflows.out_value_before_e6 + outflows.positive_out_value_e6)
                - greatest(layers.value_start_e6, outflows.out_value_before_e6)
        ) as consumed_value_e6,
    from consumed
    inner join layers
        on layers.facility_id = consumed.facility_id
        and layers.variant_id = consumed.variant_id
        and layers.layer_id = consumed.layer_id
    inner join scoped as outflows
        on outflows.facility_id = consumed.facility_id
        and outflows.variant_id = consumed.variant_id
        and outflows.event_id = consumed.event_id

),

final as (

    select
        layer_id,
        event_id,
        facility_id,
        variant_id,
        item_id,
        event_kind,
        occurred_at,
        layer_opened_at,
        {{ from_e6('layer_unit_cost_e6') }} as layer_unit_cost_amount,
        {{ from_e6('consumed_qty_e6') }} as consumed_qty,
        {{ from_e6('consumed_value_e6') }} as consumed_value_amount,
        currency_code,
        fifo_max_event_id,
    from valued

)

select * from final
