-- An asset check on fct_average_cost_history in the pipeline (dagster-dbt reads meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'fct_average_cost_history'}}}) }}
-- Moving-average history: wherever owned stock is positive, the average recomputed set-based
-- from the cumulated quantity and value equals the average the ledger recorded on the event.
select
    event_id,
    facility_id,
    variant_id,
    cost_qty_after,
    cost_value_after_amount,
    avg_cost_after_amount,
    computed_avg_cost_amount,
from {{ ref('fct_average_cost_history') }}
where computed_avg_cost_amount is not null
    and computed_avg_cost_amount <> avg_cost_after_amount
