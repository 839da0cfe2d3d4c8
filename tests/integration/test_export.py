"""The warehouse export: events in ledger-sequence order after a high-water mark, exact
decimals, master data and the state the warehouse reconciles against."""

from __future__ import annotations

from decimal import Decimal

from ledger import export
from tests.support import Stock


def test_events_page_after_a_high_water_mark_with_exact_decimals(stock: Stock):
    stock.receive("TEE-M", "10", "4.333333")
    stock.issue("TEE-M", "3")
    stock.post(kind="bin_move", sku="TEE-M", facility="DC1", bin="A1", to_bin="A2", qty="2")

    pages = list(export.iter_events(stock.ledger.store, after=0, page=2))
    rows = [dict(zip(export.EVENT_FIELDS, row, strict=True)) for page in pages for row in page]

    assert [len(page) for page in pages] == [2, 2]
    assert [row["event_id"] for row in rows] == [1, 2, 3, 4]
    receipt = rows[0]
    assert (receipt["kind"], receipt["sku"], receipt["facility"], receipt["bin"]) == (
        "receipt", "TEE-M", "DC1", "A1",
    )  # fmt: skip
    assert receipt["qty"] == Decimal("10")
    assert receipt["cost_delta"] == Decimal("43.33")  # 10 * 4.333333 = 43.33333 -> 43.33
    assert isinstance(receipt["unit_cost"], Decimal)
    assert receipt["occurred_at"] == "2026-10-15T10:00:00.000000Z"
    assert export.events_after(stock.ledger.store, after=4) == []


def test_master_data_and_state_for_reconciliation(stock: Stock):
    stock.receive("BOLT-8", "5", "1.00")
    stock.receive("BOLT-8", "5", "2.00")
    stock.issue("BOLT-8", "6")

    master = export.master_data(stock.ledger.store)
    columns, variants = master["variants"]
    assert ("BOLT-8", "BOLT", None, "each", None) in variants
    assert columns == ("sku", "item", "barcode", "uom", "name")

    current = export.state(stock.ledger.store)
    _, valuations = current["valuations"]
    assert ("DC1", "BOLT-8", "fifo", "EUR", Decimal("4"), Decimal("8")) in valuations
    _, layers = current["layers"]
    remaining = [(layer[7], layer[8]) for layer in layers if layer[7] != 0]
    assert remaining == [(Decimal("4"), Decimal("8"))]  # 4 left of the 2.00 layer


def test_workflow_tables_export_with_exact_decimals_and_id_maps(stock: Stock):
    stock.receive("TEE-M", "10", "4.00")
    names = export.workflow_tables()
    assert {"transfer_request", "reservation", "count_session", "role_grant"} <= set(names)
    assert "stock_event" not in names

    columns, rows = export.table(stock.ledger.store, "stock_balance")
    assert "qty" in columns and "qty_e6" not in columns
    record = dict(zip(columns, rows[0], strict=True))
    assert record["qty"] == Decimal("10") and record["value"] == Decimal("40")

    _, facilities = export.master_data(stock.ledger.store)["facility_ids"]
    assert {code for _, code in facilities} == {"DC1", "ST1", "TRANSIT"}
