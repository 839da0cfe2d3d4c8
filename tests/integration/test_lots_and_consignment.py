"""Lots (L5.4: expired lots are not sold, FEFO picks the earliest expiry) and consignment
(L6: possess-not-own, scenario 7)."""

from __future__ import annotations

import pytest

from ledger import LedgerError, consignment
from tests.support import Stock, dump_tables


@pytest.fixture
def milk(stock: Stock) -> Stock:
    stock.receive("MILK-1L", "5", "1.00", lot="L-LATE", lot_expires_on="2026-11-30")
    stock.receive("MILK-1L", "5", "1.10", lot="L-EARLY", lot_expires_on="2026-10-20")
    stock.receive("MILK-1L", "5", "1.20", lot="L-GONE", lot_expires_on="2026-10-01")
    return stock


def test_fefo_splits_an_issue_across_lots_by_earliest_expiry(milk: Stock):
    result = milk.issue("MILK-1L", "7")  # business time 2026-10-15: L-GONE has expired
    assert [(e["lot"], e["qty"]) for e in result.events] == [("L-EARLY", "-5"), ("L-LATE", "-2")]
    # cost is FIFO by receipt, independent of the lots picked: 5 @ 1.00 then 2 @ 1.10
    assert [e["cost_delta"] for e in result.events] == ["-5.00", "-2.20"]
    lots = {
        p["lot"]: p["qty"] for p in milk.ledger.balance("MILK-1L")["facilities"][0]["positions"]
    }
    assert lots == {"L-LATE": "3", "L-GONE": "5"}


def test_fefo_never_sells_an_expired_lot(milk: Stock):
    milk.issue("MILK-1L", "10")
    before = dump_tables(milk.ledger)
    with pytest.raises(LedgerError) as error:
        milk.issue("MILK-1L", "1")  # only the expired L-GONE is left
    assert (error.value.code, error.value.field) == ("insufficient_stock", "qty")
    assert "unexpired" in error.value.message
    assert dump_tables(milk.ledger) == before


def test_an_expired_lot_cannot_be_issued_by_name_but_can_be_written_off(milk: Stock):
    with pytest.raises(LedgerError) as error:
        milk.issue("MILK-1L", "1", lot="L-GONE")
    assert error.value.code == "lot_expired"
    milk.post(kind="adjustment", sku="MILK-1L", facility="DC1", lot="L-GONE", qty="-5",
              reason_code="damage", comment="expired, destroyed")  # fmt: skip
    lots = {p["lot"] for p in milk.ledger.balance("MILK-1L")["facilities"][0]["positions"]}
    assert lots == {"L-LATE", "L-EARLY"}


def test_scenario_7_consignment_sale_and_settlement(stock: Stock):
    ledger = stock.ledger
    stock.receive("TEE-M", "20", "4.00")  # the organisation's own stock
    stock.post(kind="receipt", sku="TEE-M", facility="DC1", bin="A2", qty="10", owner="ACME",
               source={"document_type": "consignment_note", "document_id": "CN-1"})  # fmt: skip

    sale = stock.issue("TEE-M", "2", bin="A2", owner="ACME", channel="pos",
                       source={"document_type": "pos_receipt", "document_id": "POS-9",
                               "line": "1"})  # fmt: skip

    [event] = sale.events
    assert (event["kind"], event["owner"], event["qty"]) == (
        "consignment_consumption",
        "ACME",
        "-2",
    )
    assert event["source"] == {"document_type": "pos_receipt", "document_id": "POS-9", "line": "1"}
    assert event["cost_delta"] is None  # consigned stock is not the organisation's to value
    totals = ledger.balance("TEE-M")["facilities"][0]
    assert (totals["owned"], totals["consigned"], totals["on_hand"]) == ("20", "8", "28")
    valuation = ledger.valuation("TEE-M", "DC1")
    assert (valuation["qty"], valuation["value"], valuation["consigned_qty"]) == (
        "20",
        "80.00",
        "8",
    )
    [message] = [m for m in ledger.outbox() if m["topic"] == "consignment-consumed"]
    assert message["payload"]["vendor"] == "ACME"
    assert message["payload"]["sale"]["document_id"] == "POS-9"

    # a return of the sale reverses the consumption; a second sale stays to be settled
    stock.post(kind="reversal", reverses=event["event_id"], comment="customer returned it")
    second = stock.issue("TEE-M", "3", bin="A2", owner="ACME", channel="ecommerce",
                         source={"document_type": "web_order", "document_id": "W-77"})  # fmt: skip
    assert ledger.balance("TEE-M")["facilities"][0]["consigned"] == "7"

    open_lines = consignment.unsettled(ledger, "ACME")
    assert [(line["event_id"], line["qty"]) for line in open_lines["lines"]] == [
        (second.event_ids[0], "3")
    ]
    request = {"idempotency_key": "settle-acme-10", "vendor": "ACME", "reference": "INV-ACME-88",
               "actor": "fiona", "role": "finance"}  # fmt: skip
    settled = consignment.settle(ledger, request)
    assert (settled["qty"], settled["reference"], settled["replayed"]) == (
        "3",
        "INV-ACME-88",
        False,
    )
    assert settled["lines"][0]["sale"]["document_id"] == "W-77"
    assert consignment.settle(ledger, request)["replayed"] is True
    assert consignment.unsettled(ledger, "ACME")["lines"] == []
    with pytest.raises(LedgerError) as error:
        consignment.settle(ledger, {**request, "idempotency_key": "settle-again"})
    assert error.value.code == "nothing_to_settle"


def test_settling_consignment_is_for_finance(stock: Stock):
    stock.post(kind="receipt", sku="TEE-M", facility="DC1", qty="10", owner="ACME")
    stock.issue("TEE-M", "1", owner="ACME")
    with pytest.raises(LedgerError) as error:
        request = {"idempotency_key": "s-1", "vendor": "ACME", "actor": "alice",
                   "role": "inventory_controller"}  # fmt: skip
        consignment.settle(stock.ledger, request)
    assert error.value.code == "forbidden"
    assert len(consignment.unsettled(stock.ledger, "ACME")["lines"]) == 1


def test_consigned_stock_carries_no_cost(stock: Stock):
    with pytest.raises(LedgerError) as error:
        stock.post(kind="receipt", sku="TEE-M", facility="DC1", qty="10", owner="ACME",
                   unit_cost="3.00", currency="EUR")  # fmt: skip
    assert (error.value.code, error.value.field) == ("validation_error", "unit_cost")
