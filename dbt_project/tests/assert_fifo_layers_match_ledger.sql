-- An asset check on fct_cost_layers in the pipeline (dagster-dbt reads meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'fct_cost_layers'}}}) }}
-- Reconciliation: the FIFO layers computed set-based from the events equal the ledger's own
-- layers (remaining quantity and value, unit cost, opened quantity of every layer with something
-- left, and open layers = valuation per facility + SKU). Facility + SKUs with an interleaved
-- reversal are checked by assert_fifo_layers_after_interleaved_reversals (a warning).
with

differences as (

    {{ fifo_layer_differences() }}

)

select * from differences
where not has_interleaved_reversal
