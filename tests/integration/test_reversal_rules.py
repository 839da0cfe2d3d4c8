"""Reversals (L2.6): a new event with the negated quantity and cost that references the
original; the original is never edited, nothing is reversed twice, a reversal never."""

from __future__ import annotations

from typing import Any

import pytest

from ledger import LedgerError
from tests.support import Stock, dump_tables


def reverse(stock: Stock, event_id: int, **fields: Any):
    fields.setdefault("comment", "posted in error")
    return stock.post(kind="reversal", reverses=event_id, **fields)


def rejected_reversal(stock: Stock, event_id: int, code: str, **fields: Any) -> LedgerError:
    before = dump_tables(stock.ledger)
    with pytest.raises(LedgerError) as caught:
        reverse(stock, event_id, **fields)
    assert caught.value.code == code, caught.value.message
    assert caught.value.field == "reverses"
    assert dump_tables(stock.ledger) == before
    return caught.value


def event_row(stock: Stock, event_id: int) -> tuple:
    with stock.ledger.store.read() as tx:
        row = tx.one("select * from stock_event where event_id = ?", (event_id,))
    assert row is not None
    return tuple(row)


def test_a_reversal_is_a_new_event_that_negates_and_references_the_original(stock: Stock):
    stock.receive("TEE-M", "10", "5.00")
    issue = stock.issue("TEE-M", "4").events[0]
    original = event_row(stock, issue["event_id"])

    result = reverse(stock, issue["event_id"], comment="scanned twice")

    [reversal] = result.events
    assert reversal["kind"] == "reversal"
    assert reversal["reverses_event_id"] == issue["event_id"]
    assert reversal["event_id"] > issue["event_id"]
    assert (reversal["qty"], reversal["cost_delta"]) == ("4", "20.00")
    assert (issue["qty"], issue["cost_delta"]) == ("-4", "-20.00")
    assert reversal["comment"] == "scanned twice"
    assert event_row(stock, issue["event_id"]) == original
    assert stock.on_hand("TEE-M") == "10"
    valuation = stock.ledger.valuation("TEE-M", "DC1")
    assert (valuation["qty"], valuation["value"], valuation["avg_cost"]) == ("10", "50.00", "5")
    card = stock.ledger.card("TEE-M", "DC1")
    assert [(e["kind"], e["qty"], e["balance_qty"]) for e in card["events"]] == [
        ("receipt", "10", "10"),
        ("issue", "-4", "6"),
        ("reversal", "4", "10"),
    ]


def test_a_reversal_cannot_be_reversed(stock: Stock):
    receipt = stock.receive("TEE-M", "10", "5.00").events[0]
    reversal = reverse(stock, receipt["event_id"]).events[0]
    error = rejected_reversal(stock, reversal["event_id"], "reversal_of_reversal")
    assert str(reversal["event_id"]) in error.message
    assert stock.on_hand("TEE-M") == "0"


def test_the_revaluation_a_reversal_leaves_behind_cannot_be_reversed_either(stock: Stock):
    """Reversing a receipt at an old cost leaves value without stock; the ledger clears it with a
    zero_stock_revaluation cost adjustment posted with the reversal. Reversing that adjustment
    would take back the reversal too: a reversal of a reversal by the back door."""
    first = stock.receive("TEE-M", "10", "5.00").events[0]
    stock.receive("TEE-M", "10", "7.00")
    stock.issue("TEE-M", "10")  # at the average 6.00: 10 left worth 60.00
    reversal = reverse(stock, first["event_id"]).events
    assert [(e["kind"], e["reason_code"]) for e in reversal] == [
        ("reversal", None),
        ("cost_adjustment", "zero_stock_revaluation"),
    ]
    assert stock.on_hand("TEE-M") == "0"

    rejected_reversal(stock, reversal[1]["event_id"], "reversal_of_reversal", role="finance")
    assert stock.on_hand("TEE-M") == "0"


def test_an_event_is_reversed_only_once(stock: Stock):
    receipt = stock.receive("TEE-M", "10", "5.00").events[0]
    reverse(stock, receipt["event_id"])
    rejected_reversal(stock, receipt["event_id"], "already_reversed")
    assert stock.on_hand("TEE-M") == "0"


def test_reversing_the_same_event_twice_in_one_batch_posts_one_reversal(stock: Stock):
    receipt = stock.receive("TEE-M", "10", "5.00").events[0]
    requests = [
        stock.request(kind="reversal", reverses=receipt["event_id"], comment="dup")
        for _ in range(2)
    ]
    first, second = stock.ledger.post_many(requests)
    assert not isinstance(first, LedgerError)
    assert isinstance(second, LedgerError)
    assert second.code == "already_reversed"
    assert stock.on_hand("TEE-M") == "0"


def test_reversing_an_unknown_event_is_rejected(stock: Stock):
    stock.receive("TEE-M", "10", "5.00")
    error = rejected_reversal(stock, 9999, "unknown_event")
    assert "9999" in error.message


def test_a_reversal_needs_a_comment(stock: Stock):
    receipt = stock.receive("TEE-M", "10", "5.00").events[0]
    before = dump_tables(stock.ledger)
    request = stock.request(kind="reversal", reverses=receipt["event_id"])
    with pytest.raises(LedgerError) as caught:
        stock.ledger.post(request)
    assert (caught.value.code, caught.value.field) == ("validation_error", "comment")
    assert "comment" in caught.value.message
    assert dump_tables(stock.ledger) == before


MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("no-event", {"reverses": None}, "reverses"),
    ("not-an-id", {"reverses": "abc"}, "reverses"),
    ("zero", {"reverses": 0}, "reverses"),
    ("with-qty", {"qty": "5"}, "qty"),
    ("with-sku", {"sku": "TEE-M"}, "sku"),
]


def test_a_malformed_reversal_is_rejected(stock: Stock, subtests: pytest.Subtests):
    receipt = stock.receive("TEE-M", "10", "5.00").events[0]
    valid = stock.request(kind="reversal", reverses=receipt["event_id"], comment="oops")
    before = dump_tables(stock.ledger)
    for case, changes, field in MALFORMED:
        with subtests.test(case):
            request = {k: v for k, v in {**valid, **changes}.items() if v is not None}
            with pytest.raises(LedgerError) as caught:
                stock.ledger.post(request)
            assert (caught.value.code, caught.value.field) == ("validation_error", field)
            assert dump_tables(stock.ledger) == before


def test_reversing_one_leg_of_a_bin_move_reverses_both(stock: Stock):
    stock.receive("TEE-M", "10", "5.00")
    out_leg, in_leg = stock.post(
        kind="bin_move", sku="TEE-M", facility="DC1", bin="A1", to_bin="A2", qty="4"
    ).events
    assert [(out_leg["bin"], out_leg["qty"]), (in_leg["bin"], in_leg["qty"])] == [
        ("A1", "-4"), ("A2", "4"),
    ]  # fmt: skip

    result = reverse(stock, in_leg["event_id"], comment="put away in the wrong bin")

    assert sorted((e["reverses_event_id"], e["bin"], e["qty"]) for e in result.events) == [
        (out_leg["event_id"], "A1", "4"),
        (in_leg["event_id"], "A2", "-4"),
    ]
    [dc1] = stock.ledger.balance("TEE-M", "DC1")["facilities"]
    assert [(p["bin"], p["qty"]) for p in dc1["positions"]] == [("A1", "10")]
    rejected_reversal(stock, out_leg["event_id"], "already_reversed")


@pytest.mark.parametrize(
    ("facility", "second_receipt"),
    [
        pytest.param("DC1", True, id="stock-left-from-a-later-layer"),
        pytest.param("ST1", False, id="negative-stock-allowed"),
    ],
)
def test_a_fifo_receipt_whose_layer_was_partly_consumed_cannot_be_reversed(
    stock: Stock, facility: str, second_receipt: bool
):
    first = stock.receive("BOLT-8", "10", "1.00", facility=facility).events[0]
    if second_receipt:
        stock.receive("BOLT-8", "10", "2.00", facility=facility)
    stock.issue("BOLT-8", "3", facility=facility)  # from the oldest layer, the first receipt's

    error = rejected_reversal(stock, first["event_id"], "cost_layer_consumed")
    assert "consumed" in error.message

    oldest = stock.ledger.valuation("BOLT-8", facility)["layers"][0]
    assert (oldest["remaining_qty"], oldest["unit_cost"]) == ("7", "1")


def test_a_fifo_receipt_whose_layer_is_untouched_reverses_cleanly(stock: Stock):
    stock.receive("BOLT-8", "10", "1.00")
    second = stock.receive("BOLT-8", "5", "2.00").events[0]
    stock.issue("BOLT-8", "3")

    reverse(stock, second["event_id"])

    valuation = stock.ledger.valuation("BOLT-8", "DC1")
    assert (valuation["qty"], valuation["value"]) == ("7", "7.00")
    assert [(layer["remaining_qty"], layer["unit_cost"]) for layer in valuation["layers"]] == [
        ("7", "1")
    ]


def test_reversing_a_receipt_that_was_issued_is_refused_where_stock_cannot_go_negative(
    stock: Stock,
):
    receipt = stock.receive("TEE-M", "10", "5.00").events[0]
    stock.issue("TEE-M", "8")
    rejected_reversal(stock, receipt["event_id"], "insufficient_stock")
    assert stock.on_hand("TEE-M") == "2"


def test_reversing_a_cost_adjustment_takes_a_finance_role(stock: Stock):
    stock.receive("TEE-M", "10", "5.00")
    adjustment = stock.post(
        kind="cost_adjustment", sku="TEE-M", facility="DC1", amount="5.00", currency="EUR",
        reason_code="revaluation", comment="freight", role="finance",
    ).events[0]  # fmt: skip
    before = dump_tables(stock.ledger)
    with pytest.raises(LedgerError) as caught:
        reverse(stock, adjustment["event_id"], role="store_keeper")
    assert (caught.value.code, caught.value.field) == ("forbidden", "role")
    after = dump_tables(stock.ledger)
    # nothing changes but the audit trail, which keeps the refused attempt (L8.4)
    earlier = before.pop("audit_log")
    refused = [row for row in after.pop("audit_log") if row not in earlier]
    assert [(row[4], row[6]) for row in refused] == [("post", "refused")]
    for tables in (before, after):
        tables["ledger_counter"] = [r for r in tables["ledger_counter"] if r[0] != "audit_log"]
    assert after == before

    reverse(stock, adjustment["event_id"], role="finance")
    assert stock.ledger.valuation("TEE-M", "DC1")["value"] == "50.00"


def test_a_reopened_hole_behind_a_later_layer_is_filled_first(stock: Stock):
    """Reversing the receipt that filled a negative-stock hole, after a later receipt opened a
    layer, reopens the hole behind that layer; the next receipt must still fill it first."""
    stock.receive("BOLT-8", "2", "1.00", facility="ST1")  # layer A: 2 worth 2.00
    stock.issue("BOLT-8", "5", facility="ST1")  # A, then a hole of 3 at 1.00 (-3.00)
    filling = stock.receive("BOLT-8", "3", "2.00", facility="ST1")  # 6.00, settlement -3.00
    stock.receive("BOLT-8", "4", "3.00", facility="ST1")  # layer B: 4 worth 12.00
    # the filling receipt's settlement is a cost adjustment: finance takes it back
    reverse(stock, filling.event_ids[0], role="finance")
    # the hole is back (-3, -3.00) before B: 1 unit worth 9.00 on hand
    assert stock.ledger.valuation("BOLT-8", "ST1")["value"] == "9.00"

    refill = stock.receive("BOLT-8", "3", "2.50", facility="ST1")  # 7.50 fills the hole
    # the hole was booked at 3.00; the units cost 7.50: settlement 3.00 - 7.50 = -4.50
    assert [(e["kind"], e["cost_delta"]) for e in refill.events] == [
        ("receipt", "7.50"), ("cost_adjustment", "-4.50"),
    ]  # fmt: skip
    valuation = stock.ledger.valuation("BOLT-8", "ST1")
    assert (valuation["qty"], valuation["value"]) == ("4", "12.00")  # 9.00 + 7.50 - 4.50
    assert [(x["remaining_qty"], x["remaining_value"]) for x in valuation["layers"]] == [
        ("4", "12.00")
    ]


def test_a_receipt_whose_layer_was_revalued_is_reversed_after_the_revaluation(stock: Stock):
    stock.receive("BOLT-8", "5", "1.00")  # layer A: 5.00
    second = stock.receive("BOLT-8", "5", "2.00")  # layer B: 10.00
    freight = stock.post(kind="cost_adjustment", sku="BOLT-8", facility="DC1", amount="1.00",
                         currency="EUR", reason_code="revaluation", comment="freight",
                         role="finance")  # fmt: skip  # +0.50 on each layer by quantity
    rejected_reversal(stock, second.event_ids[0], "cost_layer_consumed")
    reverse(stock, freight.event_ids[0], role="finance")
    reverse(stock, second.event_ids[0])
    valuation = stock.ledger.valuation("BOLT-8", "DC1")
    assert (valuation["qty"], valuation["value"]) == ("5", "5.00")
