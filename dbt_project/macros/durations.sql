{#- Durations between two timestamps in hours, exact to six places (a millionth of an hour,
    rounded half away from zero), as decimal(18, 6): the microseconds between them ÷ 3600
    are millionths of an hour. Null when either end is null. -#}
{% macro hours_between(started_at, ended_at) -%}
    {{ from_e6(div_half_up("epoch_us(" ~ ended_at ~ ") - epoch_us(" ~ started_at ~ ")", 3600)) }}
{%- endmacro %}

{#- The short-ship reasons of the ledger's reservations (ledger/reservations.py, a closed list):
    a release for one of them is stock that could not be supplied; any other release reason
    (a cancelled order, a failed payment, an expired cart) withdraws the demand. -#}
{% macro short_ship_reasons() -%}
    (
        'insufficient_available', 'damaged', 'qc_hold', 'recall_hold', 'lost_in_pick',
        'carrier_constraint'
    )
{%- endmacro %}

{#- A decimal quantity as short text for messages: 6.000000 → 6, -1.500000 → -1.5. -#}
{% macro qty_text(expression) -%}
    regexp_replace(cast(cast({{ expression }} as decimal(18, 6)) as varchar), '\.?0+$', '')
{%- endmacro %}
