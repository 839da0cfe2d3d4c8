"""Valuation to the cent (L7): moving average, FIFO layers, negative stock, reversals and cost
adjustments, each with its expected figures worked out by hand in the comments."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from ledger import LedgerError

CENT = Decimal("0.01")


def delta(result, index: int = 0) -> str:
    return result.events[index]["cost_delta"]


def layers(ledger, sku: str, facility: str = "DC1") -> list[tuple[str, str]]:
    """The open FIFO layers, oldest first, as (remaining_qty, remaining_value)."""
    return [
        (layer["remaining_qty"], layer["remaining_value"])
        for layer in ledger.valuation(sku, facility)["layers"]
    ]


def position(ledger, sku: str, facility: str = "DC1") -> tuple[str, str, str]:
    found = ledger.valuation(sku, facility)
    return found["qty"], found["value"], found["avg_cost"]


def assert_card_agrees(ledger, sku: str, facility: str = "DC1") -> None:
    """The stock card's running balance ends where the valuation stands."""
    card = ledger.card(sku, facility)
    found = ledger.valuation(sku, facility)
    last = card["events"][-1]
    assert (last["balance_qty"], last["balance_value"]) == (found["qty"], found["value"])
    assert (card["closing_qty"], card["closing_value"]) == (found["qty"], found["value"])


def reverse(stock, event_id: int, **fields):
    return stock.post(kind="reversal", reverses=event_id, comment="posted in error", **fields)


def revalue(stock, sku: str, amount: str, **fields):
    request = {
        "kind": "cost_adjustment", "sku": sku, "facility": "DC1", "amount": amount,
        "currency": "EUR", "reason_code": "revaluation", "role": "finance",
        "comment": "supplier price correction", **fields,
    }  # fmt: skip
    return stock.post(**request)


# -- 1. moving average -----------------------------------------------------------------------


def test_moving_average_receipts_at_different_costs_with_issues_between(stock):
    first = stock.receive("TEE-M", "10", "5.00")
    assert delta(first) == "50.00"  # 10 * 5.00
    assert first.events[0]["avg_cost_after"] == "5"  # 50.00 / 10

    second = stock.receive("TEE-M", "5", "6.50")
    assert delta(second) == "32.50"  # 5 * 6.50
    assert second.events[0]["avg_cost_after"] == "5.5"  # 82.50 / 15

    issue = stock.issue("TEE-M", "4")
    assert delta(issue) == "-22.00"  # 82.50 * 4/15 = 22.00
    assert issue.events[0]["avg_cost_after"] == "5.5"  # 60.50 / 11

    third = stock.receive("TEE-M", "9", "7.25")
    assert delta(third) == "65.25"  # 9 * 7.25
    assert third.events[0]["avg_cost_after"] == "6.2875"  # 125.75 / 20

    issue = stock.issue("TEE-M", "7")
    assert delta(issue) == "-44.01"  # 125.75 * 7/20 = 44.0125 → 44.01
    assert issue.events[0]["avg_cost_after"] == "6.287692"  # 81.74 / 13 = 6.2876923…

    issue = stock.issue("TEE-M", "3")
    assert delta(issue) == "-18.86"  # 81.74 * 3/13 = 18.8630… → 18.86
    assert issue.events[0]["avg_cost_after"] == "6.288"  # 62.88 / 10

    # 50.00 + 32.50 - 22.00 + 65.25 - 44.01 - 18.86 = 62.88
    assert position(stock.ledger, "TEE-M") == ("10", "62.88", "6.288")
    assert_card_agrees(stock.ledger, "TEE-M")


def test_moving_average_rounds_half_up(stock):
    receipt = stock.receive("TEE-L", "1", "0.125")
    assert delta(receipt) == "0.13"  # 1 * 0.125 = 0.125 → 0.13 (half-even would say 0.12)
    receipt = stock.receive("TEE-L", "2", "5.005")
    assert delta(receipt) == "10.01"  # 2 * 5.005 = 10.010
    # on hand 3, value 0.13 + 10.01 = 10.14
    issue = stock.issue("TEE-L", "1.5")
    assert delta(issue) == "-5.07"  # 10.14 * 1.5/3 = 5.07
    issue = stock.issue("TEE-L", "0.5")
    assert delta(issue) == "-1.69"  # 5.07 * 0.5/1.5 = 1.69
    issue = stock.issue("TEE-L", "0.5")
    assert delta(issue) == "-1.69"  # 3.38 * 0.5/1 = 1.69
    issue = stock.issue("TEE-L", "0.25")
    assert delta(issue) == "-0.85"  # 1.69 * 0.25/0.5 = 0.845 → 0.85 (half-even: 0.84)
    assert position(stock.ledger, "TEE-L") == ("0.25", "0.84", "3.36")  # 0.84 / 0.25 = 3.36
    assert_card_agrees(stock.ledger, "TEE-L")


def test_valuation_average_rounds_like_the_stock_card(stock):
    stock.receive("TEE-M", "100", "0.0101")  # 100 * 0.0101 = 1.01
    receipt = stock.receive("TEE-M", "60", "0")  # 0.00; 160 worth 1.01
    # 1.01 / 160 = 0.0063125 → 0.006313 (half up, as every unit cost is rounded)
    assert receipt.events[0]["avg_cost_after"] == "0.006313"
    assert position(stock.ledger, "TEE-M") == ("160", "1.01", "0.006313")


# -- 2. FIFO ---------------------------------------------------------------------------------


def test_fifo_issue_spanning_three_layers_takes_oldest_first(stock):
    assert delta(stock.receive("BOLT-8", "10", "2.00")) == "20.00"  # layer 1: 10 * 2.00
    assert delta(stock.receive("BOLT-8", "6", "2.50")) == "15.00"  # layer 2: 6 * 2.50
    assert delta(stock.receive("BOLT-8", "8", "3.10")) == "24.80"  # layer 3: 8 * 3.10
    assert layers(stock.ledger, "BOLT-8") == [("10", "20.00"), ("6", "15.00"), ("8", "24.80")]

    issue = stock.issue("BOLT-8", "4")
    assert delta(issue) == "-8.00"  # layer 1: 20.00 * 4/10 = 8.00
    assert issue.events[0]["avg_cost_after"] == "2.59"  # (59.80 - 8.00) / 20 = 2.59
    assert layers(stock.ledger, "BOLT-8") == [("6", "12.00"), ("6", "15.00"), ("8", "24.80")]

    issue = stock.issue("BOLT-8", "13")
    # layer 1 emptied: 12.00; layer 2 emptied: 15.00; layer 3: 24.80 * 1/8 = 3.10
    assert delta(issue) == "-30.10"  # 12.00 + 15.00 + 3.10
    assert issue.events[0]["unit_cost"] == "2.315385"  # 30.10 / 13 = 2.3153846…
    assert issue.events[0]["avg_cost_after"] == "3.1"  # 21.70 / 7
    assert layers(stock.ledger, "BOLT-8") == [("7", "21.70")]  # 24.80 - 3.10

    layer = stock.ledger.valuation("BOLT-8", "DC1")["layers"][0]
    assert (layer["unit_cost"], layer["opened_qty"]) == ("3.1", "8")
    # 59.80 - 8.00 - 30.10 = 21.70
    assert position(stock.ledger, "BOLT-8") == ("7", "21.70", "3.1")
    assert_card_agrees(stock.ledger, "BOLT-8")


def test_fifo_partial_layer_takes_its_share_rounded(stock):
    stock.receive("BOLT-8", "3", "1.111111")  # layer 1: 3 * 1.111111 = 3.333333 → 3.33
    stock.receive("BOLT-8", "7", "0.70")  # layer 2: 7 * 0.70 = 4.90
    issue = stock.issue("BOLT-8", "5")
    # layer 1 emptied: 3.33; layer 2: 4.90 * 2/7 = 1.40
    assert delta(issue) == "-4.73"  # 3.33 + 1.40
    assert layers(stock.ledger, "BOLT-8") == [("5", "3.50")]  # 4.90 - 1.40
    issue = stock.issue("BOLT-8", "3")
    assert delta(issue) == "-2.10"  # 3.50 * 3/5 = 2.10
    assert layers(stock.ledger, "BOLT-8") == [("2", "1.40")]
    assert position(stock.ledger, "BOLT-8") == ("2", "1.40", "0.7")
    assert_card_agrees(stock.ledger, "BOLT-8")


# -- 3. fractional quantities down to exactly zero (moving average) ---------------------------


def test_rice_issued_by_the_tenth_of_a_kilo_down_to_exactly_zero(stock):
    receipt = stock.receive("RICE-KG", "10", "3.33")
    assert delta(receipt) == "33.30"  # 10 * 3.33

    qty, value = Decimal("10"), Decimal("33.30")
    deltas = [Decimal(delta(receipt))]
    for step in range(100):
        issue = stock.issue("RICE-KG", "0.1")
        taken = -Decimal(delta(issue))
        deltas.append(-taken)
        if step < 99:
            # the rule: round(value * 0.1 / qty), half up, to the cent
            assert taken == (value * Decimal("0.1") / qty).quantize(CENT, ROUND_HALF_UP)
        else:
            assert taken == value  # the last 0.1 kg takes whatever value remains
        if step < 40:
            # while value = 3.30 * qty + 0.30 and qty > 6, the share 0.33 + 0.03/qty < 0.335
            assert taken == Decimal("0.33")
        if step == 40:
            # qty 6.0, value 33.30 - 40 * 0.33 = 20.10; 20.10 * 0.1/6 = 0.335 → 0.34
            assert value == Decimal("20.10")
            assert taken == Decimal("0.34")
        if step == 41:
            assert taken == Decimal("0.33")  # 19.76 * 0.1/5.9 = 0.33491… → 0.33
        if step == 42:
            assert taken == Decimal("0.34")  # 19.43 * 0.1/5.8 = 0.335 → 0.34
        qty -= Decimal("0.1")
        value -= taken
        assert issue.events[0]["qty_after"] == format(qty.normalize(), "f")

    assert sum(deltas) == 0  # every cent received went out again
    assert position(stock.ledger, "RICE-KG") == ("0", "0.00", "3.33")  # no stock: last cost
    assert stock.on_hand("RICE-KG") == "0"
    assert_card_agrees(stock.ledger, "RICE-KG")


def test_rice_in_thirds_of_a_kilo_leaves_no_residue(stock):
    assert delta(stock.receive("RICE-KG", "1", "3.33")) == "3.33"  # 1 * 3.33
    first = stock.issue("RICE-KG", "0.333")
    assert delta(first) == "-1.11"  # 3.33 * 0.333/1 = 1.10889 → 1.11
    second = stock.issue("RICE-KG", "0.333")
    assert delta(second) == "-1.11"  # 2.22 * 0.333/0.667 = 1.10834 → 1.11
    third = stock.issue("RICE-KG", "0.333")
    assert delta(third) == "-1.11"  # 1.11 * 0.333/0.334 = 1.10668 → 1.11
    assert position(stock.ledger, "RICE-KG") == ("0.001", "0.00", "0")  # 0.00 / 0.001
    last = stock.issue("RICE-KG", "0.001")
    assert delta(last) == "0.00"  # the whole remaining value: 3.33 - 3 * 1.11 = 0.00
    assert position(stock.ledger, "RICE-KG") == ("0", "0.00", "3.33")
    assert_card_agrees(stock.ledger, "RICE-KG")


def test_rice_fractional_receipts_and_issues_net_to_zero(stock):
    assert delta(stock.receive("RICE-KG", "2.5", "1.99")) == "4.98"  # 2.5 * 1.99 = 4.975 → 4.98
    assert delta(stock.receive("RICE-KG", "0.75", "2.07")) == "1.55"  # 0.75 * 2.07 = 1.5525
    # 3.25 kg worth 6.53
    assert delta(stock.issue("RICE-KG", "1.3")) == "-2.61"  # 6.53 * 1.3/3.25 = 2.612 → 2.61
    # 1.95 kg worth 3.92
    assert delta(stock.issue("RICE-KG", "0.65")) == "-1.31"  # 3.92 * 0.65/1.95 = 1.30666…
    # 1.3 kg worth 2.61
    assert delta(stock.issue("RICE-KG", "1.299")) == "-2.61"  # 2.61 * 1.299/1.3 = 2.60799…
    assert position(stock.ledger, "RICE-KG") == ("0.001", "0.00", "0")
    assert delta(stock.issue("RICE-KG", "0.001")) == "0.00"  # whole remaining value: 0.00
    # 4.98 + 1.55 - 2.61 - 1.31 - 2.61 - 0.00 = 0.00
    assert position(stock.ledger, "RICE-KG") == ("0", "0.00", "2.07")  # no stock: last cost
    assert_card_agrees(stock.ledger, "RICE-KG")


# -- 4. down to zero on FIFO with 1/3-style costs ----------------------------------------------


def test_fifo_in_thirds_down_to_zero(stock):
    assert delta(stock.receive("BOLT-8", "3", "0.333333")) == "1.00"  # 0.999999 → 1.00
    assert delta(stock.receive("BOLT-8", "3", "0.666667")) == "2.00"  # 2.000001 → 2.00
    assert delta(stock.issue("BOLT-8", "1")) == "-0.33"  # layer 1: 1.00 * 1/3 = 0.333…
    assert layers(stock.ledger, "BOLT-8") == [("2", "0.67"), ("3", "2.00")]
    assert delta(stock.issue("BOLT-8", "1")) == "-0.34"  # layer 1: 0.67 * 1/2 = 0.335 → 0.34
    assert layers(stock.ledger, "BOLT-8") == [("1", "0.33"), ("3", "2.00")]
    # layer 1 emptied: 0.33; layer 2: 2.00 * 1/3 = 0.666… → 0.67
    assert delta(stock.issue("BOLT-8", "2")) == "-1.00"  # 0.33 + 0.67
    assert layers(stock.ledger, "BOLT-8") == [("2", "1.33")]
    assert delta(stock.issue("BOLT-8", "1")) == "-0.67"  # 1.33 * 1/2 = 0.665 → 0.67
    assert delta(stock.issue("BOLT-8", "1")) == "-0.66"  # the last unit: 1.33 - 0.67 = 0.66
    # 0.33 + 0.34 + 1.00 + 0.67 + 0.66 = 3.00 = 1.00 + 2.00
    assert layers(stock.ledger, "BOLT-8") == []
    assert position(stock.ledger, "BOLT-8") == ("0", "0.00", "0.666667")
    assert_card_agrees(stock.ledger, "BOLT-8")


def test_fifo_one_layer_of_thirds_issued_unit_by_unit(stock):
    assert delta(stock.receive("BOLT-8", "10", "0.333333")) == "3.33"  # 3.33333 → 3.33
    expected = [
        "-0.33",  # 3.33 * 1/10 = 0.333
        "-0.33",  # 3.00 * 1/9 = 0.3333…
        "-0.33",  # 2.67 * 1/8 = 0.33375
        "-0.33",  # 2.34 * 1/7 = 0.33428…
        "-0.34",  # 2.01 * 1/6 = 0.335 → 0.34
        "-0.33",  # 1.67 * 1/5 = 0.334
        "-0.34",  # 1.34 * 1/4 = 0.335 → 0.34
        "-0.33",  # 1.00 * 1/3 = 0.333…
        "-0.34",  # 0.67 * 1/2 = 0.335 → 0.34
        "-0.33",  # the last unit takes what is left: 0.33
    ]
    assert [delta(stock.issue("BOLT-8", "1")) for _ in range(10)] == expected
    # 7 * 0.33 + 3 * 0.34 = 2.31 + 1.02 = 3.33
    assert sum(Decimal(amount) for amount in expected) == Decimal("-3.33")
    assert layers(stock.ledger, "BOLT-8") == []
    assert position(stock.ledger, "BOLT-8")[:2] == ("0", "0.00")
    assert_card_agrees(stock.ledger, "BOLT-8")


# -- 5. negative stock and the refill that settles it ------------------------------------------


def test_distribution_centre_refuses_to_go_negative(stock):
    stock.receive("TEE-M", "5", "10.00")
    with pytest.raises(LedgerError) as rejected:
        stock.issue("TEE-M", "8")
    assert rejected.value.code == "insufficient_stock"
    assert position(stock.ledger, "TEE-M") == ("5", "50.00", "10")


def test_moving_average_hole_filled_by_receipt_posts_settlement(stock):
    assert delta(stock.receive("TEE-M", "5", "10.00", facility="ST1")) == "50.00"  # 5 * 10.00
    issue = stock.issue("TEE-M", "8", facility="ST1")
    # 5 in stock take the whole 50.00; 3 beyond go at the average 10.00: 30.00
    assert delta(issue) == "-80.00"
    assert position(stock.ledger, "TEE-M", "ST1") == ("-3", "-30.00", "10")

    refill = stock.receive("TEE-M", "10", "12.00", facility="ST1")
    kinds = [(e["kind"], e["qty"], e["cost_delta"], e["reason_code"]) for e in refill.events]
    assert kinds == [
        ("receipt", "10", "120.00", None),  # 10 * 12.00
        # the hole went out at 3 * 10.00 = 30.00, really cost 3 * 12.00 = 36.00
        ("cost_adjustment", "0", "-6.00", "negative_stock_settlement"),
    ]
    # -30.00 + 120.00 - 6.00 = 84.00 = 7 * 12.00
    assert position(stock.ledger, "TEE-M", "ST1") == ("7", "84.00", "12")
    assert refill.events[-1]["avg_cost_after"] == "12"
    assert_card_agrees(stock.ledger, "TEE-M", "ST1")


def test_moving_average_hole_filled_in_two_receipts(stock):
    stock.receive("TEE-L", "4", "2.50", facility="ST1")  # 10.00
    stock.receive("TEE-L", "2", "4.00", facility="ST1")  # 8.00; 6 worth 18.00, average 3
    # 6 in stock take the whole 18.00; 4 beyond at the average 3: 12.00
    assert delta(stock.issue("TEE-L", "10", facility="ST1")) == "-30.00"
    # nothing in stock: the last receipt's cost, 4.00
    assert delta(stock.issue("TEE-L", "1", facility="ST1")) == "-4.00"
    assert position(stock.ledger, "TEE-L", "ST1") == ("-5", "-16.00", "4")  # -12.00 - 4.00

    refill = stock.receive("TEE-L", "3", "5.00", facility="ST1")
    # 3 of the 5 in the hole were booked at 16.00 * 3/5 = 9.60 and really cost 15.00
    assert [e["cost_delta"] for e in refill.events] == ["15.00", "-5.40"]  # 9.60 - 15.00
    assert position(stock.ledger, "TEE-L", "ST1") == ("-2", "-6.40", "5")  # -16 + 15 - 5.40

    refill = stock.receive("TEE-L", "4", "5.50", facility="ST1")
    # the last 2 were booked at 6.40 and really cost 22.00 * 2/4 = 11.00
    assert [e["cost_delta"] for e in refill.events] == ["22.00", "-4.60"]  # 6.40 - 11.00
    assert [e["reason_code"] for e in refill.events] == [None, "negative_stock_settlement"]
    # -6.40 + 22.00 - 4.60 = 11.00 = 2 * 5.50
    assert position(stock.ledger, "TEE-L", "ST1") == ("2", "11.00", "5.5")
    assert_card_agrees(stock.ledger, "TEE-L", "ST1")


def test_fifo_hole_filled_by_receipt_posts_settlement(stock):
    stock.receive("BOLT-8", "5", "10.00", facility="ST1")  # layer: 5 worth 50.00
    issue = stock.issue("BOLT-8", "8", facility="ST1")
    # the layer emptied: 50.00; 3 beyond at its cost 10.00: 30.00
    assert delta(issue) == "-80.00"
    assert layers(stock.ledger, "BOLT-8", "ST1") == [("-3", "-30.00")]
    assert position(stock.ledger, "BOLT-8", "ST1") == ("-3", "-30.00", "10")

    refill = stock.receive("BOLT-8", "10", "12.00", facility="ST1")
    kinds = [(e["kind"], e["qty"], e["cost_delta"], e["reason_code"]) for e in refill.events]
    assert kinds == [
        ("receipt", "10", "120.00", None),  # 10 * 12.00
        ("cost_adjustment", "0", "-6.00", "negative_stock_settlement"),  # 30.00 - 36.00
    ]
    # the hole is closed; 7 left in a new layer worth 120.00 - 36.00 = 84.00
    assert layers(stock.ledger, "BOLT-8", "ST1") == [("7", "84.00")]
    assert position(stock.ledger, "BOLT-8", "ST1") == ("7", "84.00", "12")
    assert_card_agrees(stock.ledger, "BOLT-8", "ST1")


def test_fifo_hole_issued_at_older_layer_cost_settles_at_the_difference(stock):
    stock.receive("BOLT-8", "2", "1.00", facility="ST1")  # layer 1: 2.00
    stock.receive("BOLT-8", "2", "1.50", facility="ST1")  # layer 2: 3.00
    issue = stock.issue("BOLT-8", "7", facility="ST1")
    # layers emptied: 2.00 + 3.00; 3 beyond at the last layer's cost 1.50: 4.50
    assert delta(issue) == "-9.50"
    assert position(stock.ledger, "BOLT-8", "ST1") == ("-3", "-4.50", "1.5")

    refill = stock.receive("BOLT-8", "1", "2.00", facility="ST1")
    # 1 of 3 in the hole: booked at 4.50 * 1/3 = 1.50, really cost 2.00
    assert [e["cost_delta"] for e in refill.events] == ["2.00", "-0.50"]
    assert layers(stock.ledger, "BOLT-8", "ST1") == [("-2", "-3.00")]  # -4.50 + 2.00 - 0.50

    refill = stock.receive("BOLT-8", "4", "0.90", facility="ST1")
    # the remaining 2: booked at 3.00, really cost 3.60 * 2/4 = 1.80
    assert [e["cost_delta"] for e in refill.events] == ["3.60", "1.20"]  # 3.00 - 1.80
    assert layers(stock.ledger, "BOLT-8", "ST1") == [("2", "1.80")]  # 3.60 - 1.80
    # -3.00 + 3.60 + 1.20 = 1.80 = 2 * 0.90
    assert position(stock.ledger, "BOLT-8", "ST1") == ("2", "1.80", "0.9")
    assert_card_agrees(stock.ledger, "BOLT-8", "ST1")


@pytest.mark.parametrize("sku", ["TEE-M", "BOLT-8"])
def test_a_reversed_receipt_is_not_the_last_known_cost(stock, sku):
    stock.receive(sku, "5", "10.00", facility="ST1")  # 50.00
    stock.issue(sku, "5", facility="ST1")  # the whole 50.00; nothing left
    mistake = stock.receive(sku, "1", "99.00", facility="ST1")  # keyed 99.00 instead of 9.90
    reverse(stock, mistake.events[0]["event_id"])
    assert position(stock.ledger, sku, "ST1")[:2] == ("0", "0.00")

    issue = stock.issue(sku, "2", facility="ST1")
    # the receipt at 99.00 never happened: the last known cost is 10.00, so 2 * 10.00
    assert delta(issue) == "-20.00"
    assert position(stock.ledger, sku, "ST1") == ("-2", "-20.00", "10")


# -- 6. reversal of an issue -----------------------------------------------------------------


def test_reversing_a_moving_average_issue_restores_qty_and_value(stock):
    stock.receive("TEE-M", "7", "1.13")  # 7.91
    stock.receive("TEE-M", "5", "1.27")  # 6.35; 12 worth 14.26
    issue = stock.issue("TEE-M", "5")
    assert delta(issue) == "-5.94"  # 14.26 * 5/12 = 5.9416… → 5.94
    assert position(stock.ledger, "TEE-M") == ("7", "8.32", "1.188571")  # 8.32/7 = 1.1885714…

    issue_id = issue.events[0]["event_id"]
    reversal = reverse(stock, issue_id)
    [event] = reversal.events
    assert (event["kind"], event["qty"], event["cost_delta"]) == ("reversal", "5", "5.94")
    assert event["reverses_event_id"] == issue_id
    assert event["unit_cost"] == "1.188"  # the issue's own unit cost: 5.94 / 5
    assert event["avg_cost_after"] == "1.188333"  # 14.26 / 12 = 1.1883333…
    assert position(stock.ledger, "TEE-M") == ("12", "14.26", "1.188333")
    assert stock.on_hand("TEE-M") == "12"

    # the original stays on the card; the reversal sits beside it
    card = stock.ledger.card("TEE-M", "DC1")
    assert [e["kind"] for e in card["events"]] == ["receipt", "receipt", "issue", "reversal"]
    assert_card_agrees(stock.ledger, "TEE-M")

    with pytest.raises(LedgerError) as twice:
        reverse(stock, issue_id)
    assert twice.value.code == "already_reversed"
    with pytest.raises(LedgerError) as of_reversal:
        reverse(stock, event["event_id"])
    assert of_reversal.value.code == "reversal_of_reversal"
    assert position(stock.ledger, "TEE-M") == ("12", "14.26", "1.188333")


def test_reversing_a_fifo_issue_restores_the_consumed_layers(stock):
    stock.receive("BOLT-8", "4", "1.25")  # layer 1: 5.00
    stock.receive("BOLT-8", "6", "1.40")  # layer 2: 8.40
    issue = stock.issue("BOLT-8", "7")
    # layer 1 emptied: 5.00; layer 2: 8.40 * 3/6 = 4.20
    assert delta(issue) == "-9.20"
    assert layers(stock.ledger, "BOLT-8") == [("3", "4.20")]

    reversal = reverse(stock, issue.events[0]["event_id"])
    assert delta(reversal) == "9.20"
    assert layers(stock.ledger, "BOLT-8") == [("4", "5.00"), ("6", "8.40")]
    assert position(stock.ledger, "BOLT-8") == ("10", "13.40", "1.34")  # 13.40 / 10

    # the restored oldest layer is consumed first again
    again = stock.issue("BOLT-8", "5")
    assert delta(again) == "-6.40"  # layer 1 emptied: 5.00; layer 2: 8.40 * 1/6 = 1.40
    assert layers(stock.ledger, "BOLT-8") == [("5", "7.00")]
    assert_card_agrees(stock.ledger, "BOLT-8")


def test_reversing_a_fifo_issue_with_rounded_shares(stock):
    stock.receive("BOLT-8", "3", "0.333333")  # layer 1: 1.00
    stock.receive("BOLT-8", "3", "0.666667")  # layer 2: 2.00
    stock.issue("BOLT-8", "1")  # layer 1: 1.00 * 1/3 → 0.33, leaves 2 worth 0.67
    issue = stock.issue("BOLT-8", "3")
    # layer 1 emptied: 0.67; layer 2: 2.00 * 1/3 = 0.666… → 0.67
    assert delta(issue) == "-1.34"
    assert layers(stock.ledger, "BOLT-8") == [("2", "1.33")]
    reverse(stock, issue.events[0]["event_id"])
    assert layers(stock.ledger, "BOLT-8") == [("2", "0.67"), ("3", "2.00")]
    assert position(stock.ledger, "BOLT-8")[:2] == ("5", "2.67")  # 3.00 - 0.33
    assert_card_agrees(stock.ledger, "BOLT-8")


# -- 7. cost adjustments ---------------------------------------------------------------------


def test_cost_adjustment_changes_value_and_average_not_quantity(stock):
    stock.receive("TEE-L", "8", "2.50")  # 20.00
    adjusted = revalue(stock, "TEE-L", "10.00")
    [event] = adjusted.events
    assert (event["kind"], event["qty"], event["cost_delta"]) == ("cost_adjustment", "0", "10.00")
    assert (event["reason_code"], event["role"]) == ("revaluation", "finance")
    assert event["avg_cost_after"] == "3.75"  # (20.00 + 10.00) / 8
    assert position(stock.ledger, "TEE-L") == ("8", "30.00", "3.75")
    assert stock.on_hand("TEE-L") == "8"

    assert delta(stock.issue("TEE-L", "3")) == "-11.25"  # 30.00 * 3/8 = 11.25
    assert position(stock.ledger, "TEE-L") == ("5", "18.75", "3.75")
    assert_card_agrees(stock.ledger, "TEE-L")


def test_fifo_cost_adjustment_is_spread_over_open_layers(stock):
    stock.receive("BOLT-8", "4", "1.00")  # layer 1: 4.00
    stock.receive("BOLT-8", "2", "1.50")  # layer 2: 3.00
    adjusted = revalue(stock, "BOLT-8", "10.00")
    assert delta(adjusted) == "10.00"
    assert adjusted.events[0]["avg_cost_after"] == "2.833333"  # 17.00 / 6 = 2.8333…
    # layer 1: 10.00 * 4/6 = 6.666… → 6.67; layer 2 takes the rest: 10.00 - 6.67 = 3.33
    assert layers(stock.ledger, "BOLT-8") == [("4", "10.67"), ("2", "6.33")]
    assert position(stock.ledger, "BOLT-8") == ("6", "17.00", "2.833333")

    issue = stock.issue("BOLT-8", "5")
    # layer 1 emptied: 10.67; layer 2: 6.33 * 1/2 = 3.165 → 3.17
    assert delta(issue) == "-13.84"
    assert layers(stock.ledger, "BOLT-8") == [("1", "3.16")]
    assert position(stock.ledger, "BOLT-8") == ("1", "3.16", "3.16")
    assert_card_agrees(stock.ledger, "BOLT-8")


def test_cost_adjustment_needs_finance_a_comment_and_stock(stock):
    with pytest.raises(LedgerError) as nothing:
        revalue(stock, "TEE-L", "10.00")
    assert nothing.value.code == "no_stock_to_revalue"

    stock.receive("TEE-L", "8", "2.50")
    with pytest.raises(LedgerError) as role:
        revalue(stock, "TEE-L", "10.00", role="inventory_controller")
    assert role.value.code == "forbidden"
    with pytest.raises(LedgerError) as comment:
        revalue(stock, "TEE-L", "10.00", comment=None)
    assert (comment.value.code, comment.value.field) == ("validation_error", "comment")
    with pytest.raises(LedgerError) as below_zero:
        revalue(stock, "TEE-L", "-20.01")  # 20.00 - 20.01 < 0
    assert below_zero.value.code == "negative_value"
    assert position(stock.ledger, "TEE-L") == ("8", "20.00", "2.5")


def test_reversing_a_cost_adjustment_restores_the_layers(stock):
    stock.receive("BOLT-8", "3", "1.00")  # layer 1: 3.00
    stock.receive("BOLT-8", "3", "2.00")  # layer 2: 6.00
    adjusted = revalue(stock, "BOLT-8", "-1.00")
    # a loss is spread by value: layer 1: -1.00 * 3.00/9.00 = -0.333… → -0.33; layer 2 the
    # rest: -0.67
    assert layers(stock.ledger, "BOLT-8") == [("3", "2.67"), ("3", "5.33")]
    reverse(stock, adjusted.events[0]["event_id"], role="finance")
    assert layers(stock.ledger, "BOLT-8") == [("3", "3.00"), ("3", "6.00")]
    assert position(stock.ledger, "BOLT-8") == ("6", "9.00", "1.5")
    assert_card_agrees(stock.ledger, "BOLT-8")


def test_negative_fifo_revaluation_never_values_a_layer_below_zero(stock):
    stock.receive("BOLT-8", "1", "0.00")  # layer 1: 0.00
    stock.receive("BOLT-8", "9", "1.00")  # layer 2: 9.00
    try:
        revalue(stock, "BOLT-8", "-9.00")  # 9.00 - 9.00 = 0.00 overall, so it may be accepted
    except LedgerError as rejected:
        assert rejected.code == "negative_value"
    # spread by quantity alone, layer 1 would get -9.00 * 1/10 = -0.90 and be worth -0.90
    assert [value for _, value in layers(stock.ledger, "BOLT-8") if Decimal(value) < 0] == []
    issue = stock.issue("BOLT-8", "1")
    assert Decimal(delta(issue)) <= 0  # an issue never adds value
    assert_card_agrees(stock.ledger, "BOLT-8")
