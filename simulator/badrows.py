"""Bad rows on purpose: a copy of a good row with one defect a contract must catch (a missing
field, unknown code, bad number or date, closed-period date, duplicate or broken JSON line)."""

from __future__ import annotations

import numpy as np

from models.feeds import FEEDS
from models.feeds.contracts import FeedContract

Row = dict[str, str | None]

NOT_NUMBERS = ("abc", "1,5", "two", "12 pcs", "n/a")
BAD_DATES = ("2026-02-30T10:00:00Z", "31.12.2025 10:00", "yesterday", "2026-13-01T08:00:00Z")
SKU_COLUMNS = ("sku", "barcode")
FACILITY_COLUMNS = ("facility", "store")


def kinds_for(contract: FeedContract) -> list[str]:
    """The defects that make sense for a feed's columns."""
    names = set(contract.column_names)
    kinds = ["missing_field", "duplicate", "bad_date", "closed_period"]
    if names & set(SKU_COLUMNS):
        kinds.append("unknown_sku")
    if names & set(FACILITY_COLUMNS):
        kinds.append("unknown_facility")
    quantity = quantity_column(contract)
    if quantity is not None:
        kinds.append("non_numeric_qty")
        if contract.column(quantity).sign in ("positive", "non_negative"):
            kinds.append("negative_qty")
    if "reason_code" in names and contract.column("reason_code").required:
        kinds.append("unknown_reason_code")
    if contract.format == "jsonl":
        kinds.append("malformed")
    return kinds


def quantity_column(contract: FeedContract) -> str | None:
    for name in ("qty", "counted_qty"):
        if name in contract.column_names:
            return name
    return None


def corrupt(feed: str, row: Row, rng: np.random.Generator, closed_month: str) -> tuple[str, Row]:
    """One defect, chosen at random among those that fit the feed, applied to a copy of `row`."""
    contract = FEEDS[feed]
    kinds = kinds_for(contract)
    kind = kinds[int(rng.integers(len(kinds)))]
    bad = dict(row)
    if kind == "duplicate":
        return kind, bad
    renumber(contract, bad, rng)
    if kind == "missing_field":
        candidates = [c.name for c in contract.columns if c.required and c.name not in contract.key]
        bad[candidates[int(rng.integers(len(candidates)))]] = None
    elif kind == "unknown_sku":
        column = next(name for name in SKU_COLUMNS if name in bad)
        bad[column] = f"UNKNOWN-{int(rng.integers(1000, 9999))}"
    elif kind == "unknown_facility":
        column = next(name for name in FACILITY_COLUMNS if name in bad)
        bad[column] = f"ST-{int(rng.integers(90, 99))}"
    elif kind == "non_numeric_qty":
        bad[quantity_column(contract)] = NOT_NUMBERS[int(rng.integers(len(NOT_NUMBERS)))]  # type: ignore[index]
    elif kind == "negative_qty":
        column = quantity_column(contract)
        bad[column] = "-" + str(bad[column] or "1")  # type: ignore[index]
    elif kind == "bad_date":
        bad[contract.time] = BAD_DATES[int(rng.integers(len(BAD_DATES)))]  # type: ignore[index]
    elif kind == "closed_period":
        bad[contract.time] = in_month(str(bad[contract.time]), closed_month)  # type: ignore[index]
    elif kind == "unknown_reason_code":
        bad["reason_code"] = "NO-SUCH-REASON"
    elif kind == "malformed":
        text = ",".join(f'"{name}":"{value}"' for name, value in bad.items() if value)
        bad = dict.fromkeys(bad) | {"_malformed": "{" + text[: len(text) // 2]}
    return kind, bad


def renumber(contract: FeedContract, row: Row, rng: np.random.Generator) -> None:
    """Give a spoilt copy a document number of its own, so it never collides with a real row."""
    document = contract.key[0]
    row[document] = f"{row[document]}-X{int(rng.integers(100000, 999999))}"


def in_month(moment: str, month: str) -> str:
    """The same wall-clock time on the 15th of `month` (a closed period)."""
    time_part = moment[10:] if len(moment) > 10 else "T10:00:00Z"
    return f"{month}-15{time_part}"
