"""Validate one file of a feed: every broken rule of every row becomes a reject with the field,
the rule and a message; the rows that break none go on, typed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandera.errors
import polars as pl

from models.feeds.catalogue import FEEDS
from models.feeds.contracts import FeedContract
from models.feeds.reference import ReferenceData
from models.feeds.rules import message, typed

REJECT_SCHEMA = {
    "feed": pl.String,
    "file": pl.String,
    "row_number": pl.Int64,
    "source_ref": pl.String,
    "field": pl.String,
    "rule": pl.String,
    "message": pl.String,
}
# Pandera's own names for the checks it runs itself.
PANDERA_RULES = {"not_nullable": "required"}


@dataclass(frozen=True, slots=True)
class Validated:
    """`good`: the rows that keep every rule, typed (quantities and money as Decimal, times as
    UTC datetimes), with `row_number` (1-based within the file) and `source_ref`; `rejects`:
    one row per broken rule (REJECT_SCHEMA)."""

    good: pl.DataFrame
    rejects: pl.DataFrame


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)


def validate(feed: str, frame: pl.DataFrame, reference: ReferenceData, *, file: str) -> Validated:
    """Check `frame` (every column text, as read from the file) against the feed's contract."""
    return validate_files(feed, [(file, frame)], reference)


def validate_files(
    feed: str, files: Sequence[tuple[str, pl.DataFrame]], reference: ReferenceData
) -> Validated:
    """Check several files of a feed at once, in order (a source reference already seen in an
    earlier file is a duplicate in a later one). `good` and `rejects` carry `file`."""
    contract = FEEDS[feed]
    parts = [as_text(contract, frame).with_columns(file=pl.lit(name)) for name, frame in files]
    raw = (
        pl.concat(parts)
        if parts
        else as_text(contract, pl.DataFrame()).with_columns(file=pl.lit(None, dtype=pl.String))
    )
    bound = contract.bind(reference)
    try:
        bound.schema.validate(raw, lazy=True)
        failures = None
    except pandera.errors.SchemaErrors as errors:
        failures = errors.failure_cases
    rejects = reject_rows(contract, raw, failures, bound.texts, reference)
    bad = pl.DataFrame({"_at": rejects["_at"].unique()}, schema={"_at": pl.Int64})
    good = raw.with_row_index("_at").join(
        bad.with_columns(pl.col("_at").cast(pl.UInt32)), on="_at", how="anti"
    )
    return Validated(typed_rows(contract, good), rejects.drop("_at"))


def as_text(contract: FeedContract, frame: pl.DataFrame) -> pl.DataFrame:
    """Every contract column as trimmed text (empty → missing), the row number and the source
    reference; columns the file lacks are missing in every row."""
    names = (*contract.column_names, "_malformed")
    height = frame.height
    # added to the frame, not selected, so a file with none of the columns keeps its rows
    missing = [pl.repeat(None, height, dtype=pl.String).alias(n) for n in names if n not in frame]
    frame = frame.with_columns(missing) if missing else frame
    cells = [pl.col(name).cast(pl.String).str.strip_chars() for name in names]
    text = frame.select(
        pl.when(cell == "").then(None).otherwise(cell).alias(name)
        for name, cell in zip(names, cells, strict=True)
    )
    parts = [pl.col(name) for name in contract.key]
    joined = pl.concat_str([part.fill_null("") for part in parts], separator=":")
    # a row with no key at all (a line that is not JSON) has no source reference to repeat
    key = pl.when(pl.any_horizontal(part.is_not_null() for part in parts)).then(joined)
    return text.with_columns(source_ref=key, row_number=pl.int_range(1, height + 1, dtype=pl.Int64))


def reject_rows(
    contract: FeedContract,
    raw: pl.DataFrame,
    failures: pl.DataFrame | None,
    texts: dict[tuple[str, str], str],
    reference: ReferenceData,
) -> pl.DataFrame:
    """One reject per failed check of a row; `_at` is the row's place in `raw`."""
    schema = {**REJECT_SCHEMA, "_at": pl.Int64}
    if failures is None or failures.height == 0:
        return pl.DataFrame(schema=schema)
    refs, files, numbers = raw["source_ref"], raw["file"], raw["row_number"]
    rows = []
    for column, check, index, value in failures.select(
        "column", "check", "index", "failure_case"
    ).iter_rows():
        rule = PANDERA_RULES.get(check, check)
        field = "row" if column == "_malformed" else column
        text = texts.get((column, rule), rule)
        for at in range(raw.height) if index is None else (index,):
            shown = value if column != "source_ref" else refs[at]
            said = message(field, rule, text, shown, reference)
            rows.append((contract.name, files[at], numbers[at], refs[at], field, rule, said, at))
    rejects = pl.DataFrame(rows, schema=schema, orient="row")
    return rejects.unique(["_at", "field", "rule"], keep="first").sort("_at", "field", "rule")


def typed_rows(contract: FeedContract, good: pl.DataFrame) -> pl.DataFrame:
    return good.select(
        "file",
        "row_number",
        "source_ref",
        *(typed(column).alias(column.name) for column in contract.columns),
    )
