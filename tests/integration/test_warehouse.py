"""The warehouse end to end: a known small ledger → extract → dbt build, and what a person would
check in the marts: the stock card's running balances, the period snapshot (against the
ledger's own), the FIFO layers, the reconciliation with the ledger, incremental runs equal to a
full refresh, and a reconciliation test that fails when the warehouse is wrong.

dbt runs are slow, so the ledger, the warehouse and its builds are made once for the module.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ledger import Ledger, LedgerError
from ledger.vocabulary import Channel
from pipelines.extract import extract
from pipelines.warehouse import PROJECT_DIR, BuildSummary, build, docs_generate
from tests.support import WORLD, Stock

D = Decimal
MART_TABLES = (
    "fct_stock_card", "fct_stock_balance_spans", "fct_daily_stock_snapshots",
    "fct_period_snapshots", "fct_average_cost_history", "fct_cost_layers",
    "fct_cost_layer_consumptions", "dim_positions", "fct_lot_issues", "rpt_inventory_turnover",
    "rpt_stockout_frequency", "rpt_shrinkage", "rpt_adjustment_trend", "rpt_inventory_aging",
    "rpt_expiry_risk", "rpt_fefo_compliance", "rpt_ledger_reconciliation",
)  # fmt: skip


@dataclass
class Built:
    ledger: Ledger
    stock: Stock
    warehouse: Path
    first: BuildSummary
    events: dict[str, int]


def post_september(stock: Stock) -> dict[str, int]:
    """Moving-average and FIFO SKUs, receipts at different costs, an issue spanning two layers,
    a putaway, a reclassification, an adjustment, negative stock at ST1 and its refill, a
    mistaken issue and its reversal, and a cost adjustment."""
    at = "2026-09-{:02d}T10:00:00Z".format
    ids: dict[str, int] = {}
    ids["bolt_1"] = stock.receive("BOLT-8", "10", "1.00", occurred_at=at(2)).event_ids[0]
    ids["bolt_2"] = stock.receive("BOLT-8", "10", "2.00", occurred_at=at(3)).event_ids[0]
    ids["bolt_issue"] = stock.issue("BOLT-8", "15", occurred_at=at(4)).event_ids[0]
    stock.receive("TEE-M", "10", "4.00", bin="RECV", occurred_at=at(5))
    stock.post(kind="bin_move", sku="TEE-M", facility="DC1", bin="RECV", to_bin="A1", qty="8",
               occurred_at=at(6))  # fmt: skip
    stock.post(kind="reclassification", sku="TEE-M", facility="DC1", bin="A1", qty="1",
               to_bucket="damaged", reason_code="damage", comment="torn",
               occurred_at=at(7))  # fmt: skip
    stock.post(kind="adjustment", sku="TEE-M", facility="DC1", bin="A1", qty="-1",
               reason_code="shrink", comment="missing at count", occurred_at=at(8))  # fmt: skip
    stock.issue("TEE-M", "3", bin="A1", occurred_at=at(9))
    stock.receive("TEE-M", "5", "4.00", facility="ST1", occurred_at=at(10))
    stock.issue("TEE-M", "8", facility="ST1", occurred_at=at(11))  # 3 beyond stock
    stock.receive("TEE-M", "10", "5.00", facility="ST1", occurred_at=at(12))  # settles the hole
    mistake = stock.issue("TEE-M", "2", bin="A1", occurred_at=at(15)).event_ids[0]
    stock.post(kind="reversal", reverses=mistake, comment="keyed twice",
               occurred_at="2026-09-15T11:00:00Z")  # fmt: skip
    stock.post(kind="cost_adjustment", sku="BOLT-8", facility="DC1", amount="3.00",
               currency="EUR", reason_code="revaluation", role="finance",
               comment="freight invoice", occurred_at=at(20))  # fmt: skip
    return ids


def post_october(stock: Stock) -> dict[str, int]:
    """A new FIFO layer and an issue across the old and the new one, and a lot-tracked item
    issued against FEFO once."""
    at = "2026-10-{:02d}T10:00:00Z".format
    ids: dict[str, int] = {}
    ids["bolt_3"] = stock.receive("BOLT-8", "5", "3.00", occurred_at=at(2)).event_ids[0]
    stock.issue("BOLT-8", "6", occurred_at=at(3))
    stock.receive("MILK-1L", "10", "0.80", lot="L1", occurred_at=at(1))
    stock.receive("MILK-1L", "10", "0.90", lot="L2", occurred_at=at(5))
    ids["milk_against_fefo"] = stock.issue("MILK-1L", "3", lot="L2", occurred_at=at(6)).event_ids[0]
    ids["milk_fefo"] = stock.issue("MILK-1L", "4", lot="L1", occurred_at=at(7)).event_ids[0]
    return ids


def post_more(stock: Stock) -> None:
    """After the first build: new events in November and a late October event (October is
    still open), so the incremental run has to rebuild from the past."""
    stock.receive("BOLT-8", "2", "4.00", occurred_at="2026-11-02T10:00:00Z")
    stock.issue("BOLT-8", "3", occurred_at="2026-11-03T10:00:00Z")
    stock.issue("TEE-M", "1", bin="A1", occurred_at="2026-10-20T10:00:00Z")
    stock.issue("TEE-M", "4", facility="ST1", occurred_at="2026-11-04T10:00:00Z")
    stock.issue("MILK-1L", "2", lot="L1", occurred_at="2026-10-09T10:00:00Z")


def rows(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(sql, params or []).fetchall()


def assert_built(summary: BuildSummary) -> None:
    failed = [(node.unique_id, node.status, node.message) for node in summary.failed()]
    assert summary.success and not failed, (summary.error, failed)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("warehouse")
    with Ledger.open(f"sqlite:///{folder}/ledger.sqlite") as ledger:
        ledger.init()
        ledger.apply(WORLD, actor="setup", role="sysadmin")
        stock = Stock(ledger)
        events = post_september(stock)
        ledger.close_period("2026-09", actor="alice", role="finance")
        events |= post_october(stock)
        warehouse = folder / "warehouse.duckdb"
        extract(ledger.store, warehouse)
        first = build(warehouse)
        yield Built(ledger, stock, warehouse, first, events)


def test_first_build_passes_models_tests_and_reconciliation(built: Built):
    assert_built(built.first)
    names = built.first.by_name()
    for check in (
        "assert_stock_card_matches_ledger_balances",
        "assert_daily_snapshots_match_ledger_balances",
        "assert_period_snapshots_match_ledger_balances",
        "assert_valuations_match_ledger",
        "assert_fifo_layers_match_ledger",
        "assert_average_cost_recomputes_ledger_average",
    ):
        assert names[check].status == "pass", check
    unit_tests = [node for node in built.first.nodes if node.resource_type == "unit_test"]
    assert len(unit_tests) >= 5 and all(node.status == "pass" for node in unit_tests)


def test_stock_card_runs_the_balance_per_position_in_business_time(built: Built):
    card = rows(
        built.warehouse,
        "select event_kind, movement_qty, cost_delta_amount, running_qty, running_value_amount "
        "from marts.fct_stock_card where facility_id = 'DC1' and variant_id = 'BOLT-8' "
        "order by position_sequence",
    )
    assert card == [
        ("receipt", D(10), D(10), D(10), D(10)),
        ("receipt", D(10), D(20), D(20), D(30)),
        ("issue", D(-15), D(-20), D(5), D(10)),  # 10 @ 1.00 + 5 @ 2.00
        ("cost_adjustment", D(0), D(3), D(5), D(13)),
        ("receipt", D(5), D(15), D(10), D(28)),
        ("issue", D(-6), D(-16), D(4), D(12)),  # 5 @ 2.60 (revalued) + 1 @ 3.00
    ]
    # ST1 went to -3 and the refill settled the hole at the real cost
    st1 = rows(
        built.warehouse,
        "select event_kind, running_qty, running_value_amount from marts.fct_stock_card "
        "where facility_id = 'ST1' and variant_id = 'TEE-M' order by position_sequence",
    )
    assert st1 == [
        ("receipt", D(5), D(20)),
        ("issue", D(-3), D(-12)),
        ("receipt", D(7), D(38)),
        ("cost_adjustment", D(7), D(35)),
    ]


def test_stock_card_running_balance_matches_the_ledgers_card(built: Built):
    ledger_card = built.ledger.card("TEE-M", "DC1")
    warehouse = rows(
        built.warehouse,
        "select event_id, facility_running_qty, facility_running_value_amount "
        "from marts.fct_stock_card where facility_id = 'DC1' and variant_id = 'TEE-M' "
        "order by facility_sequence",
    )
    expected = [
        (event["event_id"], D(event["balance_qty"]), D(event["balance_value"]))
        for event in ledger_card["events"]
    ]
    assert warehouse == expected


def test_period_snapshot_equals_the_ledgers_snapshot_of_the_closed_period(built: Built):
    snapshot = built.ledger.period_snapshot("2026-09")
    fields = ("opening", "inbound", "outbound", "adjustment", "closing")
    expected = sorted(
        (
            p["facility"],
            p["sku"],
            p["bin"],
            p["bucket"],
            *(D(p[f"{name}_qty"]) for name in fields),
            *(D(p[f"{name}_value"]) for name in fields),
        )
        for p in snapshot["positions"]
    )
    warehouse = rows(
        built.warehouse,
        "select s.facility_id, s.variant_id, p.bin_code, s.bucket, opening_qty, inbound_qty, "
        "outbound_qty, adjustment_qty, closing_qty, opening_value_amount, inbound_value_amount, "
        "outbound_value_amount, adjustment_value_amount, closing_value_amount "
        "from marts.fct_period_snapshots s join marts.dim_positions p using (position_id) "
        "where s.period_id = '2026-09' order by all",
    )
    assert warehouse == expected
    # 8 put away in; out: 3 issued and 1 reclassified to damaged (by its sign), the mistaken
    # issue and its reversal net out as outbound; 1 shrunk is an adjustment
    dc1_a1 = [row for row in warehouse if row[:4] == ("DC1", "TEE-M", "A1", "available")]
    assert dc1_a1[0][4:9] == (D(0), D(8), D(4), D(-1), D(3))


def test_fifo_layers_opened_consumed_and_remaining(built: Built):
    ids = built.events
    layers = rows(
        built.warehouse,
        "select layer_id, layer_kind, opened_qty, issued_qty, remaining_qty, "
        "revaluation_amount, remaining_value_amount from marts.fct_cost_layers "
        "where facility_id = 'DC1' and variant_id = 'BOLT-8' order by layer_id",
    )
    assert layers == [
        (ids["bolt_1"], "stock", D(10), D(10), D(0), D(0), D(0)),
        (ids["bolt_2"], "stock", D(10), D(10), D(0), D(3), D(0)),
        (ids["bolt_3"], "stock", D(5), D(1), D(4), D(0), D(12)),
    ]
    consumed = rows(
        built.warehouse,
        "select layer_id, event_id, consumed_qty, consumed_value_amount "
        "from marts.fct_cost_layer_consumptions where variant_id = 'BOLT-8' order by all",
    )
    assert consumed[:2] == [
        (ids["bolt_1"], ids["bolt_issue"], D(10), D(10)),
        (ids["bolt_2"], ids["bolt_issue"], D(5), D(10)),
    ]
    assert sum(row[2] for row in consumed) == D(21)


def test_fefo_expiry_and_dimensions(built: Built):
    ids = built.events
    issues = dict(
        rows(built.warehouse, "select event_id, is_fefo_compliant from marts.fct_lot_issues")
    )
    assert issues == {ids["milk_against_fefo"]: False, ids["milk_fefo"]: True}
    channels = {
        row[0] for row in rows(built.warehouse, "select channel_id from marts.dim_channels")
    }
    assert channels == {channel.value for channel in Channel}
    span = rows(
        built.warehouse,
        "select min(calendar_date), max(calendar_date) from marts.dim_dates",
    )[0]
    assert (span[1] - span[0]).days >= 730


def test_no_double_anywhere_in_raw_or_marts(built: Built):
    doubles = rows(
        built.warehouse,
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('raw', 'staging', 'intermediate', 'marts') "
        "and data_type in ('DOUBLE', 'FLOAT', 'REAL')",
    )
    assert doubles == []


def test_as_of_macro_in_the_warehouse_answers_a_past_date(built: Built):
    as_of = rows(
        built.warehouse,
        "select on_hand_qty, value_amount from marts.valuation_as_of(date '2026-09-10') "
        "where facility_id = 'DC1' and variant_id = 'BOLT-8'",
    )
    assert as_of == [(D(5), D(10))]


def test_reextract_loads_nothing_twice_and_full_refresh_is_identical(built: Built, tmp_path: Path):
    again = extract(built.ledger.store, built.warehouse)
    assert again["events_extracted"] == 0
    assert again["state_consistent"]
    copy = tmp_path / "fresh.duckdb"
    extract(built.ledger.store, copy)
    refreshed = extract(built.ledger.store, copy, full_refresh=True)
    assert refreshed["events_extracted"] == again["high_water_event_id"]
    for table in ("ledger_events", "ledger_balances", "ledger_cost_layers", "variants", "lots"):
        ours = rows(built.warehouse, f"select * from raw.{table} order by all")
        theirs = rows(copy, f"select * from raw.{table} order by all")
        assert ours == theirs, table
    types = dict(
        rows(
            copy,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'ledger_events'",
        )
    )
    assert types["qty"] == types["cost_delta"] == "DECIMAL(18,6)"


def test_reconciliation_fails_when_the_warehouse_disagrees_with_the_ledger(
    built: Built, tmp_path: Path
):
    tampered = tmp_path / "tampered.duckdb"
    with duckdb.connect(str(built.warehouse)) as con:
        con.execute("checkpoint")  # the copy must hold everything, not leave it in the WAL
    shutil.copy(built.warehouse, tampered)
    with duckdb.connect(str(tampered)) as con:
        con.execute(
            "update raw.ledger_balances set qty = qty + 1 where position_id = "
            "(select min(position_id) from raw.ledger_balances)"
        )
    checks = [
        "assert_stock_card_matches_ledger_balances",
        "assert_daily_snapshots_match_ledger_balances",
    ]
    outcome = build(tampered, command="test", select=checks)
    statuses = {
        node.unique_id.split(".")[-1]: (node.status, node.failures)
        for node in outcome.nodes
        if node.resource_type == "test"
    }
    assert statuses == {
        "assert_stock_card_matches_ledger_balances": ("fail", 1),
        "assert_daily_snapshots_match_ledger_balances": ("fail", 1),
    }
    assert not outcome.success


def test_incremental_build_reconciles_and_equals_a_full_refresh(built: Built, tmp_path: Path):
    post_more(built.stock)
    loaded = extract(built.ledger.store, built.warehouse)
    assert loaded["events_extracted"] == 5
    incremental = build(built.warehouse)
    assert_built(incremental)
    full = tmp_path / "full.duckdb"
    extract(built.ledger.store, full)
    assert_built(build(full, full_refresh=True, exclude=["test_type:unit"]))
    for table in MART_TABLES:
        ours = rows(built.warehouse, f"select * from marts.{table} order by all")
        theirs = rows(full, f"select * from marts.{table} order by all")
        assert ours == theirs, table
    # the late October issue moved every later running balance of its position
    late = rows(
        built.warehouse,
        "select running_qty from marts.fct_stock_card where facility_id = 'DC1' "
        "and variant_id = 'TEE-M' and bin_id = 'DC1/A1' and bucket = 'available' "
        "order by position_sequence desc limit 1",
    )
    assert late == [(D(2),)]


def post_randomly(stock: Stock, seed: int, count: int) -> None:
    """Receipts at six-decimal costs, issues (ST1 may go negative), cost gains and losses,
    bin moves, adjustments and reversals of the latest movement, on FIFO and moving average."""
    rng = random.Random(seed)
    latest: list[int] = []
    for step in range(count):
        facility = rng.choice(["DC1", "ST1", "ST1"])
        sku = rng.choice(["BOLT-8", "BOLT-8", "TEE-M"])
        at = f"2026-10-{1 + step * 27 // count:02d}T{rng.randint(0, 23):02d}:00:00Z"
        draw = rng.random()
        try:
            if draw < 0.35:
                cost = str(Decimal(rng.randint(100, 999_999)) / 100_000)
                qty = rng.choice(["1", "2", "3", "5", "2.5"])
                result = stock.receive(sku, qty, cost, facility=facility, occurred_at=at)
            elif draw < 0.7:
                qty = rng.choice(["1", "2", "3", "4", "1.5"])
                result = stock.issue(sku, qty, facility=facility, occurred_at=at)
            elif draw < 0.8:
                amount = str(Decimal(rng.randint(-300, 500)) / 100)
                result = stock.post(
                    kind="cost_adjustment", sku=sku, facility=facility, amount=amount,
                    currency="EUR", reason_code="revaluation", role="finance", comment="c",
                    occurred_at=at,
                )  # fmt: skip
            elif draw < 0.88 and latest:
                result = stock.post(
                    kind="reversal", reverses=latest[-1], comment="undo", role="finance",
                    occurred_at=at,
                )  # fmt: skip
            elif draw < 0.94 and facility == "DC1":
                result = stock.post(
                    kind="bin_move", sku=sku, facility=facility, bin="A1", to_bin="A2", qty="1",
                    occurred_at=at,
                )  # fmt: skip
            else:
                result = stock.post(
                    kind="adjustment", sku=sku, facility=facility,
                    qty=rng.choice(["-2", "-1", "1", "2"]),
                    reason_code=rng.choice(["shrink", "found"]), comment="count", occurred_at=at,
                )  # fmt: skip
            latest += result.event_ids
        except LedgerError:
            continue  # refused (no stock, nothing to revalue, …): the ledger stays as it was


def test_fifo_layers_and_valuations_reconcile_after_random_postings(tmp_path: Path):
    with Ledger.open(f"sqlite:///{tmp_path}/ledger.sqlite") as ledger:
        ledger.init()
        ledger.apply(WORLD, actor="setup", role="sysadmin")
        post_randomly(Stock(ledger), seed=20261015, count=120)
        warehouse = tmp_path / "warehouse.duckdb"
        extract(ledger.store, warehouse)
    checks = [
        "assert_fifo_layers_match_ledger",
        "assert_fifo_layers_after_interleaved_reversals",
        "assert_valuations_match_ledger",
        "assert_stock_card_matches_ledger_balances",
        "assert_average_cost_recomputes_ledger_average",
    ]
    outcome = build(warehouse, select=[f"+{check}" for check in checks], exclude="test_type:unit")
    statuses = {node.unique_id.split(".")[-1]: node.status for node in outcome.nodes}
    assert {check: statuses[check] for check in checks} == dict.fromkeys(checks, "pass")
    layers = rows(
        warehouse, "select count(*), count(*) filter (where is_open) from marts.fct_cost_layers"
    )
    assert layers[0][0] > 10 and layers[0][1] > 0


def test_docs_generate_works_offline(built: Built):
    outcome = docs_generate(built.warehouse)
    assert outcome.success, outcome.error
    assert (PROJECT_DIR / "target" / "catalog.json").exists()
    assert (PROJECT_DIR / "target" / "index.html").exists()
