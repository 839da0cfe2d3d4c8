{{ config(materialized='ephemeral') }}

-- The moment the workflow marts judge "now" by (open, in transit for how long, overdue,
-- expiring, pending): var workflow_as_of_at when set, else the time of the last extract — the
-- moment the warehouse's picture of the ledger was taken, so a rebuild of the same extract
-- gives the same rows.
{% set as_of = var('workflow_as_of_at') %}
with

extract_states as (

    select * from {{ ref('stg_ledger__extract_states') }}

),

final as (

    select
        {% if as_of -%}
        cast('{{ as_of }}' as timestamp) as as_of_at,
        {%- else -%}
        max(extracted_at) as as_of_at,
        {%- endif %}
    from extract_states

)

select * from final
