{#- Incremental strategy `replace_from`: for every partition (e.g. a position, or a facility +
    SKU) present in the new rows, delete the target's rows from the earliest new value of
    `replace_from` (e.g. a date) onwards, then insert the new rows. Rows that a late event makes
    obsolete disappear even when no new row has their key, which delete+insert by unique key
    cannot do. Without `replace_from` the whole partition is replaced.

    config(incremental_strategy='replace_from', replace_partition_by=[...], replace_from='col') -#}
{% macro get_incremental_replace_from_sql(arg_dict) -%}
    {%- set target = arg_dict["target_relation"] -%}
    {%- set source = arg_dict["temp_relation"] -%}
    {%- set partition_by = config.require("replace_partition_by") -%}
    {%- set from_column = config.get("replace_from") -%}
    {%- set dest_cols_csv = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
    delete from {{ target }} as replaced
    using (
        select
            {% for column in partition_by -%}
            {{ column }},
            {% endfor -%}
            {% if from_column -%} min({{ from_column }}) {%- else -%} null {%- endif %} as replace_from_value
        from {{ source }}
        group by all
    ) as scope
    where
        {% for column in partition_by -%}
        replaced.{{ column }} = scope.{{ column }} and
        {% endfor -%}
        {% if from_column -%}
        replaced.{{ from_column }} >= scope.replace_from_value
        {%- else -%}
        true
        {%- endif %};

    insert into {{ target }} ({{ dest_cols_csv }})
    select {{ dest_cols_csv }}
    from {{ source }}
{%- endmacro %}
