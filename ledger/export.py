"""Bulk export for the warehouse: stock events after a ledger sequence, master data, FIFO
layers, balances and period snapshots, as plain rows with codes and exact decimals.

Quantities and money leave as `Decimal` (never float); times as ISO 8601 UTC text. Events come
in ledger-sequence order (`event_id`, gap-free and in commit order), so an extractor keeps the
last `event_id` it has loaded as its high-water mark.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ledger.storage import Store, schema

EVENT_FIELDS = (
    "event_id", "idempotency_key", "org", "facility", "bin", "sku", "lot", "bucket", "owner",
    "position_id", "kind", "qty", "qty_after", "unit_cost", "cost_delta", "avg_cost_after",
    "currency", "reason_code", "actor", "role", "comment", "channel", "cost_centre",
    "source_document_type", "source_document_id", "source_line", "occurred_at", "posted_at",
    "reverses_event_id", "period", "approved_by",
)  # fmt: skip
DECIMAL_FIELDS = frozenset({"qty", "qty_after", "unit_cost", "cost_delta", "avg_cost_after"})

EVENT_SQL = """
select e.event_id, e.idempotency_key, org.code, f.code, l.code, v.sku, lot.lot_number,
       e.bucket, owner.code, e.position_id, e.kind, e.qty_e6, e.qty_after_e6, e.unit_cost_e6,
       e.cost_delta_e6, e.avg_cost_after_e6, e.currency, e.reason_code, e.actor, e.role,
       e.comment, e.channel, e.cost_centre, e.source_doc_type, e.source_doc_id, e.source_line,
       e.occurred_at, e.posted_at, e.reverses_event_id, e.period_code, e.approved_by
from stock_event e
join party org on org.party_id = e.org_id
join facility f on f.facility_id = e.facility_id
join location l on l.location_id = e.location_id
join variant v on v.variant_id = e.variant_id
left join lot on lot.lot_id = e.lot_id
join party owner on owner.party_id = e.owner_id
where e.event_id > ?
order by e.event_id
limit ?
"""

MASTER_SQL = {
    "parties": (
        ("party_code", "party_kind", "name", "currency"),
        "select code, kind, name, currency from party order by code",
    ),
    "facilities": (
        ("facility", "name", "facility_type", "org", "currency", "default_bin"),
        "select f.code, f.name, f.facility_type, p.code, f.currency, l.code from facility f "
        "join party p on p.party_id = f.org_id left join location l "
        "on l.location_id = f.default_location_id order by f.code",
    ),
    "bins": (
        ("facility", "bin", "zone", "bin_kind"),
        "select f.code, l.code, l.zone, l.kind from location l join facility f "
        "on f.facility_id = l.facility_id order by f.code, l.code",
    ),
    "items": (
        ("item", "name", "category", "costing_method", "is_lot_tracked", "is_serial_tracked",
         "shelf_life_days"),
        "select code, name, category, costing_method, lot_tracked, serial_tracked, "
        "shelf_life_days from item order by code",
    ),
    "variants": (
        ("sku", "item", "barcode", "uom", "name"),
        "select v.sku, i.code, v.barcode, v.uom, v.name from variant v join item i "
        "on i.item_id = v.item_id order by v.sku",
    ),
    "lots": (
        ("sku", "lot", "expires_on"),
        "select v.sku, l.lot_number, l.expires_on from lot l join variant v "
        "on v.variant_id = l.variant_id order by v.sku, l.lot_number",
    ),
    "reason_codes": (
        ("reason_code", "description", "kinds", "is_active"),
        "select code, description, kinds, is_active from reason_code order by code",
    ),
    "periods": (
        ("period", "starts_at", "ends_at", "status", "close_version"),
        "select code, starts_at, ends_at, status, close_version from period order by starts_at",
    ),
    # Internal ids to codes, for joining the workflow tables (which keep ids) to master data.
    "facility_ids": (
        ("facility_id", "facility"), "select facility_id, code from facility order by facility_id",
    ),
    "variant_ids": (
        ("variant_id", "sku"), "select variant_id, sku from variant order by variant_id",
    ),
    "location_ids": (
        ("location_id", "facility", "bin"),
        "select l.location_id, f.code, l.code from location l join facility f "
        "on f.facility_id = l.facility_id order by l.location_id",
    ),
    "party_ids": (("party_id", "party_code"), "select party_id, code from party order by party_id"),
    "lot_ids": (
        ("lot_id", "sku", "lot"),
        "select l.lot_id, v.sku, l.lot_number from lot l join variant v "
        "on v.variant_id = l.variant_id order by l.lot_id",
    ),
}  # fmt: skip

LAYER_SQL = """
select c.layer_id, f.code, v.sku, c.opened_event_id, c.opened_at, c.unit_cost_e6,
       c.opened_qty_e6, c.remaining_qty_e6, c.remaining_value_e6, c.currency
from cost_layer c
join facility f on f.facility_id = c.facility_id
join variant v on v.variant_id = c.variant_id
order by c.layer_id
"""
LAYER_FIELDS = (
    "layer_id", "facility", "sku", "opened_event_id", "opened_at", "unit_cost", "opened_qty",
    "remaining_qty", "remaining_value", "currency",
)  # fmt: skip

BALANCE_SQL = """
select b.position_id, f.code, l.code, v.sku, lot.lot_number, b.bucket, p.code, b.qty_e6,
       b.value_e6
from stock_balance b
join facility f on f.facility_id = b.facility_id
join location l on l.location_id = b.location_id
join variant v on v.variant_id = b.variant_id
left join lot on lot.lot_id = b.lot_key
join party p on p.party_id = b.owner_id
order by b.position_id
"""
BALANCE_FIELDS = ("position_id", "facility", "bin", "sku", "lot", "bucket", "owner", "qty", "value")

VALUATION_SQL = """
select f.code, v.sku, c.costing_method, c.currency, c.qty_e6, c.value_e6
from cost_position c
join facility f on f.facility_id = c.facility_id
join variant v on v.variant_id = c.variant_id
order by f.code, v.sku
"""
VALUATION_FIELDS = ("facility", "sku", "costing_method", "currency", "qty", "value")

E6_COLUMNS = {
    "events": (11, 12, 13, 14, 15),
    "layers": (5, 6, 7, 8),
    "balances": (7, 8),
    "valuations": (4, 5),
}


def _decimal(units: int | None) -> Decimal | None:
    return None if units is None else Decimal(units).scaleb(-6)


def _convert(rows: list[tuple[Any, ...]], e6: tuple[int, ...]) -> list[tuple[Any, ...]]:
    converted = []
    for row in rows:
        values = list(row)
        for index in e6:
            values[index] = _decimal(values[index])
        converted.append(tuple(values))
    return converted


def events_after(store: Store, after: int, limit: int = 100_000) -> list[tuple[Any, ...]]:
    """Up to `limit` stock events with `event_id > after`, in `EVENT_FIELDS` order."""
    with store.read() as tx:
        rows = tx.all(EVENT_SQL, (after, limit))
    return _convert(rows, E6_COLUMNS["events"])


def iter_events(store: Store, after: int = 0, page: int = 100_000) -> Iterator[list[tuple]]:
    """Pages of events after a high-water mark, until the ledger has no more."""
    while True:
        rows = events_after(store, after, page)
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def master_data(store: Store) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """Every master-data table: name → (column names, rows)."""
    with store.read() as tx:
        return {name: (columns, tx.all(sql)) for name, (columns, sql) in MASTER_SQL.items()}


def workflow_tables() -> list[str]:
    """The workflows' own tables (transfers, shipments, reservations, receipts, counts, …)."""
    core = set(schema.TABLES.lower().split("create table if not exists ")[1:])
    core_names = {chunk.split()[0] for chunk in core}
    return [name for name in schema.table_names() if name not in core_names]


def table(store: Store, name: str) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Any ledger table as (columns, rows); `*_e6` integer columns come out as exact decimals
    under their name without the suffix."""
    if name not in schema.table_names():
        raise ValueError(f"no ledger table {name!r}")
    with store.read() as tx:
        rows = tx.all(f"select * from {name}")
        described = [column[0] for column in tx.cursor.description]
    scaled = tuple(i for i, column in enumerate(described) if column.endswith("_e6"))
    columns = tuple(column.removesuffix("_e6") for column in described)
    return columns, _convert([tuple(row) for row in rows], scaled)


def state(store: Store) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """The ledger's current state for reconciliation: balances, valuations and FIFO layers."""
    with store.read() as tx:
        return {
            "balances": (BALANCE_FIELDS, _convert(tx.all(BALANCE_SQL), E6_COLUMNS["balances"])),
            "valuations": (
                VALUATION_FIELDS,
                _convert(tx.all(VALUATION_SQL), E6_COLUMNS["valuations"]),
            ),
            "layers": (LAYER_FIELDS, _convert(tx.all(LAYER_SQL), E6_COLUMNS["layers"])),
        }


EVENT_TOTAL_FIELDS = ("facility", "kind", "month", "event_count", "qty", "cost_delta")
EVENT_TOTAL_SQL = """
select f.code, e.kind, substr(e.occurred_at, 1, 7), count(*), sum(e.qty_e6),
       sum(coalesce(e.cost_delta_e6, 0))
from stock_event e
join facility f on f.facility_id = e.facility_id
group by f.code, e.kind, substr(e.occurred_at, 1, 7)
order by 1, 2, 3
"""


def event_totals(store: Store) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Events per facility, kind and calendar month (`YYYY-MM` of occurred_at) with their summed
    quantity and cost delta, computed by the ledger itself: what the quality stage checks the
    warehouse's inputs against without copying every event."""
    with store.read() as tx:
        rows = tx.all(EVENT_TOTAL_SQL)
    return EVENT_TOTAL_FIELDS, _convert([tuple(row) for row in rows], (4, 5))
