-- Every timed step of the workflows, one row per occurrence (the cycle-time report's samples):
--   receiving   receipt_to_qc_decision  goods receipt into quarantine → the first QC decision on
--                                        that position (bin, SKU, lot) at or after it;
--               receipt_to_putaway      goods receipt → the first bin move of the SKU (and lot)
--                                        out of the bin it was received into, at or after it;
--   fulfilment  reserve_to_allocate, allocate_to_commit, commit_to_consume (pick, pack, ship:
--               the first consume), reserve_to_consume — a reservation's transitions;
--   transfer    submit_to_approve (approval wait, when approval was required), submit_to_ship
--               (submission → first shipment), ship_to_receive (a shipment → its last unit out
--               of transit).
-- A step whose end is dated before its start (a back-dated business time against a system
-- time, e.g. a transfer submitted now for a shipment recorded in the past) is left out.
with

goods_receipt_lines as (

    select * from {{ ref('stg_ledger__goods_receipt_lines') }}

),

goods_receipts as (

    select * from {{ ref('stg_ledger__goods_receipts') }}

),

receipt_lines as (

    select * from {{ ref('stg_ledger__expected_receipt_lines') }}

),

qc_decisions as (

    select * from {{ ref('stg_ledger__qc_decisions') }}

),

locations as (

    select * from {{ ref('stg_ledger__location_keys') }}

),

variants as (

    select * from {{ ref('stg_ledger__variant_keys') }}

),

lots as (

    select * from {{ ref('stg_ledger__lot_keys') }}

),

events as (

    select * from {{ ref('stg_ledger__events') }}

),

reservations as (

    select * from {{ ref('fct_reservations') }}

),

transfers as (

    select * from {{ ref('fct_transfers') }}

),

shipments as (

    select * from {{ ref('fct_transfer_shipments') }}

),

received_lines as (

    select
        goods_receipt_lines.goods_receipt_id,
        goods_receipt_lines.entry_no,
        goods_receipt_lines.location_key,
        goods_receipt_lines.lot_key,
        goods_receipt_lines.bucket,
        receipt_lines.variant_key,
        locations.facility_id,
        locations.bin_id,
        variants.variant_id,
        lots.lot_id,
        goods_receipts.received_at,
        'goods receipt ' || goods_receipt_lines.goods_receipt_id || ' entry '
            || goods_receipt_lines.entry_no as reference,
    from goods_receipt_lines
    inner join goods_receipts
        on goods_receipts.goods_receipt_id = goods_receipt_lines.goods_receipt_id
    inner join receipt_lines
        on receipt_lines.receipt_id = goods_receipt_lines.receipt_id
        and receipt_lines.line_no = goods_receipt_lines.line_no
    inner join locations on locations.location_key = goods_receipt_lines.location_key
    inner join variants on variants.variant_key = receipt_lines.variant_key
    left join lots on lots.lot_key = goods_receipt_lines.lot_key

),

qc_waits as (

    select
        received_lines.facility_id,
        received_lines.reference,
        received_lines.received_at as started_at,
        min(qc_decisions.decided_at) as ended_at,
    from received_lines
    inner join qc_decisions
        on qc_decisions.location_key = received_lines.location_key
        and qc_decisions.variant_key = received_lines.variant_key
        and qc_decisions.lot_key is not distinct from received_lines.lot_key
        and qc_decisions.decided_at >= received_lines.received_at
    where received_lines.bucket = 'quarantine'
    group by all

),

putaway_moves as (

    select
        bin_id,
        variant_id,
        lot_id,
        occurred_at,
    from events
    where event_kind = 'bin_move'
        and movement_qty < 0

),

putaway_waits as (

    select
        received_lines.facility_id,
        received_lines.reference,
        received_lines.received_at as started_at,
        min(putaway_moves.occurred_at) as ended_at,
    from received_lines
    inner join putaway_moves
        on putaway_moves.bin_id = received_lines.bin_id
        and putaway_moves.variant_id = received_lines.variant_id
        and putaway_moves.lot_id is not distinct from received_lines.lot_id
        and putaway_moves.occurred_at >= received_lines.received_at
    group by all

),

steps as (

    select 'receiving' as process, 'receipt_to_qc_decision' as step, 1 as step_order,
        facility_id, reference, started_at, ended_at
    from qc_waits

    union all

    select 'receiving', 'receipt_to_putaway', 2, facility_id, reference, started_at, ended_at
    from putaway_waits

    union all

    select 'fulfilment', 'reserve_to_allocate', 1, facility_id,
        'reservation ' || reservation_id, reserved_at, allocated_at
    from reservations

    union all

    select 'fulfilment', 'allocate_to_commit', 2, facility_id,
        'reservation ' || reservation_id, allocated_at, committed_at
    from reservations

    union all

    select 'fulfilment', 'commit_to_consume', 3, facility_id,
        'reservation ' || reservation_id, committed_at, first_consumed_at
    from reservations

    union all

    select 'fulfilment', 'reserve_to_consume', 4, facility_id,
        'reservation ' || reservation_id, reserved_at, first_consumed_at
    from reservations

    union all

    select 'transfer', 'submit_to_approve', 1, source_facility_id,
        'transfer ' || transfer_id, submitted_at, approved_at
    from transfers
    where is_approval_required

    union all

    select 'transfer', 'submit_to_ship', 2, source_facility_id,
        'transfer ' || transfer_id, submitted_at, first_shipped_at
    from transfers

    union all

    select 'transfer', 'ship_to_receive', 3, destination_facility_id,
        'shipment ' || shipment_id, shipped_at, received_at
    from shipments

),

final as (

    select
        process,
        step,
        cast(step_order as integer) as step_order,
        facility_id,
        reference,
        started_at,
        ended_at,
        epoch_us(ended_at) - epoch_us(started_at) as duration_us,
        {{ hours_between('started_at', 'ended_at') }} as duration_hours,
    from steps
    where started_at is not null
        and ended_at >= started_at

)

select * from final
