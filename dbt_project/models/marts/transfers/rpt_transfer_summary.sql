-- Transfers summarised at four levels in one table (summary_level): all transfers, by source
-- facility, by destination facility and by lane (source -> destination). Counts by status,
-- open transfers, the average lead time of completed transfers (first shipment → last
-- receipt), shipments (in transit, overdue), exceptions and quantities.
with

transfers as (

    select * from {{ ref('fct_transfers') }}

),

summarised as (

    select
        case grouping(source_facility_id, destination_facility_id)
            when 3 then 'all'
            when 1 then 'source'
            when 2 then 'destination'
            else 'lane'
        end as summary_level,
        source_facility_id,
        destination_facility_id,
        count(*) as transfer_count,
        count(*) filter (where transfer_status = 'draft') as draft_count,
        count(*) filter (where transfer_status = 'pending_approval') as pending_approval_count,
        count(*) filter (where transfer_status = 'submitted') as submitted_count,
        count(*) filter (where transfer_status = 'shipping') as shipping_count,
        count(*) filter (where transfer_status = 'receiving') as receiving_count,
        count(*) filter (where transfer_status = 'received') as received_count,
        count(*) filter (where transfer_status = 'received_with_exceptions')
            as received_with_exceptions_count,
        count(*) filter (where transfer_status = 'cancelled') as cancelled_count,
        count(*) filter (where is_open) as open_transfer_count,
        count(*) filter (where is_completed) as completed_transfer_count,
        count(*) filter (where is_on_time) as on_time_transfer_count,
        count(*) filter (where is_short_shipped) as short_shipped_transfer_count,
        {{ exact_avg('lead_time_hours') }} as avg_lead_time_hours,
        min(lead_time_hours) as min_lead_time_hours,
        max(lead_time_hours) as max_lead_time_hours,
        sum(shipment_count) as shipment_count,
        sum(in_transit_shipment_count) as in_transit_shipment_count,
        sum(overdue_shipment_count) as overdue_shipment_count,
        sum(exception_count) as exception_count,
        sum(requested_qty) as requested_qty,
        sum(shipped_qty) as shipped_qty,
        sum(received_qty) as received_qty,
        sum(short_shipped_qty) as short_shipped_qty,
        sum(short_qty) as short_qty,
        sum(damaged_qty) as damaged_qty,
        sum(lost_qty) as lost_qty,
        sum(misrouted_qty) as misrouted_qty,
        sum(exception_qty) as exception_qty,
        sum(in_transit_qty) as in_transit_qty,
    from transfers
    group by grouping sets (
        (),
        (source_facility_id),
        (destination_facility_id),
        (source_facility_id, destination_facility_id)
    )

),

final as (

    select
        summary_level,
        source_facility_id,
        destination_facility_id,
        case
            when summary_level = 'lane' then source_facility_id || '->' || destination_facility_id
        end as lane_id,
        cast(transfer_count as integer) as transfer_count,
        cast(draft_count as integer) as draft_count,
        cast(pending_approval_count as integer) as pending_approval_count,
        cast(submitted_count as integer) as submitted_count,
        cast(shipping_count as integer) as shipping_count,
        cast(receiving_count as integer) as receiving_count,
        cast(received_count as integer) as received_count,
        cast(received_with_exceptions_count as integer) as received_with_exceptions_count,
        cast(cancelled_count as integer) as cancelled_count,
        cast(open_transfer_count as integer) as open_transfer_count,
        cast(completed_transfer_count as integer) as completed_transfer_count,
        cast(on_time_transfer_count as integer) as on_time_transfer_count,
        cast(short_shipped_transfer_count as integer) as short_shipped_transfer_count,
        avg_lead_time_hours,
        min_lead_time_hours,
        max_lead_time_hours,
        cast(shipment_count as integer) as shipment_count,
        cast(in_transit_shipment_count as integer) as in_transit_shipment_count,
        cast(overdue_shipment_count as integer) as overdue_shipment_count,
        cast(exception_count as integer) as exception_count,
        cast(requested_qty as decimal(18, 6)) as requested_qty,
        cast(shipped_qty as decimal(18, 6)) as shipped_qty,
        cast(received_qty as decimal(18, 6)) as received_qty,
        cast(short_shipped_qty as decimal(18, 6)) as short_shipped_qty,
        cast(short_qty as decimal(18, 6)) as short_qty,
        cast(damaged_qty as decimal(18, 6)) as damaged_qty,
        cast(lost_qty as decimal(18, 6)) as lost_qty,
        cast(misrouted_qty as decimal(18, 6)) as misrouted_qty,
        cast(exception_qty as decimal(18, 6)) as exception_qty,
        cast(in_transit_qty as decimal(18, 6)) as in_transit_qty,
    from summarised

)

select * from final
