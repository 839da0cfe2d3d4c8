"""What the feed stages leave in the warehouse: rejects, ledger refusals, one row per processed
file (appended, with the run id), and the replenishment configuration (replaced)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime

import duckdb
import polars as pl

from pipelines.extract import warehouse_path

DECIMAL = "decimal(18, 6)"
TABLES = {
    "rejects": {
        "feed": "varchar", "file": "varchar", "row_number": "bigint", "source_ref": "varchar",
        "field": "varchar", "rule": "varchar", "message": "varchar",
        "rejected_at": "timestamp", "run_id": "varchar",
    },
    "posting_refusals": {
        "feed": "varchar", "file": "varchar", "row_number": "bigint", "source_ref": "varchar",
        "idempotency_key": "varchar", "code": "varchar", "field": "varchar",
        "message": "varchar", "refused_at": "timestamp", "run_id": "varchar",
    },
    "feed_files": {
        "feed": "varchar", "file": "varchar", "format": "varchar", "rows": "bigint",
        "valid_rows": "bigint", "rejected_rows": "bigint", "posted_rows": "bigint",
        "refused_rows": "bigint", "replayed_rows": "bigint", "processed_at": "timestamp",
        "run_id": "varchar",
    },
    "replenishment_rules": {
        "facility_code": "varchar", "sku": "varchar", "min_qty": DECIMAL, "max_qty": DECIMAL,
        "service_level": DECIMAL, "capacity_qty": DECIMAL, "review_period_days": "integer",
    },
    "vendor_terms": {
        "vendor_code": "varchar", "sku": "varchar", "unit_cost": DECIMAL, "currency": "varchar",
        "lead_time_days": "integer", "moq": DECIMAL, "case_pack": DECIMAL,
    },
    "transfer_lanes": {
        "source_facility_code": "varchar", "destination_facility_code": "varchar",
        "cost_per_unit": DECIMAL, "currency": "varchar", "lead_time_days": "integer",
    },
    "channel_priorities": {"channel": "varchar", "priority": "integer"},
}  # fmt: skip
STAMPS = {"rejects": "rejected_at", "posting_refusals": "refused_at", "feed_files": "processed_at"}
CONFIG_TABLES = ("replenishment_rules", "vendor_terms", "transfer_lanes", "channel_priorities")

Target = str | os.PathLike[str] | duckdb.DuckDBPyConnection | None


def record_feed_results(
    warehouse: Target,
    *,
    run_id: str,
    rejects: pl.DataFrame | None = None,
    refusals: pl.DataFrame | None = None,
    files: pl.DataFrame | None = None,
    replenishment_config: Mapping[str, pl.DataFrame] | None = None,
) -> dict[str, int]:
    """Append rejects, refusals and file rows (stamped with `run_id` and now, where a frame has
    no time of its own) and replace each configuration table given, in one transaction.
    Returns the rows written per table."""
    con, owned = connect(warehouse)
    written: dict[str, int] = {}
    try:
        con.execute("begin transaction")
        create_tables(con)
        now = datetime.now(UTC).replace(tzinfo=None)
        for table, frame in (
            ("rejects", rejects),
            ("posting_refusals", refusals),
            ("feed_files", files),
        ):
            if frame is not None and frame.height:
                written[table] = append(con, table, stamped(table, frame, run_id, now))
        for table, frame in (replenishment_config or {}).items():
            if table in CONFIG_TABLES and frame is not None:
                written[table] = replace(con, table, frame)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        if owned:
            con.close()
    return written


def connect(warehouse: Target) -> tuple[duckdb.DuckDBPyConnection, bool]:
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        return warehouse, False
    path = warehouse_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path)), True


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for table, columns in TABLES.items():
        body = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        con.execute(f"create table if not exists raw.{table} ({body})")


def stamped(table: str, frame: pl.DataFrame, run_id: str, now: datetime) -> pl.DataFrame:
    stamp = STAMPS[table]
    if stamp in frame.columns:
        frame = frame.with_columns(pl.col(stamp).dt.replace_time_zone(None))
    else:
        frame = frame.with_columns(pl.lit(now).alias(stamp))
    return frame.with_columns(run_id=pl.lit(run_id))


def append(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    columns = TABLES[table]
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ValueError(f"{table}: the frame lacks the columns {', '.join(missing)}")
    # Arrow carries decimals as decimal128 and times as timestamps: nothing passes a double.
    con.register("incoming", frame.select(list(columns)).to_arrow())
    try:
        names = ", ".join(columns)
        casts = ", ".join(f"cast({name} as {kind})" for name, kind in columns.items())
        con.execute(f"insert into raw.{table} ({names}) select {casts} from incoming")
    finally:
        con.unregister("incoming")
    return frame.height


def replace(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """The configuration as the planning systems last sent it: the whole table, replaced."""
    con.execute(f"delete from raw.{table}")
    if frame.height:
        append(con, table, frame)
    return frame.height
