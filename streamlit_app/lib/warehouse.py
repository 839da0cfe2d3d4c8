"""The DuckDB warehouse as the dashboards see it: where it is, whether it can be read, and one
read-only query at a time, with every failure turned into a message that says what to run."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

WAREHOUSE_ENV = "STOCKCARD_WAREHOUSE_PATH"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_WAREHOUSE = REPO_ROOT / "data" / "warehouse.duckdb"
BUILD_HINT = (
    "Run `stockcard demo` to build the demo warehouse, or `stockcard pipeline run` to load your "
    "ledger and build the marts; then reload this page."
)


def warehouse_path() -> Path:
    """$STOCKCARD_WAREHOUSE_PATH, else data/warehouse.duckdb at the repository root."""
    chosen = os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE
    return Path(chosen).resolve()


class WarehouseUnavailable(Exception):
    """The warehouse (or a table a page needs) cannot be read now; `message` says why and
    `hint` what to do. `kind` is missing, busy, unreadable, unbuilt, empty or missing_table."""

    def __init__(self, kind: str, message: str, hint: str = BUILD_HINT):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Stamp:
    """Identifies one state of the warehouse file, so cached results are dropped as soon as the
    pipeline writes a new one (the cache's time-to-live is only the backstop)."""

    path: str
    modified_ns: int
    size: int


def stamp(path: Path | None = None) -> Stamp:
    path = path or warehouse_path()
    if not path.is_file():
        raise missing(path)
    found = path.stat()
    wal = path.with_name(path.name + ".wal")
    # Writes land in the write-ahead log first; its size changes before the file's does.
    wal_size = wal.stat().st_size if wal.is_file() else 0
    return Stamp(str(path), found.st_mtime_ns, found.st_size + wal_size)


def missing(path: Path) -> WarehouseUnavailable:
    return WarehouseUnavailable("missing", f"There is no warehouse at `{path}` yet.")


def read(path: str, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run one read-only query and close the connection at once: DuckDB lets one process write
    the file, and a reader that stays connected would keep the pipeline from writing it.

    Decimal columns arrive as `decimal.Decimal` (exact), times as datetime64."""
    connection = connect(Path(path))
    try:
        return connection.sql(sql, params=dict(params or {})).to_arrow_table().to_pandas()
    except duckdb.CatalogException as error:
        raise WarehouseUnavailable(
            "missing_table", f"The warehouse lacks a table this view needs: {error}"
        ) from error
    finally:
        connection.close()


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.is_file():
        raise missing(path)
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise busy(path) from error
        raise WarehouseUnavailable(
            "unreadable", f"The file `{path}` cannot be read as a DuckDB warehouse: {error}"
        ) from error
    except duckdb.ConnectionException as error:
        # the same process holds it open for writing (a pipeline run in this process)
        raise busy(path) from error


def busy(path: Path) -> WarehouseUnavailable:
    return WarehouseUnavailable(
        "busy",
        f"The warehouse `{path}` is being written by the pipeline right now.",
        "DuckDB lets one process write the file at a time; reload this page when the run ends.",
    )


def tables(path: str) -> frozenset[str]:
    """Every `schema.table` the warehouse holds (tables and views)."""
    found = read(
        path, "select table_schema || '.' || table_name as name from information_schema.tables"
    )
    return frozenset(found["name"])


def require(available: frozenset[str], needed: Sequence[str]) -> None:
    """Refuse, with the pipeline step that makes them, when a view's tables are not built yet."""
    absent = [name for name in needed if name not in available]
    if absent:
        raise WarehouseUnavailable(
            "missing_table",
            f"The warehouse has no {', '.join(f'`{name}`' for name in absent)} yet.",
            hint_for(absent),
        )


FEED_TABLES = ("raw.rejects", "raw.posting_refusals", "raw.feed_files", "raw.pipeline_runs")
MODEL_TABLES = ("marts.replenishment_suggestions", "marts.transfer_suggestions", "marts.abc_xyz")


def hint_for(absent: Sequence[str]) -> str:
    if all(name in FEED_TABLES for name in absent):
        return (
            "The pipeline writes these as it runs and reads the feed inbox: run `stockcard "
            "pipeline run` (or `stockcard demo`)."
        )
    if all(name in MODEL_TABLES for name in absent):
        return (
            "The suggestions are computed by the pipeline's model stage after the marts: run "
            "`stockcard pipeline run` (or `stockcard demo`)."
        )
    return (
        "The marts are built by the pipeline: run `stockcard pipeline run` (or `stockcard demo` "
        "for the demo data); a warehouse built by an older version needs a new run."
    )
