"""The model stage end to end: a ledger with three months of sales by channel, a vendor receipt,
transfers (one received, one in transit), an open reservation and an open expected receipt →
extract → dbt build → `run_models` → marts.replenishment_suggestions, transfer_suggestions and
abc_xyz, and what a planner would check there. Scenario 6 (a suggestion that explains its
trade-offs, within channel priorities and capacity) and scenario 4 (a suggestion turned into a
transfer with an adjusted quantity that moves stock only when shipped, linked back to it).

Business times are laid out backwards from the planning date, today or tomorrow: the vendor
receipt is 20 hours after its registration (a system time), to be a lead-time sample, and the
ledger takes nothing dated more than a day ahead. dbt runs are slow, so the ledger and the
warehouse are built once for the module.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ledger import Ledger, LedgerError, receiving, reservations, transfers
from models.inputs import ModelInputError
from pipelines.extract import extract
from pipelines.modelling import ModellingError, create_transfer_from_suggestion, run_models
from pipelines.warehouse import build
from tests.support import WORLD, Stock

D = Decimal
RECEIVED_AT = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=20)
AS_OF = RECEIVED_AT.date()
HISTORY_DAYS = 91  # sales every day from AS_OF - 90 to AS_OF
ALICE = {"actor": "alice", "role": "inventory_controller"}
FRANK = {"actor": "frank", "role": "finance_manager"}
KEEPER = {"actor": "sam", "role": "store_keeper"}
OUTPUTS = ("replenishment_suggestions", "transfer_suggestions", "abc_xyz")


def day(days_before: int, minute: int = 30) -> str:
    """A business time `days_before` the planning date, just after midnight."""
    moment = AS_OF - timedelta(days=days_before)
    return f"{moment.isoformat()}T00:{minute:02d}:00Z"


def after_receipt(minutes: int) -> str:
    return (RECEIVED_AT + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def months_around(start: date, end: date) -> list[str]:
    months, current = [], start.replace(day=1)
    while current <= end:
        months.append(f"{current:%Y-%m}")
        current = (current + timedelta(days=32)).replace(day=1)
    return months


SETUP = [
    {"type": "facility", "code": "ST2", "name": "Store 2", "org": "RET", "facility_type": "store"},
    *(
        {"type": "period", "code": code}
        for code in months_around(AS_OF - timedelta(days=120), AS_OF + timedelta(days=30))
        if code not in {"2026-09", "2026-10", "2026-11"}
    ),
]

# Configuration as the replenishment feed writes it to raw.
RULES = [("DC1", "TEE-M", D(10), None, None, None, None),
         ("ST1", "TEE-M", None, None, None, D(15), None)]  # fmt: skip
TERMS = [("ACME", "TEE-M", D("4.00"), "EUR", 7, D(20), D(10))]
LANES = [("DC1", "ST1", D("0.20"), "EUR", 2), ("DC1", "ST2", D("0.20"), "EUR", 2)]
PRIORITIES = [("ecommerce", 1), ("marketplace", 2), ("pos", 3)]
CONFIG_DDL = {
    "replenishment_rules": "facility_code varchar, sku varchar, min_qty decimal(18,6), "
    "max_qty decimal(18,6), service_level decimal(18,6), capacity_qty decimal(18,6), "
    "review_period_days integer",
    "vendor_terms": "vendor_code varchar, sku varchar, unit_cost decimal(18,6), currency varchar, "
    "lead_time_days integer, moq decimal(18,6), case_pack decimal(18,6)",
    "transfer_lanes": "source_facility_code varchar, destination_facility_code varchar, "
    "cost_per_unit decimal(18,6), currency varchar, lead_time_days integer",
    "channel_priorities": "channel varchar, priority integer",
}
CONFIG_ROWS = {"replenishment_rules": RULES, "vendor_terms": TERMS, "transfer_lanes": LANES,
               "channel_priorities": PRIORITIES}  # fmt: skip


@dataclass
class Built:
    ledger: Ledger
    stock: Stock
    warehouse: Path
    summary: dict[str, Any]


_keys = itertools.count(1)


def key(what: str) -> str:
    return f"{what}-{next(_keys)}"


def arrange_sales(stock: Stock) -> None:
    """Opening stock on the first day, then 2 a day at each: DC1 online (ecommerce), ST1 in the
    shop (pos), ST2 on a marketplace. At the planning date DC1 holds 40 before transfers, ST1
    4 and ST2 4 before what is in transit."""
    opening = [("DC1", "222"), ("ST1", "176"), ("ST2", "189")]
    for facility, qty in opening:
        stock.receive("TEE-M", qty, "4.00", facility=facility, occurred_at=day(90, 10))
    channels = {"DC1": "ecommerce", "ST1": "pos", "ST2": "marketplace"}
    requests = [
        stock.request(
            kind="issue",
            sku="TEE-M",
            facility=facility,
            qty="2",
            channel=channel,
            occurred_at=day(days_before),
        )
        for days_before in range(HISTORY_DAYS)
        for facility, channel in channels.items()
    ]
    outcomes = stock.ledger.post_many(requests)
    assert not [outcome for outcome in outcomes if isinstance(outcome, LedgerError)]


def arrange_workflows(ledger: Ledger) -> None:
    """A transfer DC1 → ST1 of 10 (shipped 40 days before, received 2 days later: the lane's
    observed lead time); 3 DC1 → ST2 still in transit; a vendor receipt of 10 at DC1 20 hours
    after its registration (now); an open hold of 1 at ST1; 30 TEE-L expected at DC1."""
    received = transfer(ledger, "DC1", "ST1", "10")
    shipment = ship(ledger, received, "10", day(40, 40))
    transfers.receive_shipment(
        ledger, {**ALICE, "idempotency_key": key("rcv"), "shipment_id": shipment,
                 "occurred_at": day(38, 40), "lines": [{"sku": "TEE-M", "qty": "10"}]},
    )  # fmt: skip
    ship(ledger, transfer(ledger, "DC1", "ST2", "3"), "3", day(1, 40))
    receiving.register_receipt(
        ledger, {**ALICE, "idempotency_key": key("asn"), "facility": "DC1", "reference": "PO-1",
                 "vendor": "ACME", "expected_at": after_receipt(0),
                 "lines": [{"sku": "TEE-M", "qty": "10", "unit_cost": "4.00", "currency": "EUR"}]},
    )  # fmt: skip
    receiving.receive(
        ledger, {**KEEPER, "idempotency_key": key("grn"), "facility": "DC1", "receipt": "PO-1",
                 "occurred_at": after_receipt(0), "lines": [{"line": 1, "qty": "10"}]},
    )  # fmt: skip
    putaway = {"kind": "bin_move", "sku": "TEE-M", "facility": "DC1", "bin": "RECV",
               "to_bin": "A1", "qty": "10", "occurred_at": after_receipt(1)}  # fmt: skip
    ledger.post(Stock(ledger).request(idempotency_key=key("move"), **putaway))
    reservations.reserve(
        ledger, {**ALICE, "idempotency_key": key("hold"), "sku": "TEE-M", "facility": "ST1",
                 "qty": "1", "channel": "pos",
                 "reference": {"document_type": "order", "document_id": "SO-9", "line": "1"}},
    )  # fmt: skip
    receiving.register_receipt(
        ledger, {**ALICE, "idempotency_key": key("asn"), "facility": "DC1", "reference": "PO-2",
                 "vendor": "ACME", "lines": [{"sku": "TEE-L", "qty": "30"}]},
    )  # fmt: skip


def transfer(ledger: Ledger, source: str, destination: str, qty: str) -> int:
    created = transfers.request_transfer(
        ledger, {**ALICE, "idempotency_key": key("req"), "source": source,
                 "destination": destination, "lines": [{"sku": "TEE-M", "qty": qty}]},
    )  # fmt: skip
    transfers.submit_transfer(
        ledger, {**ALICE, "idempotency_key": key("sub"), "transfer_id": created["transfer_id"]}
    )
    return created["transfer_id"]


def ship(ledger: Ledger, transfer_id: int, qty: str, when: str) -> int:
    shipped = transfers.ship_transfer(
        ledger, {**ALICE, "idempotency_key": key("ship"), "transfer_id": transfer_id,
                 "occurred_at": when, "lines": [{"sku": "TEE-M", "qty": qty}]},
    )  # fmt: skip
    return shipped["shipment"]["shipment_id"]


def write_config(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists raw")
        for table, columns in CONFIG_DDL.items():
            con.execute(f"create or replace table raw.{table} ({columns})")
            marks = ", ".join("?" * len(CONFIG_ROWS[table][0]))
            con.executemany(f"insert into raw.{table} values ({marks})", CONFIG_ROWS[table])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("models")
    with Ledger.open(f"sqlite:///{folder}/ledger.sqlite") as ledger:
        ledger.init()
        ledger.apply(WORLD + SETUP, actor="setup", role="sysadmin")
        stock = Stock(ledger)
        arrange_sales(stock)
        arrange_workflows(ledger)
        warehouse = folder / "warehouse.duckdb"
        extract(ledger.store, warehouse)
        write_config(warehouse)
        summary = build(warehouse)
        assert summary.success, (summary.error, [n.unique_id for n in summary.failed()])
        result = run_models(warehouse, as_of=AS_OF)
        yield Built(ledger, stock, warehouse, result)


def rows(warehouse: Path, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql, params or [])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def suggestion(warehouse: Path, facility: str, sku: str = "TEE-M") -> dict[str, Any]:
    (row,) = rows(
        warehouse,
        "select * from marts.replenishment_suggestions where facility_id = ? and variant_id = ?",
        [facility, sku],
    )
    return row


def transfers_to(warehouse: Path) -> dict[str, dict[str, Any]]:
    found = rows(warehouse, "select * from marts.transfer_suggestions")
    return {row["destination_facility_id"]: row for row in found}


def copy_of(built: Built, tmp_path: Path) -> Path:
    copied = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse, copied)
    return copied


# -- the run and its inputs ----------------------------------------------------------------------


def test_the_run_writes_three_marts_as_of_the_planning_date(built: Built):
    assert built.summary["as_of"] == AS_OF.isoformat()
    assert built.summary["defaults_for"] == []
    assert built.summary["rows"]["transfer_suggestions"] == 2
    for table in OUTPUTS:
        dates = rows(built.warehouse, f"select distinct as_of_date from marts.{table}")
        assert dates == [{"as_of_date": AS_OF}]


def test_stock_workflows_and_lead_times_come_from_the_marts(built: Built):
    st1, st2, dc1 = (suggestion(built.warehouse, f) for f in ("ST1", "ST2", "DC1"))
    # ST1: 176 + 10 transferred in - 182 sold; one unit held for an order
    assert (st1["on_hand_qty"], st1["reserved_qty"], st1["inventory_position_qty"]) == (
        D(4), D(1), D(3),
    )  # fmt: skip
    # ST2: 189 - 182, and 3 on the way from DC1
    assert (st2["on_hand_qty"], st2["in_transit_qty"], st2["inventory_position_qty"]) == (
        D(7), D(3), D(10),
    )  # fmt: skip
    # DC1: 222 + 10 received - 10 - 3 shipped - 182 sold; 30 TEE-L expected
    assert dc1["on_hand_qty"] == D(37)
    assert suggestion(built.warehouse, "DC1", "TEE-L")["inbound_qty"] == D(30)
    # 2 a day, every day of the planning window: no variability
    assert (st1["demand_qty_per_day"], st1["demand_sigma_qty"]) == (D(2), D(0))
    assert [(c["channel_id"], c["velocity_qty"]) for c in st2["channel_velocities"]] == [
        ("marketplace", D(2)),
    ]  # fmt: skip
    # lead times: ST1 from the received transfer (2 days), DC1 from the vendor receipt
    # (registered when the test ran, received 20 hours later), ST2 from ACME's terms
    assert (st1["lead_time_source"], st1["lead_time_days"]) == ("samples", D(2))
    assert dc1["lead_time_source"] == "samples"
    assert D("0.8") < dc1["lead_time_days"] <= D("0.84")
    assert (st2["lead_time_source"], st2["lead_time_days"]) == ("vendor_terms", D(7))
    assert "no_lead_time_samples" in st2["constraints"]


# -- scenario 6 ----------------------------------------------------------------------------------


def test_scenario_6_transfers_explain_the_trade_off_and_respect_channel_priority_and_capacity(
    built: Built,
):
    """DC1 sells online (ecommerce, priority 1) and keeps its reorder point (its min, 10): it
    can spare 27 of its 37. ST2 (marketplace, priority 2) is served first and gets its 18;
    ST1 (pos, priority 3) wants 12 but its shelf holds 15 and already has 4: 11, of which 9 are
    left. Each transfer beats buying from ACME (7 days, MOQ 20) and says so."""
    moved = transfers_to(built.warehouse)
    st2, st1 = moved["ST2"], moved["ST1"]
    assert (st2["source_facility_id"], st2["transfer_qty"], st2["destination_priority"]) == (
        "DC1", D(18), 2,
    )  # fmt: skip
    assert (st1["transfer_qty"], st1["destination_need_qty"], st1["destination_priority"]) == (
        D(9), D(11), 3,
    )  # fmt: skip
    assert st1["source_transfer_qty"] == D(27)
    assert set(st1["constraints"]) == {"source_availability", "channel_priority", "capacity",
                                       "partial"}  # fmt: skip
    assert st2["constraints"] == []
    for row in (st1, st2):
        assert (row["is_faster"], row["is_cheaper"]) == (True, True)
        assert "against buying from ACME: 7 days at 4.00/unit" in row["rationale"]
        assert "— faster and cheaper." in row["rationale"]
        assert (
            "DC1 has 37 available and keeps 10 (its reorder point: its ecommerce (priority 1)"
            in row["rationale"]
        )
    assert "cut to 11 by its capacity 15" in st1["rationale"]
    assert (
        "18 of it goes to other destinations, served in channel-priority order" in st1["rationale"]
    )
    assert "2 more is left to buy" in st1["rationale"]


def test_scenario_6_the_replenishment_suggestions_take_the_transfers_into_account(built: Built):
    st1, st2, dc1 = (suggestion(built.warehouse, f) for f in ("ST1", "ST2", "DC1"))
    assert (st2["decision"], st2["transfer_in_qty"], st2["order_qty"]) == (
        "covered_by_transfer", D(18), D(0),
    )  # fmt: skip
    # ST1: 3 + 9 = 12 of 15 after the transfer; 3 more would need the MOQ of 20, which the
    # shelf cannot hold
    assert (st1["decision"], st1["need_qty"], st1["order_qty"]) == ("capacity_full", D(3), D(0))
    assert {"moq", "capacity", "transfer"} <= set(st1["constraints"])
    # DC1 gives 27 and falls to its min of 10: order up to 10 + 7 days x 2 = 24 → 14, raised
    # to the MOQ of 20
    assert (dc1["transfer_out_qty"], dc1["position_after_transfers_qty"]) == (D(27), D(10))
    assert (dc1["decision"], dc1["order_qty"], dc1["vendor_id"]) == ("order", D(20), "ACME")
    assert dc1["order_value_amount"] == D("80.00")
    assert "order 20 from ACME (need 14; raised to the MOQ 20)" in dc1["rationale"]


def test_abc_xyz_segments_each_facility(built: Built):
    found = {
        (r["facility_id"], r["variant_id"]): r
        for r in rows(built.warehouse, "select * from marts.abc_xyz")
    }
    dc1 = found[("DC1", "TEE-M")]
    assert (dc1["segment"], dc1["count_interval_days"]) == ("AX", 30)
    assert dc1["consumption_qty"] == D(182)
    assert dc1["consumption_value_amount"] == D("728.00")  # 182 at 4.00
    assert (dc1["demand_buckets"], dc1["demand_cv"]) == (13, D(0))
    assert found[("DC1", "TEE-L")]["segment"] == "CZ"


def test_outputs_hold_no_binary_floats_and_ids_are_stable(built: Built, tmp_path: Path):
    doubles = rows(
        built.warehouse,
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name in ('replenishment_suggestions', "
        "'transfer_suggestions', 'abc_xyz') "
        "and regexp_matches(data_type, 'DOUBLE|FLOAT|REAL')",
    )
    assert doubles == []
    before = rows(
        built.warehouse, "select suggestion_id from marts.transfer_suggestions order by 1"
    )
    again = copy_of(built, tmp_path)
    run_models(again, as_of=AS_OF)
    assert rows(again, "select suggestion_id from marts.transfer_suggestions order by 1") == before


# -- defaults and refusals -----------------------------------------------------------------------


def test_absent_optional_tables_fall_back_to_their_defaults(built: Built, tmp_path: Path):
    warehouse = copy_of(built, tmp_path)
    with duckdb.connect(str(warehouse)) as con:
        for table in CONFIG_DDL:
            con.execute(f"drop table raw.{table}")
        con.execute("drop table marts.fct_reservations")
    summary = run_models(warehouse, as_of=AS_OF)
    assert sorted(summary["defaults_for"]) == [
        "marts.fct_reservations", "raw.channel_priorities", "raw.replenishment_rules",
        "raw.transfer_lanes", "raw.vendor_terms",
    ]  # fmt: skip
    assert summary["rows"]["transfer_suggestions"] == 0  # no lanes, no transfers
    st1 = suggestion(warehouse, "ST1")
    assert (st1["reserved_qty"], st1["capacity_qty"], st1["vendor_id"]) == (D(0), None, None)
    assert st1["channel_velocities"][0]["priority"] is None


def test_a_missing_core_mart_is_refused(built: Built, tmp_path: Path):
    warehouse = copy_of(built, tmp_path)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table marts.fct_receipts")
    with pytest.raises(
        ModellingError, match=r"marts.fct_receipts: the warehouse has no such table"
    ):
        run_models(warehouse, as_of=AS_OF)


def test_bad_configuration_is_refused_and_nothing_is_written(built: Built, tmp_path: Path):
    warehouse = copy_of(built, tmp_path)
    before = {table: rows(warehouse, f"select * from marts.{table}") for table in OUTPUTS}
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into raw.replenishment_rules values ('ST2', 'TEE-M', 10, 5, null, null, null)"
        )
    with pytest.raises(ModelInputError) as caught:
        run_models(warehouse, as_of=AS_OF + timedelta(days=1))
    assert str(caught.value).startswith("replenishment_rules.max_qty: must not be below min_qty")
    assert {table: rows(warehouse, f"select * from marts.{table}") for table in OUTPUTS} == before


# -- scenario 4 ----------------------------------------------------------------------------------


def balances(ledger: Ledger) -> dict[str, str]:
    found = ledger.balance("TEE-M")["facilities"]
    return {entry["facility"]: entry["on_hand"] for entry in found}


def test_scenario_4_a_suggestion_becomes_a_transfer_that_moves_stock_only_when_shipped(
    built: Built,
):
    """The suggestion DC1 → ST2 of 18 becomes a request for 16; the approver cuts it to 15.
    Nothing moves until it ships; then DC1 gives 15 and ST2 receives them, and the transfer
    names the suggestion it came from."""
    ledger = built.ledger
    ledger.apply([{"type": "approval_policy", "transfer_value_threshold": "50"}],
                 actor="setup", role="sysadmin")  # fmt: skip
    suggested = transfers_to(built.warehouse)["ST2"]
    before = balances(ledger)

    created = create_transfer_from_suggestion(
        ledger, suggested["suggestion_id"], quantities={"TEE-M": "16"}, warehouse=built.warehouse,
        **ALICE,
    )  # fmt: skip
    assert (created["status"], created["suggestion_id"]) == ("draft", suggested["suggestion_id"])
    assert (created["source"], created["destination"]) == ("DC1", "ST2")
    assert created["lines"][0]["requested_qty"] == "16"
    again = create_transfer_from_suggestion(
        ledger, suggested, quantities={"TEE-M": "16"}, **ALICE
    )  # the same suggestion twice is one transfer
    assert (again["transfer_id"], again["replayed"]) == (created["transfer_id"], True)

    transfer_id = created["transfer_id"]
    submitted = transfers.submit_transfer(
        ledger, {**ALICE, "idempotency_key": key("sub"), "transfer_id": transfer_id}
    )
    assert submitted["status"] == "pending_approval"  # 16 x 4.00 = 64.00 over 50
    approved = transfers.approve_transfer(
        ledger, {**FRANK, "idempotency_key": key("apr"), "transfer_id": transfer_id,
                 "reason": "keep a little at DC1", "lines": [{"sku": "TEE-M", "qty": "15"}]},
    )  # fmt: skip
    assert approved["lines"][0]["approved_qty"] == "15"
    assert balances(ledger) == before  # a suggestion, a request, an approval: nothing moved

    shipment = ship(ledger, transfer_id, "15", after_receipt(2))
    assert balances(ledger)["DC1"] == str(D(before["DC1"]) - 15)
    transfers.receive_shipment(
        ledger, {**ALICE, "idempotency_key": key("rcv"), "shipment_id": shipment,
                 "occurred_at": after_receipt(3), "lines": [{"sku": "TEE-M", "qty": "15"}]},
    )  # fmt: skip
    after = balances(ledger)
    assert (after["DC1"], after["ST2"]) == (
        str(D(before["DC1"]) - 15), str(D(before["ST2"]) + 15),
    )  # fmt: skip
    view = transfers.transfer(ledger, transfer_id)
    assert (view["status"], view["suggestion_id"]) == ("received", suggested["suggestion_id"])


def test_a_transfer_from_a_suggestion_refuses_a_foreign_sku_or_a_bad_quantity(built: Built):
    suggested = transfers_to(built.warehouse)["ST1"]
    with pytest.raises(ModelInputError, match=r"quantities.TEE-L: is not the suggestion's SKU"):
        create_transfer_from_suggestion(built.ledger, suggested, quantities={"TEE-L": "1"}, **ALICE)
    for bad in ("0", "-2", "lots", 1.5):
        with pytest.raises(ModelInputError, match=r"quantities.TEE-M: must be"):
            create_transfer_from_suggestion(
                built.ledger, suggested, quantities={"TEE-M": bad}, **ALICE
            )
    with pytest.raises(ModelInputError, match=r"transfer_suggestions.suggestion_id: must name"):
        create_transfer_from_suggestion(
            built.ledger, "TS-nothing", warehouse=built.warehouse, **ALICE
        )
