-- An asset check on fct_stock_card in the pipeline (dagster-dbt reads meta.dagster.ref).
{{ config(meta={'dagster': {'ref': {'name': 'fct_stock_card'}}}) }}
-- Reconciliation: every transfer shipment line's quantities equal the stock card events the
-- transfer posted for it — shipped = what left the source (transfer_out) = what entered the
-- in-transit node (transfer_in); received, damaged, misrouted and lost = what left the
-- in-transit node for each (lost as the write-off adjustment); and in transit = what the line
-- still holds there.
with

shipment_lines as (

    select * from {{ ref('stg_ledger__transfer_shipment_lines') }}

),

transfer_events as (

    select * from {{ ref('stg_ledger__transfer_stock_events') }}

),

card as (

    select * from {{ ref('fct_stock_card') }}

),

routes as (

    select * from {{ ref('int_transfers_routed') }}

),

legs as (

    select
        transfer_events.shipment_id,
        transfer_events.shipment_line_no,
        coalesce(-sum(card.movement_qty) filter (
            where transfer_events.transfer_leg = 'source_out'
                and card.event_kind = 'transfer_out'
                and card.facility_id = routes.source_facility_id
        ), 0) as source_out_qty,
        coalesce(sum(card.movement_qty) filter (
            where transfer_events.transfer_leg = 'transit_in'
                and card.event_kind = 'transfer_in'
                and card.bucket = 'in_transit'
        ), 0) as transit_in_qty,
        coalesce(-sum(card.movement_qty) filter (
            where transfer_events.transfer_leg = 'received' and card.bucket = 'in_transit'
        ), 0) as received_qty,
        coalesce(-sum(card.movement_qty) filter (
            where transfer_events.transfer_leg = 'damaged' and card.bucket = 'in_transit'
        ), 0) as damaged_qty,
        coalesce(-sum(card.movement_qty) filter (
            where transfer_events.transfer_leg = 'misrouted' and card.bucket = 'in_transit'
        ), 0) as misrouted_qty,
        coalesce(-sum(card.movement_qty) filter (
            where transfer_events.transfer_leg = 'lost'
                and card.event_kind = 'adjustment'
                and card.bucket = 'in_transit'
        ), 0) as lost_qty,
    from transfer_events
    inner join card on card.event_id = transfer_events.event_id
    inner join routes on routes.transfer_id = transfer_events.transfer_id
    group by all

),

compared as (

    select
        shipment_lines.shipment_id,
        shipment_lines.line_no,
        shipment_lines.shipped_qty,
        coalesce(legs.source_out_qty, 0) as source_out_qty,
        coalesce(legs.transit_in_qty, 0) as transit_in_qty,
        shipment_lines.received_qty,
        coalesce(legs.received_qty, 0) as card_received_qty,
        shipment_lines.damaged_qty,
        coalesce(legs.damaged_qty, 0) as card_damaged_qty,
        shipment_lines.misrouted_qty,
        coalesce(legs.misrouted_qty, 0) as card_misrouted_qty,
        shipment_lines.lost_qty,
        coalesce(legs.lost_qty, 0) as card_lost_qty,
    from shipment_lines
    left join legs
        on legs.shipment_id = shipment_lines.shipment_id
        and legs.shipment_line_no = shipment_lines.line_no

)

select *
from compared
where shipped_qty <> source_out_qty
    or shipped_qty <> transit_in_qty
    or received_qty <> card_received_qty
    or damaged_qty <> card_damaged_qty
    or misrouted_qty <> card_misrouted_qty
    or lost_qty <> card_lost_qty
