"""Transfers between facilities (SPEC L4, acceptance scenarios 2, 4 and 5): request, approval,
shipments through the in-transit node with the cost carried along, receipts and exceptions —
on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import queue
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger, LedgerError
from ledger.access import Viewer
from ledger.transfers import (
    Leg,
    ShipmentLine,
    TransferLine,
    approve_transfer,
    assess,
    cancel_transfer,
    in_transit_share,
    layers_to_take,
    receive_shipment,
    request_transfer,
    ship_transfer,
    spread_transfer_cost,
    submit_transfer,
    transfer,
    transfers,
)
from tests.integration.test_concurrency import assert_balances_match_events
from tests.support import WORLD, Stock, dump_tables

ROOT = Path(__file__).resolve().parents[2]

SHIPPED_AT = "2026-10-15T10:00:00Z"
ARRIVED_AT = "2026-10-17T09:00:00Z"
LATER = "2026-10-20T09:00:00Z"
ALICE = {"actor": "alice", "role": "inventory_controller"}

REASONS = [
    {"type": "reason_code", "code": "lost_in_transit", "description": "Lost by the carrier",
     "kinds": ["adjustment"]},
    {"type": "reason_code", "code": "transit_damage", "description": "Damaged in transit",
     "kinds": ["transfer_out", "transfer_in"]},
    {"type": "reason_code", "code": "misrouted", "description": "Delivered to the wrong site",
     "kinds": ["transfer_out", "transfer_in"]},
    {"type": "reason_code", "code": "not_arrived", "description": "Not on the truck",
     "kinds": ["transfer_in"]},
    {"type": "reason_code", "code": "source_out_of_stock", "description": "Could not pick"},
    {"type": "facility", "code": "ST2", "name": "Store 2", "org": "RET", "facility_type": "store"},
]  # fmt: skip


@pytest.fixture
def world(stock: Stock) -> Stock:
    stock.ledger.apply(REASONS, actor="setup", role="sysadmin")
    return stock


_numbers = itertools.count(1)


def key(what: str) -> str:
    """A fresh idempotency key, readable in failure output."""
    return f"{what}-{next(_numbers)}"


def requested(
    ledger: Ledger, lines: list[dict[str, Any]], source: str = "DC1", destination: str = "ST1",
    **fields: Any,
) -> dict[str, Any]:  # fmt: skip
    return request_transfer(
        ledger,
        {**ALICE, "idempotency_key": key("req"), "source": source,
         "destination": destination, "lines": lines, **fields},
    )  # fmt: skip


def submitted(ledger: Ledger, transfer_id: int, **who: Any) -> dict[str, Any]:
    fields = {**ALICE, "idempotency_key": key("sub"), "transfer_id": transfer_id, **who}
    return submit_transfer(ledger, fields)


def approved_transfer(ledger: Ledger, lines: list[dict[str, Any]], **fields: Any) -> int:
    """A transfer submitted without needing approval; its id."""
    transfer_id = requested(ledger, lines, **fields)["transfer_id"]
    assert submitted(ledger, transfer_id)["status"] == "submitted"
    return transfer_id


def ship(ledger: Ledger, transfer_id: int, lines: list[dict[str, Any]], **fields: Any):
    who = {**ALICE, "idempotency_key": key("ship"), "occurred_at": SHIPPED_AT}
    return ship_transfer(ledger, {**who, "transfer_id": transfer_id, "lines": lines, **fields})


def receive(ledger: Ledger, shipment_id: int, lines: list[dict[str, Any]], **fields: Any):
    who = {**ALICE, "idempotency_key": key("rcv"), "occurred_at": ARRIVED_AT}
    return receive_shipment(ledger, {**who, "shipment_id": shipment_id, "lines": lines, **fields})


def valuation(ledger: Ledger, sku: str, facility: str) -> tuple[str, str]:
    found = ledger.valuation(sku, facility)
    return found["qty"], found["value"]


def card_events(ledger: Ledger, sku: str, facility: str) -> list[dict[str, Any]]:
    return ledger.card(sku, facility)["events"]


def topics(ledger: Ledger) -> list[str]:
    return [message["topic"] for message in ledger.outbox() if message["topic"] != "stock_event"]


def assert_rejected(
    ledger: Ledger, attempt: Callable[[], Any], code: str, field: str, *, audited: bool = False
) -> LedgerError:
    """`attempt` is rejected with `code` naming `field`, and nothing is written — but for a
    refusal by access control, which the audit trail keeps as one 'refused' row (L8.4)."""
    before = dump_tables(ledger)
    with pytest.raises(LedgerError) as caught:
        attempt()
    error = caught.value
    assert (error.code, error.field) == (code, field), error.message
    assert error.message.startswith(f"{field}: ")
    after = dump_tables(ledger)
    if audited:
        earlier = before.pop("audit_log")
        added = [row for row in after.pop("audit_log") if row not in earlier]
        assert [row[6] for row in added] == ["refused"]
        for tables in (before, after):  # PostgreSQL's audit sequence moves with the audit row
            tables["ledger_counter"] = [r for r in tables["ledger_counter"] if r[0] != "audit_log"]
    assert after == before
    return error


# -- the rules, without a database ------------------------------------------------------------


def test_transfer_cost_is_spread_by_value_and_the_last_leg_takes_the_rest():
    legs = [Leg(Decimal(1), Decimal("1.00")), Leg(Decimal(1), Decimal("1.00")),
            Leg(Decimal(1), Decimal("1.00")), Leg(Decimal(5), None)]  # fmt: skip
    spread_transfer_cost(legs, Decimal("10.00"), Decimal("0.10"))
    # 0.10 a unit, then 10.00 in thirds (the last takes the rest); consigned stock carries none
    extras = ["3.43", "3.43", "3.44", "0"]
    assert [leg.extra for leg in legs] == [Decimal(extra) for extra in extras]


def test_approval_is_needed_over_either_threshold_and_not_at_it():
    line = TransferLine(1, 1, None, 1, requested=Decimal(10))
    stock = {1: (Decimal(20), Decimal("5.00"))}  # 10 of 20 on hand, worth 50.00
    assert assess([line], stock, Decimal(50), Decimal(50)).triggers == ()
    assert assess([line], stock, Decimal("49.99"), None).triggers == ("value",)
    assert assess([line], stock, None, Decimal("49.9")).triggers == ("share",)
    nothing_on_hand = {1: (Decimal(0), Decimal(0))}
    assert assess([line], nothing_on_hand, None, Decimal(100)).triggers == ("share",)


def test_a_piece_leaving_transit_takes_its_own_lines_value_and_layers():
    # 3 units worth 10.00 + 1.50 freight: 11.50 / 3 = 3.8333 -> 3.83; then 7.67 / 2 = 3.835 ->
    # 3.84 (half up); the last unit takes the 3.83 left
    line = ShipmentLine(1, 1, 1, None, 1, 1, Decimal(3), Decimal("10.00"), Decimal("1.50"))
    assert in_transit_share(line, Decimal(1)) == Decimal("3.83")
    line.received, line.cleared_value = Decimal(1), Decimal("3.83")
    assert in_transit_share(line, Decimal(1)) == Decimal("3.84")
    assert in_transit_share(line, Decimal(2)) == Decimal("7.67")
    # a line that opened layers 11 (4 units) and 12 (4 units) in transit
    opened = [(11, Decimal(4)), (12, Decimal(4))]
    assert layers_to_take(opened, Decimal(0), Decimal(5)) == [(11, 4), (12, 1)]
    assert layers_to_take(opened, Decimal(3), Decimal(3)) == [(11, 1), (12, 2)]
    assert layers_to_take(opened, Decimal(5), Decimal(3)) == [(12, 3)]


# -- acceptance scenarios ----------------------------------------------------------------------


def test_scenario_2_a_loss_in_transit_is_cleared_from_transit_and_auditable(world: Stock):
    """Scenario 2: 10 shipped, 8 arrive, 2 are lost. In-transit is cleared, the destination
    holds exactly what arrived, and the loss is on the stock card with its reason."""
    ledger = world.ledger
    world.receive("TEE-M", "20", "5.00")
    transfer_id = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "10"}])
    shipped = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "10"}])
    shipment_id = shipped["shipment"]["shipment_id"]
    assert shipped["status"] == "shipping"
    assert world.on_hand("TEE-M", "DC1") == "10"
    assert world.on_hand("TEE-M", "TRANSIT") == "10"
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("10", "50.00")

    lost = {"type": "lost", "sku": "TEE-M", "qty": "2", "reason_code": "lost_in_transit",
            "comment": "carrier claim CL-77: pallet missing"}  # fmt: skip
    received = receive(ledger, shipment_id, [{"sku": "TEE-M", "qty": "8"}], exceptions=[lost])

    assert received["status"] == received["shipment"]["status"] == "received_with_exceptions"
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("0", "0.00")
    assert valuation(ledger, "TEE-M", "ST1") == ("8", "40.00")
    (line,) = received["shipment"]["lines"]
    assert (line["received_qty"], line["lost_qty"], line["in_transit_qty"]) == ("8", "2", "0")
    assert line["in_transit_value"] == "0.00"
    (exception,) = received["exceptions"]
    assert (exception["type"], exception["qty"], exception["value"]) == ("lost", "2", "10.00")
    write_off = [e for e in card_events(ledger, "TEE-M", "TRANSIT") if e["kind"] == "adjustment"]
    assert [(e["qty"], e["bucket"], e["reason_code"], e["comment"], e["actor"], e["cost_delta"])
            for e in write_off] == [
        ("-2", "in_transit", "lost_in_transit", "carrier claim CL-77: pallet missing", "alice",
         "-10.00"),
    ]  # fmt: skip
    assert exception["event_ids"] == [write_off[0]["event_id"]]
    assert write_off[0]["source"]["document_type"] == "transfer_receipt"
    assert "transfer-exception" in topics(ledger)
    assert_balances_match_events(ledger)


def test_scenario_5_two_shipments_keep_their_own_status_and_exceptions(world: Stock):
    """Scenario 5: one shipment is delayed, the other arrives short. Each has its own status and
    exception counts; in-transit is cleared as the units are settled."""
    ledger = world.ledger
    world.receive("TEE-M", "30", "4.00")
    transfer_id = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "20"}])
    first = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "12"}], carrier="DHL")
    second = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "8"}], carrier="UPS")
    assert second["shipping_closed"] is True
    delayed, short = first["shipment"]["shipment_id"], second["shipment"]["shipment_id"]

    not_arrived = {"type": "short", "sku": "TEE-M", "qty": "2", "reason_code": "not_arrived"}
    arrived = receive(ledger, short, [{"sku": "TEE-M", "qty": "6"}], exceptions=[not_arrived])

    shipments = {s["shipment_id"]: s for s in transfer(ledger, transfer_id)["shipments"]}
    assert arrived["status"] == "receiving"
    assert shipments[delayed]["status"] == "in_transit"
    assert shipments[short]["status"] == "partially_received"
    assert shipments[delayed]["exception_counts"] == {
        "short": 0, "damaged": 0, "lost": 0, "misrouted": 0,
    }  # fmt: skip
    assert shipments[short]["exception_counts"] == {
        "short": 1, "damaged": 0, "lost": 0, "misrouted": 0,
    }  # fmt: skip
    assert shipments[short]["lines"][0]["in_transit_qty"] == "2"
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("14", "56.00")

    lost = {"type": "lost", "sku": "TEE-M", "qty": "2", "reason_code": "lost_in_transit"}
    receive(ledger, short, [], exceptions=[lost], occurred_at=LATER)
    final = receive(ledger, delayed, [{"sku": "TEE-M", "qty": "12"}], occurred_at=LATER)

    shipments = {s["shipment_id"]: s for s in transfer(ledger, transfer_id)["shipments"]}
    assert shipments[delayed]["status"] == "received"
    assert shipments[short]["status"] == "received_with_exceptions"
    assert shipments[short]["exception_counts"]["lost"] == 1
    assert final["status"] == "received_with_exceptions"
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("0", "0.00")
    assert [line["in_transit_value"] for s in shipments.values() for line in s["lines"]] == [
        "0.00", "0.00",
    ]  # fmt: skip
    assert valuation(ledger, "TEE-M", "ST1") == ("18", "72.00")
    recorded = [e for s in shipments.values() for e in s["exceptions"]]
    assert [(e["type"], e["qty"], e["reason_code"]) for e in recorded] == [
        ("short", "2", "not_arrived"), ("lost", "2", "lost_in_transit"),
    ]  # fmt: skip
    assert topics(ledger).count("transfer-exception") == 2
    exceptional = [e for e in card_events(ledger, "TEE-M", "TRANSIT") if e["kind"] == "adjustment"]
    assert [(e["qty"], e["reason_code"]) for e in exceptional] == [("-2", "lost_in_transit")]
    assert exceptional[0]["event_id"] in recorded[1]["event_ids"]
    history = [(h["shipment_id"], h["to"]) for h in transfer(ledger, transfer_id)["history"]]
    assert (short, "partially_received") in history and (delayed, "received") in history
    assert_balances_match_events(ledger)


def test_scenario_4_an_approved_suggestion_moves_stock_only_when_shipped(world: Stock):
    """Scenario 4, execution half: a transfer created from a suggestion, approved with an
    adjusted quantity, changes stock only when it ships, and links back to the suggestion."""
    ledger = world.ledger
    ledger.apply([{"type": "approval_policy", "transfer_value_threshold": "100"}],
                 actor="setup", role="sysadmin")  # fmt: skip
    world.receive("TEE-M", "50", "5.00")
    before = card_events(ledger, "TEE-M", "DC1")
    created = requested(ledger, [{"sku": "TEE-M", "qty": "40"}], suggestion_id="SUG-2026-10-0042")
    transfer_id = created["transfer_id"]
    pending = submitted(ledger, transfer_id)
    assert pending["status"] == "pending_approval"
    assert pending["assessment"]["triggers"] == ["value"]
    assert pending["assessment"]["request_value"] == "200.00"

    approval = {"idempotency_key": key("apr"), "actor": "frank", "role": "finance_manager",
                "transfer_id": transfer_id, "reason": "store has 10 on order already",
                "lines": [{"sku": "TEE-M", "qty": "30"}]}  # fmt: skip
    approved = approve_transfer(ledger, approval)
    assert approved["status"] == "submitted"
    assert approved["approval"]["approved_by"] == "frank"
    assert approved["approval"]["reason"] == "store has 10 on order already"
    assert approved["approval"]["approved_at"] is not None
    (line,) = approved["lines"]
    assert (line["requested_qty"], line["approved_qty"]) == ("40", "30")
    assert card_events(ledger, "TEE-M", "DC1") == before  # approval moves nothing
    assert world.on_hand("TEE-M", "ST1") == "0"

    shipped = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "30"}])
    receive(ledger, shipped["shipment"]["shipment_id"], [{"sku": "TEE-M", "qty": "30"}])

    assert (world.on_hand("TEE-M", "DC1"), world.on_hand("TEE-M", "ST1")) == ("20", "30")
    view = transfer(ledger, transfer_id)
    assert view["status"] == "received"
    assert view["suggestion_id"] == "SUG-2026-10-0042"
    assert [t["suggestion_id"] for t in transfers(ledger)] == ["SUG-2026-10-0042"]
    arrived = card_events(ledger, "TEE-M", "ST1")[-1]
    assert arrived["event_id"] in view["shipments"][0]["receipts"][0]["event_ids"]
    messages = [m["payload"] for m in ledger.outbox() if m["topic"] == "transfer-approved"]
    assert [m["suggestion_id"] for m in messages] == ["SUG-2026-10-0042"]


# -- cost moves with the stock (L4.3) ------------------------------------------------------------


def test_moving_average_cost_and_freight_move_and_the_destination_average_is_recomputed(
    world: Stock,
):
    """DC1 holds 10 @ 5.00 + 10 @ 6.00 (average 5.50), ST1 4 @ 7.00. Shipping 8 takes 44.00 out
    of DC1; 4.00 freight makes 48.00 in transit; ST1 then holds 12 worth 28.00 + 48.00 = 76.00,
    an average of 6.333333. DC1's average is untouched: 12 @ 5.50 = 66.00."""
    ledger = world.ledger
    world.receive("TEE-M", "10", "5.00")
    world.receive("TEE-M", "10", "6.00")
    world.receive("TEE-M", "4", "7.00", facility="ST1")
    transfer_id = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "8"}])
    shipped = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "8"}],
                   transfer_cost="4.00", currency="EUR")  # fmt: skip
    (line,) = shipped["shipment"]["lines"]
    assert (line["goods_value"], line["transfer_cost"], line["in_transit_value"]) == (
        "44.00", "4.00", "48.00",
    )  # fmt: skip
    into_transit = card_events(ledger, "TEE-M", "TRANSIT")[-1]
    assert (into_transit["cost_delta"], into_transit["unit_cost"]) == ("48.00", "6")
    assert valuation(ledger, "TEE-M", "DC1") == ("12", "66.00")

    receive(ledger, shipped["shipment"]["shipment_id"], [{"sku": "TEE-M", "qty": "8"}])

    at_store = ledger.valuation("TEE-M", "ST1")
    assert (at_store["qty"], at_store["value"], at_store["avg_cost"]) == ("12", "76.00", "6.333333")
    assert ledger.valuation("TEE-M", "DC1")["avg_cost"] == "5.5"
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("0", "0.00")


def test_fifo_layers_travel_with_the_stock(world: Stock):
    """BOLT-8 at DC1: layers 10 @ 2.00 and 10 @ 3.00. Shipping 15 takes 10 @ 2.00 + 5 @ 3.00 =
    35.00; ST1 receives both layers as they were, so issuing 12 there costs 10 x 2 + 2 x 3."""
    ledger = world.ledger
    world.receive("BOLT-8", "10", "2.00")
    world.receive("BOLT-8", "10", "3.00")
    transfer_id = approved_transfer(ledger, [{"sku": "BOLT-8", "qty": "15"}])
    shipped = ship(ledger, transfer_id, [{"sku": "BOLT-8", "qty": "15"}])
    assert shipped["shipment"]["lines"][0]["goods_value"] == "35.00"
    receive(ledger, shipped["shipment"]["shipment_id"], [{"sku": "BOLT-8", "qty": "15"}])

    store = ledger.valuation("BOLT-8", "ST1")
    assert (store["qty"], store["value"]) == ("15", "35.00")
    assert [(layer["unit_cost"], layer["remaining_qty"]) for layer in store["layers"]] == [
        ("2", "10"), ("3", "5"),
    ]  # fmt: skip
    assert valuation(ledger, "BOLT-8", "DC1") == ("5", "15.00")
    assert valuation(ledger, "BOLT-8", "TRANSIT") == ("0", "0.00")
    world.issue("BOLT-8", "12", facility="ST1", occurred_at=LATER)
    assert card_events(ledger, "BOLT-8", "ST1")[-1]["cost_delta"] == "-26.00"


def test_partial_receipts_carry_value_in_proportion_and_the_last_piece_takes_the_rest(
    world: Stock,
):
    """3 units worth 10.00 plus 0.50 a unit freight (11.50) arrive one by one: 3.83, then a
    damaged one at 3.84 (7.67 / 2, half up), and the last takes the 3.83 left — 0.00 remains."""
    ledger = world.ledger
    world.receive("TEE-L", "3", "3.333333")
    transfer_id = approved_transfer(ledger, [{"sku": "TEE-L", "qty": "3"}])
    shipped = ship(ledger, transfer_id, [{"sku": "TEE-L", "qty": "3"}],
                   transfer_cost_per_unit="0.50", currency="EUR")  # fmt: skip
    shipment_id = shipped["shipment"]["shipment_id"]
    assert shipped["shipment"]["lines"][0]["in_transit_value"] == "11.50"

    receive(ledger, shipment_id, [{"sku": "TEE-L", "qty": "1"}])
    damaged = {"type": "damaged", "sku": "TEE-L", "qty": "1", "reason_code": "transit_damage"}
    receive(ledger, shipment_id, [], exceptions=[damaged])
    last = receive(ledger, shipment_id, [{"sku": "TEE-L", "qty": "1"}], occurred_at=LATER)

    carried = [e["cost_delta"] for e in card_events(ledger, "TEE-L", "ST1")]
    assert carried == ["3.83", "3.84", "3.83"]
    assert [e["bucket"] for e in card_events(ledger, "TEE-L", "ST1")] == [
        "available", "damaged", "available",
    ]  # fmt: skip
    assert ledger.balance("TEE-L", "ST1")["facilities"][0]["damaged"] == "1"
    assert last["shipment"]["lines"][0]["in_transit_value"] == "0.00"
    assert last["shipment"]["status"] == "received_with_exceptions"


# -- shipments of one SKU in transit at the same time keep their own cost ---------------------


def line_of(result: dict[str, Any]) -> dict[str, Any]:
    (line,) = result["shipment"]["lines"]
    return line


def transit_outs(ledger: Ledger, sku: str) -> list[str]:
    """The cost that left the in-transit node, receipt by receipt (losses included)."""
    return [
        e["cost_delta"]
        for e in card_events(ledger, sku, "TRANSIT")
        if e["kind"] in ("transfer_out", "adjustment")
    ]


def test_shipments_in_transit_at_once_each_carry_their_own_moving_average_cost(world: Stock):
    """TEE-M: DC1 receives 20 @ 5.00 (100.00) and ships 10 — shipment 1 carries 50.00, DC1
    keeps 10 worth 50.00. DC1 receives 10 @ 8.00: 20 worth 130.00, an average of 6.50; shipment
    2 takes 10 x 6.50 = 65.00, plus 3.00 freight = 68.00. TRANSIT pools 20 worth 118.00 (an
    average of 5.90), yet shipment 2, received first, brings exactly its 68.00 to ST1 (not
    10 x 5.90 = 59.00), and shipment 1 its 50.00: ST1 holds 20 worth 118.00, TRANSIT 0 / 0.00."""
    ledger = world.ledger
    world.receive("TEE-M", "20", "5.00")
    transfer_id = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "20"}])
    first = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "10"}])
    world.receive("TEE-M", "10", "8.00")
    assert ledger.valuation("TEE-M", "DC1")["avg_cost"] == "6.5"
    second = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "10"}],
                  transfer_cost="3.00", currency="EUR")  # fmt: skip
    assert line_of(first)["in_transit_value"] == "50.00"
    assert (line_of(second)["goods_value"], line_of(second)["in_transit_value"]) == (
        "65.00", "68.00",
    )  # fmt: skip
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("20", "118.00")
    assert valuation(ledger, "TEE-M", "DC1") == ("10", "65.00")  # 130.00 - 65.00

    later = receive(ledger, second["shipment"]["shipment_id"], [{"sku": "TEE-M", "qty": "10"}])

    assert valuation(ledger, "TEE-M", "ST1") == ("10", "68.00")
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("10", "50.00")
    assert line_of(later)["in_transit_value"] == "0.00"

    earlier = receive(ledger, first["shipment"]["shipment_id"], [{"sku": "TEE-M", "qty": "10"}])

    assert line_of(earlier)["in_transit_value"] == "0.00"
    assert earlier["status"] == "received"
    assert transit_outs(ledger, "TEE-M") == ["-68.00", "-50.00"]
    assert [e["cost_delta"] for e in card_events(ledger, "TEE-M", "ST1")] == ["68.00", "50.00"]
    assert valuation(ledger, "TEE-M", "ST1") == ("20", "118.00")  # 68.00 + 50.00
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("0", "0.00")
    assert_balances_match_events(ledger)


def bolts_in_transit_twice(world: Stock) -> tuple[int, int]:
    """BOLT-8 (FIFO): DC1 receives 10 @ 2.00 and ships 6 (shipment 1: 6 @ 2.00 = 12.00), then
    receives 10 @ 3.00 and ships 8 (shipment 2, DC1's oldest layers: 4 @ 2.00 + 4 @ 3.00 =
    20.00). TRANSIT holds three layers, 6 @ 2 | 4 @ 2 | 4 @ 3, 14 worth 32.00. The shipment
    ids, first and second."""
    ledger = world.ledger
    world.receive("BOLT-8", "10", "2.00")
    transfer_id = approved_transfer(ledger, [{"sku": "BOLT-8", "qty": "14"}])
    first = ship(ledger, transfer_id, [{"sku": "BOLT-8", "qty": "6"}])
    world.receive("BOLT-8", "10", "3.00")
    second = ship(ledger, transfer_id, [{"sku": "BOLT-8", "qty": "8"}])
    assert (line_of(first)["goods_value"], line_of(second)["goods_value"]) == ("12.00", "20.00")
    transit = ledger.valuation("BOLT-8", "TRANSIT")
    assert (transit["qty"], transit["value"]) == ("14", "32.00")
    assert [(layer["unit_cost"], layer["remaining_qty"]) for layer in transit["layers"]] == [
        ("2", "6"), ("2", "4"), ("3", "4"),
    ]  # fmt: skip
    return first["shipment"]["shipment_id"], second["shipment"]["shipment_id"]


def test_shipments_in_transit_at_once_each_carry_their_own_fifo_layers(world: Stock):
    """Shipment 2, received first, takes its own two layers, 4 @ 2 + 4 @ 3 = 20.00 (the oldest
    layers in transit would have been 6 @ 2 + 2 @ 2 = 16.00); shipment 1 then its 6 @ 2 =
    12.00. ST1: 14 worth 32.00 in the layers 4 @ 2, 4 @ 3, 6 @ 2."""
    ledger = world.ledger
    first, second = bolts_in_transit_twice(world)

    later = receive(ledger, second, [{"sku": "BOLT-8", "qty": "8"}])

    assert valuation(ledger, "BOLT-8", "ST1") == ("8", "20.00")
    assert line_of(later)["in_transit_value"] == "0.00"
    transit = ledger.valuation("BOLT-8", "TRANSIT")
    assert [(layer["unit_cost"], layer["remaining_qty"]) for layer in transit["layers"]] == [
        ("2", "6"),
    ]  # fmt: skip

    earlier = receive(ledger, first, [{"sku": "BOLT-8", "qty": "6"}])

    assert line_of(earlier)["in_transit_value"] == "0.00"
    assert transit_outs(ledger, "BOLT-8") == ["-20.00", "-12.00"]
    store = ledger.valuation("BOLT-8", "ST1")
    assert (store["qty"], store["value"]) == ("14", "32.00")  # 20.00 + 12.00
    assert [(layer["unit_cost"], layer["remaining_qty"]) for layer in store["layers"]] == [
        ("2", "4"), ("3", "4"), ("2", "6"),
    ]  # fmt: skip
    assert valuation(ledger, "BOLT-8", "TRANSIT") == ("0", "0.00")
    assert_balances_match_events(ledger)


def test_partial_receipts_and_a_loss_stay_exact_per_shipment_moving_average(world: Stock):
    """TEE-M: shipment A takes 3 of DC1's 10 @ 5.00 = 15.00; DC1 then receives 3 @ 6.00 (10
    worth 53.00, average 5.30) and shipment B takes 3 = 15.90, plus 1.00 freight = 16.90.
    TRANSIT pools 6 worth 31.90. Receipts, in this order:
    B 1 unit: 16.90 / 3 = 5.6333 -> 5.63 (11.27 left on B)
    A 2 units: 15.00 x 2 / 3 = 10.00 (5.00 left on A)
    B the rest: 1 received at 11.27 / 2 = 5.635 -> 5.64 (half up), 1 lost at the 5.63 left
    A the rest: 1 unit, the 5.00 left.
    ST1: 5 units worth 5.63 + 10.00 + 5.64 + 5.00 = 26.27; written off 5.63; 26.27 + 5.63 =
    31.90 = 15.00 + 16.90, and TRANSIT ends at 0 / 0.00."""
    ledger = world.ledger
    world.receive("TEE-M", "10", "5.00")
    transfer_id = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "6"}])
    a = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "3"}])["shipment"]["shipment_id"]
    world.receive("TEE-M", "3", "6.00")
    b_shipped = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "3"}],
                     transfer_cost="1.00", currency="EUR")  # fmt: skip
    b = b_shipped["shipment"]["shipment_id"]
    assert line_of(b_shipped)["in_transit_value"] == "16.90"
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("6", "31.90")

    part_b = receive(ledger, b, [{"sku": "TEE-M", "qty": "1"}])
    assert line_of(part_b)["in_transit_value"] == "11.27"
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("5", "26.27")
    part_a = receive(ledger, a, [{"sku": "TEE-M", "qty": "2"}])
    assert line_of(part_a)["in_transit_value"] == "5.00"
    lost = {"type": "lost", "sku": "TEE-M", "qty": "1", "reason_code": "lost_in_transit"}
    rest_b = receive(ledger, b, [{"sku": "TEE-M", "qty": "1"}], exceptions=[lost],
                     occurred_at=LATER)  # fmt: skip
    rest_a = receive(ledger, a, [{"sku": "TEE-M", "qty": "1"}], occurred_at=LATER)

    assert [e["cost_delta"] for e in card_events(ledger, "TEE-M", "ST1")] == [
        "5.63", "10.00", "5.64", "5.00",
    ]  # fmt: skip
    assert transit_outs(ledger, "TEE-M") == ["-5.63", "-10.00", "-5.64", "-5.63", "-5.00"]
    (exception,) = rest_b["exceptions"]
    assert (exception["type"], exception["qty"], exception["value"]) == ("lost", "1", "5.63")
    assert line_of(rest_b)["in_transit_value"] == line_of(rest_a)["in_transit_value"] == "0.00"
    assert rest_b["shipment"]["status"] == "received_with_exceptions"
    assert rest_a["shipment"]["status"] == "received"
    assert valuation(ledger, "TEE-M", "ST1") == ("5", "26.27")
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("0", "0.00")
    assert_balances_match_events(ledger)


def test_partial_receipts_and_a_loss_stay_exact_per_shipment_fifo(world: Stock):
    """With the BOLT-8 shipments above (1: 6 @ 2; 2: 4 @ 2 + 4 @ 3), in this order:
    shipment 2, 5 units: its layers in order, 4 @ 2 + 1 @ 3 = 11.00
    shipment 1, all 6: 6 @ 2 = 12.00
    shipment 2, the rest: 2 received at 2 @ 3 = 6.00, 1 lost at 1 @ 3 = 3.00.
    ST1: 13 worth 11.00 + 12.00 + 6.00 = 29.00 in the layers 4 @ 2, 1 @ 3, 6 @ 2, 2 @ 3;
    written off 3.00; 29.00 + 3.00 = 32.00, and TRANSIT ends at 0 / 0.00."""
    ledger = world.ledger
    first, second = bolts_in_transit_twice(world)

    part = receive(ledger, second, [{"sku": "BOLT-8", "qty": "5"}])
    assert line_of(part)["in_transit_value"] == "9.00"  # 20.00 - 11.00
    receive(ledger, first, [{"sku": "BOLT-8", "qty": "6"}])
    lost = {"type": "lost", "sku": "BOLT-8", "qty": "1", "reason_code": "lost_in_transit"}
    rest = receive(ledger, second, [{"sku": "BOLT-8", "qty": "2"}], exceptions=[lost],
                   occurred_at=LATER)  # fmt: skip

    assert transit_outs(ledger, "BOLT-8") == ["-11.00", "-12.00", "-6.00", "-3.00"]
    (exception,) = rest["exceptions"]
    assert (exception["type"], exception["value"]) == ("lost", "3.00")
    assert line_of(rest)["in_transit_value"] == "0.00"
    store = ledger.valuation("BOLT-8", "ST1")
    assert (store["qty"], store["value"]) == ("13", "29.00")
    assert [(layer["unit_cost"], layer["remaining_qty"]) for layer in store["layers"]] == [
        ("2", "4"), ("3", "1"), ("2", "6"), ("3", "2"),
    ]  # fmt: skip
    assert valuation(ledger, "BOLT-8", "TRANSIT") == ("0", "0.00")
    assert_balances_match_events(ledger)


def test_misrouted_units_move_from_transit_to_where_they_arrived(world: Stock):
    ledger = world.ledger
    world.receive("TEE-M", "10", "5.00")
    transfer_id = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "10"}])
    shipment_id = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "10"}])["shipment"][
        "shipment_id"
    ]
    wrong_store = {"type": "misrouted", "sku": "TEE-M", "qty": "3", "reason_code": "misrouted",
                   "facility": "ST2", "comment": "driver dropped a carton at Store 2"}  # fmt: skip
    received = receive(ledger, shipment_id, [{"sku": "TEE-M", "qty": "7"}],
                       exceptions=[wrong_store])  # fmt: skip

    assert received["shipment"]["status"] == "received_with_exceptions"
    assert valuation(ledger, "TEE-M", "ST1") == ("7", "35.00")
    assert valuation(ledger, "TEE-M", "ST2") == ("3", "15.00")
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("0", "0.00")
    (exception,) = received["exceptions"]
    assert (exception["type"], exception["facility"], exception["qty"]) == ("misrouted", "ST2", "3")
    at_st2 = card_events(ledger, "TEE-M", "ST2")
    assert [(e["kind"], e["reason_code"]) for e in at_st2] == [("transfer_in", "misrouted")]


def test_a_final_shipment_short_ships_the_rest_with_a_reason(world: Stock):
    ledger = world.ledger
    world.receive("TEE-M", "6", "5.00")
    transfer_id = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "10"}])
    shipped = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "6"}],
                   final=True, reason_code="source_out_of_stock")  # fmt: skip
    assert shipped["shipping_closed"] is True
    receive(ledger, shipped["shipment"]["shipment_id"], [{"sku": "TEE-M", "qty": "6"}])
    view = transfer(ledger, transfer_id)
    (line,) = view["lines"]
    assert (line["shipped_qty"], line["short_shipped_qty"], line["open_qty"]) == ("6", "4", "0")
    assert line["short_ship_reason"] == "source_out_of_stock"
    assert view["status"] == "received_with_exceptions"


def test_closing_shipping_without_a_shipment_settles_what_has_arrived(world: Stock):
    ledger = world.ledger
    world.receive("TEE-M", "20", "5.00")
    transfer_id = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "10"}])
    shipped = ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "6"}])
    received = receive(ledger, shipped["shipment"]["shipment_id"], [{"sku": "TEE-M", "qty": "6"}])
    assert (received["status"], received["shipment"]["status"]) == ("receiving", "received")

    closed = ship(ledger, transfer_id, [], final=True, reason_code="source_out_of_stock")

    assert (closed["status"], closed["shipping_closed"]) == ("received_with_exceptions", True)
    assert closed["lines"][0]["short_shipped_qty"] == "4"
    assert len(closed["shipments"]) == 1
    never_shipped = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "1"}])
    assert_rejected(
        ledger,
        lambda: ship(ledger, never_shipped, [], final=True, reason_code="source_out_of_stock"),
        "invalid_transition", "transfer_id",
    )  # fmt: skip


# -- approval (L4.1) ---------------------------------------------------------------------------


def test_a_request_taking_too_much_of_the_source_waits_for_approval(world: Stock):
    ledger = world.ledger
    ledger.apply([{"type": "approval_policy", "transfer_pct_threshold": "50"}],
                 actor="setup", role="sysadmin")  # fmt: skip
    world.receive("TEE-M", "20", "5.00")
    small = requested(ledger, [{"sku": "TEE-M", "qty": "10"}])["transfer_id"]
    large = requested(ledger, [{"sku": "TEE-M", "qty": "15"}])["transfer_id"]

    assert submitted(ledger, small)["status"] == "submitted"  # exactly 50 % is not over
    pending = submitted(ledger, large)
    assert pending["status"] == "pending_approval"
    assert pending["assessment"]["triggers"] == ["share"]
    assert pending["assessment"]["lines"][0]["share_pct"] == "75"
    assert [t["transfer_id"] for t in transfers(ledger, status="pending_approval")] == [large]

    approval = {"idempotency_key": key("apr"), "actor": "ian", "role": "inventory_controller",
                "transfer_id": large, "reason": "season opening"}  # fmt: skip
    approved = approve_transfer(ledger, approval)
    assert approved["status"] == "submitted"
    assert approved["lines"][0]["approved_qty"] == "15"
    assert [h["to"] for h in approved["history"]] == ["draft", "pending_approval", "submitted"]


def test_self_approval_is_refused_when_the_policy_forbids_it(world: Stock):
    ledger = world.ledger
    ledger.apply([{"type": "approval_policy", "transfer_value_threshold": "10",
                   "no_self_approval": True}], actor="setup", role="sysadmin")  # fmt: skip
    world.receive("TEE-M", "20", "5.00")
    transfer_id = requested(ledger, [{"sku": "TEE-M", "qty": "5"}])["transfer_id"]
    assert submitted(ledger, transfer_id)["status"] == "pending_approval"
    own = {**ALICE, "idempotency_key": key("apr"), "transfer_id": transfer_id, "reason": "ok"}

    assert_rejected(ledger, lambda: approve_transfer(ledger, own), "self_approval", "actor",
                    audited=True)  # fmt: skip

    other = {**own, "idempotency_key": key("apr"), "actor": "frank", "role": "finance_manager"}
    assert approve_transfer(ledger, other)["approval"]["approved_by"] == "frank"


def test_cancelling_before_shipping_and_not_after(world: Stock):
    ledger = world.ledger
    world.receive("TEE-M", "20", "5.00")
    draft = requested(ledger, [{"sku": "TEE-M", "qty": "5"}])["transfer_id"]
    cancel = {**ALICE, "idempotency_key": key("cxl"), "transfer_id": draft, "reason": "typo"}
    cancelled = cancel_transfer(ledger, cancel)
    assert (cancelled["status"], cancelled["cancellation"]["reason"]) == ("cancelled", "typo")

    shipped = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "5"}])
    ship(ledger, shipped, [{"sku": "TEE-M", "qty": "5"}])
    late = {**cancel, "idempotency_key": key("cxl"), "transfer_id": shipped}
    error = assert_rejected(
        ledger, lambda: cancel_transfer(ledger, late), "invalid_transition", "transfer_id"
    )
    assert (error.detail, error.status) == ({"current_status": "shipping"}, 409)
    no_reason = {**cancel, "idempotency_key": key("cxl"), "reason": None}
    assert_rejected(
        ledger, lambda: cancel_transfer(ledger, no_reason), "validation_error", "reason"
    )


# -- rejections leave the ledger as it was (L2.7) ------------------------------------------------


@pytest.fixture
def in_transit(world: Stock) -> tuple[Stock, int, int]:
    """10 TEE-M shipped from DC1 (which has 20) to ST1: the ledger, transfer and shipment ids."""
    world.receive("TEE-M", "20", "5.00")
    transfer_id = approved_transfer(world.ledger, [{"sku": "TEE-M", "qty": "15"}])
    shipped = ship(world.ledger, transfer_id, [{"sku": "TEE-M", "qty": "10"}])
    return world, transfer_id, shipped["shipment"]["shipment_id"]


def test_receiving_more_than_shipped_is_refused(in_transit: tuple[Stock, int, int]):
    world, _, shipment_id = in_transit
    ledger = world.ledger
    error = assert_rejected(
        ledger, lambda: receive(ledger, shipment_id, [{"sku": "TEE-M", "qty": "11"}]),
        "over_receipt", "lines[0].qty",
    )  # fmt: skip
    assert error.detail == {"in_transit": "10"}
    damaged = {"type": "damaged", "sku": "TEE-M", "qty": "2", "reason_code": "transit_damage"}
    assert_rejected(
        ledger,
        lambda: receive(ledger, shipment_id, [{"sku": "TEE-M", "qty": "9"}], exceptions=[damaged]),
        "over_receipt", "exceptions[0].qty",
    )  # fmt: skip


def test_shipping_more_than_on_hand_or_than_approved_is_refused(
    in_transit: tuple[Stock, int, int],
):
    world, transfer_id, _ = in_transit
    ledger = world.ledger
    world.issue("TEE-M", "8")  # DC1 keeps 2 of the 10 left; 5 of the 15 approved are open
    assert_rejected(
        ledger, lambda: ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "3"}]),
        "insufficient_stock", "lines[0].qty",
    )  # fmt: skip
    assert_rejected(
        ledger, lambda: ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "6"}]),
        "over_shipment", "lines[0].qty",
    )  # fmt: skip


def test_a_missing_exception_reason_is_refused(in_transit: tuple[Stock, int, int]):
    world, _, shipment_id = in_transit
    ledger = world.ledger
    lost = {"type": "lost", "sku": "TEE-M", "qty": "1"}
    assert_rejected(
        ledger, lambda: receive(ledger, shipment_id, [], exceptions=[lost]),
        "reason_required", "exceptions[0].reason_code",
    )  # fmt: skip
    unknown = {**lost, "reason_code": "dog_ate_it"}
    assert_rejected(
        ledger, lambda: receive(ledger, shipment_id, [], exceptions=[unknown]),
        "unknown_reason_code", "exceptions[0].reason_code",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("who", "why"),
    [
        ({"actor": "audrey", "role": "auditor"}, "may not"),  # the role may not ship at all
        ({"actor": "ivy", "role": "inventory_controller"}, "expired"),  # grant ended 2026-01-01
        ({"actor": "sid", "role": "store_keeper"}, "no grant"),  # granted at ST1 only
    ],
)
def test_shipping_without_a_valid_grant_at_the_source_is_refused(
    in_transit: tuple[Stock, int, int], who: dict[str, str], why: str
):
    world, transfer_id, _ = in_transit
    ledger = world.ledger
    field = "role" if why == "may not" else "actor"
    error = assert_rejected(
        ledger, lambda: ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "1"}], **who),
        "forbidden", field, audited=True,
    )  # fmt: skip
    assert why in error.message


def test_store_keepers_ship_and_receive_only_where_they_are_granted(world: Stock):
    """sam keeps DC1 and sid ST1, and neither holds a grant at the in-transit node (the
    transfer authorises at the ends): sam ships DC1 → ST1 and sid receives it; sam cannot ship
    ST1 → DC1 and sid cannot receive at DC1."""
    ledger = world.ledger
    world.receive("TEE-M", "10", "5.00")
    world.receive("TEE-M", "10", "5.00", facility="ST1")
    sam, sid = {"actor": "sam", "role": "store_keeper"}, {"actor": "sid", "role": "store_keeper"}
    outbound = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "4"}])
    shipment_id = ship(ledger, outbound, [{"sku": "TEE-M", "qty": "4"}], **sam)["shipment"][
        "shipment_id"
    ]
    assert receive(ledger, shipment_id, [{"sku": "TEE-M", "qty": "4"}], **sid)["status"] == (
        "received"
    )

    inbound = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "4"}], source="ST1",
                                destination="DC1")  # fmt: skip
    assert_rejected(
        ledger, lambda: ship(ledger, inbound, [{"sku": "TEE-M", "qty": "4"}], **sam),
        "forbidden", "actor", audited=True,
    )  # fmt: skip
    back = ship(ledger, inbound, [{"sku": "TEE-M", "qty": "4"}], **sid)["shipment"]["shipment_id"]
    assert_rejected(
        ledger, lambda: receive(ledger, back, [{"sku": "TEE-M", "qty": "4"}], **sid),
        "forbidden", "actor", audited=True,
    )  # fmt: skip


def test_a_retried_operation_is_answered_not_applied_again(in_transit: tuple[Stock, int, int]):
    world, _, shipment_id = in_transit
    ledger = world.ledger
    request = {**ALICE, "idempotency_key": "rcv-once", "shipment_id": shipment_id,
               "occurred_at": ARRIVED_AT, "lines": [{"sku": "TEE-M", "qty": "4"}]}  # fmt: skip
    first = receive_shipment(ledger, request)
    before = dump_tables(ledger)

    again = receive_shipment(ledger, {**request, "lines": [{"sku": "TEE-M", "qty": "4.000"}]})

    assert again == {**first, "replayed": True}
    assert dump_tables(ledger) == before
    assert world.on_hand("TEE-M", "ST1") == "4"
    other = {**request, "lines": [{"sku": "TEE-M", "qty": "5"}]}
    error = assert_rejected(
        ledger, lambda: receive_shipment(ledger, other), "idempotency_conflict", "idempotency_key"
    )
    assert error.status == 409


# -- concurrency ---------------------------------------------------------------------------------

SPAWN = multiprocessing.get_context("spawn")
WAIT = 60.0


def receive_in_process(url: str, request: dict[str, Any], start: Any, results: Any) -> None:
    with Ledger.open(url) as ledger:
        start.wait(WAIT)
        try:
            results.put(("received", receive_shipment(ledger, request)["receipt_id"]))
        except LedgerError as error:
            results.put(("rejected", error.code))
        except Exception as error:  # anything but a LedgerError is a bug
            results.put(("crashed", repr(error)))


def test_two_clients_receiving_the_same_units_at_once_receive_them_once(
    in_transit: tuple[Stock, int, int],
):
    world, _, shipment_id = in_transit
    ledger = world.ledger
    requests = [
        {**ALICE, "idempotency_key": f"rcv-client-{n}", "shipment_id": shipment_id,
         "occurred_at": ARRIVED_AT, "lines": [{"sku": "TEE-M", "qty": "10"}]}
        for n in range(2)
    ]  # fmt: skip
    start, results = SPAWN.Barrier(2), SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=receive_in_process, args=(ledger.store.url, r, start, results), daemon=True
        )
        for r in requests
    ]
    for process in processes:
        process.start()
    try:
        outcomes = sorted(results.get(timeout=WAIT) for _ in processes)
    except queue.Empty:
        pytest.fail("a receiving client hung")
    finally:
        for process in processes:
            process.join(WAIT)
            if process.is_alive():
                process.kill()

    assert [outcome[0] for outcome in outcomes] == ["received", "rejected"]
    assert outcomes[1][1] == "over_receipt"
    assert world.on_hand("TEE-M", "ST1") == "10"
    assert valuation(ledger, "TEE-M", "TRANSIT") == ("0", "0.00")
    assert_balances_match_events(ledger)


# -- lots, bins, reads and the command line -------------------------------------------------------


def test_a_lot_ships_from_the_bin_named_and_arrives_as_that_lot(world: Stock):
    ledger = world.ledger
    for lot in ("L1", "L2"):
        world.receive("MILK-1L", "10", "0.80", lot=lot, bin="A2")
    transfer_id = approved_transfer(ledger, [{"sku": "MILK-1L", "lot": "L2", "qty": "4"}])
    shipped = ship(ledger, transfer_id, [{"sku": "MILK-1L", "qty": "4", "bin": "A2"}])
    (line,) = shipped["shipment"]["lines"]
    assert (line["lot"], line["from_bin"]) == ("L2", "A2")
    receive(ledger, shipped["shipment"]["shipment_id"], [{"sku": "MILK-1L", "qty": "4"}])

    (store,) = ledger.balance("MILK-1L", "ST1")["facilities"]
    assert [(p["lot"], p["qty"]) for p in store["positions"]] == [("L2", "4")]
    (source,) = ledger.balance("MILK-1L", "DC1")["facilities"]
    assert sorted((p["lot"], p["bin"], p["qty"]) for p in source["positions"]) == [
        ("L1", "A2", "10"), ("L2", "A2", "6"),
    ]  # fmt: skip


def test_readers_see_transfers_at_their_facilities_and_cost_only_with_cost_view(world: Stock):
    ledger = world.ledger
    world.receive("TEE-M", "10", "5.00")
    transfer_id = approved_transfer(ledger, [{"sku": "TEE-M", "qty": "4"}])
    ship(ledger, transfer_id, [{"sku": "TEE-M", "qty": "4"}])

    with_cost = transfer(ledger, transfer_id, Viewer("alice", "inventory_controller"))
    assert with_cost["shipments"][0]["lines"][0]["goods_value"] == "20.00"
    store_view = transfer(ledger, transfer_id, Viewer("sid", "store_keeper"))
    assert "goods_value" not in store_view["shipments"][0]["lines"][0]
    assert store_view["shipments"][0]["lines"][0]["in_transit_qty"] == "4"
    ledger.apply([{"type": "grant", "actor": "stan", "role": "store_keeper", "facility": "ST2"}],
                 actor="setup", role="sysadmin")  # fmt: skip
    stranger = Viewer("stan", "store_keeper")
    assert transfers(ledger, viewer=stranger) == []
    with pytest.raises(LedgerError) as caught:
        transfer(ledger, transfer_id, stranger)
    assert caught.value.code == "forbidden"
    assert [t["transfer_id"] for t in transfers(ledger, source="DC1", status="shipping")] == [
        transfer_id
    ]
    assert transfers(ledger, destination="DC1") == []


def stockcard(db: str, *args: str, request: dict[str, Any] | None = None) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "stockcard.cli", "ledger", "--db", db, *args],
        input=None if request is None else json.dumps(request),
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


def test_the_command_line_requests_ships_receives_and_shows(tmp_path: Path):
    db = f"sqlite:///{tmp_path}/ledger.sqlite"
    with Ledger.open(db) as ledger:
        ledger.init()
        ledger.apply([*WORLD, *REASONS], actor="setup", role="sysadmin")
        Stock(ledger).receive("TEE-M", "10", "5.00")
    who = {**ALICE, "occurred_at": SHIPPED_AT}

    code, created = stockcard(db, "transfer", "request", "-", request={
        **ALICE, "idempotency_key": "cli-req", "source": "DC1", "destination": "ST1",
        "lines": [{"sku": "TEE-M", "qty": 6}],
    })  # fmt: skip
    assert (code, created["status"]) == (0, "draft")
    transfer_id = created["transfer_id"]
    request = {**ALICE, "idempotency_key": "cli-sub", "transfer_id": transfer_id}
    assert stockcard(db, "transfer", "submit", "-", request=request)[1]["status"] == "submitted"
    ship_file = tmp_path / "ship.json"
    ship_file.write_text(json.dumps({
        **who, "idempotency_key": "cli-ship", "transfer_id": transfer_id,
        "lines": [{"sku": "TEE-M", "qty": "6"}],
    }))  # fmt: skip
    code, shipped = stockcard(db, "transfer", "ship", str(ship_file))
    assert (code, shipped["status"]) == (0, "shipping")
    shipment_id = shipped["shipment"]["shipment_id"]
    receipt = {**who, "idempotency_key": "cli-rcv", "shipment_id": shipment_id,
               "lines": [{"sku": "TEE-M", "qty": "7"}]}  # fmt: skip
    code, refused = stockcard(db, "transfer", "receive", "-", request=receipt)
    assert (code, refused["ok"], refused["error"]["code"]) == (1, False, "over_receipt")

    code, shown = stockcard(db, "transfer", "show", str(transfer_id), "--actor", "sid",
                            "--role", "store_keeper")  # fmt: skip
    assert (code, shown["shipments"][0]["status"]) == (0, "in_transit")
    assert "goods_value" not in shown["shipments"][0]["lines"][0]
    code, listed = stockcard(db, "transfer", "list", "--status", "shipping")
    assert [t["transfer_id"] for t in listed] == [transfer_id]


def test_an_empty_status_filter_is_a_clear_error(world):
    with pytest.raises(LedgerError) as error:
        transfers(world.ledger, status="")
    assert (error.value.code, error.value.field) == ("validation_error", "status")
