"""Posting validated feed rows through the ledger: master data, then movements in business-time
order through the ledger's workflows, idempotent by source reference. No Dagster import."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from ledger import export
from ledger.api import Ledger, PostingResult
from ledger.errors import LedgerError
from models.feeds import CONFIG_FEEDS, FEEDS, MASTER_ORDER
from pipelines.ingest import consigned_skus
from pipelines.posting import masterdata
from pipelines.posting.movements import BUILDERS, GROUPED
from pipelines.posting.steps import (
    ACTOR,
    FINANCE_ROLE,
    ROLE,
    SYSADMIN_ROLE,
    RowRef,
    Step,
    StepContext,
    in_time_order,
)

# The pipeline's service account. The master data grants it, organisation-wide: sysadmin (master
# data, the reservation-expiry sweep), inventory_controller and store_keeper (postings and
# workflows), finance (consignment settlement, closing periods).
PIPELINE_ACTOR = ACTOR
POSTING_ROLE = ROLE
BATCH_SIZE = 500
__all__ = [
    "FINANCE_ROLE", "PIPELINE_ACTOR", "POSTING_ROLE", "REFUSAL_SCHEMA", "SYSADMIN_ROLE",
    "PostingOutcome", "apply_master_data", "post_feeds",
]  # fmt: skip

REFUSAL_SCHEMA = {
    "feed": pl.String,
    "file": pl.String,
    "row_number": pl.Int64,
    "source_ref": pl.String,
    "idempotency_key": pl.String,
    "code": pl.String,
    "field": pl.String,
    "message": pl.String,
    "refused_at": pl.Datetime("us", "UTC"),
}


@dataclass(slots=True)
class PostingOutcome:
    """Rows posted, replayed (posted before: nothing changed) and refused, per feed and per
    file; stock events written; and the refusals (REFUSAL_SCHEMA, raw.posting_refusals without
    run_id)."""

    by_feed: dict[str, dict[str, int]] = field(default_factory=dict)
    by_file: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    events_written: int = 0
    refusals: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REFUSAL_SCHEMA))

    @property
    def total_posted(self) -> int:
        return sum(counts["posted"] for counts in self.by_feed.values())

    @property
    def total_replayed(self) -> int:
        return sum(counts["replayed"] for counts in self.by_feed.values())

    @property
    def total_refused(self) -> int:
        return sum(counts["refused"] for counts in self.by_feed.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "posted": self.total_posted,
            "replayed": self.total_replayed,
            "refused": self.total_refused,
            "events_written": self.events_written,
            "by_feed": self.by_feed,
        }


class Tally:
    """What became of each feed row: counted once its group of steps is done (see Group)."""

    def __init__(self) -> None:
        self.by_feed: dict[str, dict[str, int]] = {}
        self.by_file: dict[tuple[str, str], dict[str, int]] = {}
        self.refusals: list[tuple] = []
        self.events = 0

    def done(self, step: Step, replayed: bool, events: int) -> None:
        group = step.group
        assert group is not None
        self.events += 0 if replayed else events
        group.replayed = group.replayed and replayed
        group.left -= 1
        if group.left == 0:
            self.count(group.rows, "replayed" if group.replayed else "posted")

    def refused(self, step: Step, error: LedgerError) -> None:
        group = step.group
        assert group is not None
        group.refused = True
        when = datetime.now(UTC)
        for ref in group.rows:
            self.refusals.append((ref.feed, ref.file, ref.row_number, ref.source_ref, step.key,
                                  error.code, error.field, error.message, when))  # fmt: skip
        self.count(group.rows, "refused")

    def count(self, rows: list[RowRef], state: str) -> None:
        for ref in rows:
            for key, table in ((ref.feed, self.by_feed), ((ref.feed, ref.file), self.by_file)):
                counts = table.get(key)
                if counts is None:
                    counts = table[key] = {"posted": 0, "replayed": 0, "refused": 0}  # type: ignore[index]
                counts[state] += 1

    def outcome(self) -> PostingOutcome:
        refusals = pl.DataFrame(self.refusals, schema=REFUSAL_SCHEMA, orient="row")
        return PostingOutcome(self.by_feed, self.by_file, self.events, refusals)


# -- movements -----------------------------------------------------------------------------------


def post_feeds(ledger: Ledger, batches: Mapping[str, Any]) -> PostingOutcome:
    """Post every valid movement row of `batches` (feed → FeedBatch) in business-time order
    across feeds. Master-data and configuration batches are skipped: `apply_master_data` takes
    those. A refusal is recorded and the rest goes on."""
    movement = {
        feed: batch
        for feed, batch in batches.items()
        if feed in FEEDS and FEEDS[feed].role == "movement" and batch.good.height
    }
    context = StepContext(ledger, consignment_vendors(ledger, movement), barcodes(ledger))
    tally = Tally()
    pending: list[Step] = []
    for step in steps_in_time_order(movement, context):
        if step.request is not None:
            pending.append(step)
            if len(pending) >= BATCH_SIZE:
                post_batch(ledger, pending, tally)
                pending = []
            continue
        if pending:
            post_batch(ledger, pending, tally)
            pending = []
        run_operation(step, context, tally)
    if pending:
        post_batch(ledger, pending, tally)
    return tally.outcome()


def steps_in_time_order(batches: Mapping[str, Any], context: StepContext) -> Iterator[Step]:
    """Every feed's steps, merged in business-time order. Made as they are needed, so a big
    batch is never held as steps all at once (grouped feeds, smaller, are ordered first)."""
    streams = []
    for feed, batch in batches.items():
        rows = batch.good.sort(FEEDS[feed].time, "file", "row_number")
        groups = BUILDERS[feed](rows, context)
        if feed in GROUPED:
            groups = iter(sorted(groups, key=lambda steps: min(step.order for step in steps)))
        streams.append(in_time_order(groups))
    return heapq.merge(*streams, key=lambda step: step.order)


def post_batch(ledger: Ledger, steps: list[Step], tally: Tally) -> None:
    """Plain postings go in one transaction per batch; each is accepted or refused alone."""
    outcomes = ledger.post_many([step.request for step in steps])  # type: ignore[misc]
    for step, outcome in zip(steps, outcomes, strict=True):
        if isinstance(outcome, LedgerError):
            tally.refused(step, outcome)
        else:
            assert isinstance(outcome, PostingResult)
            tally.done(step, outcome.replayed, len(outcome.event_ids))


def run_operation(step: Step, context: StepContext, tally: Tally) -> None:
    """A workflow step (a goods receipt, a shipment, a reservation, …); skipped when an earlier
    step of its group was refused (the rows are refused already)."""
    assert step.operation is not None and step.group is not None
    if step.group.refused:
        return
    try:
        result = step.operation(context)
    except LedgerError as error:
        tally.refused(step, error)
        return
    if step.remember is not None:
        step.remember(context, result)
    tally.done(step, bool(result.get("replayed")), events_in(result))


def events_in(result: Mapping[str, Any]) -> int:
    events = result.get("events")
    if isinstance(events, list):
        return len(events)
    ids = result.get("event_ids")
    return len(ids) if isinstance(ids, list) else 0


def consignment_vendors(ledger: Ledger, batches: Mapping[str, Any]) -> dict[str, str]:
    """SKU → vendor for consigned stock: what the ledger holds for vendors, and what this run's
    goods receipts bring in as consignment. Tills do not know who owns what they sell."""
    vendors = consigned_skus(ledger)
    receipts = batches.get("goods_receipts")
    if receipts is not None:
        rows = receipts.good.filter(pl.col("stock_type") == "consignment")
        vendors.update(rows.select("sku", "vendor").iter_rows())
    return vendors


# -- master data ---------------------------------------------------------------------------------


def apply_master_data(ledger: Ledger, batches: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the master-data feeds' valid rows to the ledger (in dependency order; a record the
    ledger refuses is recorded, the others go on), close the periods the feed marks closed, set
    count tolerances, and hand back the replenishment configuration for the warehouse.

    Returns {"config": {table: frame}, "applied": {feed: rows}, "unchanged": {feed: rows},
    "refused": {feed: rows}, "refusals": frame (REFUSAL_SCHEMA)}; "config" holds only the
    configuration feeds of `batches` with valid rows: a table is replaced by what was sent."""
    tally = Tally()
    context = StepContext(ledger)
    for feed in MASTER_ORDER:
        batch = batches.get(feed)
        if batch is not None and batch.good.height:
            for group in masterdata.steps(feed, batch.good, batches, context):
                for step in group:
                    run_operation(step, context, tally)
    outcome = tally.outcome()
    config = {
        feed: masterdata.config_frame(feed, batches[feed].good)
        for feed in CONFIG_FEEDS
        if feed in batches and batches[feed].good.height
    }
    return {
        "config": config,
        "applied": {feed: counts["posted"] for feed, counts in outcome.by_feed.items()},
        "unchanged": {feed: counts["replayed"] for feed, counts in outcome.by_feed.items()},
        "refused": {feed: counts["refused"] for feed, counts in outcome.by_feed.items()},
        "refusals": outcome.refusals,
    }


def barcodes(ledger: Ledger) -> dict[str, str]:
    columns, rows = export.master_data(ledger.store)["variants"]
    sku, barcode = columns.index("sku"), columns.index("barcode")
    return {row[barcode]: row[sku] for row in rows if row[barcode]}
