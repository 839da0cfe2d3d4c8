"""The ledger's tables, written once; each backend renders them with its own types.

Quantities, unit costs and amounts are integers of millionths (`*_e6`); times are fixed-width
UTC text, so ordering and sums are exact and identical on both backends.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA_VERSION = 1

# Tables the database itself keeps append-only (UPDATE and DELETE refused by trigger).
APPEND_ONLY = (
    "stock_event",
    "cost_layer_entry",
    "outbox",
    "audit_log",
    "idempotency",
    "period_snapshot",
    "operation",
)

TABLES = """
create table if not exists ledger_meta (
    key text primary key,
    value text not null
);
create table if not exists ledger_counter (
    name text primary key,
    last_value {id} not null
);
create table if not exists party (
    party_id {id} primary key,
    code text not null unique,
    kind text not null check (kind in ('org', 'vendor')),
    name text not null,
    currency text not null
);
create table if not exists facility (
    facility_id {id} primary key,
    code text not null unique,
    name text not null,
    facility_type text not null,
    org_id {id} not null references party (party_id),
    currency text not null,
    default_location_id {id}
);
create table if not exists location (
    location_id {id} primary key,
    facility_id {id} not null references facility (facility_id),
    code text not null,
    zone text,
    kind text not null,
    unique (facility_id, code)
);
create table if not exists item (
    item_id {id} primary key,
    code text not null unique,
    name text not null,
    category text,
    costing_method text not null check (costing_method in ('moving_average', 'fifo')),
    lot_tracked {bool} not null,
    serial_tracked {bool} not null,
    shelf_life_days {id}
);
create table if not exists variant (
    variant_id {id} primary key,
    sku text not null unique,
    item_id {id} not null references item (item_id),
    barcode text unique,
    uom text not null,
    name text
);
create table if not exists lot (
    lot_id {id} primary key,
    variant_id {id} not null references variant (variant_id),
    lot_number text not null,
    expires_on text,
    unique (variant_id, lot_number)
);
create table if not exists reason_code (
    code text primary key,
    description text not null,
    kinds text not null,
    is_active {bool} not null
);
create table if not exists negative_stock_policy (
    facility_id {id} not null references facility (facility_id),
    variant_id {id} not null,
    allow_negative {bool} not null,
    primary key (facility_id, variant_id)
);
create table if not exists period (
    code text primary key,
    starts_at text not null,
    ends_at text not null,
    status text not null check (status in ('open', 'closed', 'locked')),
    changed_at text not null,
    changed_by text not null,
    close_version {id} not null
);
create table if not exists stock_balance (
    position_id {id} primary key,
    variant_id {id} not null references variant (variant_id),
    facility_id {id} not null references facility (facility_id),
    location_id {id} not null references location (location_id),
    lot_key {id} not null,
    bucket text not null check (bucket in ('available', 'quarantine', 'damaged', 'in_transit')),
    owner_id {id} not null references party (party_id),
    qty_e6 {id} not null,
    value_e6 {id} not null,
    last_event_id {id} not null,
    unique (variant_id, facility_id, location_id, lot_key, bucket, owner_id)
);
create table if not exists cost_position (
    facility_id {id} not null references facility (facility_id),
    variant_id {id} not null references variant (variant_id),
    costing_method text not null,
    currency text not null,
    qty_e6 {id} not null,
    value_e6 {id} not null,
    last_unit_cost_e6 {id},
    primary key (facility_id, variant_id)
);
create table if not exists stock_event (
    event_id {id} primary key,
    idempotency_key text not null,
    org_id {id} not null references party (party_id),
    facility_id {id} not null references facility (facility_id),
    location_id {id} not null references location (location_id),
    variant_id {id} not null references variant (variant_id),
    lot_id {id} references lot (lot_id),
    bucket text not null,
    owner_id {id} not null references party (party_id),
    position_id {id} not null references stock_balance (position_id),
    kind text not null,
    qty_e6 {id} not null,
    qty_after_e6 {id} not null,
    unit_cost_e6 {id},
    cost_delta_e6 {id} not null,
    avg_cost_after_e6 {id},
    currency text,
    reason_code text references reason_code (code),
    actor text not null,
    role text not null,
    comment text,
    channel text,
    cost_centre text,
    source_doc_type text not null,
    source_doc_id text not null,
    source_line text,
    occurred_at text not null,
    posted_at text not null,
    reverses_event_id {id} references stock_event (event_id),
    period_code text not null references period (code),
    approved_by text
);
create index if not exists stock_event_card
    on stock_event (variant_id, facility_id, occurred_at);
create unique index if not exists stock_event_reversed
    on stock_event (reverses_event_id) where reverses_event_id is not null;
create table if not exists cost_layer (
    layer_id {id} primary key,
    facility_id {id} not null,
    variant_id {id} not null,
    opened_event_id {id} not null references stock_event (event_id),
    opened_at text not null,
    unit_cost_e6 {id} not null,
    opened_qty_e6 {id} not null,
    remaining_qty_e6 {id} not null,
    remaining_value_e6 {id} not null,
    currency text not null,
    foreign key (facility_id, variant_id) references cost_position (facility_id, variant_id)
);
create index if not exists cost_layer_open
    on cost_layer (facility_id, variant_id, layer_id) where remaining_qty_e6 <> 0;
create table if not exists cost_layer_entry (
    event_id {id} not null references stock_event (event_id),
    layer_id {id} not null references cost_layer (layer_id),
    qty_e6 {id} not null,
    value_e6 {id} not null,
    primary key (event_id, layer_id)
);
create table if not exists idempotency (
    key text primary key,
    request_hash text not null,
    first_event_id {id} not null,
    last_event_id {id} not null,
    posted_at text not null
);
create table if not exists outbox (
    seq {id} primary key,
    topic text not null,
    event_id {id} references stock_event (event_id),
    payload text,
    created_at text not null
);
create table if not exists audit_log (
    audit_id {id} primary key,
    at text not null,
    actor text not null,
    role text not null,
    action text not null,
    subject text not null,
    outcome text not null check (outcome in ('applied', 'refused')),
    detail text not null
);
create table if not exists operation (
    key text primary key,
    kind text not null,
    request_hash text not null,
    result text not null,
    created_at text not null
);
create table if not exists period_snapshot (
    period_code text not null references period (code),
    close_version {id} not null,
    position_id {id} not null references stock_balance (position_id),
    variant_id {id} not null,
    facility_id {id} not null,
    location_id {id} not null,
    lot_key {id} not null,
    bucket text not null,
    owner_id {id} not null,
    opening_qty_e6 {id} not null,
    inbound_qty_e6 {id} not null,
    outbound_qty_e6 {id} not null,
    adjustment_qty_e6 {id} not null,
    closing_qty_e6 {id} not null,
    opening_value_e6 {id} not null,
    inbound_value_e6 {id} not null,
    outbound_value_e6 {id} not null,
    adjustment_value_e6 {id} not null,
    closing_value_e6 {id} not null,
    primary key (period_code, close_version, position_id)
);
"""

# Sequences that must be gap-free and in commit order (the ledger sequence, the outbox, the
# audit trail); every other id only has to be unique.
GAP_FREE = ("stock_event", "outbox", "audit_log")

# Tables whose ids the ledger allocates itself, and their id column.
COUNTERS = {
    "stock_event": "event_id",
    "outbox": "seq",
    "audit_log": "audit_id",
    "stock_balance": "position_id",
    "lot": "lot_id",
    "party": "party_id",
    "facility": "facility_id",
    "location": "location_id",
    "item": "item_id",
    "variant": "variant_id",
}


DDL_DIR = Path(__file__).with_name("ddl")


def workflow_ddl() -> list[tuple[str, str]]:
    """(name, SQL) of each workflow's tables, in `ddl/*.sql`, rendered after the core."""
    return [(path.stem, path.read_text()) for path in sorted(DDL_DIR.glob("*.sql"))]


def _declared(marker: str) -> list[str]:
    found = []
    for _, sql in workflow_ddl():
        for line in sql.splitlines():
            if line.startswith(f"-- {marker}:"):
                found += [part.strip() for part in line.split(":", 1)[1].split(",") if part.strip()]
    return found


def append_only() -> tuple[str, ...]:
    """Core append-only tables and those a workflow file declares with `-- append-only: t`."""
    return APPEND_ONLY + tuple(_declared("append-only"))


def counters() -> dict[str, str]:
    """Tables whose ids the ledger allocates: core ones and `-- ids: table.column` ones."""
    extra = dict(item.split(".", 1) for item in _declared("ids"))
    return {**COUNTERS, **extra}


def table_names() -> list[str]:
    texts = [TABLES] + [sql for _, sql in workflow_ddl()]
    return [
        chunk.split()[0]
        for text in texts
        for chunk in text.lower().split("create table if not exists ")[1:]
    ]


def render(id_type: str, bool_type: str) -> list[str]:
    """The schema's statements with the backend's integer and boolean types."""
    texts = [TABLES] + [sql for _, sql in workflow_ddl()]
    statements = []
    for text in texts:
        body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
        rendered = body.format(id=id_type, bool=bool_type)
        statements += [part.strip() for part in rendered.split(";") if part.strip()]
    return statements
