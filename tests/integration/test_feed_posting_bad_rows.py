"""A file with bad rows: the contract rejects them with their rule, the good rows of the same
file are posted into a real ledger, and what lands in the warehouse is exact (SPEC P2, P3)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ledger import Ledger
from pipelines import feed_store, ingest, posting
from tests.support import WORLD

PIPELINE_GRANTS = [
    {"type": "grant", "actor": posting.PIPELINE_ACTOR, "role": "inventory_controller"},
    {"type": "grant", "actor": posting.PIPELINE_ACTOR, "role": "sysadmin"},
]
TILL = """store,receipt_no,line,barcode,qty,unit_price,currency,type,sold_at,cashier
ST1,R-1,1,4000000000017,2,9.90,EUR,sale,2026-10-15T10:00:00+02:00,sid
ST1,R-1,2,TEE-L,abc,9.90,EUR,sale,2026-10-15T10:00:00+02:00,sid
ST1,R-2,1,TEE-M,-1,9.90,EUR,sale,2026-10-15T11:00:00+02:00,sid
ST1,R-3,1,NOPE-1,1,9.90,EUR,sale,2026-10-15T11:30:00+02:00,sid
ST1,R-4,1,TEE-M,1,9.90,EUR,sale,2026-13-15T11:30:00+02:00,sid
ST1,R-5,1,TEE-M,1,9.90,EUR,sale,,sid
ST1,R-1,1,4000000000017,2,9.90,EUR,sale,2026-10-15T10:00:00+02:00,sid
ST1,R-6,1,TEE-M,1,9.90,EUR,sale,2026-08-30T09:00:00+02:00,sid
ST1,R-7,1,TEE-M,3,9.90,EUR,return,2026-10-15T12:00:00+02:00,sid
"""
ADJUSTMENTS = """adjustment_no,line,facility,bin,sku,lot,owner,bucket,qty,reason_code,comment,adjusted_at,user,unit_cost,currency,lot_expires_on
ADJ-1,1,DC1,A1,TEE-M,,,,-2,shrink,Seen on camera,2026-10-15T18:00:00Z,ian,,,
ADJ-1,2,DC1,A1,TEE-M,,,,-1,stolen,Seen on camera,2026-10-15T18:00:00Z,ian,,,
ADJ-1,3,DC1,A1,TEE-M,,,,-500,shrink,More than there is,2026-10-15T18:00:00Z,ian,,,
"""  # noqa: E501


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(f"sqlite:///{tmp_path}/ledger.sqlite") as opened:
        opened.init()
        opened.apply([*WORLD, {"type": "period", "code": "2026-08"}, *PIPELINE_GRANTS],
                     actor="setup", role="sysadmin")  # fmt: skip
        opened.close_period("2026-08", actor="fiona", role="finance")
        base = {"actor": "alice", "role": "inventory_controller", "currency": "EUR",
                "occurred_at": "2026-10-01T08:00:00Z", "kind": "receipt", "sku": "TEE-M",
                "source": {"document_type": "test", "document_id": "T-1"}}  # fmt: skip
        opened.post({**base, "idempotency_key": "open-st1", "facility": "ST1", "qty": "10",
                     "unit_cost": "4.00"})  # fmt: skip
        opened.post({**base, "idempotency_key": "open-dc1", "facility": "DC1", "qty": "20",
                     "unit_cost": "4.00"})  # fmt: skip
        yield opened


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    root = tmp_path / "inbox"
    (root / "pos_sales").mkdir(parents=True)
    (root / "adjustments").mkdir()
    (root / "pos_sales" / "pos_ST1_2026-10-15.csv").write_text(TILL, encoding="utf-8")
    (root / "adjustments" / "adjustments_2026-10-12.csv").write_text(ADJUSTMENTS, encoding="utf-8")
    (root / "pos_sales" / ".pos_ST1_2026-10-16.csv").write_text(TILL, encoding="utf-8")
    (root / "pos_sales" / "pos_ST1_2026-10-16.csv.tmp").write_text(TILL, encoding="utf-8")
    return root


def on_hand(ledger: Ledger, sku: str, facility: str) -> Decimal:
    found = ledger.balance(sku, facility)["facilities"]
    return Decimal(found[0]["on_hand"]) if found else Decimal(0)


def test_bad_rows_are_rejected_and_the_good_rows_of_the_file_are_posted(ledger, inbox) -> None:
    pending = ingest.pending_files(inbox)
    assert {feed: [path.name for path in paths] for feed, paths in pending.items()} == {
        "adjustments": ["adjustments_2026-10-12.csv"],
        "pos_sales": ["pos_ST1_2026-10-15.csv"],  # partial and hidden files are left alone
    }
    reference = ingest.reference_data(ledger)
    batches = {feed: ingest.validate_files(feed, paths, reference)
               for feed, paths in pending.items()}  # fmt: skip
    till = batches["pos_sales"]
    rules = till.rejects.select("row_number", "field", "rule").rows()
    assert rules == [
        (2, "qty", "positive_number"), (3, "qty", "positive_number"),
        (4, "barcode", "known_barcode"), (5, "sold_at", "datetime"), (6, "sold_at", "required"),
        (7, "source_ref", "duplicate"), (8, "sold_at", "open_period"),
    ]  # fmt: skip
    assert till.good["row_number"].to_list() == [1, 9]
    outcome = posting.post_feeds(ledger, batches)
    assert outcome.by_feed["pos_sales"] == {"posted": 2, "replayed": 0, "refused": 0}
    assert on_hand(ledger, "TEE-M", "ST1") == Decimal(10 - 2 + 3)
    adjustment_rules = batches["adjustments"].rejects.select("row_number", "rule").rows()
    assert adjustment_rules == [(2, "known_reason_code")]
    assert outcome.by_feed["adjustments"] == {"posted": 1, "replayed": 0, "refused": 1}
    refusal = outcome.refusals.row(0, named=True)
    assert (refusal["source_ref"], refusal["code"], refusal["field"]) == (
        "ADJ-1:3", "insufficient_stock", "qty",
    )  # fmt: skip
    assert refusal["idempotency_key"] == "adjustments:ADJ-1:3"
    assert on_hand(ledger, "TEE-M", "DC1") == Decimal(18)


def test_results_land_in_the_warehouse_exactly(ledger, inbox, tmp_path: Path) -> None:
    pending = ingest.pending_files(inbox)
    reference = ingest.reference_data(ledger)
    batches = {feed: ingest.validate_files(feed, paths, reference)
               for feed, paths in pending.items()}  # fmt: skip
    outcome = posting.post_feeds(ledger, batches)
    files = pl.concat([ingest.file_summary(batch, outcome) for batch in batches.values()])
    rejects = pl.concat([batch.rejects for batch in batches.values()])
    config = {"channel_priorities": pl.DataFrame({"channel": ["pos"], "priority": [1]}),
              "vendor_terms": pl.DataFrame(
                  {"vendor_code": ["ACME"], "sku": ["TEE-M"], "unit_cost": [Decimal("4.123456")],
                   "currency": ["EUR"], "lead_time_days": [5], "moq": [Decimal(12)],
                   "case_pack": [Decimal(6)]},
                  schema_overrides={"unit_cost": pl.Decimal(18, 6), "moq": pl.Decimal(18, 6),
                                    "case_pack": pl.Decimal(18, 6)})}  # fmt: skip
    warehouse = tmp_path / "warehouse.duckdb"
    written = feed_store.record_feed_results(
        warehouse, run_id="run-1", rejects=rejects, refusals=outcome.refusals, files=files,
        replenishment_config=config,
    )  # fmt: skip
    assert written == {"rejects": rejects.height, "posting_refusals": 1, "feed_files": 2,
                       "channel_priorities": 1, "vendor_terms": 1}  # fmt: skip
    feed_store.record_feed_results(warehouse, run_id="run-2", replenishment_config=config)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        types = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'raw'"
        ).fetchall()
        assert not [column for column in types if column[2] in ("DOUBLE", "FLOAT", "REAL")]
        assert ("vendor_terms", "unit_cost", "DECIMAL(18,6)") in types
        assert con.execute("select unit_cost from raw.vendor_terms").fetchall() == [
            (Decimal("4.123456"),)
        ]
        posted = con.execute(
            "select file, rows, valid_rows, rejected_rows, posted_rows, refused_rows, run_id "
            "from raw.feed_files order by file"
        ).fetchall()
        assert posted == [("adjustments_2026-10-12.csv", 3, 2, 1, 1, 1, "run-1"),
                          ("pos_ST1_2026-10-15.csv", 9, 2, 7, 2, 0, "run-1")]  # fmt: skip
        refusal = con.execute("select code, run_id from raw.posting_refusals").fetchall()
        assert refusal == [("insufficient_stock", "run-1")]
        rules = con.execute("select count(*), count(distinct rule) from raw.rejects").fetchone()
        assert rules == (rejects.height, 7)


def test_processed_files_move_to_the_archive_without_overwriting(inbox, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    first = inbox / "pos_sales" / "pos_ST1_2026-10-15.csv"
    moved = ingest.archive(first, archive)
    assert moved == archive / "pos_sales" / "pos_ST1_2026-10-15.csv" and not first.exists()
    first.write_text(TILL, encoding="utf-8")
    again = ingest.archive(first, archive)
    assert again.name == "pos_ST1_2026-10-15.1.csv" and moved.exists()
    waiting = inbox / "adjustments" / "adjustments_2026-10-12.csv"
    assert ingest.pending_files(inbox) == {"adjustments": [waiting]}
