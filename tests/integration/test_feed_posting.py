"""The committed tiny inbox through a fresh ledger, on SQLite and on PostgreSQL (SPEC P1-P3):
every valid row posted, refusals with their codes, a second run posting nothing, balances as
the rows imply."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from ledger import Ledger, export
from models.feeds import FEEDS
from pipelines import ingest, posting

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "inbox"
SUMMARY = json.loads((SAMPLE / "simulation.json").read_text(encoding="utf-8"))


def is_master(feed: str) -> bool:
    return FEEDS[feed].role != "movement"


def validated_master(ledger: Ledger, pending: dict[str, list[Path]]) -> dict:
    frames = {feed: [ingest.read_feed_file(feed, path) for path in paths]
              for feed, paths in pending.items() if is_master(feed)}  # fmt: skip
    reference = ingest.reference_data(ledger, frames)
    return {feed: ingest.validate_files(feed, pending[feed], reference) for feed in frames}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.sqlite'}"
    else:
        url = request.getfixturevalue("pg_server").create_database("feed_posting")
    with Ledger.open(url) as ledger:
        ledger.init()
        pending = ingest.pending_files(SAMPLE)
        master = validated_master(ledger, pending)
        applied = posting.apply_master_data(ledger, master)
        reference = ingest.reference_data(ledger)
        batches = {feed: ingest.validate_files(feed, paths, reference)
                   for feed, paths in pending.items() if not is_master(feed)}  # fmt: skip
        outcome = posting.post_feeds(ledger, batches)
        events = len(export.events_after(ledger.store, 0, 1_000_000))
        yield {"ledger": ledger, "master": master, "applied": applied, "batches": batches,
               "outcome": outcome, "events": events}  # fmt: skip


def test_master_data_is_applied_and_the_closed_month_is_closed(run) -> None:
    applied = run["applied"]
    assert applied["refused"] == dict.fromkeys(applied["refused"], 0)
    assert applied["applied"]["variants"] == SUMMARY["rows"]["variants"]
    periods = {p["period"]: p["status"] for p in run["ledger"].periods()}
    assert periods["2026-08"] == "closed"
    again = posting.apply_master_data(run["ledger"], run["master"])
    assert sum(again["applied"].values()) == 0
    assert sum(again["unchanged"].values()) == sum(applied["applied"].values())


def test_the_replenishment_configuration_comes_back_exact(run) -> None:
    config = run["applied"]["config"]
    assert set(config) == {"replenishment_rules", "vendor_terms", "transfer_lanes",
                           "channel_priorities"}  # fmt: skip
    rules = config["replenishment_rules"]
    assert rules.columns == ["facility_code", "sku", "min_qty", "max_qty", "service_level",
                             "capacity_qty", "review_period_days"]  # fmt: skip
    assert rules.schema["service_level"] == pl.Decimal(18, 6)
    assert rules.schema["review_period_days"] == pl.Int32
    assert Decimal("0.95") in rules["service_level"].to_list()


def test_bad_rows_are_rejected_and_nothing_else(run) -> None:
    for feed, batch in run["batches"].items():
        injected = sum(SUMMARY["bad_rows"].get(feed, {}).values())
        assert batch.rejected_rows == injected, feed


def test_every_valid_row_is_posted_or_refused_by_the_ledger(run) -> None:
    outcome = run["outcome"]
    for feed, batch in run["batches"].items():
        counts = outcome.by_feed.get(feed, {"posted": 0, "refused": 0, "replayed": 0})
        assert counts["posted"] + counts["refused"] == batch.good.height, feed
        assert counts["replayed"] == 0
    assert outcome.events_written == run["events"] > 2000


def test_the_ledger_refuses_what_the_simulation_expected_with_its_codes(run) -> None:
    refusals = run["outcome"].refusals
    assert refusals.columns == list(posting.REFUSAL_SCHEMA)
    by_code = {
        feed: dict(group.group_by("code").len().iter_rows())
        for (feed,), group in refusals.group_by("feed")
    }
    assert by_code == SUMMARY["expected_refusals"]
    assert refusals["idempotency_key"].str.starts_with(refusals["feed"] + ":").all()
    assert refusals["message"].str.contains(": ").all()
    sale = refusals.filter(pl.col("feed") == "pos_sales").row(0, named=True)
    assert sale["field"] == "qty" and "exceeds the 0 on hand" in sale["message"]


def test_posting_the_same_rows_again_changes_nothing(run) -> None:
    ledger, first = run["ledger"], run["outcome"]
    again = posting.post_feeds(ledger, run["batches"])
    assert again.total_posted == 0 and again.events_written == 0
    assert again.total_replayed == first.total_posted
    assert again.total_refused == first.total_refused
    assert len(export.events_after(ledger.store, 0, 1_000_000)) == run["events"]


def implied(batches: dict, refused: set, store: str, sku: str, barcode: str) -> Decimal:
    """A store's stock of a SKU from the valid rows alone: opening balance and adjustments,
    deliveries, till sales and returns (consigned books and dairy are not transferred)."""
    total = Decimal(0)
    adjustments = batches["adjustments"].good
    total += sum(adjustments.filter((pl.col("facility") == store) & (pl.col("sku") == sku))["qty"],
                 Decimal(0))  # fmt: skip
    receipts = batches["goods_receipts"].good
    total += sum(receipts.filter((pl.col("facility") == store) & (pl.col("sku") == sku))["qty"],
                 Decimal(0))  # fmt: skip
    tills = batches["pos_sales"].good.filter(
        (pl.col("store") == store) & (pl.col("barcode") == barcode)
    )
    for kind, qty, ref in tills.select("type", "qty", "source_ref").iter_rows():
        if ("pos_sales", ref) not in refused:
            total += qty if kind == "return" else -qty
    return total


def test_store_balances_of_books_and_dairy_are_what_the_rows_imply(run) -> None:
    ledger, batches = run["ledger"], run["batches"]
    refused = set(run["outcome"].refusals.select("feed", "source_ref").rows())
    variants = run["master"]["variants"].good
    items = run["master"]["items"].good
    checked = variants.join(items.select("item", "category"), on="item").filter(
        pl.col("category").is_in(["books", "dairy"])
    )
    stores = [
        code for code in run["master"]["facilities"].good["facility"] if code.startswith("ST")
    ]
    compared = 0
    for sku, barcode in checked.select("sku", "barcode").iter_rows():
        for store in stores:
            facilities = ledger.balance(sku, store)["facilities"]
            on_hand = Decimal(facilities[0]["on_hand"]) if facilities else Decimal(0)
            assert on_hand == implied(batches, refused, store, sku, barcode), (sku, store)
            compared += 1
    assert compared >= 10


def test_consigned_books_are_the_vendors_and_their_sales_are_consumption(run) -> None:
    events = export.events_after(run["ledger"].store, 0, 1_000_000)
    fields = export.EVENT_FIELDS
    kind, sku, owner = fields.index("kind"), fields.index("sku"), fields.index("owner")
    books = [event for event in events if event[sku].startswith("BOK-")]
    assert {event[owner] for event in books} == {"V-BOOK"}
    assert any(event[kind] == "consignment_consumption" for event in books)
    assert all(event[kind] != "issue" for event in books)


def test_file_summary_counts_each_files_rows(run) -> None:
    batch = run["batches"]["pos_sales"]
    summary = ingest.file_summary(batch, run["outcome"])
    assert summary.columns == list(ingest.FEED_FILE_COLUMNS)
    assert summary["rows"].sum() == batch.good.height + batch.rejected_rows
    assert (summary["valid_rows"] == summary["posted_rows"] + summary["refused_rows"]).all()
    assert summary["posted_rows"].sum() == run["outcome"].by_feed["pos_sales"]["posted"]
