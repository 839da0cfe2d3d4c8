-- The queue of actions a person must take now, one row per action, as of int_workflow_as_of
-- (the last extract, or var workflow_as_of_at):
--   approve_transfer  a transfer waits for approval (since it was submitted), at its source;
--   recount           a count line was beyond tolerance and needs a recount by another
--                     counter (since the first count), at the counted facility;
--   lot_expiring      a lot on hand expires within var expiry_risk_days of the as-of date
--                     (since it entered that window, or arrived if later);
--   lot_expired       a lot on hand is past its expiry (since its expiry date);
--   overdue_shipment  a shipment has been in transit longer than var transfer_overdue_hours
--                     (since it became overdue), at its destination.
-- Not materialised with the reports: rebuilt on every run, the hourly one included.
with

transfers as (

    select * from {{ ref('fct_transfers') }}

),

shipments as (

    select * from {{ ref('fct_transfer_shipments') }}

),

count_lines as (

    select * from {{ ref('fct_count_lines') }}

),

spans as (

    select * from {{ ref('fct_stock_balance_spans') }}

),

positions as (

    select * from {{ ref('dim_positions') }}

),

lots as (

    select * from {{ ref('dim_lots') }}

),

facilities as (

    select * from {{ ref('dim_facilities') }}

),

as_of as (

    select * from {{ ref('int_workflow_as_of') }}

),

approvals as (

    select
        'approve_transfer' as action_type,
        source_facility_id as facility_code,
        'transfer ' || transfer_id as reference,
        'approve transfer ' || transfer_id || ' from ' || source_facility_id || ' to '
            || destination_facility_id || ': ' || {{ qty_text('requested_qty') }}
            || ' units requested by ' || requested_by as detail,
        submitted_at as since_at,
    from transfers
    where transfer_status = 'pending_approval'

),

recounts as (

    select
        'recount',
        facility_id,
        'count session ' || session_id || ' line ' || line_no,
        'recount ' || variant_id || coalesce(' lot ' || lot_id, '') || ' in bin ' || bin_id
            || ' (' || bucket || '): first count ' || {{ qty_text('first_counted_qty') }}
            || ' by ' || first_counter || ' against ' || {{ qty_text('system_qty') }}
            || ' on record; another counter must recount',
        first_counted_at,
    from count_lines
    where line_status = 'recount_required'

),

lots_on_hand as (

    select
        positions.facility_id,
        positions.lot_id,
        any_value(positions.variant_id) as variant_id,
        sum(spans.closing_qty) filter (where spans.valid_to_date is null) as on_hand_qty,
        min(spans.valid_from_date) as first_on_hand_date,
    from spans
    inner join positions on positions.position_id = spans.position_id
    inner join facilities on facilities.facility_id = positions.facility_id
    where positions.lot_id is not null
        and not facilities.is_in_transit
    group by all
    having sum(spans.closing_qty) filter (where spans.valid_to_date is null) > 0

),

lot_expiries as (

    select
        case
            when lots.expires_on_date < cast(as_of.as_of_at as date) then 'lot_expired'
            else 'lot_expiring'
        end as action_type,
        lots_on_hand.facility_id,
        'lot ' || lots_on_hand.lot_id as reference,
        case
            when lots.expires_on_date < cast(as_of.as_of_at as date)
                then 'take ' || {{ qty_text('lots_on_hand.on_hand_qty') }} || ' of '
                    || lots_on_hand.variant_id || ' lot ' || lots.lot_number
                    || ' out of stock: expired on ' || lots.expires_on_date
            else 'sell or move ' || {{ qty_text('lots_on_hand.on_hand_qty') }} || ' of '
                || lots_on_hand.variant_id || ' lot ' || lots.lot_number || ': expires on '
                || lots.expires_on_date || ', in '
                || datediff('day', cast(as_of.as_of_at as date), lots.expires_on_date) || ' days'
        end as detail,
        case
            when lots.expires_on_date < cast(as_of.as_of_at as date)
                then cast(lots.expires_on_date as timestamp)
            else cast(greatest(
                lots.expires_on_date - {{ var('expiry_risk_days') }},
                lots_on_hand.first_on_hand_date
            ) as timestamp)
        end as since_at,
    from lots_on_hand
    inner join lots on lots.lot_id = lots_on_hand.lot_id
    cross join as_of
    where lots.expires_on_date
        <= cast(as_of.as_of_at as date) + {{ var('expiry_risk_days') }}

),

overdue as (

    select
        'overdue_shipment',
        destination_facility_id,
        'shipment ' || shipment_id,
        'chase shipment ' || shipment_no || ' of transfer ' || transfer_id || ' from '
            || source_facility_id || ': ' || {{ qty_text('in_transit_qty') }}
            || ' units in transit since ' || strftime(shipped_at, '%Y-%m-%d %H:%M')
            || ' UTC, over ' || {{ var('transfer_overdue_hours') }} || ' hours',
        shipped_at + to_hours({{ var('transfer_overdue_hours') }}),
    from shipments
    where is_overdue

),

actions as (

    select * from approvals
    union all
    select * from recounts
    union all
    select * from lot_expiries
    union all
    select * from overdue

),

final as (

    select
        actions.action_type,
        actions.facility_code,
        actions.reference,
        actions.detail,
        actions.since_at,
        as_of.as_of_at,
    from actions
    cross join as_of

)

select * from final
