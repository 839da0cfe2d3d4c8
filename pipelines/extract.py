"""Incremental extract of the ledger into the DuckDB warehouse's `raw` schema.

Stock events are appended after a high-water mark on `event_id` kept in `raw.extract_state`;
master data, the ledger's state (balances, valuations, FIFO layers) and the workflows' tables
(transfers, reservations, receipts, counts, …) are replaced on every run, read so that they
reflect exactly the events extracted. Pure Python: no Dagster import.
"""

from __future__ import annotations

import functools
import os
import re
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
from ledger.storage.schema import workflow_ddl

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
# Workflow tables never copied: API token hashes are credentials, of no use to analysis.
PRIVATE_WORKFLOW_TABLES = frozenset({"api_token"})
# Workflow text columns holding times besides `at` and `*_at` (grant validity, settlement cut-off).
TIME_TEXT_COLUMNS = frozenset({"valid_from", "valid_to", "up_to"})
# The ledger stores times as fixed-width UTC text and days as ISO dates.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
DATE_FORMAT = "%Y-%m-%d"
DDL_COLUMN = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s+(\{id\}|\{bool\}|text)(?=[\s,]|$)")


def state_table(name: str) -> str:
    """The raw table a piece of the ledger's state lands in: raw.ledger_<name>."""
    return STATE_TABLES.get(name, f"ledger_{name}")


def workflow_table(name: str) -> str:
    """The raw table a workflow table lands in: raw.ledger_<table>, e.g. ledger_transfer_request."""
    return f"ledger_{name}"


def extracted_workflow_tables() -> list[str]:
    """The workflows' tables the warehouse copies: every one the ledger declares but the private."""
    return [name for name in export.workflow_tables() if name not in PRIVATE_WORKFLOW_TABLES]


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
        loaded = load_consistently(con, store, after)
        for name, table in loaded.master.items():
            replace_table(con, name, name, table)
        for name, table in loaded.state.items():
            replace_table(con, name, state_table(name), table)
        for name, table in loaded.workflows.items():
            replace_workflow_table(con, name, table)
        now = datetime.now(UTC).replace(tzinfo=None)  # stored as UTC, like every *_at
        con.execute(
            "insert or replace into raw.extract_state values ('ledger', ?, ?, ?, ?)",
            [loaded.after, loaded.consistent, loaded.events, now],
        )
        con.execute(
            "insert into raw.extract_runs values (?, ?, ?, ?, ?)",
            [now, full_refresh, loaded.events, loaded.after, loaded.consistent],
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
        "events_extracted": loaded.events,
        "high_water_event_id": loaded.after,
        "state_consistent": loaded.consistent,
        "master_rows": {name: len(table.rows) for name, table in loaded.master.items()},
        "state_rows": {state_table(name): len(table.rows) for name, table in loaded.state.items()},
        "workflow_rows": {
            workflow_table(name): len(table.rows) for name, table in loaded.workflows.items()
        },
        "seconds": round(time.perf_counter() - started, 3),
    }


@dataclass(frozen=True, slots=True)
class Loaded:
    """What one extract read: events appended, the new high-water mark, and the tables to
    replace, with whether they were read with nothing committed in between."""

    events: int
    after: int
    master: dict[str, Table]
    state: dict[str, Table]
    workflows: dict[str, Table]
    consistent: bool


def load_consistently(con: duckdb.DuckDBPyConnection, store: Store, after: int) -> Loaded:
    """Append events, then read master data, state and workflow tables, until nothing was
    committed in between. The export reads each of them in its own snapshot and none carries
    an event id, so the proof is the ledger's write marks (outbox and audit sequences, which
    every write advances) unchanged across the reads, and no event after the high-water mark."""
    loaded = 0
    for _ in range(STATE_ATTEMPTS):
        count, after = append_events(con, store, after)
        loaded += count
        mark = write_marks(store)
        master = {name: Table(*pair) for name, pair in export.master_data(store).items()}
        current = {name: Table(*pair) for name, pair in export.state(store).items()}
        workflows = {
            name: Table(*export.table(store, name)) for name in extracted_workflow_tables()
        }
        quiet = write_marks(store) == mark and not export.events_after(store, after, 1)
        if quiet:
            return Loaded(loaded, after, master, current, workflows, True)
    return Loaded(loaded, after, master, current, workflows, False)


def write_marks(store: Store) -> tuple[int, int]:
    """The last outbox and audit sequence numbers: gap-free and in commit order, and every
    write (a posting, a workflow step, master data) appends to one of them."""
    with store.read() as tx:
        row = tx.one(
            "select (select coalesce(max(seq), 0) from outbox), "
            "(select coalesce(max(audit_id), 0) from audit_log)"
        )
    assert row is not None
    return int(row[0]), int(row[1])


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


def replace_workflow_table(con: duckdb.DuckDBPyConnection, name: str, table: Table) -> None:
    """raw.ledger_<name> with the types the ledger declares, also when the table is empty:
    ids bigint, `*_e6` amounts decimal(18, 6), flags boolean, times timestamp, days date."""
    types = declared_types(name)
    undeclared = [column for column in table.columns if column not in types]
    if undeclared:
        raise ExtractError(
            f"raw.{workflow_table(name)}: columns {undeclared} are not in the ledger's DDL, "
            "so their warehouse types are unknown"
        )
    values = list(zip(*table.rows, strict=True)) or [() for _ in table.columns]
    arrays = [
        arrow_column(column_values, types[column] == DECIMAL_TYPE)
        for column, column_values in zip(table.columns, values, strict=True)
    ]
    arrow_table = pa.table(arrays, names=list(table.columns))
    con.register("arrow_table", arrow_table)
    try:
        check_time_text(con, workflow_table(name), types)
        casts = ", ".join(typed_cast(column, types[column]) for column in table.columns)
        con.execute(
            f"create or replace table raw.{workflow_table(name)} as select {casts} from arrow_table"
        )
    finally:
        con.unregister("arrow_table")


def typed_cast(column: str, wanted: str) -> str:
    if wanted == "timestamp":
        return f'strptime("{column}", \'{TIME_FORMAT}\') as "{column}"'
    if wanted == "date":
        return f'strptime("{column}", \'{DATE_FORMAT}\')::date as "{column}"'
    return f'cast("{column}" as {wanted}) as "{column}"'


def check_time_text(con: duckdb.DuckDBPyConnection, name: str, types: dict[str, str]) -> None:
    """Times and days must be the ledger's fixed-width text; anything else fails the load,
    naming the table, the column and the value, rather than landing as a wrong time."""
    for column, wanted in types.items():
        if wanted not in ("timestamp", "date"):
            continue
        pattern = TIME_FORMAT if wanted == "timestamp" else DATE_FORMAT
        bad = con.execute(
            f'select "{column}" from arrow_table where "{column}" is not null '
            f"and try_strptime(cast(\"{column}\" as varchar), '{pattern}') is null limit 1"
        ).fetchall()
        if bad:
            raise ExtractError(
                f"raw.{name}.{column}: {bad[0][0]!r} is not a ledger {wanted} "
                f"(fixed-width UTC text {pattern})"
            )


def declared_types(name: str) -> dict[str, str]:
    """The warehouse type of each column of a workflow table, from the ledger's DDL (under the
    names export.table gives: `*_e6` without the suffix)."""
    return workflow_column_types().get(name, {})


@functools.cache
def workflow_column_types() -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    for _, sql in workflow_ddl():
        body = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
        for chunk in body.lower().split("create table if not exists ")[1:]:
            name, _, columns = chunk.partition("(")
            tables[name.strip()] = dict(
                column_type(match.group(1), match.group(2))
                for line in columns.splitlines()
                if (match := DDL_COLUMN.match(line))
            )
    return tables


def column_type(column: str, declared: str) -> tuple[str, str]:
    if declared == "{bool}":
        return column, "boolean"
    if declared == "{id}":
        if column.endswith("_e6"):
            return column.removesuffix("_e6"), DECIMAL_TYPE
        return column, "bigint"
    if column == "at" or column.endswith("_at") or column in TIME_TEXT_COLUMNS:
        return column, "timestamp"
    if column.endswith("_on"):
        return column, "date"
    return column, "varchar"


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
    """Drop what the extract loads (events, its own state, master data, ledger state and
    workflow tables); other raw tables (feed rejects, pipeline runs, replenishment settings)
    come from elsewhere and cannot be rebuilt from the ledger, so they stay."""
    tables = con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'"
    ).fetchall()
    for (name,) in tables:
        if name.startswith(("ledger_", "extract_")) or name in export.MASTER_SQL:
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
