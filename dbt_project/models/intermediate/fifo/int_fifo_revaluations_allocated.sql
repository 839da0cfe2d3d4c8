-- A cost adjustment of FIFO stock spreads over the layers open at that moment, as the ledger's
-- costing.revalue: gains by remaining quantity, losses by remaining value, each layer's share
-- to the cent and the last open layer taking the remainder. A loss split by value depends on
-- every earlier adjustment of the same layers, so the adjustments of one facility + SKU are
-- applied one after another by a recursive query; each step is set-based over all facility +
-- SKUs at once, and there are as many steps as the most adjusted facility + SKU has adjustments.
with recursive

movements as (

    select * from {{ ref('int_fifo_movements_sequenced') }}

),

layers as (

    select
        facility_id,
        variant_id,
        event_id as layer_id,
        in_before_e6 + fill_qty_e6 as layer_start_e6,
        in_before_e6 + qty_e6 as layer_end_e6,
        layer_qty_e6,
        layer_value_e6,
        -- a layer whose receipt is reversed later is open, untouched, until the reversal
        fifo_role = 'cancelled' as is_reversed,
        reversed_by_event_id,
    from movements
    where layer_qty_e6 > 0

),

revaluations as (

    select
        facility_id,
        variant_id,
        event_id as revaluation_event_id,
        value_e6 as amount_e6,
        out_before_e6,
        out_value_before_e6,
        row_number() over (partition by facility_id, variant_id order by event_id) as step,
    from movements
    where fifo_role = 'revaluation'

),

allocations (facility_id, variant_id, step, layer_id, revaluation_e6) as (

    select
        layers.facility_id,
        layers.variant_id,
        cast(0 as bigint),
        layers.layer_id,
        cast(0 as hugeint),
    from layers
    semi join revaluations
        on revaluations.facility_id = layers.facility_id
        and revaluations.variant_id = layers.variant_id

    union all

    select
        facility_id,
        variant_id,
        step,
        layer_id,
        revaluation_e6 + case
            when not is_open then 0
            when layer_id = last_open_layer_id
                then amount_e6 - (sum(raw_share_e6) over skus - raw_share_e6)
            else raw_share_e6
        end,
    from (
        select
            *,
            case when is_open
                then {{ share_e6('amount_e6', 'weight_e6', 'whole_e6') }}
                else 0
            end as raw_share_e6,
        from (
            select
                *,
                sum(case when is_open then weight_e6 else 0 end) over skus as whole_e6,
                max(case when is_open then layer_id end) over skus as last_open_layer_id,
            from (
                select
                    *,
                    remaining_qty_e6 > 0 as is_open,
                    case when amount_e6 > 0 then remaining_qty_e6 else remaining_value_e6 end
                        as weight_e6,
                from (
                    select
                        *,
                        case
                            when layer_id > revaluation_event_id then 0
                            when is_reversed and reversed_by_event_id < revaluation_event_id
                                then 0
                            when is_reversed then layer_qty_e6
                            else layer_end_e6
                                - greatest(layer_start_e6, least(layer_end_e6, out_before_e6))
                        end as remaining_qty_e6,
                        case
                            when is_reversed then layer_value_e6 + revaluation_e6
                            else value_end_e6
                                - greatest(value_start_e6, least(value_end_e6, out_value_before_e6))
                        end as remaining_value_e6,
                    from (
                        select
                            allocations.facility_id,
                            allocations.variant_id,
                            revaluations.step,
                            allocations.layer_id,
                            allocations.revaluation_e6,
                            revaluations.revaluation_event_id,
                            revaluations.amount_e6,
                            revaluations.out_before_e6,
                            revaluations.out_value_before_e6,
                            layers.layer_start_e6,
                            layers.layer_end_e6,
                            layers.layer_qty_e6,
                            layers.layer_value_e6,
                            layers.is_reversed,
                            layers.reversed_by_event_id,
                            -- the value axis holds the layers that are consumed, not the
                            -- reversed ones
                            coalesce(sum(layers.layer_value_e6 + allocations.revaluation_e6)
                                filter (where not layers.is_reversed) over (
                                    partition by allocations.facility_id, allocations.variant_id
                                    order by allocations.layer_id
                                    rows between unbounded preceding and 1 preceding
                                ), 0) as value_start_e6,
                            coalesce(sum(layers.layer_value_e6 + allocations.revaluation_e6)
                                filter (where not layers.is_reversed) over (
                                    partition by allocations.facility_id, allocations.variant_id
                                    order by allocations.layer_id
                                    rows between unbounded preceding and current row
                                ), 0) as value_end_e6,
                        from allocations
                        inner join revaluations
                            on revaluations.facility_id = allocations.facility_id
                            and revaluations.variant_id = allocations.variant_id
                            and revaluations.step = allocations.step + 1
                        inner join layers
                            on layers.facility_id = allocations.facility_id
                            and layers.variant_id = allocations.variant_id
                            and layers.layer_id = allocations.layer_id
                    )
                )
            )
            window skus as (partition by facility_id, variant_id)
        )
        window skus as (partition by facility_id, variant_id)
    )
    window skus as (partition by facility_id, variant_id)

),

final as (

    select
        facility_id,
        variant_id,
        layer_id,
        cast(revaluation_e6 as bigint) as revaluation_e6,
    from allocations
    qualify step = max(step) over (partition by facility_id, variant_id)

)

select * from final
