-- One row per transfer request, from request to the last receipt.
--   lead_time_hours   = first shipment's shipped_at → last receipt's received_at, for
--                       completed transfers (status received or received_with_exceptions);
--   is_on_time        = lead_time_hours ≤ expected_lead_time_hours (the lane's lead time
--                       from raw.transfer_lanes, else var transfer_default_lead_time_days);
--   is_short_shipped  = less arrived than was approved for a reason on the way out: the
--                       source closed shipping short, or a receipt recorded units short;
--   exception_qty     = damaged + lost + misrouted (units that did not reach the
--                       destination's available stock); shorts are counted in exception_count.
-- Requested, submitted, approved and cancelled times are system times; shipping and receiving
-- times are business times.
with

transfers as (

    select * from {{ ref('stg_ledger__transfer_requests') }}

),

request_lines as (

    select * from {{ ref('stg_ledger__transfer_request_lines') }}

),

shipments as (

    select * from {{ ref('fct_transfer_shipments') }}

),

receipts as (

    select * from {{ ref('stg_ledger__transfer_receipts') }}

),

routes as (

    select * from {{ ref('int_transfers_routed') }}

),

line_totals as (

    select
        transfer_id,
        count(*) as line_count,
        sum(requested_qty) as requested_qty,
        sum(approved_qty) as approved_qty,
        sum(short_shipped_qty) as short_shipped_qty,
    from request_lines
    group by all

),

shipment_totals as (

    select
        transfer_id,
        count(*) as shipment_count,
        count(*) filter (where is_in_transit) as in_transit_shipment_count,
        count(*) filter (where is_overdue) as overdue_shipment_count,
        min(shipped_at) as first_shipped_at,
        max(shipped_at) as last_shipped_at,
        sum(shipped_qty) as shipped_qty,
        sum(received_qty) as received_qty,
        sum(short_qty) as short_qty,
        sum(damaged_qty) as damaged_qty,
        sum(lost_qty) as lost_qty,
        sum(misrouted_qty) as misrouted_qty,
        sum(in_transit_qty) as in_transit_qty,
        sum(exception_count) as exception_count,
        sum(goods_value_amount) as goods_value_amount,
        sum(transfer_cost_amount) as transfer_cost_amount,
        any_value(currency_code) as currency_code,
    from shipments
    group by all

),

receipt_times as (

    select
        transfer_id,
        min(received_at) as first_received_at,
        max(received_at) as last_received_at,
    from receipts
    group by all

),

joined as (

    select
        transfers.*,
        routes.source_facility_id,
        routes.destination_facility_id,
        routes.in_transit_facility_id,
        routes.lane_id,
        routes.expected_lead_time_hours,
        routes.lead_time_source,
        transfers.transfer_status in ('received', 'received_with_exceptions') as is_completed,
        line_totals.line_count,
        line_totals.requested_qty,
        line_totals.approved_qty,
        line_totals.short_shipped_qty,
        coalesce(shipment_totals.shipment_count, 0) as shipment_count,
        coalesce(shipment_totals.in_transit_shipment_count, 0) as in_transit_shipment_count,
        coalesce(shipment_totals.overdue_shipment_count, 0) as overdue_shipment_count,
        shipment_totals.first_shipped_at,
        shipment_totals.last_shipped_at,
        coalesce(shipment_totals.shipped_qty, 0) as shipped_qty,
        coalesce(shipment_totals.received_qty, 0) as received_qty,
        coalesce(shipment_totals.short_qty, 0) as short_qty,
        coalesce(shipment_totals.damaged_qty, 0) as damaged_qty,
        coalesce(shipment_totals.lost_qty, 0) as lost_qty,
        coalesce(shipment_totals.misrouted_qty, 0) as misrouted_qty,
        coalesce(shipment_totals.in_transit_qty, 0) as in_transit_qty,
        coalesce(shipment_totals.exception_count, 0) as exception_count,
        coalesce(shipment_totals.goods_value_amount, 0) as goods_value_amount,
        coalesce(shipment_totals.transfer_cost_amount, 0) as transfer_cost_amount,
        shipment_totals.currency_code,
        receipt_times.first_received_at,
        receipt_times.last_received_at,
    from transfers
    inner join routes on routes.transfer_id = transfers.transfer_id
    inner join line_totals on line_totals.transfer_id = transfers.transfer_id
    left join shipment_totals on shipment_totals.transfer_id = transfers.transfer_id
    left join receipt_times on receipt_times.transfer_id = transfers.transfer_id

),

final as (

    select
        transfer_id,
        source_facility_id,
        destination_facility_id,
        in_transit_facility_id,
        lane_id,
        transfer_status,
        suggestion_id,
        requested_by,
        is_approval_required,
        approved_by,
        requested_at,
        submitted_at,
        approved_at,
        cancelled_at,
        first_shipped_at,
        last_shipped_at,
        first_received_at,
        last_received_at,
        cast(line_count as integer) as line_count,
        cast(shipment_count as integer) as shipment_count,
        cast(in_transit_shipment_count as integer) as in_transit_shipment_count,
        cast(overdue_shipment_count as integer) as overdue_shipment_count,
        cast(requested_qty as decimal(18, 6)) as requested_qty,
        cast(approved_qty as decimal(18, 6)) as approved_qty,
        cast(shipped_qty as decimal(18, 6)) as shipped_qty,
        cast(short_shipped_qty as decimal(18, 6)) as short_shipped_qty,
        cast(received_qty as decimal(18, 6)) as received_qty,
        cast(short_qty as decimal(18, 6)) as short_qty,
        cast(damaged_qty as decimal(18, 6)) as damaged_qty,
        cast(lost_qty as decimal(18, 6)) as lost_qty,
        cast(misrouted_qty as decimal(18, 6)) as misrouted_qty,
        cast(damaged_qty + lost_qty + misrouted_qty as decimal(18, 6)) as exception_qty,
        cast(in_transit_qty as decimal(18, 6)) as in_transit_qty,
        cast(exception_count as integer) as exception_count,
        cast(goods_value_amount as decimal(18, 6)) as goods_value_amount,
        cast(transfer_cost_amount as decimal(18, 6)) as transfer_cost_amount,
        currency_code,
        case
            when is_completed then {{ hours_between('first_shipped_at', 'last_received_at') }}
        end as lead_time_hours,
        expected_lead_time_hours,
        lead_time_source,
        is_completed,
        transfer_status not in ('received', 'received_with_exceptions', 'cancelled') as is_open,
        case
            when is_completed
                then {{ hours_between('first_shipped_at', 'last_received_at') }}
                    <= expected_lead_time_hours
        end as is_on_time,
        short_shipped_qty > 0 or short_qty > 0 as is_short_shipped,
    from joined

)

select * from final
