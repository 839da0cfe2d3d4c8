"""The frames the replenishment, rebalancing and ABC/XYZ models read, their settings and checks.

Every model takes Polars LazyFrames with the columns named here; `check_columns` refuses a frame
that lacks one, and the `check_*` functions refuse configuration that breaks a rule, naming the
table, the field and the rule before anything is computed or written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import polars as pl

QTY = pl.Decimal(18, 6)
MONEY = pl.Decimal(18, 6)
KEYS = ("facility_id", "variant_id")

# Sales of a facility + SKU by day, all channels together: one row per facility + SKU + day
# (the grain the warehouse query returns; the daily standard deviation relies on it), over the
# velocity windows. Issues and consignment consumptions count positive, their reversals
# negative.
SALES = {
    "facility_id": pl.String,
    "variant_id": pl.String,
    "sale_date": pl.Date,
    "sold_qty": pl.Float64,
}
# What a facility + SKU consumed (units, and their cost as the ledger took them out) over the
# ABC window, for ABC/XYZ: rows of any grain that stays within one demand bucket — a day, or a
# bucket summed and dated on its last day (the warehouse query sums by bucket).
CONSUMPTION = {
    "facility_id": pl.String,
    "variant_id": pl.String,
    "sale_date": pl.Date,
    "sold_qty": pl.Float64,
    "sold_value_amount": MONEY,
}
# Sales of a facility + SKU by channel (any grain within a day: by day, or the planning window
# summed and dated on its last sale): summed per channel over the planning window for the
# channel mix. Sales without a channel count as `unassigned`.
CHANNEL_SALES = {
    "facility_id": pl.String,
    "variant_id": pl.String,
    "channel_id": pl.String,
    "sale_date": pl.Date,
    "sold_qty": pl.Float64,
}
# The stock of a facility + SKU as of the planning date, and the day it first had activity.
STOCK = {
    "facility_id": pl.String,
    "variant_id": pl.String,
    "on_hand_qty": QTY,
    "reserved_qty": QTY,
    "backordered_qty": QTY,
    "inbound_qty": QTY,
    "in_transit_qty": QTY,
    "first_activity_date": pl.Date,
}
# One observed replenishment lead time into a facility + SKU: a vendor receipt (no source
# facility) or a transfer shipment from `source_facility_id`.
LEAD_TIMES = {
    "facility_id": pl.String,
    "variant_id": pl.String,
    "source_facility_id": pl.String,
    "received_date": pl.Date,
    "lead_time_days": pl.Float64,
}
RULES = {
    "facility_id": pl.String,
    "variant_id": pl.String,
    "min_qty": QTY,
    "max_qty": QTY,
    "service_level": pl.Decimal(18, 6),
    "capacity_qty": QTY,
    "review_period_days": pl.Int32,
}
VENDOR_TERMS = {
    "vendor_id": pl.String,
    "variant_id": pl.String,
    "unit_cost_amount": MONEY,
    "currency_code": pl.String,
    "lead_time_days": pl.Int32,
    "moq_qty": QTY,
    "case_pack_qty": QTY,
}
LANES = {
    "source_facility_id": pl.String,
    "destination_facility_id": pl.String,
    "cost_per_unit_amount": MONEY,
    "currency_code": pl.String,
    "lead_time_days": pl.Int32,
}
CHANNEL_PRIORITIES = {"channel_id": pl.String, "priority": pl.Int32}

# Cycle-count interval (days) per ABC/XYZ segment: value (A) and erratic demand (Z) are counted
# more often, because a record error there costs most and shows least.
COUNT_INTERVAL_DAYS = {
    "AX": 30, "AY": 30, "AZ": 15,
    "BX": 90, "BY": 60, "BZ": 45,
    "CX": 180, "CY": 180, "CZ": 90,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Defaults for what the configuration leaves open; docs/models.md explains each."""

    as_of: date
    velocity_windows: tuple[int, ...] = (28, 91)
    planning_window_days: int = 91
    service_level: float = 0.95
    review_period_days: int = 7
    default_lead_time_days: float = 14.0
    lead_time_lookback_days: int = 365
    backorder_window_days: int = 28
    transfer_rounds: int = 3
    abc_window_days: int = 364
    abc_shares: tuple[float, float] = (0.80, 0.95)
    xyz_bucket_days: int = 7
    xyz_cv: tuple[float, float] = (0.5, 1.0)
    count_interval_days: Mapping[str, int] = field(default_factory=lambda: COUNT_INTERVAL_DAYS)

    def __post_init__(self) -> None:
        if self.planning_window_days not in self.velocity_windows:
            raise ModelInputError(
                "settings", "planning_window_days", "must be one of velocity_windows"
            )
        if not 0 < self.service_level < 1:
            raise ModelInputError("settings", "service_level", "must be between 0 and 1")
        if min(self.velocity_windows) < 1 or self.abc_window_days < self.xyz_bucket_days:
            raise ModelInputError("settings", "velocity_windows", "windows must be positive")
        if self.transfer_rounds < 1:
            raise ModelInputError("settings", "transfer_rounds", "must be at least 1")


class ModelInputError(ValueError):
    """Input the models refuse: names the table, the field and the rule broken."""

    def __init__(self, table: str, field: str, rule: str, example: str | None = None):
        self.table, self.field, self.rule = table, field, rule
        message = f"{table}.{field}: {rule}" + (f" ({example})" if example else "")
        super().__init__(message)


def check_columns(frame: pl.LazyFrame, contract: Mapping[str, pl.DataType], table: str) -> None:
    """Refuse a frame without a column of the contract; dtypes are cast by `conform`."""
    present = frame.collect_schema().names()
    for name in contract:
        if name not in present:
            raise ModelInputError(table, name, "is a required column")


def conform(frame: pl.LazyFrame, contract: Mapping[str, pl.DataType], table: str) -> pl.LazyFrame:
    """The contract's columns, in its order and types."""
    check_columns(frame, contract, table)
    return frame.select(pl.col(name).cast(dtype) for name, dtype in contract.items())


def empty(contract: Mapping[str, pl.DataType]) -> pl.LazyFrame:
    """A frame of the contract with no rows: what an absent optional table stands for."""
    return pl.LazyFrame(schema=dict(contract))


def _first_violation(frame: pl.DataFrame, condition: pl.Expr, keys: list[str]) -> str | None:
    broken = frame.filter(condition.fill_null(False))
    if broken.is_empty():
        return None
    row = broken.row(0, named=True)
    return ", ".join(f"{key} {row[key]}" for key in keys)


def _check(
    frame: pl.DataFrame, table: str, keys: list[str], checks: list[tuple[str, str, pl.Expr]]
) -> None:
    duplicated = _first_violation(frame, pl.struct(keys).is_duplicated(), keys)
    if duplicated:
        raise ModelInputError(table, keys[-1], f"must be unique per {' + '.join(keys)}", duplicated)
    for column, rule, broken in checks:
        example = _first_violation(frame, broken, [*keys, column])
        if example:
            raise ModelInputError(table, column, rule, example)


def check_rules(rules: pl.DataFrame) -> None:
    """Replenishment rules: levels not negative, min ≤ max, a service level strictly between 0
    and 1, a positive capacity, a review period not negative."""
    zero = pl.lit(0, QTY)
    _check(
        rules,
        "replenishment_rules",
        list(KEYS),
        [
            ("min_qty", "must not be negative", pl.col("min_qty") < zero),
            ("max_qty", "must not be negative", pl.col("max_qty") < zero),
            ("max_qty", "must not be below min_qty", pl.col("max_qty") < pl.col("min_qty")),
            (
                "service_level",
                "must be between 0 and 1 (exclusive)",
                (pl.col("service_level") <= 0) | (pl.col("service_level") >= 1),
            ),
            ("capacity_qty", "must be positive", pl.col("capacity_qty") <= zero),
            ("review_period_days", "must not be negative", pl.col("review_period_days") < 0),
        ],
    )


def check_vendor_terms(terms: pl.DataFrame) -> None:
    """Vendor terms: cost, lead time and MOQ not negative, a positive case pack."""
    zero = pl.lit(0, QTY)
    _check(
        terms,
        "vendor_terms",
        ["vendor_id", "variant_id"],
        [
            ("unit_cost_amount", "must not be negative", pl.col("unit_cost_amount") < zero),
            ("currency_code", "is required", pl.col("currency_code").is_null()),
            ("lead_time_days", "must not be negative", pl.col("lead_time_days") < 0),
            ("moq_qty", "must not be negative", pl.col("moq_qty") < zero),
            ("case_pack_qty", "must be positive", pl.col("case_pack_qty") <= zero),
        ],
    )


def check_lanes(lanes: pl.DataFrame) -> None:
    """Transfer lanes: two different facilities, cost and lead time not negative."""
    _check(
        lanes,
        "transfer_lanes",
        ["source_facility_id", "destination_facility_id"],
        [
            (
                "destination_facility_id",
                "must differ from source_facility_id",
                pl.col("destination_facility_id") == pl.col("source_facility_id"),
            ),
            (
                "cost_per_unit_amount",
                "must not be negative",
                pl.col("cost_per_unit_amount") < pl.lit(0, MONEY),
            ),
            ("currency_code", "is required", pl.col("currency_code").is_null()),
            ("lead_time_days", "must not be negative", pl.col("lead_time_days") < 0),
        ],
    )


def check_channel_priorities(priorities: pl.DataFrame) -> None:
    """Channel priorities: one per channel, 1 or more (1 is served first)."""
    _check(
        priorities,
        "channel_priorities",
        ["channel_id"],
        [
            (
                "priority",
                "must be 1 or more",
                pl.col("priority").is_null() | (pl.col("priority") < 1),
            )
        ],
    )
