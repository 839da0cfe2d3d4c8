-- The distribution of transfer lead times per lane, in buckets of hours (upper bounds from var
-- transfer_lead_time_bucket_hours, each bucket including its upper bound), measured two ways
-- (lead_time_basis): per completed transfer (first shipment → last receipt) and per settled
-- shipment (shipped → its last unit out of transit). Buckets without a sample have no row.
{% set bounds = var('transfer_lead_time_bucket_hours') %}
with

transfers as (

    select * from {{ ref('fct_transfers') }}

),

shipments as (

    select * from {{ ref('fct_transfer_shipments') }}

),

samples as (

    select
        'transfer' as lead_time_basis,
        source_facility_id,
        destination_facility_id,
        lane_id,
        lead_time_hours,
        is_on_time,
    from transfers
    where lead_time_hours is not null

    union all

    select
        'shipment',
        source_facility_id,
        destination_facility_id,
        lane_id,
        lead_time_hours,
        is_on_time,
    from shipments
    where lead_time_hours is not null

),

bucketed as (

    select
        *,
        case
            {% for limit in bounds -%}
            when lead_time_hours <= {{ limit }} then {{ loop.index }}
            {% endfor -%}
            else {{ bounds | length + 1 }}
        end as lead_time_bucket_number,
        case
            {% for limit in bounds -%}
            when lead_time_hours <= {{ limit }}
                then '{{ bounds[loop.index0 - 1] if not loop.first else 0 }}-{{ limit }} hours'
            {% endfor -%}
            else 'over {{ bounds[-1] }} hours'
        end as lead_time_bucket,
    from samples

),

final as (

    select
        lead_time_basis,
        source_facility_id,
        destination_facility_id,
        lane_id,
        cast(lead_time_bucket_number as integer) as lead_time_bucket_number,
        lead_time_bucket,
        cast(count(*) as integer) as sample_count,
        cast(count(*) filter (where is_on_time) as integer) as on_time_count,
        {{ exact_avg('lead_time_hours') }} as avg_lead_time_hours,
    from bucketed
    group by all

)

select * from final
