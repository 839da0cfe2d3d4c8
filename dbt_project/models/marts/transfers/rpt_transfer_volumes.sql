-- Transfer activity per day, ISO week (starting Monday) and calendar month (date_grain), per
-- lane: transfers requested (by requested_at, a system time) and their requested quantity,
-- shipments shipped (shipped_at) and their quantity, receipts recorded (received_at) and the
-- quantity received into the destination (damaged and misrouted units are not received), and
-- transfers completed (by their last receipt). Periods without activity have no row.
with

transfers as (

    select * from {{ ref('fct_transfers') }}

),

shipments as (

    select * from {{ ref('fct_transfer_shipments') }}

),

receipts as (

    select * from {{ ref('stg_ledger__transfer_receipts') }}

),

transfer_events as (

    select * from {{ ref('stg_ledger__transfer_stock_events') }}

),

events as (

    select * from {{ ref('stg_ledger__events') }}

),

received_per_receipt as (

    -- a received piece leaves transit and enters the destination: the entering legs count
    select
        transfer_events.transfer_receipt_id,
        sum(events.movement_qty) as received_qty,
    from transfer_events
    inner join events on events.event_id = transfer_events.event_id
    where transfer_events.transfer_leg = 'received'
        and events.movement_qty > 0
    group by all

),

activities as (

    select
        source_facility_id,
        destination_facility_id,
        lane_id,
        requested_at as activity_at,
        'requested' as activity,
        requested_qty as qty,
    from transfers

    union all

    select
        source_facility_id,
        destination_facility_id,
        lane_id,
        shipped_at,
        'shipped',
        shipped_qty,
    from shipments

    union all

    select
        transfers.source_facility_id,
        transfers.destination_facility_id,
        transfers.lane_id,
        receipts.received_at,
        'received',
        coalesce(received_per_receipt.received_qty, 0),
    from receipts
    inner join transfers on transfers.transfer_id = receipts.transfer_id
    left join received_per_receipt
        on received_per_receipt.transfer_receipt_id = receipts.transfer_receipt_id

    union all

    select
        source_facility_id,
        destination_facility_id,
        lane_id,
        last_received_at,
        'completed',
        received_qty,
    from transfers
    where is_completed

),

by_period as (

    select
        grains.date_grain,
        cast(date_trunc(grains.date_grain, activities.activity_at) as date) as period_start_date,
        activities.source_facility_id,
        activities.destination_facility_id,
        activities.lane_id,
        count(*) filter (where activity = 'requested') as requested_count,
        coalesce(sum(qty) filter (where activity = 'requested'), 0) as requested_qty,
        count(*) filter (where activity = 'shipped') as shipped_count,
        coalesce(sum(qty) filter (where activity = 'shipped'), 0) as shipped_qty,
        count(*) filter (where activity = 'received') as received_count,
        coalesce(sum(qty) filter (where activity = 'received'), 0) as received_qty,
        count(*) filter (where activity = 'completed') as completed_count,
    from activities
    cross join (values ('day'), ('week'), ('month')) as grains(date_grain)
    where activities.activity_at is not null
    group by all

),

final as (

    select
        date_grain,
        period_start_date,
        source_facility_id,
        destination_facility_id,
        lane_id,
        cast(requested_count as integer) as requested_count,
        cast(requested_qty as decimal(18, 6)) as requested_qty,
        cast(shipped_count as integer) as shipped_count,
        cast(shipped_qty as decimal(18, 6)) as shipped_qty,
        cast(received_count as integer) as received_count,
        cast(received_qty as decimal(18, 6)) as received_qty,
        cast(completed_count as integer) as completed_count,
    from by_period

)

select * from final
