-- Consignment settlement (L6): each consumption of a vendor's stock is settled once.
-- append-only: consignment_settlement, consignment_settlement_line
-- ids: consignment_settlement.settlement_id
create table if not exists consignment_settlement (
    settlement_id {id} primary key,
    idempotency_key text not null unique,
    vendor_id {id} not null references party (party_id),
    up_to text not null,
    reference text,
    actor text not null,
    role text not null,
    settled_at text not null
);
create table if not exists consignment_settlement_line (
    settlement_id {id} not null references consignment_settlement (settlement_id),
    event_id {id} not null unique references stock_event (event_id),
    qty_e6 {id} not null
);
