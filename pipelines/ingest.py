"""Feed files in the inbox: what is waiting, reading it as text, validating it against the
contracts with what the ledger knows, archiving it once processed. No Dagster import."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ledger import export
from ledger.api import Ledger
from models.feeds import (
    CONFIG_FEEDS,
    FEEDS,
    MASTER_ORDER,
    REJECT_SCHEMA,
    Period,
    ReferenceData,
    validate,
)
from models.feeds.reference import with_item_facts
from models.feeds.validate import validate_files as contracts_validate

if TYPE_CHECKING:
    from pipelines.posting import PostingOutcome

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
FILE_COUNT_SCHEMA = {
    "feed": pl.String,
    "file": pl.String,
    "format": pl.String,
    "rows": pl.Int64,
    "valid_rows": pl.Int64,
    "rejected_rows": pl.Int64,
}
FEED_FILE_COLUMNS = (
    "feed", "file", "format", "rows", "valid_rows", "rejected_rows", "posted_rows",
    "refused_rows", "replayed_rows",
)  # fmt: skip


class FeedFileError(ValueError):
    """A file that cannot be read as its format at all (not one bad row: the whole file)."""


@dataclass(frozen=True, slots=True)
class FeedBatch:
    """The validated files of one feed: `good` rows (typed, with `feed`, `file`, `row_number`
    and `source_ref` for tracing), `rejects` (one row per broken rule) and per-file counts."""

    feed: str
    files: list[Path]
    good: pl.DataFrame
    rejects: pl.DataFrame
    file_counts: pl.DataFrame

    @property
    def rejected_rows(self) -> int:
        if self.rejects.height == 0:
            return 0
        return self.rejects.select("file", "row_number").unique().height

    @property
    def rows(self) -> int:
        return self.good.height + self.rejected_rows


# -- the inbox ------------------------------------------------------------------------------------


def pending_files(inbox: Path) -> dict[str, list[Path]]:
    """Files waiting in `inbox/<feed>/`, per feed, in name order. Files still being written
    (hidden, or ending in .tmp/.part) and folders of unknown feeds are left alone."""
    inbox = Path(inbox)
    pending: dict[str, list[Path]] = {}
    for feed in FEEDS:
        folder = inbox / feed
        if not folder.is_dir():
            continue
        files = sorted(path for path in folder.iterdir() if is_ready(path))
        if files:
            pending[feed] = files
    return pending


def is_ready(path: Path) -> bool:
    name = path.name
    return (
        path.is_file()
        and not name.startswith((".", "~"))
        and not name.endswith(PARTIAL_SUFFIXES)
        and path.suffix.lower() in FORMATS
    )


def archive(path: Path, archive_root: Path) -> Path:
    """Move a processed file to `archive_root/<feed>/`; a name already there gets a suffix, so
    nothing archived is overwritten."""
    path = Path(path)
    target_dir = Path(archive_root) / path.parent.name
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    counter = 1
    while target.exists():
        target = target_dir / f"{path.stem}.{counter}{path.suffix}"
        counter += 1
    shutil.move(str(path), str(target))
    return target


# -- reading ------------------------------------------------------------------------------------


def read_feed_file(feed: str, path: Path) -> pl.DataFrame:
    """Every column as text, exactly as written, so a contract — not the reader — decides what
    is a number or a date. A JSON line that is not an object keeps its text in `_malformed`."""
    if feed not in FEEDS:
        raise ValueError(f"feed: no feed {feed!r}")
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower(), FEEDS[feed].format)
    try:
        if fmt == "csv":
            frame = pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True)
        elif fmt == "parquet":
            frame = pl.read_parquet(path)
        else:
            frame = read_json_lines(path)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as error:
        raise FeedFileError(f"{path.name}: cannot be read as {fmt}: {error}") from error
    return frame.select(as_text(frame[name]).alias(name) for name in frame.columns)


def as_text(column: pl.Series) -> pl.Series:
    if column.dtype == pl.String:
        return column
    if column.dtype.is_temporal() and isinstance(column.dtype, pl.Datetime):
        zone = column.dtype.time_zone
        stamped = column.dt.convert_time_zone("UTC") if zone else column
        return stamped.dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ" if zone else "%Y-%m-%dT%H:%M:%S%.f")
    return column.cast(pl.String)


def read_json_lines(path: Path) -> pl.DataFrame:
    records: list[dict[str, str | None]] = []
    with path.open(encoding="utf-8") as lines:
        for text in lines:
            if not text.strip():
                continue
            try:
                # numbers keep their exact text: 0.1 stays "0.1", never a binary float
                value = json.loads(text, parse_float=str, parse_int=str)
            except json.JSONDecodeError:
                value = None
            if isinstance(value, dict):
                records.append({str(key): json_text(item) for key, item in value.items()})
            else:
                records.append({"_malformed": text.rstrip("\n")})
    columns = list(dict.fromkeys(key for record in records for key in record))
    return pl.DataFrame(records, schema=dict.fromkeys(columns, pl.String))


def json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


# -- validating ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadFiles:
    """A feed's files as read: each readable one as (file name, frame of text), and one reject
    for each file that cannot be read at all."""

    readable: list[tuple[str, pl.DataFrame]]
    rejects: list[pl.DataFrame]

    @property
    def frames(self) -> list[pl.DataFrame]:
        return [frame for _, frame in self.readable]


def read_files(feed: str, paths: Sequence[Path]) -> ReadFiles:
    readable, rejects = [], []
    for path in paths:
        try:
            readable.append((Path(path).name, read_feed_file(feed, Path(path))))
        except FeedFileError as error:
            rejects.append(unreadable(feed, Path(path).name, str(error)))
    return ReadFiles(readable, rejects)


def validate_files(
    feed: str, paths: Sequence[Path], reference: ReferenceData, read: ReadFiles | None = None
) -> FeedBatch:
    """Validate a feed's files together, in order: a source reference seen in an earlier file
    is a duplicate in a later one; a file that cannot be read at all is one reject. `read` is
    the files already read (by `read_files`), so they are not read twice."""
    read = read or read_files(feed, paths)
    result = contracts_validate(feed, read.readable, reference)
    good = result.good.with_columns(feed=pl.lit(feed))
    front = ["feed", "file", "row_number", "source_ref"]
    good = good.select(*front, *(column for column in good.columns if column not in front))
    rejects = pl.concat([result.rejects, *read.rejects], how="vertical")
    return FeedBatch(
        feed=feed,
        files=[Path(path) for path in paths],
        good=good,
        rejects=rejects,
        file_counts=counts_per_file(feed, paths, read.readable, rejects),
    )


def counts_per_file(
    feed: str,
    paths: Sequence[Path],
    readable: list[tuple[str, pl.DataFrame]],
    rejects: pl.DataFrame,
) -> pl.DataFrame:
    sizes = {name: frame.height for name, frame in readable}
    bad = dict(
        rejects.filter(pl.col("row_number") > 0)
        .group_by("file")
        .agg(pl.col("row_number").n_unique())
        .iter_rows()
    )
    rows = []
    for path in paths:
        name = Path(path).name
        size, rejected = sizes.get(name, 0), bad.get(name, 0)
        rows.append((feed, name, FEEDS[feed].format, size, size - rejected, rejected))
    return pl.DataFrame(rows, schema=FILE_COUNT_SCHEMA, orient="row")


def unreadable(feed: str, file: str, message: str) -> pl.DataFrame:
    return pl.DataFrame(
        [(feed, file, 0, None, "file", "unreadable", message)], schema=REJECT_SCHEMA, orient="row"
    )


def file_summary(batch: FeedBatch, outcome: PostingOutcome | None = None) -> pl.DataFrame:
    """The raw.feed_files row of each file of a batch (without processed_at and run_id): rows,
    valid and rejected rows, and — given the posting outcome — posted, refused, replayed."""
    counts = batch.file_counts
    by_file = outcome.by_file if outcome is not None else {}
    posted, refused, replayed = [], [], []
    for feed, file in counts.select("feed", "file").iter_rows():
        tally = by_file.get((feed, file))
        posted.append(tally["posted"] if tally else (0 if outcome is not None else None))
        refused.append(tally["refused"] if tally else (0 if outcome is not None else None))
        replayed.append(tally["replayed"] if tally else (0 if outcome is not None else None))
    return counts.with_columns(
        posted_rows=pl.Series(posted, dtype=pl.Int64),
        refused_rows=pl.Series(refused, dtype=pl.Int64),
        replayed_rows=pl.Series(replayed, dtype=pl.Int64),
    ).select(FEED_FILE_COLUMNS)


# -- reference data ------------------------------------------------------------------------------


def reference_data(
    ledger: Ledger,
    master_frames: Mapping[str, pl.DataFrame | Sequence[pl.DataFrame]] | None = None,
) -> ReferenceData:
    """What feed rows may refer to: the ledger's master data, plus the rows of this run's
    master-data feeds (`master_frames`, as read) that keep their own contracts."""
    known = ledger_reference(ledger)
    if not master_frames:
        return known
    frames = {feed: combined(value) for feed, value in master_frames.items() if feed in FEEDS}
    frames = {feed: frame for feed, frame in frames.items() if frame.height}
    # Master feeds refer to each other (a bin to its facility, a facility to its default bin):
    # the run's codes are provisionally known, then only the rows that pass count.
    provisional = known.with_master_frames(frames)
    valid = {}
    for feed in (*MASTER_ORDER, *CONFIG_FEEDS):
        if feed in frames:
            valid[feed] = validate(feed, frames[feed], provisional, file=feed).good
    return known.with_master_frames(valid)


def combined(value: pl.DataFrame | Sequence[pl.DataFrame]) -> pl.DataFrame:
    if isinstance(value, pl.DataFrame):
        return value
    frames = [frame for frame in value if frame.width]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def ledger_reference(ledger: Ledger) -> ReferenceData:
    tables = {
        name: table_frame(columns, rows)
        for name, (columns, rows) in export.master_data(ledger.store).items()
    }
    parties, items, variants = tables["parties"], tables["items"], tables["variants"]
    reasons, periods = tables["reason_codes"], tables["periods"]
    known = ReferenceData(
        skus=frozenset(variants["sku"].to_list()),
        barcodes={b: s for s, b in variants.select("sku", "barcode").iter_rows() if b},
        items=frozenset(items["item"].to_list()),
        categories=frozenset(c for c in items["category"].to_list() if c),
        facilities=frozenset(tables["facilities"]["facility"].to_list()),
        bins=frozenset(tables["bins"].select("facility", "bin").iter_rows()),
        reason_codes=frozenset(
            code for code, active in reasons.select("reason_code", "is_active").iter_rows()
            if str(active).lower() in ("1", "true")
        ),
        vendors=frozenset(parties.filter(pl.col("party_kind") == "vendor")["party_code"]),
        orgs=frozenset(parties.filter(pl.col("party_kind") == "org")["party_code"]),
        consigned=consigned_skus(ledger),
        periods=tuple(
            Period(code, status, instant(starts), instant(ends))
            for code, starts, ends, status in periods.select(
                "period", "starts_at", "ends_at", "status"
            ).iter_rows()
        ),
    )  # fmt: skip
    tracked = items.select(
        "item", pl.col("is_lot_tracked").cast(pl.String).is_in(["1", "true"]).alias("lot_tracked"),
        pl.lit(None, dtype=pl.String).alias("consignment_vendor"),
    )  # fmt: skip
    return with_item_facts(known, tracked, variants.select("sku", "item"))


def table_frame(columns: Iterable[str], rows: list[tuple]) -> pl.DataFrame:
    names = list(columns)
    text_rows = [[None if value is None else str(value) for value in row] for row in rows]
    return pl.DataFrame(text_rows, schema=dict.fromkeys(names, pl.String), orient="row")


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


CONSIGNED_SQL = """
select distinct v.sku, p.code
from stock_balance b
join variant v on v.variant_id = b.variant_id
join party p on p.party_id = b.owner_id
where p.kind = 'vendor'
"""


def consigned_skus(ledger: Ledger) -> dict[str, str]:
    """SKUs whose stock a vendor owns (consignment), as the ledger's positions show them."""
    with ledger.store.read() as tx:
        return dict(sorted(tx.all(CONSIGNED_SQL)))
