-- An asset check on fct_period_snapshots in the pipeline (dagster-dbt reads meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'fct_period_snapshots'}}}) }}
-- Reconciliation: each position's latest period snapshot closes at the ledger's balance, and
-- every period row adds up (closing = opening + inbound - outbound + adjustments).
with

latest as (

    select
        position_id,
        max_by(closing_qty, period_starts_at) as closing_qty,
        max_by(closing_value_amount, period_starts_at) as closing_value_amount,
    from {{ ref('fct_period_snapshots') }}
    group by all

),

ledger as (

    select * from {{ ref('stg_ledger__balances') }}

),

compared as (

    select
        coalesce(latest.position_id, ledger.position_id) as position_id,
        'closing' as check_name,
        coalesce(latest.closing_qty, 0) as warehouse_qty,
        coalesce(ledger.on_hand_qty, 0) as expected_qty,
        coalesce(latest.closing_value_amount, 0) as warehouse_value_amount,
        coalesce(ledger.value_amount, 0) as expected_value_amount,
    from latest
    full outer join ledger on ledger.position_id = latest.position_id

    union all

    select
        position_id,
        'adds up in ' || period_id as check_name,
        closing_qty as warehouse_qty,
        opening_qty + inbound_qty - outbound_qty + adjustment_qty as expected_qty,
        closing_value_amount as warehouse_value_amount,
        opening_value_amount + inbound_value_amount - outbound_value_amount
            + adjustment_value_amount as expected_value_amount,
    from {{ ref('fct_period_snapshots') }}

)

select *
from compared
where warehouse_qty <> expected_qty or warehouse_value_amount <> expected_value_amount
