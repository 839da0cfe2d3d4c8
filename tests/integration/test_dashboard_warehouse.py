"""The known warehouse behind the dashboard tests: a small ledger arranged movement by movement,
extracted and built for real, and the figures a person works out by hand from those movements.

The other dashboard tests (AppTest pages, the browser test) read this warehouse; the tests here
hold it to the hand-worked figures, so a page test that finds them on screen is meaningful.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from ledger import Ledger, counts, reservations, transfers
from pipelines.extract import extract
from pipelines.feed_store import record_feed_results
from pipelines.modelling import run_models
from pipelines.warehouse import build
from tests.support import WORLD, Stock

EXTRA_MASTER_DATA = [
    {"type": "reason_code", "code": "lost_in_transit", "description": "Lost by the carrier",
     "kinds": ["adjustment"]},
    {"type": "reason_code", "code": "count_variance", "description": "Count variance",
     "kinds": ["count_variance"]},
    {"type": "approval_policy", "transfer_value_threshold": "200"},
]  # fmt: skip
CONTROLLER = {"actor": "alice", "role": "inventory_controller"}
KEEPER = {"actor": "sam", "role": "store_keeper"}

# Hand-worked figures of the arranged movements (see `arrange`).
# TEE-M (moving average) at DC1: 100 @ 4.00 in; 30 sold (wholesale) → 70 / 280.00; 2 shrink →
# 68 / 272.00 at the end of September. 32 @ 5.00 in → 100 / 432.00 (average 4.32); 10 sold
# (ecommerce) → 90 / 388.80; 20 shipped to ST1 → 70 / 302.40; count finds 69 → 69 / 298.08.
# In transit: 20 / 86.40 shipped; 19 arrive at ST1 (82.08), 1 lost (4.32 written off).
# ST1 sells 5 (pos) at 4.32 → 14 / 60.48.
# BOLT-8 (FIFO) at DC1: 200 @ 0.10 in; 50 sold (wholesale) → 150 / 15.00; 30 shipped to ST1
# on the 16th and still in transit → DC1 120 / 12.00, in transit 30 / 3.00. A count finds 110
# of the 120: beyond tolerance, waiting for a recount. ST1 asks for 50 TEE-M (216.00 at 4.32):
# over the 200 threshold, the transfer waits for approval.
# RICE-KG at ST1: 10 kg @ 1.50 in on 2 October, all sold (pos) on the 8th → out of stock since.
# MILK-1L (FIFO, lots) at DC1: lot M-OLD 4 @ 1.00 (expired 2026-09-30) and lot M-NEW 20 @ 1.00
# (expires 2026-10-25); 5 of M-NEW sold (pos) → 15 + 4 on hand, 19.00.
LAST_BUSINESS_DATE = "2026-10-20"
# Workflow marts judge "now" (in transit, overdue, pending) at the end of the last business day.
WORKFLOW_AS_OF = "2026-10-20 23:59:59"
SEPTEMBER_CLOSING_VALUE = Decimal("296.00")  # 272.00 TEE-M + 20.00 BOLT-8 + 4.00 MILK-1L
OCTOBER_CLOSING_VALUE = Decimal("392.56")  # 298.08 + 60.48 ST1 + 12.00 + 3.00 transit + 19.00
DC1_OCTOBER_CLOSING_VALUE = Decimal("329.08")  # 298.08 + 12.00 + 19.00
ON_HAND = {  # facility → SKU → on hand at the end
    "DC1": {"TEE-M": Decimal(69), "BOLT-8": Decimal(120), "MILK-1L": Decimal(19)},
    "ST1": {"TEE-M": Decimal(14)},
    "TRANSIT": {"BOLT-8": Decimal(30)},
}
EVENT_COUNT = 21  # 6 receipts, 6 issues, 1 shrink, 6 transfer legs, 1 loss, 1 count variance

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = """
import importlib, pathlib
module, _, name = {script!r}.rpartition(".")
getattr(importlib.import_module(module), name)(pathlib.Path({directory!r}))
"""
_keys = itertools.count(1)


def key(what: str) -> str:
    return f"{what}-{next(_keys)}"


def arrange(ledger: Ledger) -> None:
    """Two months of a small retailer, through the ledger's own API and workflows."""
    ledger.apply(WORLD + EXTRA_MASTER_DATA, actor="setup", role="sysadmin")
    stock = Stock(ledger)
    september(stock)
    october_sales(stock)
    transfer_to_store(ledger)
    stock.issue("TEE-M", "5", facility="ST1", channel="pos", occurred_at="2026-10-14T12:00:00Z")
    ship_bolts(ledger)
    count_tees(ledger)
    count_bolts(ledger)
    ask_for_tees(ledger)
    reserve(ledger, "SO-9", "5", "ecommerce", "2026-10-20T12:00:00Z")  # still held at the end


def reserve(ledger: Ledger, order: str, qty: str, channel: str, at: str) -> int:
    held = reservations.reserve(
        ledger,
        {"idempotency_key": key("reserve"), "sku": "TEE-M", "facility": "DC1", "qty": qty,
         "channel": channel, **KEEPER,
         "reference": {"document_type": "order", "document_id": order, "line": "1"}},
        at=at,
    )  # fmt: skip
    return held["reservation"]["reservation_id"]


def step(ledger: Ledger, operation: str, reservation_id: int, at: str, **fields: str) -> None:
    request = {"idempotency_key": key(operation), "reservation_id": reservation_id, **KEEPER}
    getattr(reservations, operation)(ledger, {**request, **fields}, at=at)


def sell_online(ledger: Ledger) -> None:
    """Order SO-1 (ecommerce) goes reserve → allocate → commit → consume: the issue of 10 TEE-M
    at 10:00 on 5 October. Order SO-2 (wholesale, 3) is released short the day after."""
    online = reserve(ledger, "SO-1", "10", "ecommerce", "2026-10-05T09:00:00Z")
    step(ledger, "allocate", online, "2026-10-05T09:10:00Z")
    step(ledger, "commit", online, "2026-10-05T09:20:00Z")
    step(ledger, "consume", online, "2026-10-05T10:00:00Z")
    wholesale = reserve(ledger, "SO-2", "3", "wholesale", "2026-10-06T09:00:00Z")
    step(ledger, "release", wholesale, "2026-10-06T11:00:00Z", reason_code="insufficient_available")


def september(stock: Stock) -> None:
    stock.receive("TEE-M", "100", "4.00", occurred_at="2026-09-02T08:00:00Z")
    stock.receive("BOLT-8", "200", "0.10", occurred_at="2026-09-03T08:00:00Z")
    stock.issue("TEE-M", "30", channel="wholesale", occurred_at="2026-09-10T10:00:00Z")
    stock.receive(
        "MILK-1L", "4", "1.00", bin="A2", lot="M-OLD", lot_expires_on="2026-09-30",
        occurred_at="2026-09-15T08:00:00Z",
    )  # fmt: skip
    stock.post(
        kind="adjustment", sku="TEE-M", facility="DC1", qty="-2", reason_code="shrink",
        comment="missing after stock take", occurred_at="2026-09-20T10:00:00Z",
    )  # fmt: skip


def october_sales(stock: Stock) -> None:
    stock.receive("TEE-M", "32", "5.00", occurred_at="2026-10-01T08:00:00Z")
    sell_online(stock.ledger)
    stock.receive("RICE-KG", "10", "1.50", facility="ST1", occurred_at="2026-10-02T08:00:00Z")
    stock.issue("BOLT-8", "50", channel="wholesale", occurred_at="2026-10-06T10:00:00Z")
    stock.issue("RICE-KG", "10", facility="ST1", channel="pos", occurred_at="2026-10-08T12:00:00Z")
    stock.receive(
        "MILK-1L", "20", "1.00", bin="A2", lot="M-NEW", lot_expires_on="2026-10-25",
        occurred_at="2026-10-15T08:00:00Z",
    )  # fmt: skip
    stock.issue("MILK-1L", "5", bin="A2", channel="pos", occurred_at="2026-10-18T10:00:00Z")


def transfer_to_store(ledger: Ledger) -> None:
    """20 TEE-M from DC1 to ST1: shipped on the 10th, 19 arrive on the 12th and 1 is lost."""
    lines = [{"sku": "TEE-M", "qty": "20"}]
    transfer_id = requested_transfer(ledger, lines)
    shipped = transfers.ship_transfer(
        ledger,
        {**CONTROLLER, "idempotency_key": key("ship"), "transfer_id": transfer_id,
         "occurred_at": "2026-10-10T10:00:00Z", "lines": lines, "carrier": "DHL"},
    )  # fmt: skip
    lost = {"type": "lost", "sku": "TEE-M", "qty": "1", "reason_code": "lost_in_transit",
            "comment": "carrier claim CL-1"}  # fmt: skip
    transfers.receive_shipment(
        ledger,
        {**CONTROLLER, "idempotency_key": key("receive"),
         "shipment_id": shipped["shipment"]["shipment_id"], "occurred_at": "2026-10-12T09:00:00Z",
         "lines": [{"sku": "TEE-M", "qty": "19"}], "exceptions": [lost]},
    )  # fmt: skip


def ship_bolts(ledger: Ledger) -> None:
    """30 BOLT-8 leave DC1 for ST1 on the 16th and are still in transit at the end (overdue)."""
    transfer_id = requested_transfer(ledger, [{"sku": "BOLT-8", "qty": "30"}])
    transfers.ship_transfer(
        ledger,
        {**CONTROLLER, "idempotency_key": key("ship"), "transfer_id": transfer_id,
         "occurred_at": "2026-10-16T10:00:00Z", "lines": [{"sku": "BOLT-8", "qty": "30"}]},
    )  # fmt: skip


def ask_for_tees(ledger: Ledger) -> None:
    """ST1 asks for 50 TEE-M worth 216.00 at DC1's average: over the 200 threshold, it waits
    for approval."""
    requested_transfer(ledger, [{"sku": "TEE-M", "qty": "50"}])


def requested_transfer(ledger: Ledger, lines: list[dict[str, str]]) -> int:
    requested = transfers.request_transfer(
        ledger,
        {**CONTROLLER, "idempotency_key": key("request"), "source": "DC1",
         "destination": "ST1", "lines": lines},
    )  # fmt: skip
    transfers.submit_transfer(
        ledger,
        {**CONTROLLER, "idempotency_key": key("submit"), "transfer_id": requested["transfer_id"]},
    )  # fmt: skip
    return requested["transfer_id"]


def count_bolts(ledger: Ledger) -> None:
    """A count of BOLT-8 in A1 finds 110 of 120: beyond tolerance, it waits for a recount."""
    sheet = counts.start_count(
        ledger,
        {**KEEPER, "idempotency_key": key("start"), "facility": "DC1", "bins": ["A1"],
         "skus": ["BOLT-8"]},
    )  # fmt: skip
    counts.record_count(
        ledger,
        {**KEEPER, "idempotency_key": key("count"), "session": sheet["session"],
         "counts": [{"line": 1, "qty": "110"}]},
    )  # fmt: skip


def count_tees(ledger: Ledger) -> None:
    """A cycle count of TEE-M in A1 finds 69 of 70: within DC1's tolerance, no recount."""
    counts.set_tolerance(
        ledger, {"actor": "setup", "role": "sysadmin", "facility": "DC1", "max_qty": "2",
                 "max_pct": "5"},
    )  # fmt: skip
    sheet = counts.start_count(
        ledger,
        {**KEEPER, "idempotency_key": key("start"), "facility": "DC1", "bins": ["A1"],
         "skus": ["TEE-M"]},
    )  # fmt: skip
    counts.record_count(
        ledger,
        {**KEEPER, "idempotency_key": key("count"), "session": sheet["session"],
         "counts": [{"line": 1, "qty": "69"}]},
    )  # fmt: skip
    counts.finalise_count(
        ledger,
        {"actor": "ian", "role": "inventory_controller", "idempotency_key": key("final"),
         "session": sheet["session"], "comment": "cycle count A1",
         "occurred_at": "2026-10-20T18:00:00Z"},
    )  # fmt: skip


def build_known_warehouse(directory: Path) -> Path:
    """Arrange the ledger in `directory`, extract it, build every model and record two pipeline
    runs' feed results; the DuckDB path."""
    warehouse = directory / "warehouse.duckdb"
    with Ledger.open(f"sqlite:///{directory / 'ledger.sqlite'}") as ledger:
        ledger.init()
        arrange(ledger)
        extract(ledger.store, warehouse)
    summary = build(warehouse, dbt_vars={"workflow_as_of_at": WORKFLOW_AS_OF})
    if not summary.success:
        failed = [(node.unique_id, node.message) for node in summary.failed()]
        raise AssertionError(f"the known warehouse did not build: {summary.error} {failed}")
    record_feeds(warehouse)
    record_feed_results(warehouse, run_id="run-2", replenishment_config=PLANNING)
    run_models(warehouse, as_of=date.fromisoformat(LAST_BUSINESS_DATE))
    return warehouse


# The planning configuration the models read. Every facility + SKU has a min/max rule, so the
# levels are the rules' and not statistics: only RICE-KG at ST1 (sold out, min 10) and TEE-M at
# ST1 (14, min 20) are at their reorder point. DC1 holds 64 TEE-M it may promise (69 on hand,
# 5 reserved) against its min of 20, so it can send ST1 the 16 that fill it to its max of 30
# over the two-day DC1 → ST1 lane. RICE-KG is bought from ACME at 1.50 in cases of 12 (at least
# 20): up to the max of 40 = 40, rounded up to 48 = 72.00.
RULES = [  # facility, SKU, min, max
    ("DC1", "TEE-M", 20, 80), ("DC1", "BOLT-8", 50, 200), ("DC1", "MILK-1L", 5, 30),
    ("ST1", "TEE-M", 20, 30), ("ST1", "BOLT-8", 10, 40), ("ST1", "RICE-KG", 10, 40),
]  # fmt: skip
PLANNING = {
    "replenishment_rules": pl.DataFrame(
        {"facility_code": [r[0] for r in RULES], "sku": [r[1] for r in RULES],
         "min_qty": [Decimal(r[2]) for r in RULES], "max_qty": [Decimal(r[3]) for r in RULES],
         "service_level": [None] * len(RULES), "capacity_qty": [None] * len(RULES),
         "review_period_days": [None] * len(RULES)},
        schema_overrides={"service_level": pl.Decimal(18, 6), "capacity_qty": pl.Decimal(18, 6),
                          "review_period_days": pl.Int32},
    ),
    "vendor_terms": pl.DataFrame(
        {"vendor_code": ["ACME"], "sku": ["RICE-KG"], "unit_cost": [Decimal("1.50")],
         "currency": ["EUR"], "lead_time_days": [7], "moq": [Decimal(20)],
         "case_pack": [Decimal(12)]}
    ),
    "transfer_lanes": pl.DataFrame(
        {"source_facility_code": ["DC1"], "destination_facility_code": ["ST1"],
         "cost_per_unit": [Decimal("0.05")], "currency": ["EUR"], "lead_time_days": [2]}
    ),
    "channel_priorities": pl.DataFrame(
        {"channel": ["pos", "ecommerce", "wholesale"], "priority": [1, 2, 3]}
    ),
}  # fmt: skip


# Two runs: the first read one receipts file cleanly; the second read a POS file of 10 rows,
# rejected 2 (a zero quantity, an unknown SKU) and the ledger refused 1 (not enough stock).
FEED_FILE = "pos_sales_20261020.csv"


def record_feeds(warehouse: Path) -> None:
    from pipelines.runner import RunSummary, record_run

    record_feed_results(
        warehouse, run_id="run-1",
        files=feed_file("erp_receipts", "erp_receipts_20261001.csv", rows=3, rejected=0,
                        refused=0),
    )  # fmt: skip
    record_feed_results(
        warehouse, run_id="run-2",
        rejects=pl.DataFrame(
            {"feed": ["pos_sales"] * 2, "file": [FEED_FILE] * 2, "row_number": [3, 7],
             "source_ref": ["POS-3", "POS-7"], "field": ["qty", "sku"],
             "rule": ["greater_than(0)", "known_sku"],
             "message": ["qty: must be greater than 0", "sku: NOPE-1 is not a known SKU"]}
        ),
        refusals=pl.DataFrame(
            {"feed": ["pos_sales"], "file": [FEED_FILE], "row_number": [5],
             "source_ref": ["POS-5"], "idempotency_key": ["pos_sales:POS-5"],
             "code": ["insufficient_stock"], "field": ["qty"],
             "message": ["qty: 40 exceeds the 14 available of TEE-M at ST1"]}
        ),
        files=feed_file("pos_sales", FEED_FILE, rows=10, rejected=2, refused=1),
    )  # fmt: skip
    for run_id, day, rejected, refused in (("run-1", 1, 0, 0), ("run-2", 20, 2, 1)):
        started = datetime(2026, 10, day, 6, 0, tzinfo=UTC)
        record_run(
            warehouse,
            RunSummary(
                run_id=run_id, job="stockcard_job", success=True, started_at=started,
                finished_at=started + timedelta(minutes=5), files=1, rows_rejected=rejected,
                refusals=refused, quality_passed=True,
            ),
        )  # fmt: skip


def feed_file(feed: str, file: str, *, rows: int, rejected: int, refused: int) -> pl.DataFrame:
    valid = rows - rejected
    return pl.DataFrame(
        {"feed": [feed], "file": [file], "format": ["csv"], "rows": [rows],
         "valid_rows": [valid], "rejected_rows": [rejected], "posted_rows": [valid - refused],
         "refused_rows": [refused], "replayed_rows": [0]}
    )  # fmt: skip


def known_warehouse(factory: pytest.TempPathFactory) -> Path:
    """The known warehouse, built once per test session and shared by every dashboard test.

    It is built in a child process, as the pipeline builds it beside a running dashboard: dbt
    keeps its DuckDB connection open in the process that ran it, and DuckDB refuses a read-only
    connection to a file the same process holds open for writing.
    """
    directory = factory.getbasetemp() / "known-warehouse"
    if not (directory / "built").exists():
        directory.mkdir(exist_ok=True)
        script = f"{build_known_warehouse.__module__}.build_known_warehouse"
        done = subprocess.run(
            [sys.executable, "-c", BUILD_SCRIPT.format(script=script, directory=str(directory))],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"the known warehouse did not build:\n{done.stderr[-4000:]}")
        (directory / "built").touch()
    return directory / "warehouse.duckdb"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return known_warehouse(tmp_path_factory)


def rows(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_known_warehouse_holds_the_hand_worked_balances(warehouse: Path):
    on_hand = rows(
        warehouse,
        "select facility_id, variant_id, sum(on_hand_qty) from marts.rpt_stock_as_of "
        "group by all having sum(on_hand_qty) <> 0",
    )
    assert {(f, s): q for f, s, q in on_hand} == {
        (facility, sku): qty for facility, skus in ON_HAND.items() for sku, qty in skus.items()
    }
    assert rows(warehouse, "select count(*) from marts.fct_stock_card") == [(EVENT_COUNT,)]


def test_the_known_warehouse_closes_each_month_at_the_hand_worked_value(warehouse: Path):
    closing = rows(
        warehouse,
        "select period_id, sum(closing_value_amount) from marts.fct_period_snapshots "
        "where is_owned and period_id <= '2026-10' group by all order by 1",
    )
    assert closing == [("2026-09", SEPTEMBER_CLOSING_VALUE), ("2026-10", OCTOBER_CLOSING_VALUE)]
    assert rows(warehouse, "select max(occurred_date)::varchar from marts.fct_stock_card") == [
        (LAST_BUSINESS_DATE,)
    ]
