-- Warehouse against ledger, per facility + SKU, for the data-quality dashboard: owned quantity
-- and value from the warehouse's cost history beside the ledger's valuation, their difference,
-- and whether the extract's state tables reflect exactly the extracted events.
with

history as (

    select * from {{ ref('fct_average_cost_history') }}

),

ledger as (

    select * from {{ ref('stg_ledger__valuations') }}

),

extract_state as (

    select * from {{ ref('stg_ledger__extract_states') }}

),

warehouse as (

    select
        facility_id,
        variant_id,
        max_by(cost_qty_after, event_id) as on_hand_qty,
        max_by(cost_value_after_amount, event_id) as value_amount,
        max(currency_code) as currency_code,
    from history
    group by all

),

compared as (

    select
        coalesce(warehouse.facility_id, ledger.facility_id) as facility_id,
        coalesce(warehouse.variant_id, ledger.variant_id) as variant_id,
        coalesce(warehouse.on_hand_qty, 0) as warehouse_qty,
        coalesce(ledger.on_hand_qty, 0) as ledger_qty,
        coalesce(warehouse.value_amount, 0) as warehouse_value_amount,
        coalesce(ledger.value_amount, 0) as ledger_value_amount,
        coalesce(ledger.currency_code, warehouse.currency_code) as currency_code,
    from warehouse
    full outer join ledger
        on ledger.facility_id = warehouse.facility_id
        and ledger.variant_id = warehouse.variant_id

),

final as (

    select
        facility_id,
        variant_id,
        cast(warehouse_qty as decimal(18, 6)) as warehouse_qty,
        cast(ledger_qty as decimal(18, 6)) as ledger_qty,
        cast(warehouse_qty - ledger_qty as decimal(18, 6)) as difference_qty,
        cast(warehouse_value_amount as decimal(18, 6)) as warehouse_value_amount,
        cast(ledger_value_amount as decimal(18, 6)) as ledger_value_amount,
        cast(warehouse_value_amount - ledger_value_amount as decimal(18, 6))
            as difference_value_amount,
        currency_code,
        warehouse_qty = ledger_qty and warehouse_value_amount = ledger_value_amount
            as is_reconciled,
        coalesce((select bool_and(is_state_consistent) from extract_state), false)
            as is_extract_consistent,
        (select max(high_water_event_id) from extract_state) as high_water_event_id,
    from compared

)

select * from final
