-- The events that move FIFO cost layers: owned stock of FIFO items, in posting order per
-- facility + SKU. Bin moves and reclassifications never touch layers (value moves with the
-- stock inside the facility). A reversed event and its reversal cancel out and are kept only
-- as `cancelled` (see docs/warehouse.md, "FIFO layers", for where that can differ from the
-- ledger). Amounts are integers of millionths, the ledger's stored form, so that the layer
-- arithmetic below is exact.
with

events as (

    select * from {{ ref('int_stock_events_enriched') }}

),

final as (

    select
        facility_id,
        variant_id,
        item_id,
        event_id,
        event_kind,
        effective_event_kind,
        reason_code,
        occurred_at,
        currency_code,
        reverses_event_id,
        reversed_by_event_id,
        cast({{ to_e6('movement_qty') }} as bigint) as qty_e6,
        cast({{ to_e6('cost_delta_amount') }} as bigint) as value_e6,
        cast({{ to_e6('unit_cost_amount') }} as bigint) as unit_cost_e6,
        case
            when event_kind = 'reversal' or is_reversed then 'cancelled'
            when event_kind = 'cost_adjustment' and reason_code = 'negative_stock_settlement'
                then 'settlement'
            when event_kind = 'cost_adjustment' then 'revaluation'
            when movement_qty > 0 then 'inflow'
            when movement_qty < 0 then 'outflow'
            else 'none'
        end as fifo_role,
    from events
    where costing_method = 'fifo'
        and is_owned
        and effective_event_kind not in ('bin_move', 'reclassification')

)

select * from final
