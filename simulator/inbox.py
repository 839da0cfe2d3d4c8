"""Writing feed files into the inbox as the source systems would: one file per day, week or
month, in each feed's own format, with a share of deliberately bad rows mixed in."""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from models.feeds import FEEDS
from simulator.badrows import corrupt

Row = dict[str, str | None]

# How often each feed's source system starts a new file, and how it names it.
PERIODS = {
    "pos_sales": "day", "ecommerce_orders": "day", "goods_receipts": "day", "recalls": "day",
    "purchase_orders": "week", "qc_decisions": "week", "putaways": "week",
    "wholesale_orders": "week", "transfer_orders": "week", "shipments": "week",
    "count_results": "week", "adjustments": "week", "consignment_settlements": "month",
}  # fmt: skip
PREFIXES = {
    "pos_sales": "pos", "ecommerce_orders": "orders", "goods_receipts": "grn",
    "recalls": "recall", "purchase_orders": "po", "qc_decisions": "qc", "putaways": "putaway",
    "wholesale_orders": "sales_orders", "transfer_orders": "transfer_orders",
    "shipments": "shipments", "count_results": "counts", "adjustments": "adjustments",
    "consignment_settlements": "settlements",
}  # fmt: skip
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}


def period_start(feed: str, day: date) -> date:
    period = PERIODS.get(feed, "once")
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def period_end(feed: str, start: date) -> date:
    """The first day after the file's period."""
    period = PERIODS.get(feed, "once")
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


@dataclass(slots=True)
class FileBuffer:
    feed: str
    name: str
    closes: date  # written once the simulation has finished the day before this
    rows: list[Row] = field(default_factory=list)
    frames: list[pl.DataFrame] = field(default_factory=list)


@dataclass(slots=True)
class Written:
    """What went into the inbox: files and rows per feed, bad rows per feed and kind."""

    files: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bad_rows: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )


class Inbox:
    """Buffers rows per file and writes each file when its period is over."""

    def __init__(
        self, root: Path, *, seed: int, bad_row_share: float, closed_month: str, last_day: date
    ):
        self.root = root
        self.seed = seed
        self.bad_row_share = bad_row_share
        self.closed_month = closed_month
        self.last_day = last_day
        self.buffers: dict[tuple[str, str], FileBuffer] = {}
        self.paths: set[Path] = set()
        self.written = Written()

    def add(self, feed: str, rows: Sequence[Row], when: datetime | date, part: str = "") -> None:
        """Rows of a feed dated `when` (the file they belong to follows from it); `part`
        separates files of the same period (a store's till file)."""
        day = when.date() if isinstance(when, datetime) else when
        if day > self.last_day or not rows:
            return  # the future has not happened yet
        self._buffer(feed, day, part).rows.extend(rows)

    def add_frame(self, feed: str, frame: pl.DataFrame, day: date, part: str = "") -> None:
        """A whole columnar batch of rows (the tills' volume is too big for dicts)."""
        if day > self.last_day or frame.height == 0:
            return
        self._buffer(feed, day, part).frames.append(frame)

    def master(self, feed: str, rows: Sequence[Row], day: date) -> None:
        name = f"{feed}_{day.isoformat()}.{EXTENSIONS[FEEDS[feed].format]}"
        self.write(FileBuffer(feed, name, day, list(rows)), bad_rows=False)

    def _buffer(self, feed: str, day: date, part: str) -> FileBuffer:
        start = period_start(feed, day)
        stem = f"{PREFIXES[feed]}_{part + '_' if part else ''}{start.isoformat()}"
        name = f"{stem}.{EXTENSIONS[FEEDS[feed].format]}"
        buffer = self.buffers.get((feed, name))
        if buffer is None:
            buffer = FileBuffer(feed, name, period_end(feed, start))
            self.buffers[(feed, name)] = buffer
        return buffer

    def flush(self, through: date) -> None:
        """Write every file whose period ended a day before `through` ended: a file is named by
        UTC date and the stores' early hours are the day before in UTC."""
        for key in sorted(self.buffers):
            buffer = self.buffers[key]
            if buffer.closes <= through:
                self.write(self.buffers.pop(key), bad_rows=True)

    def close(self) -> None:
        for key in sorted(self.buffers):
            self.write(self.buffers.pop(key), bad_rows=True)

    def write(self, buffer: FileBuffer, *, bad_rows: bool) -> None:
        contract = FEEDS[buffer.feed]
        frame = as_frame(buffer, contract.column_names)
        if contract.time is not None:
            frame = frame.sort(contract.time, maintain_order=True)
        if bad_rows and self.bad_row_share > 0:
            frame = self.spoil(buffer, frame)
        path = self.root / buffer.feed / buffer.name
        if path in self.paths:
            raise AssertionError(f"{path} written twice: rows arrived after its period closed")
        self.paths.add(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(contract.format, frame, path, contract)
        self.written.files[buffer.feed] += 1
        self.written.rows[buffer.feed] += frame.height

    def spoil(self, buffer: FileBuffer, frame: pl.DataFrame) -> pl.DataFrame:
        """Mix in bad rows: copies of good rows with one defect each, at the share asked for."""
        rng = np.random.default_rng(
            [self.seed, zlib.crc32(f"{buffer.feed}/{buffer.name}".encode())]
        )
        expected = self.bad_row_share * frame.height / (1.0 - self.bad_row_share)
        count = int(expected) + int(rng.random() < expected - int(expected))
        if count == 0:
            return frame
        rows = frame.to_dicts()
        for _ in range(count):
            source = int(rng.integers(len(rows)))
            kind, bad = corrupt(buffer.feed, rows[source], rng, self.closed_month)
            place = source + 1 if kind == "duplicate" else int(rng.integers(len(rows) + 1))
            rows.insert(place, bad)
            self.written.bad_rows[buffer.feed][kind] += 1
        columns = list(frame.columns)
        if any("_malformed" in row for row in rows):
            columns.append("_malformed")
        return pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String))


def as_frame(buffer: FileBuffer, columns: tuple[str, ...]) -> pl.DataFrame:
    schema = dict.fromkeys(columns, pl.String)
    parts = [frame.select(columns) for frame in buffer.frames]
    if buffer.rows:
        parts.append(pl.DataFrame(buffer.rows, schema=schema))
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def write_file(fmt: str, frame: pl.DataFrame, path: Path, contract) -> None:
    if fmt == "csv":
        frame.write_csv(path)
    elif fmt == "parquet":
        frame.write_parquet(path, compression="zstd", statistics=False)
    else:
        kinds = {column.name: column.kind for column in contract.columns}
        with path.open("w", encoding="utf-8") as out:
            for row in frame.iter_rows(named=True):
                out.write(json_line(row, kinds) + "\n")


def json_line(row: Row, kinds: dict[str, str]) -> str:
    """One JSON object as an ERP writes it: numbers and flags unquoted, empty fields left out.
    A value that is not what its column says (a bad row) is written as the text it is."""
    if row.get("_malformed"):
        return str(row["_malformed"])
    parts = []
    for name, value in row.items():
        if value is None or name == "_malformed":
            continue
        kind = kinds.get(name)
        if (kind in ("decimal", "integer") and _is_number(value)) or (
            kind == "flag" and value in ("true", "false")
        ):
            parts.append(f"{json.dumps(name)}:{value}")
        else:
            parts.append(f"{json.dumps(name)}:{json.dumps(value, ensure_ascii=False)}")
    return "{" + ",".join(parts) + "}"


def _is_number(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return text.lstrip("-")[:1].isdigit() and "e" not in text.lower() and not text.startswith("+")
