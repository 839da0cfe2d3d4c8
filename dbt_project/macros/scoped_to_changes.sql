{#- The CTEs an incremental FIFO model starts from: every row of `source` for the facility +
    SKUs with a row past the model's own high-water mark (`changed_column` > the largest
    `hwm_column` already built), named `name`; on a full build, all of `source`.
    It also defines `scope`, the changed facility + SKUs, when incremental. -#}
{% macro scoped_to_changes(source, changed_column, hwm_column, name) -%}
{% if is_incremental() %}

scope as (

    select distinct
        facility_id,
        variant_id,
    from {{ source }}
    where {{ changed_column }} > {{ high_water_mark(hwm_column) }}

),

{{ name }} as (

    select {{ source }}.*
    from {{ source }}
    semi join scope
        on scope.facility_id = {{ source }}.facility_id
        and scope.variant_id = {{ source }}.variant_id

),

{% else %}

{{ name }} as (

    select * from {{ source }}

),

{% endif %}
{%- endmacro %}
