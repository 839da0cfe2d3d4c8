-- An asset check on fct_daily_stock_snapshots in the pipeline (dagster-dbt reads meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'fct_daily_stock_snapshots'}}}) }}
-- Reconciliation: each position's latest daily snapshot closes at the ledger's balance.
with

latest as (

    select
        position_id,
        max_by(closing_qty, snapshot_date) as closing_qty,
        max_by(closing_value_amount, snapshot_date) as closing_value_amount,
    from {{ ref('fct_daily_stock_snapshots') }}
    group by all

),

ledger as (

    select * from {{ ref('stg_ledger__balances') }}

),

compared as (

    select
        coalesce(latest.position_id, ledger.position_id) as position_id,
        coalesce(latest.closing_qty, 0) as warehouse_qty,
        coalesce(ledger.on_hand_qty, 0) as ledger_qty,
        coalesce(latest.closing_value_amount, 0) as warehouse_value_amount,
        coalesce(ledger.value_amount, 0) as ledger_value_amount,
    from latest
    full outer join ledger on ledger.position_id = latest.position_id

)

select *
from compared
where warehouse_qty <> ledger_qty or warehouse_value_amount <> ledger_value_amount
