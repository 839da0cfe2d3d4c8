"""Column rules of the feed contracts: each a vectorised Pandera check over text columns, with a
stable rule name and a sentence a person can act on, and the typed value a valid cell becomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from models.feeds.reference import ReferenceData

Kind = Literal["text", "code", "decimal", "integer", "instant", "date", "flag", "list"]
Sign = Literal["positive", "non_negative", "non_zero", "any"]

DECIMAL = pl.Decimal(18, 6)
INSTANT = pl.Datetime("us", "UTC")
WIDE_DECIMAL = pl.Decimal(38, 6)  # for range checks before the value is known to fit
INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%:z"
TRUE_TEXT = ("true", "1", "yes")
FLAG_TEXT = (*TRUE_TEXT, "false", "0", "no")

SIGN_PATTERNS = {
    "positive": r"^\+?\d{1,12}(\.\d{1,6})?$",
    "non_negative": r"^\+?\d{1,12}(\.\d{1,6})?$",
    "non_zero": r"^[+-]?\d{1,12}(\.\d{1,6})?$",
    "any": r"^[+-]?\d{1,12}(\.\d{1,6})?$",
}
ZERO_PATTERN = r"^[+-]?0+(\.0+)?$"
SIGN_RULES = {
    "positive": ("positive_number", "must be a number greater than 0"),
    "non_negative": ("non_negative_number", "must be a number of 0 or more"),
    "non_zero": ("non_zero_number", "must be a number other than 0"),
    "any": ("number", "must be a number"),
}
INTEGER_PATTERN = r"^[+-]?\d{1,12}$"
ISO_INSTANT = "an ISO 8601 timestamp with a UTC offset, e.g. 2026-03-01T09:30:00Z"

# What a reference names, and the set of ReferenceData it must be in.
REFERENCES: dict[str, tuple[str, Callable[[ReferenceData], frozenset[str]]]] = {
    "sku": ("must be a known SKU", lambda ref: ref.skus),
    "barcode": ("must be a known barcode or SKU", lambda ref: ref.skus | set(ref.barcodes)),
    "facility": ("must be a known facility", lambda ref: ref.facilities),
    "reason_code": ("must be an active reason code", lambda ref: ref.reason_codes),
    "vendor": ("must be a known vendor", lambda ref: ref.vendors),
    "org": ("must be a known organisation", lambda ref: ref.orgs),
    "party": ("must be a known organisation or vendor", lambda ref: ref.parties),
    "item": ("must be a known item", lambda ref: ref.items),
    "category": ("must be a known item category", lambda ref: ref.categories),
}


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a feed: how its text is checked and what it becomes once valid."""

    name: str
    kind: Kind = "text"
    required: bool = True
    sign: Sign = "any"  # decimals
    allowed: tuple[str, ...] = ()  # codes, and the elements of lists
    refers: str | None = None  # a REFERENCES key, or "bin"
    within: str = "facility"  # the facility column a bin belongs to
    period: bool = False  # instants: must not fall in a closed or locked period
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None
    pattern: str | None = None  # text: a regular expression it must match
    pattern_text: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class RowRule:
    """A rule over several columns, reported against one of them."""

    column: str
    rule: str
    text: str
    holds: Callable[[ReferenceData], pl.Expr]  # true where the row keeps the rule


@dataclass(frozen=True, slots=True)
class Check:
    """A built check: its rule name, what it asks for, and the Pandera check."""

    rule: str
    text: str
    check: pa.Check


def instant(name: str) -> pl.Expr:
    """Text → UTC instant (null where it is not ISO 8601 with an offset)."""
    text = pl.col(name).str.replace(r"[Zz]$", "+00:00")
    return text.str.to_datetime(INSTANT_FORMAT, strict=False, time_zone="UTC")


def day(name: str) -> pl.Expr:
    return pl.col(name).str.to_date("%Y-%m-%d", strict=False)


def flag(name: str) -> pl.Expr:
    lowered = pl.col(name).str.to_lowercase()
    return pl.when(lowered.is_null()).then(None).otherwise(lowered.is_in(TRUE_TEXT))


def typed(column: Column) -> pl.Expr:
    """The expression that turns a valid text cell into its typed value."""
    name = column.name
    if column.kind == "decimal":
        return pl.col(name).str.strip_prefix("+").cast(DECIMAL, strict=False)
    if column.kind == "integer":
        return pl.col(name).cast(pl.Int64, strict=False)
    if column.kind == "instant":
        return instant(name)
    if column.kind == "date":
        return day(name)
    if column.kind == "flag":
        return flag(name)
    return pl.col(name)


def cell_check(column: str, rule: str, text: str, holds: pl.Expr) -> Check:
    """A check that passes empty cells (they are the `required` rule's business)."""
    ok = pl.col(column).is_null() | holds.fill_null(False)

    def run(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(ok)

    return Check(rule, text, pa.Check(run, name=rule, error=rule))


def format_checks(column: Column) -> list[Check]:
    """The check of a column's own text: a number, a date, one of a list of codes, …"""
    name = column.name
    cell = pl.col(name)
    if column.kind == "decimal":
        rule, text = SIGN_RULES[column.sign]
        ok = cell.str.contains(SIGN_PATTERNS[column.sign])
        if column.sign in ("positive", "non_zero"):
            ok = ok & ~cell.str.contains(ZERO_PATTERN)
        number = cell_check(name, rule, f"{text} (up to 6 decimal places)", ok)
        return [number, *range_checks(column)]
    if column.kind == "integer":
        ok = cell.str.contains(INTEGER_PATTERN)
        return [cell_check(name, "integer", "must be a whole number", ok), *range_checks(column)]
    if column.kind == "instant":
        return [cell_check(name, "datetime", f"must be {ISO_INSTANT}", instant(name).is_not_null())]
    if column.kind == "date":
        return [cell_check(name, "date", "must be a date YYYY-MM-DD", day(name).is_not_null())]
    if column.kind == "flag":
        ok = cell.str.to_lowercase().is_in(FLAG_TEXT)
        return [cell_check(name, "boolean", "must be true or false", ok)]
    if column.kind == "code":
        text = "must be one of " + ", ".join(column.allowed)
        return [cell_check(name, "allowed", text, cell.is_in(column.allowed))]
    if column.kind == "list":
        elements = "|".join(column.allowed)
        ok = cell.str.contains(rf"^({elements})(\|({elements}))*$")
        text = "must be a |-separated list of " + ", ".join(column.allowed)
        return [cell_check(name, "allowed", text, ok)]
    if column.pattern is not None:
        return [cell_check(name, "format", column.pattern_text, cell.str.contains(column.pattern))]
    return []


def range_checks(column: Column) -> list[Check]:
    """Bounds of a number, checked only once it is a number (its format rule speaks first)."""
    if column.minimum is None and column.maximum is None:
        return []
    value = (
        pl.col(column.name).cast(pl.Int64, strict=False)
        if column.kind == "integer"
        else pl.col(column.name).str.strip_prefix("+").cast(WIDE_DECIMAL, strict=False)
    )
    ok = pl.lit(True)
    if column.minimum is not None:
        ok = ok & (value >= column.minimum)
    if column.maximum is not None:
        ok = ok & (value <= column.maximum)
    low = "" if column.minimum is None else f"at least {column.minimum}"
    high = "" if column.maximum is None else f"at most {column.maximum}"
    text = "must be " + " and ".join(part for part in (low, high) if part)
    return [cell_check(column.name, "range", text, value.is_null() | ok)]


def reference_checks(column: Column, reference: ReferenceData) -> list[Check]:
    if column.refers is None:
        return []
    if column.refers == "bin":
        pairs = [f"{facility}\x1f{code}" for facility, code in reference.bins]
        key = pl.concat_str([pl.col(column.within), pl.col(column.name)], separator="\x1f")
        ok = pl.col(column.within).is_null() | key.is_in(pairs)
        text = f"must be a bin of the row's {column.within}"
        return [cell_check(column.name, "known_bin", text, ok)]
    text, known = REFERENCES[column.refers]
    ok = pl.col(column.name).is_in(sorted(known(reference)))
    return [cell_check(column.name, f"known_{column.refers}", text, ok)]


def period_checks(column: Column, reference: ReferenceData) -> list[Check]:
    closed = reference.closed_periods
    if not (column.period and closed):
        return []
    moment = instant(column.name)
    inside = pl.lit(False)
    for period in closed:
        inside = inside | ((moment >= period.starts_at) & (moment < period.ends_at))
    text = "must not fall in a closed or locked period"
    return [cell_check(column.name, "open_period", text, moment.is_null() | ~inside)]


def row_check(rule: RowRule, reference: ReferenceData) -> Check:
    """A rule over several columns; unlike a column's own checks, an empty cell can break it."""
    holds = rule.holds(reference).fill_null(False)

    def run(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(holds)

    return Check(rule.rule, rule.text, pa.Check(run, name=rule.rule, error=rule.rule))


def column_checks(column: Column, reference: ReferenceData) -> list[Check]:
    return [
        *format_checks(column),
        *reference_checks(column, reference),
        *period_checks(column, reference),
    ]


def message(field: str, rule: str, text: str, value: str | None, reference: ReferenceData) -> str:
    """What a person reads in the rejects table: the field, the rule, and what was there."""
    if rule == "required":
        return f"{field}: is required"
    if rule == "open_period":
        return f"{field}: {value!r} falls in {closed_period_of(value, reference)}"
    if rule == "duplicate":
        return f"{field}: {value!r} was already seen in this feed; {text}"
    got = "nothing" if value is None else repr(value)
    return f"{field}: {text}, got {got}"


def closed_period_of(value: str | None, reference: ReferenceData) -> str:
    if value is None:
        return "a closed period"
    moment = pl.DataFrame({"v": [value]}).select(instant("v")).item()
    for period in reference.closed_periods:
        if moment is not None and period.starts_at <= moment < period.ends_at:
            return f"period {period.code}, which is {period.status}"
    return "a closed period"
