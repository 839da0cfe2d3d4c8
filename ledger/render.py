"""Stored rows as the JSON the interfaces return: codes instead of ids, decimals as strings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.config import Config
from ledger.numbers import MONEY_STEP, fmt, from_units
from ledger.timeutil import iso

# The cost fields, left out of results for callers without cost visibility (L8.3).
COST_FIELDS = (
    "unit_cost", "cost_delta", "avg_cost_after", "currency", "value", "balance_value",
    "opening_value", "closing_value",
)  # fmt: skip


def event_json(row: tuple[Any, ...], config: Config, lots: Mapping[int, str]) -> dict[str, Any]:
    """One stock card event; `row` is in `session.EVENT_COLUMNS` order."""
    facility = config.facilities_by_id[row[3]]
    return {
        "event_id": row[0],
        "idempotency_key": row[1],
        "org": config.parties_by_id[row[2]].code if row[2] in config.parties_by_id else None,
        "facility": facility.code,
        "bin": config.locations_by_id[row[4]].code,
        "sku": config.variants_by_id[row[5]].sku,
        "lot": lots.get(row[6]) if row[6] else None,
        "bucket": row[7],
        "owner": config.parties_by_id[row[8]].code,
        "position_id": row[9],
        "kind": row[10],
        "qty": fmt(from_units(row[11])),
        "qty_after": fmt(from_units(row[12])),
        "unit_cost": fmt(from_units(row[13])),
        "cost_delta": money(row[14]) if row[16] else None,
        "avg_cost_after": fmt(from_units(row[15])),
        "currency": row[16],
        "reason_code": row[17],
        "actor": row[18],
        "role": row[19],
        "comment": row[20],
        "channel": row[21],
        "cost_centre": row[22],
        "source": {"document_type": row[23], "document_id": row[24], "line": row[25]},
        "occurred_at": iso(row[26]),
        "posted_at": iso(row[27]),
        "reverses_event_id": row[28],
        "period": row[29],
        "approved_by": row[30],
    }


def money(units: int | None) -> str | None:
    """Amounts keep their cents: '12.50', not '12.5'."""
    value = from_units(units)
    return None if value is None else format(value.quantize(MONEY_STEP), "f")


def without_cost(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in COST_FIELDS}
