{{
    config(
        materialized='incremental',
        incremental_strategy='replace_from',
        replace_partition_by=['facility_id', 'variant_id'],
        on_schema_change='fail',
    )
}}

-- FIFO cost layers per facility + SKU, computed set-based from the stock events: opened,
-- received, issued (consumed), reversed, revalued and remaining, in quantity and value. Layer
-- ids are the ledger's: the id of the event that opened the layer. A `negative_stock` layer is
-- a hole opened by an outflow beyond stock at the last known cost and filled by later inflows.
-- Reconciled to the ledger's own layers by tests/assert_fifo_layers_match_ledger.sql.

with

layers as (

    select * from {{ ref('int_fifo_layers_positioned') }}

),

{{ scoped_to_changes('layers', 'fifo_max_event_id', 'fifo_max_event_id', 'scoped') }}

final as (

    select
        layer_id,
        facility_id,
        variant_id,
        item_id,
        layer_kind,
        opened_event_id,
        opened_event_kind,
        opened_at,
        {{ from_e6('unit_cost_e6') }} as unit_cost_amount,
        currency_code,
        {{ from_e6('opened_qty_e6') }} as opened_qty,
        {{ from_e6('received_qty_e6') }} as received_qty,
        {{ from_e6('issued_qty_e6') }} as issued_qty,
        {{ from_e6('reversed_qty_e6') }} as reversed_qty,
        {{ from_e6('remaining_qty_e6') }} as remaining_qty,
        {{ from_e6('opened_value_e6') }} as opened_value_amount,
        {{ from_e6('received_value_e6') }} as received_value_amount,
        {{ from_e6('revaluation_e6') }} as revaluation_amount,
        {{ from_e6('issued_value_e6') }} as issued_value_amount,
        {{ from_e6('reversed_value_e6') }} as reversed_value_amount,
        {{ from_e6('remaining_value_e6') }} as remaining_value_amount,
        is_reversed,
        remaining_qty_e6 <> 0 or remaining_value_e6 <> 0 as is_open,
        has_interleaved_reversal,
        fifo_max_event_id,
    from scoped

)

select * from final
