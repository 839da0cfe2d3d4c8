{#- The largest value of `column` in this incremental model's own table, as a literal. A
    literal (not a subquery) lets DuckDB push `event_id > N` down through the event views and
    skip row groups by their min/max, instead of computing every event first. 0 when the
    model is built from scratch (and while dbt only parses). -#}
{% macro high_water_mark(column) -%}
    {%- if execute and is_incremental() -%}
        {%- set result = run_query(
            "select coalesce(max(" ~ column ~ "), 0) from " ~ this
        ) -%}
        {{- result.columns[0].values()[0] | int -}}
    {%- else -%}
        0
    {%- endif -%}
{%- endmacro %}
