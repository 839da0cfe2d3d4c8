-- Receiving, QC and recall (L5.1, L5.2): expected receipts and the goods receipts against them,
-- QC decisions on quarantined stock, and recall holds with the positions they quarantined.
-- append-only: goods_receipt, goods_receipt_line, qc_decision, recall_line
-- ids: expected_receipt.receipt_id, goods_receipt.goods_receipt_id
-- ids: qc_decision.decision_id, recall.recall_id
create table if not exists expected_receipt (
    receipt_id {id} primary key,
    facility_id {id} not null references facility (facility_id),
    reference text not null,
    document_type text not null,
    vendor_id {id} references party (party_id),
    expected_at text,
    qc_required {bool} not null,
    over_tolerance_pct_e6 {id} not null,
    status text not null check (
        status in ('open', 'partially_received', 'received', 'closed', 'closed_short')
    ),
    comment text,
    created_at text not null,
    created_by text not null,
    closed_at text,
    closed_by text,
    close_reason text,
    close_comment text,
    unique (facility_id, reference)
);
create table if not exists expected_receipt_line (
    receipt_id {id} not null references expected_receipt (receipt_id),
    line_no {id} not null,
    variant_id {id} not null references variant (variant_id),
    expected_qty_e6 {id} not null,
    lot_number text,
    lot_expires_on text,
    unit_cost_e6 {id},
    currency text,
    primary key (receipt_id, line_no)
);
create table if not exists goods_receipt (
    goods_receipt_id {id} primary key,
    receipt_id {id} not null references expected_receipt (receipt_id),
    idempotency_key text not null unique,
    document_id text,
    occurred_at text not null,
    posted_at text not null,
    actor text not null,
    role text not null,
    comment text
);
create table if not exists goods_receipt_line (
    goods_receipt_id {id} not null references goods_receipt (goods_receipt_id),
    entry_no {id} not null,
    receipt_id {id} not null,
    line_no {id} not null,
    qty_e6 {id} not null,
    location_id {id} not null references location (location_id),
    bucket text not null,
    lot_id {id} references lot (lot_id),
    event_id {id} not null references stock_event (event_id),
    primary key (goods_receipt_id, entry_no),
    foreign key (receipt_id, line_no) references expected_receipt_line (receipt_id, line_no)
);
create index if not exists goods_receipt_line_expected
    on goods_receipt_line (receipt_id, line_no);
create table if not exists qc_decision (
    decision_id {id} primary key,
    idempotency_key text not null unique,
    facility_id {id} not null references facility (facility_id),
    receipt_id {id} references expected_receipt (receipt_id),
    variant_id {id} not null references variant (variant_id),
    location_id {id} not null references location (location_id),
    lot_id {id} references lot (lot_id),
    owner_id {id} not null references party (party_id),
    from_bucket text not null,
    to_bucket text not null,
    qty_e6 {id} not null,
    reason_code text not null references reason_code (code),
    comment text,
    out_event_id {id} not null references stock_event (event_id),
    in_event_id {id} not null references stock_event (event_id),
    actor text not null,
    role text not null,
    occurred_at text not null,
    decided_at text not null
);
create table if not exists recall (
    recall_id {id} primary key,
    facility_id {id} not null references facility (facility_id),
    variant_id {id} not null references variant (variant_id),
    lot_id {id} not null references lot (lot_id),
    policy_reference text not null,
    reason_code text not null references reason_code (code),
    status text not null check (status in ('active', 'released')),
    comment text,
    occurred_at text not null,
    opened_at text not null,
    opened_by text not null,
    released_at text,
    released_by text,
    release_reason text references reason_code (code),
    release_comment text
);
create index if not exists recall_lot on recall (facility_id, variant_id, lot_id, status);
create table if not exists recall_line (
    recall_id {id} not null references recall (recall_id),
    line_no {id} not null,
    action text not null check (action in ('hold', 'release')),
    location_id {id} not null references location (location_id),
    owner_id {id} not null references party (party_id),
    qty_e6 {id} not null,
    out_event_id {id} not null references stock_event (event_id),
    in_event_id {id} not null references stock_event (event_id),
    recorded_at text not null,
    primary key (recall_id, line_no, action)
);
