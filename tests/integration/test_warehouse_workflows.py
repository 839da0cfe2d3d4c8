"""The warehouse's workflow marts end to end: a small ledger with transfers (several shipments,
partial receipt, loss, misroute, damage, a short at the source), reservations (commit, partial
commit, backorder, release, expiry), receipts (partial, QC release, damage, over-receipt) and
counts (within and beyond tolerance, with a recount) → extract → dbt build, and the values a
person would check: lead times, on-time and short-ship rates, fill rate, count accuracy, cycle
times and the pending actions.

dbt runs are slow, so the ledger, the warehouse and its build are made once for the module.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ledger import Ledger, counts, receiving, reservations, transfers
from pipelines.extract import extract
from pipelines.warehouse import PROJECT_DIR, BuildSummary, build, docs_generate
from tests.support import WORLD, Stock

D = Decimal
ALICE = {"actor": "alice", "role": "inventory_controller"}
FRANK = {"actor": "frank", "role": "finance_manager"}
KEEPER = {"actor": "sam", "role": "store_keeper"}  # DC1 only
SECOND_KEEPER = {"actor": "alice", "role": "store_keeper"}
CONTROLLER = {"actor": "ian", "role": "inventory_controller"}  # DC1 only

SETUP = [
    {"type": "facility", "code": "ST2", "name": "Store 2", "org": "RET", "facility_type": "store"},
    {"type": "reason_code", "code": "lost_in_transit", "description": "Lost by the carrier",
     "kinds": ["adjustment"]},
    {"type": "reason_code", "code": "transit_damage", "description": "Damaged in transit",
     "kinds": ["transfer_out", "transfer_in"]},
    {"type": "reason_code", "code": "misrouted", "description": "Delivered to the wrong site",
     "kinds": ["transfer_out", "transfer_in"]},
    {"type": "reason_code", "code": "not_arrived", "description": "Not on the truck",
     "kinds": ["transfer_in"]},
    {"type": "reason_code", "code": "source_out_of_stock", "description": "Could not pick"},
    {"type": "reason_code", "code": "count_variance", "description": "Count variance",
     "kinds": ["count_variance"]},
]  # fmt: skip
# The lane DC1 → ST1 is known (5 days); DC1 → ST2 is not, so the default (3 days) applies.
LANES = [("DC1", "ST1", D("0.20"), "EUR", 5)]


def at(day: int, hour: int = 10, minute: int = 0) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00Z"


@dataclass
class Arranged:
    """Ids the ledger gave the arranged workflows, by the names the tests use."""

    transfers: dict[str, int] = field(default_factory=dict)
    shipments: dict[str, int] = field(default_factory=dict)
    reservations: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    milk_expiring_on: date | None = None


class Workflows:
    """The ledger's workflow functions with fresh idempotency keys and the dull fields."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self._keys = itertools.count(1)

    def key(self, what: str) -> str:
        return f"{what}-{next(self._keys)}"

    # transfers
    def transfer(self, source: str, destination: str, sku: str, qty: str) -> int:
        request = {**ALICE, "idempotency_key": self.key("req"), "source": source,
                   "destination": destination, "lines": [{"sku": sku, "qty": qty}]}  # fmt: skip
        transfer_id = transfers.request_transfer(self.ledger, request)["transfer_id"]
        transfers.submit_transfer(
            self.ledger, {**ALICE, "idempotency_key": self.key("sub"), "transfer_id": transfer_id}
        )
        return transfer_id

    def approve(self, transfer_id: int, sku: str, qty: str) -> None:
        transfers.approve_transfer(
            self.ledger,
            {**FRANK, "idempotency_key": self.key("appr"), "transfer_id": transfer_id,
             "reason": "store needs it", "lines": [{"sku": sku, "qty": qty}]},
        )  # fmt: skip

    def ship(self, transfer_id: int, sku: str, qty: str, when: str, **fields: Any) -> int:
        request = {**ALICE, "idempotency_key": self.key("ship"), "transfer_id": transfer_id,
                   "occurred_at": when, "lines": [{"sku": sku, "qty": qty}], **fields}  # fmt: skip
        return transfers.ship_transfer(self.ledger, request)["shipment"]["shipment_id"]

    def receive(
        self, shipment_id: int, sku: str, qty: str | None, when: str, *exceptions: dict[str, Any]
    ) -> None:
        lines = [] if qty is None else [{"sku": sku, "qty": qty}]
        request = {**ALICE, "idempotency_key": self.key("rcv"), "shipment_id": shipment_id,
                   "occurred_at": when, "lines": lines,
                   "exceptions": [{"sku": sku, **e} for e in exceptions]}  # fmt: skip
        transfers.receive_shipment(self.ledger, request)

    # reservations
    def reserve(self, channel: str, qty: str, when: str, order: str) -> int:
        request = {
            "idempotency_key": self.key("reserve"), "sku": "TEE-L", "facility": "DC1",
            "qty": qty, "channel": channel, **SECOND_KEEPER,
            "reference": {"document_type": "order", "document_id": order, "line": "1"},
        }  # fmt: skip
        result = reservations.reserve(self.ledger, request, at=when)
        return result["reservation"]["reservation_id"]

    def step(self, operation: str, reservation_id: int, when: str, **fields: Any) -> None:
        request = {"idempotency_key": self.key(operation), "reservation_id": reservation_id,
                   **SECOND_KEEPER, **fields}  # fmt: skip
        getattr(reservations, operation)(self.ledger, request, at=when)

    def fulfil(self, reservation_id: int, times: tuple[str, str, str], **commit: Any) -> None:
        """allocate, commit (optionally short, with a reason), consume what was committed."""
        allocate_at, commit_at, consume_at = times
        self.step("allocate", reservation_id, allocate_at)
        self.step("commit", reservation_id, commit_at, **commit)
        self.step("consume", reservation_id, consume_at, occurred_at=consume_at)


def arrange_stock(stock: Stock) -> None:
    stock.receive("TEE-M", "100", "4.00", occurred_at=at(1))
    stock.receive("TEE-L", "100", "20.00", occurred_at=at(1))
    stock.receive("BOLT-8", "50", "1.00", occurred_at=at(1))


def arrange_transfers(flows: Workflows, found: Arranged) -> None:
    """T1 DC1 → ST1: two shipments, the first with a loss and a misroute, the second received
    in two parts. T2 DC1 → ST1: a short on arrival, five units still in transit. T3 DC1 → ST2:
    waits for approval. T4 DC1 → ST1: approved with less, shipped short at the source.
    T5 DC1 → ST2 (no lane known): one damaged unit, late."""
    t, s = found.transfers, found.shipments
    t["t1"] = flows.transfer("DC1", "ST1", "TEE-M", "40")
    s["t1_first"] = flows.ship(t["t1"], "TEE-M", "30", at(2, 8))
    s["t1_second"] = flows.ship(t["t1"], "TEE-M", "10", at(3, 8))
    flows.receive(
        s["t1_first"], "TEE-M", "26", at(4, 8),
        {"type": "lost", "qty": "2", "reason_code": "lost_in_transit", "comment": "claim 77"},
        {"type": "misrouted", "qty": "2", "reason_code": "misrouted", "facility": "ST2"},
    )  # fmt: skip
    flows.receive(s["t1_second"], "TEE-M", "6", at(5, 8))
    flows.receive(s["t1_second"], "TEE-M", "4", at(6, 20))

    t["t2"] = flows.transfer("DC1", "ST1", "BOLT-8", "20")
    s["t2"] = flows.ship(t["t2"], "BOLT-8", "20", at(10))
    flows.receive(
        s["t2"], "BOLT-8", "15", at(11),
        {"type": "short", "qty": "5", "reason_code": "not_arrived"},
    )  # fmt: skip

    # from here on, a transfer worth more than 100.00 needs an approver
    flows.ledger.apply(
        [{"type": "approval_policy", "transfer_value_threshold": "100"}],
        actor="setup", role="sysadmin",
    )  # fmt: skip
    t["t3"] = flows.transfer("DC1", "ST2", "TEE-L", "10")  # 200.00: pending approval

    t["t5"] = flows.transfer("DC1", "ST2", "TEE-M", "5")  # 20.00: no approval needed
    s["t5"] = flows.ship(t["t5"], "TEE-M", "5", at(14, 0))
    flows.receive(
        s["t5"], "TEE-M", "4", at(18, 12),
        {"type": "damaged", "qty": "1", "reason_code": "transit_damage"},
    )  # fmt: skip


def arrange_receipts(flows: Workflows, stock: Stock) -> None:
    """ASN-1 (QC required): 12 of 20 T-shirts and all 10 bolts arrive, 10 shirts are released
    and put away, 2 rejected as damaged, the receipt closed short. ASN-2: 105 kg of rice
    against 100 (10 % tolerance), put away four hours later."""
    ledger = flows.ledger
    receiving.register_receipt(
        ledger,
        {**CONTROLLER, "idempotency_key": flows.key("asn"), "facility": "DC1",
         "reference": "ASN-1", "vendor": "ACME", "expected_at": at(3, 9), "qc_required": True,
         "lines": [
             {"line": 1, "sku": "TEE-M", "qty": "20", "unit_cost": "4.00", "currency": "EUR"},
             {"line": 2, "sku": "BOLT-8", "qty": "10", "unit_cost": "1.50", "currency": "EUR"},
         ]},
    )  # fmt: skip
    receiving.receive(
        ledger,
        {**KEEPER, "idempotency_key": flows.key("grn"), "facility": "DC1", "receipt": "ASN-1",
         "occurred_at": at(3, 12), "lines": [{"line": 1, "qty": "12"}, {"line": 2, "qty": "10"}]},
    )  # fmt: skip
    for qty, bucket, reason, when in (
        ("10", "available", "qc_release", at(4, 9)),
        ("2", "damaged", "damage", at(4, 9, 30)),
    ):
        receiving.release_from_quarantine(
            ledger,
            {**CONTROLLER, "idempotency_key": flows.key("qc"), "facility": "DC1",
             "sku": "TEE-M", "qty": qty, "bin": "RECV", "to_bucket": bucket,
             "reason_code": reason, "occurred_at": when, "receipt": "ASN-1"},
        )  # fmt: skip
    stock.post(kind="bin_move", sku="TEE-M", facility="DC1", bin="RECV", to_bin="A1", qty="10",
               occurred_at=at(4, 15))  # fmt: skip
    receiving.close_receipt(
        ledger,
        {**CONTROLLER, "idempotency_key": flows.key("close"), "facility": "DC1",
         "receipt": "ASN-1", "reason": "supplier_short", "comment": "rest cancelled"},
    )  # fmt: skip

    receiving.register_receipt(
        ledger,
        {**CONTROLLER, "idempotency_key": flows.key("asn"), "facility": "DC1",
         "reference": "ASN-2", "expected_at": at(5, 9), "over_tolerance_pct": "10",
         "lines": [{"sku": "RICE-KG", "qty": "100", "unit_cost": "2.00", "currency": "EUR"}]},
    )  # fmt: skip
    receiving.receive(
        ledger,
        {**KEEPER, "idempotency_key": flows.key("grn"), "facility": "DC1", "receipt": "ASN-2",
         "occurred_at": at(6, 9), "lines": [{"line": 1, "qty": "105"}]},
    )  # fmt: skip
    stock.post(kind="bin_move", sku="RICE-KG", facility="DC1", bin="RECV", to_bin="A1",
               qty="105", occurred_at=at(6, 13))  # fmt: skip


def arrange_short_shipped_transfer(flows: Workflows, found: Arranged) -> None:
    """T4 DC1 → ST1: 60 kg of rice (120.00) needs approval, approved as 50, shipped 45 with
    the rest closed short at the source, all received a day later."""
    t, s = found.transfers, found.shipments
    t["t4"] = flows.transfer("DC1", "ST1", "RICE-KG", "60")
    flows.approve(t["t4"], "RICE-KG", "50")
    s["t4"] = flows.ship(
        t["t4"], "RICE-KG", "45", at(12, 9), final=True, reason_code="source_out_of_stock"
    )
    flows.receive(s["t4"], "RICE-KG", "45", at(13, 9))


def arrange_reservations(flows: Workflows, found: Arranged) -> None:
    """TEE-L at DC1: R1 filled; R2 committed short (the rest released, B2C); R3 wholesale
    committed short with the rest backordered; R4 cancelled; R5 expired; R6 still open."""
    r = found.reservations
    reservations.set_backorder_policy(flows.ledger, True, actor="setup", role="sysadmin")
    r["r1"] = flows.reserve("ecommerce", "5", at(15, 10), "SO-1")
    flows.fulfil(r["r1"], (at(15, 10, 5), at(15, 10, 30), at(15, 12)))
    r["r2"] = flows.reserve("ecommerce", "4", at(15, 11), "SO-2")
    flows.fulfil(
        r["r2"], (at(15, 11, 10), at(15, 12), at(15, 14)),
        qty="3", reason_code="insufficient_available",
    )  # fmt: skip
    r["r3"] = flows.reserve("wholesale", "10", at(15, 9), "WO-1")
    flows.fulfil(
        r["r3"], (at(15, 9, 30), at(15, 10), at(16, 9)),
        qty="6", reason_code="insufficient_available",
    )  # fmt: skip
    r["r4"] = flows.reserve("pos", "2", at(16, 9), "POS-1")
    flows.step("release", r["r4"], at(16, 9, 2), reason_code="customer_cancelled")
    r["r5"] = flows.reserve("ecommerce", "3", at(16, 9), "SO-3")
    reservations.expire(flows.ledger, at=at(16, 10), actor="ops", role="sysadmin")
    r["r6"] = flows.reserve("ecommerce", "2", at(17, 9), "SO-4")


def arrange_counts(flows: Workflows, found: Arranged) -> None:
    """DC1 bin A1: TEE-M counted one short (within 2 units and 5 %), BOLT-8 counted five short
    then recounted four short by another counter; finalised. A second session on the
    quarantined bolts in RECV waits for its recount."""
    ledger = flows.ledger
    counts.set_tolerance(
        ledger, {"actor": "setup", "role": "sysadmin", "facility": "DC1", "max_qty": "2",
                 "max_pct": "5"},
    )  # fmt: skip
    session = counts.start_count(
        ledger, {**KEEPER, "idempotency_key": flows.key("start"), "facility": "DC1",
                 "bins": ["A1"], "skus": ["TEE-M", "BOLT-8"]},
    )["session"]  # fmt: skip
    found.sessions["a1"] = session
    record = {"idempotency_key": flows.key("count"), "session": session}
    counts.record_count(
        ledger, {**KEEPER, **record, "counts": [
            {"bin": "A1", "sku": "TEE-M", "qty": "64"}, {"bin": "A1", "sku": "BOLT-8", "qty": "25"},
        ]},
    )  # fmt: skip
    counts.record_count(
        ledger, {**SECOND_KEEPER, "idempotency_key": flows.key("count"), "session": session,
                 "counts": [{"bin": "A1", "sku": "BOLT-8", "qty": "26"}]},
    )  # fmt: skip
    counts.finalise_count(
        ledger, {**CONTROLLER, "idempotency_key": flows.key("final"), "session": session,
                 "comment": "monthly count", "occurred_at": at(19, 18)},
    )  # fmt: skip
    pending = counts.start_count(
        ledger, {**KEEPER, "idempotency_key": flows.key("start"), "facility": "DC1",
                 "bins": ["RECV"], "skus": ["BOLT-8"]},
    )["session"]  # fmt: skip
    found.sessions["recv"] = pending
    counts.record_count(
        ledger, {**KEEPER, "idempotency_key": flows.key("count"), "session": pending,
                 "counts": [{"bin": "RECV", "sku": "BOLT-8", "bucket": "quarantine", "qty": "7"}]},
    )  # fmt: skip


def arrange_lots(stock: Stock, found: Arranged) -> None:
    """Milk lot L1 expires ten days after today (whenever the test runs), L2 far later."""
    today = datetime.now(UTC).date()
    found.milk_expiring_on = today + timedelta(days=10)
    expiring = found.milk_expiring_on.isoformat()
    stock.receive("MILK-1L", "6", "0.80", lot="L1", lot_expires_on=expiring, occurred_at=at(15))
    stock.receive("MILK-1L", "6", "0.90", lot="L2",
                  lot_expires_on=(today + timedelta(days=200)).isoformat(),
                  occurred_at=at(15))  # fmt: skip


def arrange(ledger: Ledger) -> Arranged:
    found = Arranged()
    ledger.apply(WORLD + SETUP, actor="setup", role="sysadmin")
    stock = Stock(ledger)
    flows = Workflows(ledger)
    arrange_stock(stock)
    arrange_transfers(flows, found)
    arrange_receipts(flows, stock)
    arrange_short_shipped_transfer(flows, found)
    arrange_reservations(flows, found)
    arrange_counts(flows, found)
    arrange_lots(stock, found)
    return found


def add_lanes(warehouse: Path) -> None:
    """raw.transfer_lanes as the replenishment feed writes it."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create or replace table raw.transfer_lanes (source_facility_code varchar, "
            "destination_facility_code varchar, cost_per_unit decimal(18, 6), currency varchar, "
            "lead_time_days integer)"
        )
        con.executemany("insert into raw.transfer_lanes values (?, ?, ?, ?, ?)", LANES)


@dataclass
class Built:
    ledger: Ledger
    warehouse: Path
    summary: BuildSummary
    found: Arranged


def rows(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("workflows")
    with Ledger.open(f"sqlite:///{folder}/ledger.sqlite") as ledger:
        ledger.init()
        found = arrange(ledger)
        warehouse = folder / "warehouse.duckdb"
        extract(ledger.store, warehouse)
        add_lanes(warehouse)
        summary = build(warehouse)
        yield Built(ledger, warehouse, summary, found)


def assert_built(summary: BuildSummary) -> None:
    failed = [(node.unique_id, node.status, node.message) for node in summary.failed()]
    assert summary.success and not failed, (summary.error, failed)


RECONCILIATIONS = (
    "assert_transfer_shipments_match_stock_card",
    "assert_count_variances_match_stock_card",
    "assert_reservations_consumed_match_issues",
    "assert_goods_receipts_match_stock_card",
)


def test_build_passes_models_tests_and_reconciliation(built: Built):
    assert_built(built.summary)
    names = built.summary.by_name()
    for check in RECONCILIATIONS:
        assert names[check].status == "pass", check
    unit_tests = {name for name, node in names.items() if node.resource_type == "unit_test"}
    assert {
        "shipments_are_overdue_only_past_the_threshold_while_units_are_in_transit",
        "fill_rate_counts_only_demand_that_stood",
        "cycle_times_take_an_exact_mean_and_nearest_rank_percentiles",
    } <= unit_tests


def test_reconciliation_fails_when_workflow_marts_disagree_with_the_stock_card(
    built: Built, tmp_path: Path
):
    tampered = tmp_path / "tampered.duckdb"
    with duckdb.connect(str(built.warehouse)) as con:
        con.execute("checkpoint")  # the copy must hold everything, not leave it in the WAL
    shutil.copy(built.warehouse, tampered)
    with duckdb.connect(str(tampered)) as con:
        con.execute("update raw.ledger_transfer_shipment_line set received_qty = received_qty - 1 "
                    "where shipment_id = ?", [built.found.shipments["t1_second"]])  # fmt: skip
        con.execute("update raw.ledger_count_line set variance_qty = variance_qty - 1 "
                    "where variance_qty is not null")  # fmt: skip
        con.execute("update raw.ledger_reservation set consumed_qty = consumed_qty + 1, "
                    "held_qty = held_qty - 1 where reservation_id = ?",
                    [built.found.reservations["r1"]])  # fmt: skip
    # the transfer check reads the (view) staging; the others the marts built from it
    outcome = build(tampered, select=["fct_count_lines", "fct_reservations", *RECONCILIATIONS])
    statuses = {
        node.unique_id.split(".")[-1]: node.status
        for node in outcome.nodes
        if node.unique_id.split(".")[-1] in RECONCILIATIONS
    }
    assert statuses == {
        "assert_transfer_shipments_match_stock_card": "fail",
        "assert_count_variances_match_stock_card": "fail",
        "assert_reservations_consumed_match_issues": "fail",
        "assert_goods_receipts_match_stock_card": "pass",
    }


def test_workflow_tables_land_in_raw_typed_and_a_full_refresh_is_identical(
    built: Built, tmp_path: Path
):
    types = dict(
        rows(
            built.warehouse,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'ledger_transfer_shipment_line'",
        )
    )
    assert types["shipped_qty"] == types["goods_value"] == "DECIMAL(18,6)"
    assert types["shipment_id"] == "BIGINT"
    tables = [
        name
        for (name,) in rows(
            built.warehouse,
            "select table_name from information_schema.tables "
            "where table_schema = 'raw' and table_name like 'ledger_%' order by 1",
        )
    ]
    assert "ledger_api_token" not in tables
    copy = tmp_path / "fresh.duckdb"
    extract(built.ledger.store, copy)
    extract(built.ledger.store, copy, full_refresh=True)
    for table in tables:
        if table == "ledger_events":
            continue  # compared by the warehouse tests; large
        ours = rows(built.warehouse, f"select * from raw.{table} order by all")
        theirs = rows(copy, f"select * from raw.{table} order by all")
        assert ours == theirs, table


def test_transfer_lead_times_on_time_and_short_shipments(built: Built):
    t = built.found.transfers
    found = {
        row[0]: row[1:]
        for row in rows(
            built.warehouse,
            "select transfer_id, transfer_status, lead_time_hours, expected_lead_time_hours, "
            "lead_time_source, is_on_time, is_short_shipped, is_open, shipped_qty, received_qty, "
            "exception_qty, in_transit_qty from marts.fct_transfers",
        )
    }
    # T1: first shipped 2 Nov 08:00, last received 6 Nov 20:00 = 108 h against the lane's 5 days
    assert found[t["t1"]] == (
        "received_with_exceptions", D(108), D(120), "lane", True, False, False,
        D(40), D(36), D(4), D(0),
    )  # fmt: skip
    # T2: five units short on arrival stay in transit; not complete, so no lead time yet
    assert found[t["t2"]] == (
        "receiving", None, D(120), "lane", None, True, True, D(20), D(15), D(0), D(5),
    )  # fmt: skip
    assert found[t["t3"]][:2] == ("pending_approval", None)
    # T4: approved 50 of 60, 45 shipped with the rest closed short, 24 h door to door
    assert found[t["t4"]][:7] == (
        "received_with_exceptions", D(24), D(120), "lane", True, True, False,
    )  # fmt: skip
    # T5: no lane DC1 → ST2, so the default 3 days; 108 h is late
    late = ("received_with_exceptions", D(108), D(72), "default", False, False)
    assert found[t["t5"]][:6] == late


def test_shipments_exceptions_in_transit_and_overdue(built: Built):
    s = built.found.shipments
    found = {
        row[0]: row[1:]
        for row in rows(
            built.warehouse,
            "select shipment_id, shipment_status, lead_time_hours, received_qty, lost_qty, "
            "misrouted_qty, damaged_qty, short_qty, in_transit_qty, exception_count, "
            "is_in_transit, is_overdue from marts.fct_transfer_shipments",
        )
    }
    assert found[s["t1_first"]] == (
        "received_with_exceptions", D(48), D(26), D(2), D(2), D(0), D(0), D(0), 2, False, False,
    )  # fmt: skip
    assert found[s["t1_second"]] == (
        "received", D(84), D(10), D(0), D(0), D(0), D(0), D(0), 0, False, False,
    )  # fmt: skip
    # shipped 10 Nov, five units still in transit at the extract, days later: overdue
    assert found[s["t2"]] == (
        "partially_received", None, D(15), D(0), D(0), D(0), D(5), D(5), 1, True, True,
    )  # fmt: skip
    assert found[s["t5"]][:1] + found[s["t5"]][5:6] == ("received_with_exceptions", D(1))


def test_transfer_summary_performance_lead_time_buckets_and_volumes(built: Built):
    summary = rows(
        built.warehouse,
        "select summary_level, source_facility_id, destination_facility_id, transfer_count, "
        "open_transfer_count, pending_approval_count, avg_lead_time_hours, shipment_count, "
        "exception_count from marts.rpt_transfer_summary order by all",
    )
    assert summary == [
        ("all", None, None, 5, 2, 1, D(80), 5, 4),  # (108 + 24 + 108) / 3
        ("destination", None, "ST1", 3, 1, 0, D(66), 4, 3),
        ("destination", None, "ST2", 2, 1, 1, D(108), 1, 1),
        ("lane", "DC1", "ST1", 3, 1, 0, D(66), 4, 3),
        ("lane", "DC1", "ST2", 2, 1, 1, D(108), 1, 1),
        ("source", "DC1", None, 5, 2, 1, D(80), 5, 4),
    ]
    performance = rows(
        built.warehouse,
        "select month_start_date, lane_id, completed_transfer_count, on_time_rate, "
        "short_ship_rate, fill_rate from marts.rpt_transfer_performance order by all",
    )
    assert performance == [
        (date(2026, 11, 1), "DC1->ST1", 2, D(1), D("0.5"), D("0.9")),  # 81 of 90 approved
        (date(2026, 11, 1), "DC1->ST2", 1, D(0), D(0), D("0.8")),
    ]
    buckets = rows(
        built.warehouse,
        "select lead_time_basis, lane_id, lead_time_bucket, sample_count "
        "from marts.rpt_transfer_lead_times order by all",
    )
    assert buckets == [
        ("shipment", "DC1->ST1", "0-24 hours", 1),
        ("shipment", "DC1->ST1", "24-48 hours", 1),
        ("shipment", "DC1->ST1", "72-120 hours", 1),
        ("shipment", "DC1->ST2", "72-120 hours", 1),
        ("transfer", "DC1->ST1", "0-24 hours", 1),
        ("transfer", "DC1->ST1", "72-120 hours", 1),
        ("transfer", "DC1->ST2", "72-120 hours", 1),
    ]
    daily = rows(
        built.warehouse,
        "select period_start_date, shipped_count, shipped_qty, received_count, received_qty "
        "from marts.rpt_transfer_volumes where date_grain = 'day' and lane_id = 'DC1->ST1' "
        "and (shipped_count > 0 or received_count > 0) order by all",
    )
    assert daily == [
        (date(2026, 11, 2), 1, D(30), 0, D(0)),
        (date(2026, 11, 3), 1, D(10), 0, D(0)),
        (date(2026, 11, 4), 0, D(0), 1, D(26)),  # the lost and misrouted units never arrived
        (date(2026, 11, 5), 0, D(0), 1, D(6)),
        (date(2026, 11, 6), 0, D(0), 1, D(4)),
        (date(2026, 11, 10), 1, D(20), 0, D(0)),
        (date(2026, 11, 11), 0, D(0), 1, D(15)),
        (date(2026, 11, 12), 1, D(45), 0, D(0)),
        (date(2026, 11, 13), 0, D(0), 1, D(45)),
    ]
    weekly = rows(
        built.warehouse,
        "select period_start_date, shipped_count from marts.rpt_transfer_volumes "
        "where date_grain = 'week' and lane_id = 'DC1->ST1' and shipped_count > 0 order by all",
    )
    assert weekly == [(date(2026, 11, 2), 2), (date(2026, 11, 9), 2)]  # weeks start on Monday


def test_reservations_fill_rate_and_backorders(built: Built):
    r = built.found.reservations
    found = {
        row[0]: row[1:]
        for row in rows(
            built.warehouse,
            "select reservation_id, reservation_status, reserved_qty, committed_qty, "
            "consumed_qty, short_qty, cancelled_qty, expired_qty, backordered_qty, demanded_qty "
            "from marts.fct_reservations",
        )
    }
    assert found[r["r1"]] == ("consumed", D(5), D(5), D(5), D(0), D(0), D(0), D(0), D(5))
    assert found[r["r2"]] == ("consumed", D(4), D(3), D(3), D(1), D(0), D(0), D(0), D(4))
    assert found[r["r3"]] == ("consumed", D(10), D(6), D(6), D(0), D(0), D(0), D(4), D(10))
    assert found[r["r4"]] == ("released", D(2), D(0), D(0), D(0), D(2), D(0), D(0), D(0))
    assert found[r["r5"]] == ("released", D(3), D(0), D(0), D(0), D(0), D(3), D(0), D(0))
    assert found[r["r6"]] == ("reserved", D(2), D(0), D(0), D(0), D(0), D(0), D(0), None)
    fill = rows(
        built.warehouse,
        "select channel_id, reservation_count, open_reservation_count, demanded_qty, "
        "filled_qty, backordered_qty, fill_rate, line_fill_rate, backorder_rate "
        "from marts.rpt_fill_rate where facility_id = 'DC1' "
        "and month_start_date = date '2026-11-01' order by channel_id",
    )
    assert fill == [
        # 8 of the 9 that stood were filled; the expired cart withdrew its demand
        ("ecommerce", 4, 1, D(9), D(8), D(0), D("0.888889"), D("0.5"), D(0)),
        ("pos", 1, 0, D(0), D(0), D(0), None, None, None),  # cancelled: no demand
        ("wholesale", 1, 0, D(10), D(6), D(4), D("0.6"), D(0), D("0.4")),
    ]


def test_receipts_partial_over_short_and_qc(built: Built):
    found = rows(
        built.warehouse,
        "select receipt_reference, variant_id, expected_qty, received_qty, over_qty, short_qty, "
        "quarantined_qty, qc_released_qty, qc_damaged_qty, awaiting_qc_qty, "
        "receipt_delay_hours, is_received_on_time from marts.fct_receipts order by all",
    )
    assert found == [
        # 12 of 20 shirts came (3 h late), 10 released, 2 rejected; closed short by 8
        ("ASN-1", "BOLT-8", D(10), D(10), D(0), D(0), D(10), D(0), D(0), D(10), D(3), False),
        ("ASN-1", "TEE-M", D(20), D(12), D(0), D(8), D(12), D(10), D(2), D(0), D(3), False),
        ("ASN-2", "RICE-KG", D(100), D(105), D(5), D(0), D(0), D(0), D(0), D(0), D(24), False),
    ]


def test_count_lines_variance_accuracy_and_recounts(built: Built):
    lines = rows(
        built.warehouse,
        "select session_id, variant_id, line_status, system_qty, first_counted_qty, "
        "counted_qty, variance_qty, variance_value_amount, is_within_tolerance, "
        "is_recount_required, first_counter, recount_counter from marts.fct_count_lines "
        "order by session_id, line_no",
    )
    a1, recv = built.found.sessions["a1"], built.found.sessions["recv"]
    assert lines == [
        # five short is beyond 2 units: recounted four short by alice; 4 FIFO units at 1.00
        (a1, "BOLT-8", "recounted", D(30), D(25), D(26), D(-4), D(-4), False, True, "sam",
         "alice"),
        (a1, "TEE-M", "counted", D(65), D(64), D(64), D(-1), D(-4), True, False, "sam", None),
        (recv, "BOLT-8", "recount_required", D(10), D(7), D(7), None, None, None, True, "sam",
         None),
    ]  # fmt: skip
    counted_at = rows(
        built.warehouse,
        "select distinct date_trunc('month', counted_at)::date from marts.fct_count_lines "
        "where line_status in ('counted', 'recounted')",
    )
    assert len(counted_at) == 1  # counts are recorded at the system time, this month
    month = counted_at[0][0]
    accuracy = rows(
        built.warehouse,
        "select facility_id, counted_position_count, within_tolerance_count, "
        "stock_accuracy_rate, exact_match_rate from marts.rpt_stock_accuracy "
        "where month_start_date = ?",
        [month],
    )
    assert accuracy == [("DC1", 2, 1, D("0.5"), D(0))]
    variance = rows(
        built.warehouse,
        "select category_name, counted_line_count, recount_required_count, net_variance_qty, "
        "net_variance_value_amount, absolute_variance_rate from marts.rpt_count_variance "
        "where month_start_date = ? and facility_id = 'DC1' order by all",
        [month],
    )
    assert variance == [
        ("apparel", 1, 0, D(-1), D(-4), D("0.015385")),  # 1 / 65
        ("hardware", 1, 1, D(-4), D(-4), D("0.133333")),  # 4 / 30
    ]


def test_cycle_times_of_receiving_fulfilment_and_transfers(built: Built):
    found = {
        (row[0], row[1]): row[2:]
        for row in rows(
            built.warehouse,
            "select facility_id, step, sample_count, avg_hours, p50_hours, p90_hours "
            "from marts.rpt_cycle_times where month_start_date = date '2026-11-01'",
        )
    }
    # received 3 Nov 12:00, released 4 Nov 09:00, put away 4 Nov 15:00; rice put away in 4 h
    assert found["DC1", "receipt_to_qc_decision"] == (1, D(21), D(21), D(21))
    assert found["DC1", "receipt_to_putaway"] == (2, D("15.5"), D(4), D(27))
    # reserve → allocate took 5, 10 and 30 minutes; commit → consume 1.5, 2 and 23 hours
    assert found["DC1", "reserve_to_allocate"] == (3, D("0.25"), D("0.166667"), D("0.5"))
    assert found["DC1", "allocate_to_commit"] == (3, D("0.583333"), D("0.5"), D("0.833333"))
    assert found["DC1", "commit_to_consume"] == (3, D("8.833333"), D(2), D(23))
    assert found["DC1", "reserve_to_consume"] == (3, D("9.666667"), D(3), D(24))
    # shipments to ST1 took 48, 84 and 24 hours, to ST2 108
    assert found["ST1", "ship_to_receive"] == (3, D(52), D(48), D(84))
    assert found["ST2", "ship_to_receive"] == (1, D(108), D(108), D(108))
    # submitted now for shipments dated earlier: not a duration, left out
    assert ("DC1", "submit_to_ship") not in found


def test_pending_actions_queue(built: Built):
    t, s = built.found.transfers, built.found.shipments
    recv = built.found.sessions["recv"]
    actions = rows(
        built.warehouse,
        "select action_type, facility_code, reference, since_at, as_of_at "
        "from marts.rpt_pending_actions order by action_type",
    )
    assert [row[:3] for row in actions] == [
        ("approve_transfer", "DC1", f"transfer {t['t3']}"),
        ("lot_expiring", "DC1", "lot MILK-1L/L1"),
        ("overdue_shipment", "ST1", f"shipment {s['t2']}"),
        ("recount", "DC1", f"count session {recv} line 1"),
    ]
    as_of = {row[4] for row in actions}
    extracted = rows(built.warehouse, "select extracted_at from raw.extract_state")
    assert as_of == {extracted[0][0]}  # judged as of the extract
    since = {row[0]: row[3] for row in actions}
    assert since["overdue_shipment"] == datetime.fromisoformat("2026-11-13T10:00")  # shipped + 72 h
    assert built.found.milk_expiring_on is not None
    window = built.found.milk_expiring_on - timedelta(days=30)
    assert since["lot_expiring"].date() == max(window, date(2026, 11, 15))
    details = dict(
        rows(built.warehouse, "select action_type, detail from marts.rpt_pending_actions")
    )
    assert details["lot_expiring"].startswith("sell or move 6 of MILK-1L lot L1: expires on ")
    assert "5 units in transit since 2026-11-10 10:00 UTC" in details["overdue_shipment"]


WORKFLOW_FOLDERS = (
    "marts/transfers/",
    "marts/workflows/",
    "intermediate/workflows/",
    "staging/replenishment/",
)


def test_docs_generate_documents_every_workflow_model_and_column(built: Built):
    outcome = docs_generate(built.warehouse)
    assert outcome.success, outcome.error
    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())
    catalog = json.loads((PROJECT_DIR / "target" / "catalog.json").read_text())
    models = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and (
            node["original_file_path"].removeprefix("models/").startswith(WORKFLOW_FOLDERS)
            or node["name"].startswith(("stg_ledger__transfer", "stg_ledger__reservation"))
        )
    ]
    assert len(models) >= 25
    for node in models:
        assert node["description"].strip(), node["name"]
        built_columns = catalog["nodes"].get(node["unique_id"], {}).get("columns", {})
        for column in built_columns:
            documented = node["columns"].get(column, {}).get("description", "")
            assert documented.strip(), (node["name"], column)
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert (
        "model.stockcard.fct_transfers" in exposures["transfers_dashboard"]["depends_on"]["nodes"]
    )
    counts_page = exposures["counts_and_accuracy_dashboard"]["depends_on"]["nodes"]
    assert "model.stockcard.rpt_stock_accuracy" in counts_page
    overview = exposures["overview_dashboard"]["depends_on"]["nodes"]
    assert "model.stockcard.rpt_pending_actions" in overview
