"""Validate one file of a feed: every broken rule of every row becomes a reject with the field,
the rule and a message; the rows that break none go on, typed."""

from __future__ import annotations

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

    @property
    def refs(self) -> list[str]:
        return self.good["source_ref"].to_list()


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)


def validate(feed: str, frame: pl.DataFrame, reference: ReferenceData, *, file: str) -> Validated:
    """Check `frame` (every column text, as read from the file) against the feed's contract."""
    contract = FEEDS[feed]
    raw = as_text(contract, frame)
    bound = contract.bind(reference)
    try:
        bound.schema.validate(raw, lazy=True)
        failures = None
    except pandera.errors.SchemaErrors as errors:
        failures = errors.failure_cases
    rejects = reject_rows(contract, raw, failures, bound.texts, reference, file)
    bad = rejects["row_number"].unique()
    good = raw.filter(~pl.col("row_number").is_in(bad.implode()))
    return Validated(typed_rows(contract, good), rejects)


def as_text(contract: FeedContract, frame: pl.DataFrame) -> pl.DataFrame:
    """Every contract column as trimmed text (empty → missing), the row number and the source
    reference; columns the file lacks are missing in every row."""
    names = (*contract.column_names, "_malformed")
    columns = []
    for name in names:
        if name in frame.columns:
            cell = pl.col(name).cast(pl.String).str.strip_chars()
            columns.append(pl.when(cell == "").then(None).otherwise(cell).alias(name))
        else:
            columns.append(pl.lit(None, dtype=pl.String).alias(name))
    if frame.width == 0:
        frame = pl.DataFrame(schema=dict.fromkeys(names, pl.String))
    text = frame.select(columns)
    key = pl.concat_str([pl.col(name).fill_null("") for name in contract.key], separator=":")
    return text.with_columns(
        source_ref=key, row_number=pl.int_range(1, frame.height + 1, dtype=pl.Int64)
    )


def reject_rows(
    contract: FeedContract,
    raw: pl.DataFrame,
    failures: pl.DataFrame | None,
    texts: dict[tuple[str, str], str],
    reference: ReferenceData,
    file: str,
) -> pl.DataFrame:
    if failures is None or failures.height == 0:
        return empty_rejects()
    refs = raw["source_ref"].to_list()
    rows = []
    for column, check, index, value in failures.select(
        "column", "check", "index", "failure_case"
    ).iter_rows():
        rule = PANDERA_RULES.get(check, check)
        field = "row" if column == "_malformed" else column
        text = texts.get((column, rule), rule)
        indexes = range(raw.height) if index is None else (index,)
        for at in indexes:
            shown = value if column != "source_ref" else refs[at]
            rows.append(
                (
                    contract.name,
                    file,
                    at + 1,
                    refs[at],
                    field,
                    rule,
                    message(field, rule, text, shown, reference),
                )
            )
    rejects = pl.DataFrame(rows, schema=REJECT_SCHEMA, orient="row")
    return rejects.unique(["row_number", "field", "rule"], keep="first").sort(
        "row_number", "field", "rule"
    )


def typed_rows(contract: FeedContract, good: pl.DataFrame) -> pl.DataFrame:
    return good.select(
        "row_number",
        "source_ref",
        *(typed(column).alias(column.name) for column in contract.columns),
    )
