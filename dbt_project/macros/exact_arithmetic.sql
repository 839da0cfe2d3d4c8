{#- Exact decimal arithmetic. DuckDB divides decimals in DOUBLE, so every division here is done
    on integers of millionths (the ledger's own stored form) with the ledger's rounding:
    half away from zero (Python's ROUND_HALF_UP), to the cent for amounts and to six places
    for unit costs and ratios. -#}

{% macro to_e6(expression) -%}
    cast(cast({{ expression }} as decimal(38, 6)) * 1000000 as hugeint)
{%- endmacro %}

{% macro from_e6(expression) -%}
    cast(cast({{ expression }} as hugeint) * cast(0.000001 as decimal(7, 6)) as decimal(18, 6))
{%- endmacro %}

{#- round(numerator / denominator) for integers, half away from zero; null when dividing by 0 -#}
{% macro div_half_up(numerator, denominator) -%}
    (
        case when ({{ denominator }}) = 0 then null else
            sign(cast({{ numerator }} as hugeint)) * sign(cast({{ denominator }} as hugeint))
            * (
                (2 * abs(cast({{ numerator }} as hugeint)) + abs(cast({{ denominator }} as hugeint)))
                // (2 * abs(cast({{ denominator }} as hugeint)))
            )
        end
    )
{%- endmacro %}

{#- an amount in millionths rounded to the cent (still in millionths) -#}
{% macro round_e6_to_cents(expression) -%}
    ({{ div_half_up(expression, 10000) }} * 10000)
{%- endmacro %}

{#- total × part ÷ whole to the cent, all in millionths; the whole takes exactly the total
    (the ledger's costing.share) -#}
{% macro share_e6(total, part, whole) -%}
    (
        case when ({{ part }}) = ({{ whole }}) then ({{ total }})
        else {{ div_half_up("cast(" ~ total ~ " as hugeint) * (" ~ part ~ ")", "cast(" ~ whole ~ " as hugeint) * 10000") }} * 10000
        end
    )
{%- endmacro %}

{#- numerator ÷ denominator as decimal(18, 6), exact to six places; null when the denominator
    is zero or null -#}
{% macro exact_ratio(numerator, denominator) -%}
    {{ from_e6(div_half_up(to_e6(numerator) ~ " * 1000000", to_e6(denominator))) }}
{%- endmacro %}

{#- the mean of a decimal(18, 6) column as decimal(18, 6), exact to six places (avg() would
    go through DOUBLE); null without values -#}
{% macro exact_avg(expression) -%}
    {{ from_e6(div_half_up("sum(" ~ to_e6(expression) ~ ")", "count(" ~ expression ~ ")")) }}
{%- endmacro %}
