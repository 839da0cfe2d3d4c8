"""Incremental extract of the ledger into the DuckDB warehouse's `raw` schema.

Stock events are appended after a high-water mark on `event_id` kept in `raw.extract_state`;
master data and the ledger's state (balances, valuations, FIFO layers) are replaced on every run,
read so that they reflect exactly the events extracted. Pure Python: no Dagster import.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ledger import export
from ledger.storage import Store

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE = REPO_ROOT / "data" / "warehouse.duckdb"
WAREHOUSE_ENV = "STOCKCARD_WAREHOUSE_PATH"

DECIMAL_TYPE = "decimal(18, 6)"
ARROW_DECIMAL = pa.decimal128(18, 6)
PAGE_SIZE = 100_000
# Events committed between reading the events and reading the state make the state newer than
# the events; the extract then reads again, a bounded number of times.
STATE_ATTEMPTS = 5

# Types of the event fields the warehouse knows; a field the ledger adds later lands as varchar
# (its exact text) until a model needs it typed.
EVENT_TYPES = {
    "event_id": "bigint",
    "position_id": "bigint",
    "reverses_event_id": "bigint",
    "occurred_at": "timestamp",
    "posted_at": "timestamp",
    **dict.fromkeys(export.DECIMAL_FIELDS, DECIMAL_TYPE),
}

# Master-data and state columns that arrive as text or 0/1 but mean a date, a time or a flag.
COLUMN_TYPES = {
    ("items", "is_lot_tracked"): "boolean",
    ("items", "is_serial_tracked"): "boolean",
    ("items", "shelf_life_days"): "integer",
    ("lots", "expires_on"): "date",
    ("reason_codes", "is_active"): "boolean",
    ("periods", "starts_at"): "timestamp",
    ("periods", "ends_at"): "timestamp",
    ("periods", "close_version"): "integer",
    ("layers", "opened_at"): "timestamp",
    ("layers", "layer_id"): "bigint",
    ("layers", "opened_event_id"): "bigint",
    ("balances", "position_id"): "bigint",
    ("balances", "qty"): DECIMAL_TYPE,
    ("balances", "value"): DECIMAL_TYPE,
    ("valuations", "qty"): DECIMAL_TYPE,
    ("valuations", "value"): DECIMAL_TYPE,
    ("layers", "unit_cost"): DECIMAL_TYPE,
    ("layers", "opened_qty"): DECIMAL_TYPE,
    ("layers", "remaining_qty"): DECIMAL_TYPE,
    ("layers", "remaining_value"): DECIMAL_TYPE,
}
STATE_TABLES = {
    "balances": "ledger_balances",
    "valuations": "ledger_valuations",
    "layers": "ledger_cost_layers",
}


def state_table(name: str) -> str:
    """The raw table a piece of the ledger's state lands in: raw.ledger_<name>."""
    return STATE_TABLES.get(name, f"ledger_{name}")


class ExtractError(RuntimeError):
    """The warehouse cannot be extracted into as it is (another ledger, a locked file)."""


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of one exported table with their column names."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def warehouse_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file: the argument, else $STOCKCARD_WAREHOUSE_PATH, else data/warehouse.duckdb."""
    chosen = path or os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE
    return Path(chosen).resolve()


def extract(
    store: Store, warehouse: str | os.PathLike[str] | None = None, *, full_refresh: bool = False
) -> dict[str, Any]:
    """Load new ledger events into `raw.ledger_events` and replace master data and state.

    Returns a summary: events loaded, the high-water mark, whether the state tables reflect
    exactly the extracted events, row counts and seconds taken.
    """
    started = time.perf_counter()
    path = warehouse_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as error:
        raise ExtractError(f"warehouse {path} is in use by another writer: {error}") from error
    try:
        con.execute("begin transaction")
        if full_refresh:
            drop_raw(con)
        create_raw(con)
        after = high_water_mark(con)
        check_same_ledger(con, store, after)
        loaded, after, master, current, consistent = load_consistently(con, store, after)
        for name, table in master.items():
            replace_table(con, name, name, table)
        for name, table in current.items():
            replace_table(con, name, state_table(name), table)
        now = datetime.now(UTC).replace(tzinfo=None)  # stored as UTC, like every *_at
        con.execute(
            "insert or replace into raw.extract_state values ('ledger', ?, ?, ?, ?)",
            [after, consistent, loaded, now],
        )
        con.execute(
            "insert into raw.extract_runs values (?, ?, ?, ?, ?)",
            [now, full_refresh, loaded, after, consistent],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.close()
    return {
        "warehouse": str(path),
        "full_refresh": full_refresh,
        "events_extracted": loaded,
        "high_water_event_id": after,
        "state_consistent": consistent,
        "master_rows": {name: len(table.rows) for name, table in master.items()},
        "state_rows": {state_table(name): len(table.rows) for name, table in current.items()},
        "seconds": round(time.perf_counter() - started, 3),
    }


def load_consistently(
    con: duckdb.DuckDBPyConnection, store: Store, after: int
) -> tuple[int, int, dict[str, Table], dict[str, Table], bool]:
    """Append events, then read master data and state, until no event was committed in
    between: export reads each of them in its own snapshot and the state carries no event id,
    so an empty read after the state is what proves the state matches the high-water mark."""
    loaded = 0
    for _ in range(STATE_ATTEMPTS):
        count, after = append_events(con, store, after)
        loaded += count
        master = {name: Table(*pair) for name, pair in export.master_data(store).items()}
        current = {name: Table(*pair) for name, pair in export.state(store).items()}
        if not export.events_after(store, after, 1):
            return loaded, after, master, current, True
    return loaded, after, master, current, False


def append_events(con: duckdb.DuckDBPyConnection, store: Store, after: int) -> tuple[int, int]:
    """Every event after `after`, page by page, as typed columns (never row by row)."""
    ensure_event_columns(con)
    count = 0
    for page in export.iter_events(store, after=after, page=PAGE_SIZE):
        con.register("arrow_page", event_page(page))
        columns = ", ".join(f'"{name}"' for name in export.EVENT_FIELDS)
        casts = ", ".join(
            f'cast("{name}" as {EVENT_TYPES.get(name, "varchar")})' for name in export.EVENT_FIELDS
        )
        con.execute(f"insert into raw.ledger_events ({columns}) select {casts} from arrow_page")
        con.unregister("arrow_page")
        count += len(page)
        after = page[-1][0]
    return count, after


def event_page(rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    columns = list(zip(*rows, strict=True))
    arrays = [
        arrow_column(values, name in export.DECIMAL_FIELDS)
        for name, values in zip(export.EVENT_FIELDS, columns, strict=True)
    ]
    return pa.table(arrays, names=list(export.EVENT_FIELDS))


def arrow_column(values: Iterable[Any], is_decimal: bool) -> pa.Array:
    values = list(values)
    if is_decimal or any(isinstance(value, Decimal) for value in values):
        return pa.array(values, type=ARROW_DECIMAL)
    array = pa.array(values)
    # A column with no value at all has arrow's null type; DuckDB needs a real one.
    return array.cast(pa.string()) if pa.types.is_null(array.type) else array


def replace_table(con: duckdb.DuckDBPyConnection, kind: str, name: str, table: Table) -> None:
    arrays = [arrow_column(values, False) for values in zip(*table.rows, strict=True)]
    if not arrays:
        arrays = [pa.array([], type=pa.string()) for _ in table.columns]
    arrow_table = pa.table(arrays, names=list(table.columns))
    casts = ", ".join(column_cast(kind, column, arrow_table.schema) for column in table.columns)
    con.register("arrow_table", arrow_table)
    con.execute(f"create or replace table raw.{name} as select {casts} from arrow_table")
    con.unregister("arrow_table")


def column_cast(kind: str, column: str, schema: pa.Schema) -> str:
    wanted = COLUMN_TYPES.get((kind, column))
    if wanted is None:
        arrow_type = schema.field(column).type
        wanted = DECIMAL_TYPE if pa.types.is_decimal(arrow_type) else None
    if wanted is None and pa.types.is_string(schema.field(column).type):
        wanted = "varchar"  # an empty table's columns are untyped strings
    if wanted is None:
        return f'"{column}"'
    return f'cast("{column}" as {wanted}) as "{column}"'


def create_raw(con: duckdb.DuckDBPyConnection) -> None:
    columns = ",\n  ".join(
        f'"{name}" {EVENT_TYPES.get(name, "varchar")}' for name in export.EVENT_FIELDS
    )
    con.execute("create schema if not exists raw")
    con.execute(f"create table if not exists raw.ledger_events (\n  {columns}\n)")
    con.execute(
        """
        create table if not exists raw.extract_state (
            source varchar primary key,
            high_water_event_id bigint not null,
            is_state_consistent boolean not null,
            events_extracted_last_run bigint not null,
            extracted_at timestamp not null
        )
        """
    )
    con.execute(
        """
        create table if not exists raw.extract_runs (
            extracted_at timestamp not null,
            is_full_refresh boolean not null,
            events_extracted bigint not null,
            high_water_event_id bigint not null,
            is_state_consistent boolean not null
        )
        """
    )


def ensure_event_columns(con: duckdb.DuckDBPyConnection) -> None:
    """A field the ledger's export gained since the table was made becomes a new column."""
    present = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'ledger_events'"
        ).fetchall()
    }
    for name in export.EVENT_FIELDS:
        if name not in present:
            kind = EVENT_TYPES.get(name, "varchar")
            con.execute(f'alter table raw.ledger_events add column "{name}" {kind}')


def drop_raw(con: duckdb.DuckDBPyConnection) -> None:
    tables = con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'"
    ).fetchall()
    for (name,) in tables:
        con.execute(f'drop table if exists raw."{name}"')


def high_water_mark(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(
        "select high_water_event_id from raw.extract_state where source = 'ledger'"
    ).fetchone()
    return 0 if row is None else int(row[0])


def check_same_ledger(con: duckdb.DuckDBPyConnection, store: Store, after: int) -> None:
    """The event at the high-water mark must be the same in both, or the warehouse was loaded
    from another ledger and appending would mix two histories."""
    if after == 0:
        return
    ours = con.execute(
        "select idempotency_key from raw.ledger_events where event_id = ?", [after]
    ).fetchone()
    theirs = export.events_after(store, after - 1, 1)
    key_index = export.EVENT_FIELDS.index("idempotency_key")
    if ours is None or not theirs or theirs[0][0] != after or theirs[0][key_index] != ours[0]:
        raise ExtractError(
            f"warehouse event {after} differs from the ledger's: it was extracted from another "
            "ledger; extract with full_refresh=True"
        )
