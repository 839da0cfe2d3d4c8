-- Transfers between facilities (SPEC L4): requests and their lines, shipments through the
-- in-transit node and their lines, receipts, exceptions, the stock card events each wrote and
-- every status change. Requests, shipments and their lines carry running totals and statuses;
-- what happened (receipts, exceptions, events, status changes) is append-only.
-- append-only: transfer_receipt, transfer_exception, transfer_stock_event, transfer_status_change
-- ids: transfer_request.transfer_id, transfer_shipment.shipment_id, transfer_receipt.receipt_id
-- ids: transfer_exception.exception_id, transfer_status_change.change_id
create table if not exists transfer_request (
    transfer_id {id} primary key,
    org_id {id} not null references party (party_id),
    source_facility_id {id} not null references facility (facility_id),
    destination_facility_id {id} not null references facility (facility_id),
    in_transit_facility_id {id} not null references facility (facility_id),
    status text not null check (status in ('draft', 'pending_approval', 'submitted', 'shipping',
        'receiving', 'received', 'received_with_exceptions', 'cancelled')),
    suggestion_id text,
    comment text,
    requested_by text not null,
    requested_role text not null,
    requested_at text not null,
    submitted_at text,
    request_value_e6 {id},
    approval_required {bool},
    approval_triggers text,
    approved_by text,
    approved_role text,
    approved_at text,
    approval_reason text,
    cancelled_by text,
    cancelled_at text,
    cancel_reason text,
    shipping_closed {bool} not null,
    updated_at text not null
);
create index if not exists transfer_request_status on transfer_request (status, transfer_id);
create index if not exists transfer_request_route
    on transfer_request (source_facility_id, destination_facility_id);
create table if not exists transfer_request_line (
    transfer_id {id} not null references transfer_request (transfer_id),
    line_no {id} not null,
    variant_id {id} not null references variant (variant_id),
    lot_id {id} references lot (lot_id),
    owner_id {id} not null references party (party_id),
    requested_qty_e6 {id} not null,
    approved_qty_e6 {id},
    shipped_qty_e6 {id} not null,
    short_shipped_qty_e6 {id} not null,
    short_ship_reason text references reason_code (code),
    primary key (transfer_id, line_no)
);
create table if not exists transfer_shipment (
    shipment_id {id} primary key,
    transfer_id {id} not null references transfer_request (transfer_id),
    shipment_no {id} not null,
    status text not null check (status in ('in_transit', 'partially_received', 'received',
        'received_with_exceptions')),
    shipped_by text not null,
    shipped_role text not null,
    shipped_at text not null,
    posted_at text not null,
    carrier text,
    reference text,
    transfer_cost_e6 {id} not null,
    currency text not null,
    settled_at text,
    updated_at text not null,
    unique (transfer_id, shipment_no)
);
create table if not exists transfer_shipment_line (
    shipment_id {id} not null references transfer_shipment (shipment_id),
    line_no {id} not null,
    transfer_line_no {id} not null,
    variant_id {id} not null references variant (variant_id),
    lot_id {id} references lot (lot_id),
    owner_id {id} not null references party (party_id),
    from_location_id {id} not null references location (location_id),
    shipped_qty_e6 {id} not null,
    goods_value_e6 {id} not null,
    transfer_cost_e6 {id} not null,
    received_qty_e6 {id} not null,
    damaged_qty_e6 {id} not null,
    lost_qty_e6 {id} not null,
    misrouted_qty_e6 {id} not null,
    short_qty_e6 {id} not null,
    cleared_value_e6 {id} not null,
    primary key (shipment_id, line_no)
);
create table if not exists transfer_receipt (
    receipt_id {id} primary key,
    shipment_id {id} not null references transfer_shipment (shipment_id),
    transfer_id {id} not null references transfer_request (transfer_id),
    facility_id {id} not null references facility (facility_id),
    received_by text not null,
    received_role text not null,
    occurred_at text not null,
    posted_at text not null,
    comment text
);
create index if not exists transfer_receipt_shipment on transfer_receipt (shipment_id);
create table if not exists transfer_exception (
    exception_id {id} primary key,
    receipt_id {id} not null references transfer_receipt (receipt_id),
    shipment_id {id} not null references transfer_shipment (shipment_id),
    shipment_line_no {id} not null,
    exception_type text not null check (exception_type in ('short', 'damaged', 'lost',
        'misrouted')),
    qty_e6 {id} not null,
    value_e6 {id} not null,
    reason_code text not null references reason_code (code),
    facility_id {id} references facility (facility_id),
    comment text,
    recorded_by text not null,
    recorded_at text not null
);
create index if not exists transfer_exception_shipment on transfer_exception (shipment_id);
create table if not exists transfer_stock_event (
    event_id {id} primary key references stock_event (event_id),
    transfer_id {id} not null references transfer_request (transfer_id),
    shipment_id {id} not null references transfer_shipment (shipment_id),
    shipment_line_no {id} not null,
    receipt_id {id} references transfer_receipt (receipt_id),
    exception_id {id} references transfer_exception (exception_id),
    leg text not null
);
create index if not exists transfer_stock_event_shipment on transfer_stock_event (shipment_id);
create table if not exists transfer_status_change (
    change_id {id} primary key,
    transfer_id {id} not null references transfer_request (transfer_id),
    shipment_id {id} references transfer_shipment (shipment_id),
    from_status text,
    to_status text not null,
    actor text not null,
    role text not null,
    at text not null,
    reason text
);
create index if not exists transfer_status_change_transfer
    on transfer_status_change (transfer_id, change_id);
