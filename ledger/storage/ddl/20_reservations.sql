-- Reservations, the promise contract (SPEC L3): holds of a facility's available stock of a SKU
-- for an order line, their transitions, the totals each facility + SKU has promised (also the
-- row a reservation locks), and the TTL and backorder settings.
-- append-only: reservation_history
-- ids: reservation.reservation_id, reservation_history.history_id
create table if not exists reservation (
    reservation_id {id} primary key,
    facility_id {id} not null references facility (facility_id),
    variant_id {id} not null references variant (variant_id),
    channel text not null check (channel in ('pos', 'ecommerce', 'wholesale', 'marketplace')),
    ref_type text not null,
    ref_id text not null,
    ref_line text not null,
    status text not null
        check (status in ('reserved', 'allocated', 'committed', 'released', 'consumed')),
    requested_qty_e6 {id} not null check (requested_qty_e6 > 0),
    held_qty_e6 {id} not null check (held_qty_e6 >= 0),
    released_qty_e6 {id} not null check (released_qty_e6 >= 0),
    backordered_qty_e6 {id} not null check (backordered_qty_e6 >= 0),
    consumed_qty_e6 {id} not null check (consumed_qty_e6 >= 0),
    is_overcommitted {bool} not null,
    expires_at text not null,
    requested_expires_at text,
    close_reason text,
    actor text not null,
    role text not null,
    created_at text not null,
    updated_at text not null,
    -- every unit asked for is held, released, backordered or consumed: never lost or doubled
    check (requested_qty_e6 = held_qty_e6 + released_qty_e6 + backordered_qty_e6 + consumed_qty_e6),
    check ((held_qty_e6 > 0) = (status in ('reserved', 'allocated', 'committed')))
);
-- one open hold per order line, facility and SKU
create unique index if not exists reservation_open_line
    on reservation (ref_type, ref_id, ref_line, facility_id, variant_id)
    where status in ('reserved', 'allocated', 'committed');
-- what the expiry sweep reads
create index if not exists reservation_open_expiry
    on reservation (expires_at)
    where status in ('reserved', 'allocated', 'committed');
create table if not exists reservation_history (
    history_id {id} primary key,
    reservation_id {id} not null references reservation (reservation_id),
    action text not null
        check (action in ('reserve', 'allocate', 'commit', 'release', 'backorder', 'consume',
                          'expire')),
    from_status text,
    to_status text not null,
    qty_e6 {id} not null,
    held_after_e6 {id} not null,
    reason_code text,
    expires_at text,
    event_ids text,
    operation_key text,
    actor text not null,
    role text not null,
    comment text,
    at text not null,
    posted_at text not null
);
create index if not exists reservation_history_of
    on reservation_history (reservation_id, history_id);
-- The quantities a facility + SKU has promised, by stage: the sum of its open holds.
create table if not exists reservation_hold (
    facility_id {id} not null references facility (facility_id),
    variant_id {id} not null references variant (variant_id),
    reserved_qty_e6 {id} not null,
    allocated_qty_e6 {id} not null,
    committed_qty_e6 {id} not null,
    primary key (facility_id, variant_id)
);
-- TTL overrides per channel and stage, for every facility (facility_id null) or for one.
create table if not exists reservation_ttl (
    channel text not null check (channel in ('pos', 'ecommerce', 'wholesale', 'marketplace')),
    stage text not null check (stage in ('reserve', 'allocate', 'commit')),
    facility_id {id} references facility (facility_id),
    minutes {id} not null check (minutes > 0),
    set_at text not null,
    set_by text not null
);
create unique index if not exists reservation_ttl_key
    on reservation_ttl (channel, stage, coalesce(facility_id, 0));
-- Whether a wholesale commit of less than allocated may split off a backorder, for the
-- organisation (facility_id null) or one facility.
create table if not exists reservation_backorder_policy (
    facility_id {id} references facility (facility_id),
    allow_split {bool} not null,
    set_at text not null,
    set_by text not null
);
create unique index if not exists reservation_backorder_policy_key
    on reservation_backorder_policy (coalesce(facility_id, 0));
