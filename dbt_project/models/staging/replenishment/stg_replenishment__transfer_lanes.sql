-- The lanes table comes from the pipeline's feeds, not from the ledger, and may not exist yet
-- (a warehouse built from the ledger alone): then no lane is known and reports use the
-- default lead time (var transfer_default_lead_time_days).
{%- set lanes = source('replenishment', 'transfer_lanes') %}
{%- set loaded = load_relation(lanes) if execute else none %}
with

source as (

    {% if loaded is not none -%}
    select * from {{ lanes }}
    {%- else -%}
    select
        cast(null as varchar) as source_facility_code,
        cast(null as varchar) as destination_facility_code,
        cast(null as decimal(18, 6)) as cost_per_unit,
        cast(null as varchar) as currency,
        cast(null as integer) as lead_time_days,
    where false
    {%- endif %}

),

renamed as (

    select
        cast(source_facility_code as varchar) as source_facility_id,
        cast(destination_facility_code as varchar) as destination_facility_id,
        cast(cost_per_unit as decimal(18, 6)) as cost_per_unit_amount,
        cast(currency as varchar) as currency_code,
        cast(lead_time_days as integer) as lead_time_days,

    from source

)

select * from renamed
