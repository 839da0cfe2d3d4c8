{#- The differences between the FIFO layers computed set-based and the ledger's layers: per
    layer wherever either side has something left (same opening event, unit cost, opened
    quantity, remaining quantity and value), and per facility + SKU (open layers = valuation).
    `has_interleaved_reversal` marks the facility + SKUs where the set-based model is known to
    be able to differ (docs/warehouse.md). -#}
{% macro fifo_layer_differences() %}
    with

    warehouse as (

        select * from {{ ref('fct_cost_layers') }}

    ),

    ledger as (

        select * from {{ ref('stg_ledger__cost_layers') }}

    ),

    layers_compared as (

        select
            coalesce(warehouse.layer_id, ledger.layer_id) as layer_id,
            coalesce(warehouse.facility_id, ledger.facility_id) as facility_id,
            coalesce(warehouse.variant_id, ledger.variant_id) as variant_id,
            warehouse.unit_cost_amount as warehouse_unit_cost_amount,
            ledger.unit_cost_amount as ledger_unit_cost_amount,
            warehouse.opened_qty as warehouse_opened_qty,
            ledger.opened_qty as ledger_opened_qty,
            coalesce(warehouse.remaining_qty, 0) as warehouse_remaining_qty,
            coalesce(ledger.remaining_qty, 0) as ledger_remaining_qty,
            coalesce(warehouse.remaining_value_amount, 0) as warehouse_remaining_value_amount,
            coalesce(ledger.remaining_value_amount, 0) as ledger_remaining_value_amount,
        from warehouse
        full outer join ledger on ledger.layer_id = warehouse.layer_id
        where coalesce(warehouse.remaining_qty, 0) <> 0
            or coalesce(warehouse.remaining_value_amount, 0) <> 0
            or coalesce(ledger.remaining_qty, 0) <> 0
            or coalesce(ledger.remaining_value_amount, 0) <> 0

    ),

    layer_differences as (

        select
            'layer ' || layer_id as difference,
            facility_id,
            variant_id,
        from layers_compared
        where warehouse_unit_cost_amount is distinct from ledger_unit_cost_amount
            or warehouse_opened_qty is distinct from ledger_opened_qty
            or warehouse_remaining_qty <> ledger_remaining_qty
            or warehouse_remaining_value_amount <> ledger_remaining_value_amount

    ),

    open_totals as (

        select
            facility_id,
            variant_id,
            sum(remaining_qty) as remaining_qty,
            sum(remaining_value_amount) as remaining_value_amount,
        from warehouse
        group by all

    ),

    fifo_valuations as (

        select * from {{ ref('stg_ledger__valuations') }}
        where costing_method = 'fifo'

    ),

    total_differences as (

        select
            'valuation' as difference,
            coalesce(open_totals.facility_id, fifo_valuations.facility_id) as facility_id,
            coalesce(open_totals.variant_id, fifo_valuations.variant_id) as variant_id,
        from open_totals
        full outer join fifo_valuations
            on fifo_valuations.facility_id = open_totals.facility_id
            and fifo_valuations.variant_id = open_totals.variant_id
        where coalesce(open_totals.remaining_qty, 0) <> coalesce(fifo_valuations.on_hand_qty, 0)
            or coalesce(open_totals.remaining_value_amount, 0)
                <> coalesce(fifo_valuations.value_amount, 0)

    ),

    flagged as (

        select
            facility_id,
            variant_id,
            bool_or(has_interleaved_reversal) as has_interleaved_reversal,
        from warehouse
        group by all

    ),

    differences as (

        select * from layer_differences
        union all
        select * from total_differences

    )

    select
        differences.*,
        coalesce(flagged.has_interleaved_reversal, false) as has_interleaved_reversal,
    from differences
    left join flagged
        on flagged.facility_id = differences.facility_id
        and flagged.variant_id = differences.variant_id
{% endmacro %}
