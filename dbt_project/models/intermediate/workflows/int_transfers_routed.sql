-- Every transfer request with its facilities as codes, its lane (source -> destination) and the
-- lead time it is expected to take: the lane's lead time from raw.transfer_lanes (the shortest
-- when a pair is listed twice), else var transfer_default_lead_time_days.
with

transfers as (

    select * from {{ ref('stg_ledger__transfer_requests') }}

),

facilities as (

    select * from {{ ref('stg_ledger__facility_keys') }}

),

lanes as (

    select * from {{ ref('stg_replenishment__transfer_lanes') }}

),

lane_lead_times as (

    select
        source_facility_id,
        destination_facility_id,
        min(lead_time_days) as lead_time_days,
    from lanes
    group by all

),

routed as (

    select
        transfers.transfer_id,
        sources.facility_id as source_facility_id,
        destinations.facility_id as destination_facility_id,
        transit.facility_id as in_transit_facility_id,
    from transfers
    inner join facilities as sources
        on sources.facility_key = transfers.source_facility_key
    inner join facilities as destinations
        on destinations.facility_key = transfers.destination_facility_key
    inner join facilities as transit
        on transit.facility_key = transfers.in_transit_facility_key

),

final as (

    select
        routed.transfer_id,
        routed.source_facility_id,
        routed.destination_facility_id,
        routed.in_transit_facility_id,
        routed.source_facility_id || '->' || routed.destination_facility_id as lane_id,
        cast(
            coalesce(lane_lead_times.lead_time_days, {{ var('transfer_default_lead_time_days') }})
            * 24 as decimal(18, 6)
        ) as expected_lead_time_hours,
        case when lane_lead_times.lead_time_days is null then 'default' else 'lane' end
            as lead_time_source,
    from routed
    left join lane_lead_times
        on lane_lead_times.source_facility_id = routed.source_facility_id
        and lane_lead_times.destination_facility_id = routed.destination_facility_id

)

select * from final
