"""The standard world applies on both backends and a receipt shows up in the balance."""

from __future__ import annotations


def test_receipt_shows_in_every_facility_lookup(stock):
    stock.receive("TEE-M", "10", "5.00")
    stock.receive("TEE-M", "4", "5.00", facility="ST1")
    balance = stock.ledger.balance("TEE-M")
    assert [(f["facility"], f["on_hand"]) for f in balance["facilities"]] == [
        ("DC1", "10"),
        ("ST1", "4"),
    ]
