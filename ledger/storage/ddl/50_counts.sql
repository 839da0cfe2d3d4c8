-- Cycle counts (L5.3): tolerance rules per facility (and category), count sessions with the
-- system quantity snapshotted per position, every count and recount, and the final variances.
-- append-only: count_entry
-- ids: count_session.session_id
create table if not exists count_tolerance (
    facility_id {id} not null references facility (facility_id),
    category text not null,
    max_qty_e6 {id},
    max_pct_e6 {id},
    set_at text not null,
    set_by text not null,
    primary key (facility_id, category)
);
create table if not exists count_session (
    session_id {id} primary key,
    idempotency_key text not null unique,
    facility_id {id} not null references facility (facility_id),
    bins text,
    skus text,
    status text not null check (status in ('open', 'finalised')),
    comment text,
    started_at text not null,
    started_by text not null,
    finalised_at text,
    finalised_by text,
    final_comment text,
    reason_code text references reason_code (code)
);
create table if not exists count_line (
    session_id {id} not null references count_session (session_id),
    line_no {id} not null,
    variant_id {id} not null references variant (variant_id),
    location_id {id} not null references location (location_id),
    lot_key {id} not null,
    bucket text not null,
    owner_id {id} not null references party (party_id),
    in_snapshot {bool} not null,
    snapshot_qty_e6 {id} not null,
    status text not null check (
        status in ('pending', 'counted', 'recount_required', 'recounted')
    ),
    variance_qty_e6 {id},
    variance_event_id {id} references stock_event (event_id),
    primary key (session_id, line_no),
    unique (session_id, variant_id, location_id, lot_key, bucket, owner_id)
);
create table if not exists count_entry (
    session_id {id} not null,
    line_no {id} not null,
    attempt {id} not null,
    counted_qty_e6 {id} not null,
    system_qty_e6 {id} not null,
    within_tolerance {bool} not null,
    counter text not null,
    role text not null,
    idempotency_key text not null,
    comment text,
    recorded_at text not null,
    primary key (session_id, line_no, attempt),
    foreign key (session_id, line_no) references count_line (session_id, line_no)
);
