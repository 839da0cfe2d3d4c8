-- One row per transfer shipment: what left the source and what became of it on arrival.
--   in_transit_qty   = shipped − received − damaged − lost − misrouted (a short is a record
--                      only: its units stay in transit until they arrive or are declared lost);
--   received_at      = business time of the receipt that cleared the last unit from transit;
--   lead_time_hours  = shipped_at → received_at (null while units are in transit);
--   is_on_time       = lead_time_hours ≤ the lane's expected lead time (int_transfers_routed);
--   is_overdue       = still in transit more than var transfer_overdue_hours after shipped_at,
--                      as of int_workflow_as_of (the last extract, or var workflow_as_of_at).
with

shipments as (

    select * from {{ ref('stg_ledger__transfer_shipments') }}

),

shipment_lines as (

    select * from {{ ref('stg_ledger__transfer_shipment_lines') }}

),

receipts as (

    select * from {{ ref('stg_ledger__transfer_receipts') }}

),

exceptions as (

    select * from {{ ref('stg_ledger__transfer_exceptions') }}

),

routes as (

    select * from {{ ref('int_transfers_routed') }}

),

as_of as (

    select * from {{ ref('int_workflow_as_of') }}

),

line_totals as (

    select
        shipment_id,
        count(*) as line_count,
        sum(shipped_qty) as shipped_qty,
        sum(received_qty) as received_qty,
        sum(short_qty) as short_qty,
        sum(damaged_qty) as damaged_qty,
        sum(lost_qty) as lost_qty,
        sum(misrouted_qty) as misrouted_qty,
        sum(goods_value_amount) as goods_value_amount,
        sum(transfer_cost_amount) as transfer_cost_amount,
    from shipment_lines
    group by all

),

receipt_totals as (

    select
        shipment_id,
        count(*) as receipt_count,
        min(received_at) as first_received_at,
    from receipts
    group by all

),

exception_totals as (

    select
        shipment_id,
        count(*) as exception_count,
        count(*) filter (where exception_type = 'short') as short_exception_count,
        count(*) filter (where exception_type = 'damaged') as damaged_exception_count,
        count(*) filter (where exception_type = 'lost') as lost_exception_count,
        count(*) filter (where exception_type = 'misrouted') as misrouted_exception_count,
    from exceptions
    group by all

),

measured as (

    select
        shipments.*,
        routes.source_facility_id,
        routes.destination_facility_id,
        routes.lane_id,
        routes.expected_lead_time_hours,
        line_totals.line_count,
        line_totals.shipped_qty,
        line_totals.received_qty,
        line_totals.short_qty,
        line_totals.damaged_qty,
        line_totals.lost_qty,
        line_totals.misrouted_qty,
        line_totals.shipped_qty - line_totals.received_qty - line_totals.damaged_qty
            - line_totals.lost_qty - line_totals.misrouted_qty as in_transit_qty,
        line_totals.goods_value_amount,
        line_totals.transfer_cost_amount,
        coalesce(receipt_totals.receipt_count, 0) as receipt_count,
        receipt_totals.first_received_at,
        exception_totals.exception_count,
        exception_totals.short_exception_count,
        exception_totals.damaged_exception_count,
        exception_totals.lost_exception_count,
        exception_totals.misrouted_exception_count,
        as_of.as_of_at,
    from shipments
    inner join routes on routes.transfer_id = shipments.transfer_id
    inner join line_totals on line_totals.shipment_id = shipments.shipment_id
    left join receipt_totals on receipt_totals.shipment_id = shipments.shipment_id
    left join exception_totals on exception_totals.shipment_id = shipments.shipment_id
    cross join as_of

),

final as (

    select
        shipment_id,
        transfer_id,
        cast(shipment_no as integer) as shipment_no,
        source_facility_id,
        destination_facility_id,
        lane_id,
        shipment_status,
        carrier,
        carrier_reference,
        shipped_by,
        shipped_at,
        first_received_at,
        settled_at as received_at,
        cast(line_count as integer) as line_count,
        cast(receipt_count as integer) as receipt_count,
        cast(shipped_qty as decimal(18, 6)) as shipped_qty,
        cast(received_qty as decimal(18, 6)) as received_qty,
        cast(short_qty as decimal(18, 6)) as short_qty,
        cast(damaged_qty as decimal(18, 6)) as damaged_qty,
        cast(lost_qty as decimal(18, 6)) as lost_qty,
        cast(misrouted_qty as decimal(18, 6)) as misrouted_qty,
        cast(in_transit_qty as decimal(18, 6)) as in_transit_qty,
        cast(coalesce(exception_count, 0) as integer) as exception_count,
        cast(coalesce(short_exception_count, 0) as integer) as short_exception_count,
        cast(coalesce(damaged_exception_count, 0) as integer) as damaged_exception_count,
        cast(coalesce(lost_exception_count, 0) as integer) as lost_exception_count,
        cast(coalesce(misrouted_exception_count, 0) as integer) as misrouted_exception_count,
        cast(goods_value_amount as decimal(18, 6)) as goods_value_amount,
        cast(transfer_cost_amount as decimal(18, 6)) as transfer_cost_amount,
        currency_code,
        {{ hours_between('shipped_at', 'settled_at') }} as lead_time_hours,
        expected_lead_time_hours,
        case
            when settled_at is not null
                then {{ hours_between('shipped_at', 'settled_at') }} <= expected_lead_time_hours
        end as is_on_time,
        in_transit_qty > 0 as is_in_transit,
        case
            when in_transit_qty > 0 then {{ hours_between('shipped_at', 'as_of_at') }}
        end as in_transit_hours,
        in_transit_qty > 0
            and {{ hours_between('shipped_at', 'as_of_at') }} > {{ var('transfer_overdue_hours') }}
            as is_overdue,
        as_of_at,
    from measured

)

select * from final
