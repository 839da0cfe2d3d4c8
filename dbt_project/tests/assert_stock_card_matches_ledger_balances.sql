-- An asset check on fct_stock_card in the pipeline (dagster-dbt reads meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'fct_stock_card'}}}) }}
-- Reconciliation: the closing quantity and value of every position on the stock card (its last
-- running balance) equal the ledger's balance of that position, and the position is the same
-- facility, bin, SKU, lot, bucket and owner. Returns the positions that differ.
with

card as (

    select
        position_id,
        any_value(facility_id) as facility_id,
        any_value(bin_id) as bin_id,
        any_value(variant_id) as variant_id,
        any_value(lot_id) as lot_id,
        any_value(bucket) as bucket,
        any_value(owner_id) as owner_id,
        max_by(running_qty, position_sequence) as closing_qty,
        max_by(running_value_amount, position_sequence) as closing_value_amount,
    from {{ ref('fct_stock_card') }}
    group by all

),

ledger as (

    select * from {{ ref('stg_ledger__balances') }}

),

compared as (

    select
        coalesce(card.position_id, ledger.position_id) as position_id,
        coalesce(card.closing_qty, 0) as warehouse_qty,
        coalesce(ledger.on_hand_qty, 0) as ledger_qty,
        coalesce(card.closing_value_amount, 0) as warehouse_value_amount,
        coalesce(ledger.value_amount, 0) as ledger_value_amount,
        card.facility_id is not distinct from ledger.facility_id
            and card.bin_id is not distinct from ledger.bin_id
            and card.variant_id is not distinct from ledger.variant_id
            and card.lot_id is not distinct from ledger.lot_id
            and card.bucket is not distinct from ledger.bucket
            and card.owner_id is not distinct from ledger.owner_id as is_same_position,
        card.position_id is null or ledger.position_id is null as is_missing_on_one_side,
    from card
    full outer join ledger on ledger.position_id = card.position_id

)

select *
from compared
where warehouse_qty <> ledger_qty
    or warehouse_value_amount <> ledger_value_amount
    or not (is_same_position or is_missing_on_one_side)
