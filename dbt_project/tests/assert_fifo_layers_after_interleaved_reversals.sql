{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_cost_layers'}}}) }}

-- The same reconciliation for the facility + SKUs where an event was reversed after other FIFO
-- movements of the same facility + SKU: the ledger restores the exact layers the reversed event
-- touched, the set-based model treats the pair as never posted, so layers can differ there
-- (docs/warehouse.md, "FIFO layers"). A warning: the ledger's layers stay the truth.
with

differences as (

    {{ fifo_layer_differences() }}

)

select * from differences
where has_interleaved_reversal
