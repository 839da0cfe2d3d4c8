-- An asset check on fct_stock_card in the pipeline (dagster-dbt reads meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'fct_stock_card'}}}) }}
-- Reconciliation: owned stock per facility + SKU — summed from the stock card's positions and
-- from the end of the average-cost history — equals the ledger's cost position (valuation).
with

card_positions as (

    select
        facility_id,
        variant_id,
        max_by(running_qty, position_sequence) as closing_qty,
        max_by(running_value_amount, position_sequence) as closing_value_amount,
    from {{ ref('fct_stock_card') }}
    where is_owned
    group by position_id, facility_id, variant_id

),

card as (

    select
        facility_id,
        variant_id,
        sum(closing_qty) as on_hand_qty,
        sum(closing_value_amount) as value_amount,
    from card_positions
    group by all

),

history as (

    select
        facility_id,
        variant_id,
        max_by(cost_qty_after, event_id) as on_hand_qty,
        max_by(cost_value_after_amount, event_id) as value_amount,
    from {{ ref('fct_average_cost_history') }}
    group by all

),

ledger as (

    select * from {{ ref('stg_ledger__valuations') }}

),

compared as (

    select
        coalesce(card.facility_id, ledger.facility_id) as facility_id,
        coalesce(card.variant_id, ledger.variant_id) as variant_id,
        coalesce(card.on_hand_qty, 0) as card_qty,
        coalesce(history.on_hand_qty, 0) as history_qty,
        coalesce(ledger.on_hand_qty, 0) as ledger_qty,
        coalesce(card.value_amount, 0) as card_value_amount,
        coalesce(history.value_amount, 0) as history_value_amount,
        coalesce(ledger.value_amount, 0) as ledger_value_amount,
    from card
    full outer join ledger
        on ledger.facility_id = card.facility_id
        and ledger.variant_id = card.variant_id
    left join history
        on history.facility_id = coalesce(card.facility_id, ledger.facility_id)
        and history.variant_id = coalesce(card.variant_id, ledger.variant_id)

)

select *
from compared
where card_qty <> ledger_qty
    or history_qty <> ledger_qty
    or card_value_amount <> ledger_value_amount
    or history_value_amount <> ledger_value_amount
