{#- How an event counts in a period snapshot, exactly as the ledger's period close does
    (ledger/periods.py, docs/ledger.md "Periods"): a reversal counts with the kind it reverses;
    bin moves, reclassifications and anything else count by their sign. -#}
{% macro period_category(kind, qty, cost_delta) -%}
    case
        when {{ kind }} in ('adjustment', 'cost_adjustment', 'count_variance') then 'adjustment'
        when {{ kind }} in ('customer_return', 'receipt', 'transfer_in') then 'inbound'
        when {{ kind }} in ('consignment_consumption', 'issue', 'transfer_out', 'vendor_return')
            then 'outbound'
        when {{ qty }} > 0 or ({{ qty }} = 0 and {{ cost_delta }} > 0) then 'inbound'
        else 'outbound'
    end
{%- endmacro %}
