-- On-time and short-ship rates per lane and calendar month of completion (the month of a
-- completed transfer's last receipt):
--   on_time_rate    = completed transfers received within the lane's expected lead time
--                     (first shipment → last receipt ≤ raw.transfer_lanes lead time, else var
--                     transfer_default_lead_time_days) / completed transfers;
--   short_ship_rate = completed transfers short-shipped (the source closed shipping short, or
--                     a receipt recorded units short) / completed transfers;
--   fill_rate       = received / approved quantity of those transfers.
with

transfers as (

    select * from {{ ref('fct_transfers') }}

),

completed as (

    select
        cast(date_trunc('month', last_received_at) as date) as month_start_date,
        *,
    from transfers
    where is_completed

),

final as (

    select
        month_start_date,
        source_facility_id,
        destination_facility_id,
        lane_id,
        any_value(expected_lead_time_hours) as expected_lead_time_hours,
        any_value(lead_time_source) as lead_time_source,
        cast(count(*) as integer) as completed_transfer_count,
        cast(count(*) filter (where is_on_time) as integer) as on_time_transfer_count,
        cast(count(*) filter (where is_short_shipped) as integer) as short_shipped_transfer_count,
        {{ exact_ratio('count(*) filter (where is_on_time)', 'count(*)') }} as on_time_rate,
        {{ exact_ratio('count(*) filter (where is_short_shipped)', 'count(*)') }}
            as short_ship_rate,
        {{ exact_avg('lead_time_hours') }} as avg_lead_time_hours,
        cast(sum(approved_qty) as decimal(18, 6)) as approved_qty,
        cast(sum(shipped_qty) as decimal(18, 6)) as shipped_qty,
        cast(sum(received_qty) as decimal(18, 6)) as received_qty,
        cast(sum(short_shipped_qty) as decimal(18, 6)) as short_shipped_qty,
        cast(sum(exception_qty) as decimal(18, 6)) as exception_qty,
        {{ exact_ratio('sum(received_qty)', 'sum(approved_qty)') }} as fill_rate,
    from completed
    group by month_start_date, source_facility_id, destination_facility_id, lane_id

)

select * from final
