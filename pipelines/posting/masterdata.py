"""Master-data feeds as ledger records (`Ledger.apply`), period closes and count tolerances; and
the replenishment configuration feeds as the warehouse's raw tables."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from ledger import counts
from ledger.errors import LedgerError
from pipelines.posting.steps import (
    ACTOR,
    FINANCE_ROLE,
    SYSADMIN_ROLE,
    Step,
    StepContext,
    chain,
    ref,
    request,
)

Row = dict[str, Any]
CONFIG_COLUMNS = {
    "replenishment_rules": ("facility_code", "sku", "min_qty", "max_qty", "service_level",
                            "capacity_qty", "review_period_days"),
    "vendor_terms": ("vendor_code", "sku", "unit_cost", "currency", "lead_time_days", "moq",
                     "case_pack"),
    "transfer_lanes": ("source_facility_code", "destination_facility_code", "cost_per_unit",
                       "currency", "lead_time_days"),
    "channel_priorities": ("channel", "priority"),
}  # fmt: skip
INTEGER_COLUMNS = frozenset({"review_period_days", "lead_time_days", "priority"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # master data has no business time: applied in order


def steps(
    feed: str, good: pl.DataFrame, batches: Mapping[str, Any], context: StepContext
) -> Iterator[list[Step]]:
    """Per row, its steps: the record applied (and, for a closed month, the close)."""
    rows = list(good.iter_rows(named=True))
    if feed == "count_tolerances":
        for row in rows:
            yield chain(tolerance_step(row))
        return
    records = [record(feed, row, batches) for row in rows]
    applied = [(row, rec) for row, rec in zip(rows, records, strict=True) if rec is not None]
    by_row = dict(zip([row["source_ref"] for row, _rec in applied],
                      apply_steps(feed, applied, context), strict=True))  # fmt: skip
    for row in rows:
        first = by_row.get(row["source_ref"])
        if first is None:  # a bin applied with its facility: as changed as the facility was
            first = done(row, context.statuses.get(f"facilities:{row['facility']}") == "unchanged")
        if feed == "periods" and row["status"] == "closed":
            yield chain(first, close_step(row))
        else:
            yield chain(first)


def apply_steps(
    feed: str, applied: list[tuple[Row, dict[str, Any]]], context: StepContext
) -> list[Step]:
    """The feed's records in one `apply` (all or nothing, here, as the steps are made); if the
    ledger refuses it, record by record, so one bad record does not hold back the others."""
    if not applied:
        return []
    try:
        results = context.ledger.apply(
            [rec for _row, rec in applied], actor=ACTOR, role=SYSADMIN_ROLE
        )
    except LedgerError:
        return [one_record(row, rec) for row, rec in applied]
    made = []
    for (row, _rec), result in zip(applied, results, strict=True):
        context.statuses[f"{feed}:{row['source_ref']}"] = result["status"]
        made.append(done(row, result["status"] == "unchanged"))
    return made


def done(row: Row, unchanged: bool) -> Step:
    return Step(
        EPOCH,
        0,
        [ref(row)],
        f"{row['feed']}:{row['source_ref']}",
        operation=lambda _c: {"replayed": unchanged},
    )


def one_record(row: Row, rec: dict[str, Any]) -> Step:
    def run(c: StepContext) -> dict[str, Any]:
        result = c.ledger.apply([rec], actor=ACTOR, role=SYSADMIN_ROLE)[0]
        c.statuses[f"{row['feed']}:{row['source_ref']}"] = result["status"]
        return {"replayed": result["status"] == "unchanged"}

    return Step(EPOCH, 0, [ref(row)], f"{row['feed']}:{row['source_ref']}", operation=run)


def close_step(row: Row) -> Step:
    """A month the ERP reports closed is closed in the ledger (its snapshot is written)."""
    code = row["period"]

    def run(c: StepContext) -> dict[str, Any]:
        status = next((p["status"] for p in c.ledger.periods() if p["period"] == code), None)
        if status in ("closed", "locked"):
            return {"replayed": True}
        c.ledger.close_period(code, actor=ACTOR, role=FINANCE_ROLE)
        return {"replayed": False}

    return Step(EPOCH, 1, [ref(row)], f"periods:{code}:close", operation=run)


def tolerance_step(row: Row) -> Step:
    body = request(
        actor=ACTOR,
        role=SYSADMIN_ROLE,
        facility=row["facility"],
        category=row["category"],
        max_qty=row["max_qty"],
        max_pct=row["max_pct"],
    )

    def run(c: StepContext) -> dict[str, Any]:
        result = counts.set_tolerance(c.ledger, body)
        return {"replayed": result.get("status") == "unchanged"}

    return Step(EPOCH, 0, [ref(row)], f"count_tolerances:{row['source_ref']}", operation=run)


# -- records -------------------------------------------------------------------------------------


def record(feed: str, row: Row, batches: Mapping[str, Any]) -> dict[str, Any] | None:
    if feed == "parties":
        return request(
            type=row["kind"], code=row["party"], name=row["name"], currency=row["currency"]
        )
    if feed == "facilities":
        return facility_record(row, batches)
    if feed == "bins":
        if facility_in_run(row["facility"], batches):
            return None  # applied with its facility
        return request(
            type="bin",
            facility=row["facility"],
            code=row["bin"],
            kind=row["kind"],
            zone=row["zone"],
        )
    if feed == "items":
        return request(
            type="item", code=row["item"], name=row["name"], category=row["category"],
            costing_method=row["costing_method"], lot_tracked=bool(row["lot_tracked"]),
            serial_tracked=bool(row["serial_tracked"]), shelf_life_days=row["shelf_life_days"],
        )  # fmt: skip
    if feed == "variants":
        return request(
            type="variant",
            sku=row["sku"],
            item=row["item"],
            barcode=row["barcode"],
            uom=row["uom"],
            name=row["name"],
        )
    if feed == "reason_codes":
        kinds = row["kinds"].split("|") if row["kinds"] else []
        active = True if row["is_active"] is None else bool(row["is_active"])
        return request(
            type="reason_code",
            code=row["reason_code"],
            description=row["description"],
            kinds=kinds,
            is_active=active,
        )
    if feed == "grants":
        permissions = row["permissions"].split("|") if row["permissions"] else None
        return request(
            type="grant",
            actor=row["actor"],
            role=row["role"],
            facility=row["facility"],
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            permissions=permissions,
        )
    if feed == "periods":
        return request(type="period", code=row["period"])
    raise ValueError(f"feed: {feed!r} is not master data")


def facility_record(row: Row, batches: Mapping[str, Any]) -> dict[str, Any]:
    bins = []
    batch = batches.get("bins")
    if batch is not None and batch.good.height:
        own = batch.good.filter(pl.col("facility") == row["facility"])
        bins = [
            request(code=b["bin"], kind=b["kind"], zone=b["zone"])
            for b in own.iter_rows(named=True)
        ]
    return request(
        type="facility", code=row["facility"], name=row["name"], org=row["org"],
        facility_type=row["facility_type"], currency=row["currency"], bins=bins or None,
        default_bin=row["default_bin"],
    )  # fmt: skip


def facility_in_run(code: str, batches: Mapping[str, Any]) -> bool:
    batch = batches.get("facilities")
    return batch is not None and code in set(batch.good["facility"].to_list())


def config_frame(feed: str, good: pl.DataFrame) -> pl.DataFrame:
    """A configuration feed as its raw table: decimals (18, 6) and integers, no doubles."""
    columns = []
    for name in CONFIG_COLUMNS[feed]:
        dtype = good.schema.get(name)
        if name in INTEGER_COLUMNS:
            columns.append(pl.col(name).cast(pl.Int32))
        elif isinstance(dtype, pl.Decimal):
            columns.append(pl.col(name).cast(pl.Decimal(18, 6)))
        else:
            columns.append(pl.col(name))
    return good.select(columns)
