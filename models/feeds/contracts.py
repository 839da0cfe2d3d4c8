"""The feed contract: a feed's format, columns, source reference and rules, bound to the
reference data of a run as a Pandera schema; and the helpers the catalogue is written with."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import pandera.polars as pa
import polars as pl

from models.feeds.reference import ReferenceData
from models.feeds.rules import (
    Check,
    Column,
    RowRule,
    Sign,
    cell_check,
    column_checks,
    row_check,
)

Format = Literal["csv", "jsonl", "parquet"]
Role = Literal["master", "config", "movement"]

CHANNELS = ("pos", "ecommerce", "wholesale", "marketplace")
BUCKETS = ("available", "quarantine", "damaged")
FACILITY_TYPES = ("warehouse", "store", "3pl", "partner", "vendor_site", "in_transit")
BIN_KINDS = ("storage", "pick_face", "receiving", "staging", "shipping", "quarantine", "in_transit")
COSTING_METHODS = ("moving_average", "fifo")
ROLES = (
    "store_keeper", "inventory_controller", "finance", "finance_manager", "auditor", "sysadmin",
)  # fmt: skip
PERMISSIONS = ("cost_view", "finance_audit")
MOVEMENT_KINDS = (
    "receipt", "issue", "customer_return", "vendor_return", "transfer_out", "transfer_in",
    "adjustment", "count_variance", "reclassification", "bin_move", "consignment_consumption",
    "reversal", "cost_adjustment",
)  # fmt: skip
RECEIPT_SHORT_REASONS = (
    "supplier_short", "supplier_cancelled", "backordered", "damaged_in_transit", "lost_in_transit",
)  # fmt: skip
RELEASE_REASONS = (
    "payment_failed", "approval_failed", "customer_cancelled", "inventory_expired",
    "pickup_no_show", "substitution_declined", "fraud_hold",
)  # fmt: skip
ECOMMERCE_EVENTS = ("placed", "paid", "picked", "shipped", "cancelled", "returned")
WHOLESALE_EVENTS = ("ordered", "allocated", "committed", "shipped", "cancelled")
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"
CODE_TEXT = "must be a code of letters, digits and . _ / - (at most 64)"


# -- column helpers ------------------------------------------------------------------------------


def text(name: str, required: bool = True, description: str = "") -> Column:
    return Column(name, required=required, description=description)


def ident(name: str, required: bool = True, description: str = "") -> Column:
    return Column(
        name, required=required, pattern=CODE_PATTERN, pattern_text=CODE_TEXT,
        description=description,
    )  # fmt: skip


def code(
    name: str, allowed: tuple[str, ...], required: bool = True, description: str = ""
) -> Column:
    return Column(name, "code", required=required, allowed=allowed, description=description)


def ref(name: str, to: str, required: bool = True, description: str = "") -> Column:
    return Column(name, required=required, refers=to, description=description)


def qty(
    name: str,
    sign: Sign = "positive",
    required: bool = True,
    maximum: Decimal | None = None,
    description: str = "",
) -> Column:
    return Column(
        name, "decimal", required=required, sign=sign, maximum=maximum, description=description
    )


def whole(name: str, low: int, high: int, required: bool = True, description: str = "") -> Column:
    return Column(
        name, "integer", required=required, minimum=low, maximum=high, description=description
    )


def when(name: str, required: bool = True, period: bool = True, description: str = "") -> Column:
    return Column(name, "instant", required=required, period=period, description=description)


def on_day(name: str, required: bool = True, description: str = "") -> Column:
    return Column(name, "date", required=required, description=description)


def yes_no(name: str, required: bool = False, description: str = "") -> Column:
    return Column(name, "flag", required=required, description=description)


def currency(name: str = "currency", required: bool = True) -> Column:
    return Column(
        name, required=required, pattern=r"^[A-Z]{3}$",
        pattern_text="must be an ISO 4217 currency code such as EUR",
        description="ISO 4217 currency",
    )  # fmt: skip


# -- rules over several columns ------------------------------------------------------------------


def lot_required(sku: str = "sku") -> RowRule:
    return RowRule(
        "lot", "lot_required", "is required for a lot-tracked SKU",
        lambda ref: pl.col("lot").is_not_null() | ~pl.col(sku).is_in(sorted(ref.lot_tracked)),
    )  # fmt: skip


def required_when(column: str, rule: str, text: str, condition: pl.Expr) -> RowRule:
    applies = condition.fill_null(False)
    return RowRule(column, rule, text, lambda _ref: pl.col(column).is_not_null() | ~applies)


def differs(column: str, other: str) -> RowRule:
    return RowRule(
        column, "different", f"must differ from {other}",
        lambda _ref: pl.col(column).is_null() | (pl.col(column) != pl.col(other)),
    )  # fmt: skip


# -- the contract --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bound:
    """A contract bound to the reference data of a run: the Pandera schema, and for every
    (column, rule) the sentence its rejects carry."""

    schema: pa.DataFrameSchema
    texts: dict[tuple[str, str], str]


@dataclass(frozen=True, slots=True)
class FeedContract:
    name: str
    format: Format
    source_system: str
    description: str
    role: Role
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # the source reference of a row: these columns joined by ':'
    time: str | None = None  # the business time of a movement row
    rules: tuple[RowRule, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)

    def schema(self, reference: ReferenceData) -> pa.DataFrameSchema:
        """The Pandera schema of this feed against what `reference` knows."""
        return self.bind(reference).schema

    def bind(self, reference: ReferenceData) -> Bound:
        checks: dict[str, list[Check]] = {
            column.name: column_checks(column, reference) for column in self.columns
        }
        for rule in self.rules:
            checks[rule.column].append(row_check(rule, reference))
        checks["source_ref"] = [duplicate_check(self.name, reference)]
        checks["_malformed"] = [malformed_check()]
        columns = {
            column.name: pa.Column(
                pl.String, nullable=not column.required,
                checks=[built.check for built in checks[column.name]],
                description=column.description or None,
            )
            for column in self.columns
        }  # fmt: skip
        for extra in ("source_ref", "_malformed"):
            columns[extra] = pa.Column(
                pl.String, nullable=True, checks=[built.check for built in checks[extra]]
            )
        texts = {
            (name, built.rule): built.text
            for name, built_checks in checks.items()
            for built in built_checks
        }
        return Bound(pa.DataFrameSchema(columns, name=self.name, strict=False), texts)


def duplicate_check(feed: str, reference: ReferenceData) -> Check:
    """A source reference is posted once: a repeat within the file, or of one already seen in an
    earlier file of this run, is rejected (the first occurrence goes on)."""
    seen = sorted(reference.seen_refs.get(feed, frozenset()))
    ref_col = pl.col("source_ref")
    ok = ref_col.is_first_distinct() & ~ref_col.is_in(seen)
    return cell_check("source_ref", "duplicate", "each source reference is posted once", ok)


def malformed_check() -> Check:
    return cell_check("_malformed", "malformed", "must be one JSON object", pl.lit(False))


def contract(
    name: str,
    fmt: Format,
    source: str,
    role: Role,
    description: str,
    columns: list[Column],
    key: tuple[str, ...],
    time: str | None = None,
    rules: tuple[RowRule, ...] = (),
) -> FeedContract:
    return FeedContract(name, fmt, source, description, role, tuple(columns), key, time, rules)
