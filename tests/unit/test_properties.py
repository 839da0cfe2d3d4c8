"""Property-based invariants (L1, L2.6, L7): random valid postings at DC1 keep balances, cost and
FIFO layers in step with the stock card, and reversing every request returns stock to zero."""

from __future__ import annotations

import itertools
import tempfile
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from ledger import Ledger
from tests.support import WORLD, Stock

SKUS = ("TEE-M", "BOLT-8")  # moving average, FIFO
BINS = ("A1", "A2")
E6 = Decimal(1_000_000)
_databases = itertools.count(1)


def qty_text(millis: int) -> str:
    return format(Decimal(millis) / 1000, "f")


def money_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


class Model:
    """What the test believes is on hand: millis per (sku, bin, bucket)."""

    def __init__(self) -> None:
        self.on_hand: dict[tuple[str, str, str], int] = defaultdict(int)
        self.costed: set[str] = set()

    def stocked(self, sku: str, bucket: str | None = None) -> list[tuple[str, str]]:
        return sorted(
            (bin_, bkt)
            for (s, bin_, bkt), millis in self.on_hand.items()
            if s == sku and millis > 0 and bucket in (None, bkt)
        )

    def total(self, sku: str) -> int:
        return sum(millis for (s, _, _), millis in self.on_hand.items() if s == sku)


def some_millis(data: st.DataObject, most: int) -> int:
    """A quantity up to `most` millis, often exactly all of it."""
    return data.draw(st.one_of(st.just(most), st.integers(1, most)), label="millis")


def draw_request(data: st.DataObject, model: Model, ledger: Ledger) -> dict:
    """One valid request for the current stock, applied to the model."""
    sku = data.draw(st.sampled_from(SKUS), label="sku")
    kinds = ["receipt"]
    if model.stocked(sku, "available"):
        kinds += ["issue", "reclassification"]
    if model.stocked(sku):
        kinds += ["bin_move", "write_off"]
    if model.total(sku) > 0:
        kinds += ["cost_adjustment"]
    kinds += ["found"]
    kind = data.draw(st.sampled_from(kinds), label="kind")
    base = {"sku": sku, "facility": "DC1"}

    if kind in ("receipt", "found"):
        bin_ = data.draw(st.sampled_from(BINS), label="bin")
        millis = data.draw(st.integers(1, 50_000), label="millis")
        cost = data.draw(st.integers(0, 99_999), label="cents")
        with_cost = kind == "receipt" or sku not in model.costed or data.draw(st.booleans())
        model.on_hand[(sku, bin_, "available")] += millis
        model.costed.add(sku)
        request = {**base, "bin": bin_, "qty": qty_text(millis)}
        if with_cost:
            request |= {"unit_cost": money_text(cost), "currency": "EUR"}
        if kind == "receipt":
            return {**request, "kind": "receipt"}
        return {**request, "kind": "adjustment", "reason_code": "found", "comment": "found"}

    if kind == "cost_adjustment":
        value = Decimal(ledger.valuation(sku, "DC1")["value"])
        lowest = -int(value * 100)
        cents = data.draw(st.integers(lowest, 5_000).filter(bool), label="amount")
        return {
            **base, "kind": "cost_adjustment", "amount": money_text(cents), "currency": "EUR",
            "reason_code": "revaluation", "role": "finance", "comment": "revalued",
        }  # fmt: skip

    bucket_filter = "available" if kind in ("issue", "reclassification") else None
    bin_, bucket = data.draw(st.sampled_from(model.stocked(sku, bucket_filter)), label="from")
    millis = some_millis(data, model.on_hand[(sku, bin_, bucket)])
    model.on_hand[(sku, bin_, bucket)] -= millis
    request = {**base, "bin": bin_, "bucket": bucket, "qty": qty_text(millis)}
    if kind == "issue":
        return {**request, "kind": "issue"}
    if kind == "reclassification":
        model.on_hand[(sku, bin_, "damaged")] += millis
        return {**request, "kind": "reclassification", "to_bucket": "damaged",
                "reason_code": "damage"}  # fmt: skip
    if kind == "bin_move":
        to_bin = "A2" if bin_ == "A1" else "A1"
        model.on_hand[(sku, to_bin, bucket)] += millis
        return {**request, "kind": "bin_move", "to_bin": to_bin}
    reason = data.draw(st.sampled_from(["shrink", "damage"]), label="reason")
    return {**request, "kind": "adjustment", "qty": qty_text(-millis), "reason_code": reason,
            "comment": "written off"}  # fmt: skip


def positions_from_balance(ledger: Ledger, sku: str) -> dict[tuple[str, str], Decimal]:
    found = {}
    for facility in ledger.balance(sku)["facilities"]:
        assert facility["facility"] == "DC1"
        for entry in facility["positions"]:
            found[(entry["bin"], entry["bucket"])] = Decimal(entry["qty"])
    return found


def check_invariants(ledger: Ledger, model: Model) -> None:
    for sku in SKUS:
        card = ledger.card(sku, "DC1")
        valuation = ledger.valuation(sku, "DC1")

        # on hand per position is the sum of the card's events per position
        from_events: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for event in card["events"]:
            from_events[(event["bin"], event["bucket"])] += Decimal(event["qty"])
        assert positions_from_balance(ledger, sku) == {
            key: qty for key, qty in from_events.items() if qty != 0
        }
        expected = {
            (bin_, bucket): Decimal(millis) / 1000
            for (s, bin_, bucket), millis in model.on_hand.items()
            if s == sku and millis != 0
        }
        assert positions_from_balance(ledger, sku) == expected

        # the facility's value is the sum of its events' cost deltas
        on_hand = sum(from_events.values(), Decimal(0))
        value = sum((Decimal(e["cost_delta"]) for e in card["events"]), Decimal(0))
        assert Decimal(valuation["qty"]) == on_hand
        assert Decimal(valuation["value"]) == value
        assert (card["closing_qty"], card["closing_value"]) == (
            valuation["qty"],
            valuation["value"],
        )

        # FIFO layers hold exactly the stock on hand and its value
        if sku == "BOLT-8":
            layers = valuation["layers"]
            assert sum((Decimal(x["remaining_qty"]) for x in layers), Decimal(0)) == on_hand
            assert sum((Decimal(x["remaining_value"]) for x in layers), Decimal(0)) == value
            assert all(Decimal(x["remaining_qty"]) > 0 for x in layers)
        else:
            assert valuation["layers"] == []

    # every position's stored qty and value is the sum of its events, straight from the tables
    with ledger.store.read() as tx:
        rows = tx.all(
            "select b.position_id, b.qty_e6, b.value_e6, sum(e.qty_e6), "
            "sum(coalesce(e.cost_delta_e6, 0)) from stock_balance b "
            "join stock_event e on e.position_id = b.position_id "
            "group by b.position_id, b.qty_e6, b.value_e6"
        )
        costs = tx.all("select facility_id, variant_id, qty_e6, value_e6 from cost_position")
        totals = tx.all(
            "select facility_id, variant_id, sum(qty_e6), sum(value_e6) from stock_balance "
            "group by facility_id, variant_id"
        )
    for position_id, qty, value, event_qty, event_value in rows:
        assert (qty, value) == (event_qty, event_value), f"position {position_id}"
    # the cost position agrees with its positions
    by_key = {(f, v): (q, val) for f, v, q, val in totals}
    for facility_id, variant_id, qty, value in costs:
        assert by_key[(facility_id, variant_id)] == (qty, value)


def check_all_zero(ledger: Ledger) -> None:
    for sku in SKUS:
        assert ledger.balance(sku)["facilities"] == []
        valuation = ledger.valuation(sku, "DC1")
        assert (valuation["qty"], valuation["value"], valuation["layers"]) == ("0", "0.00", [])
        card = ledger.card(sku, "DC1")
        assert (card["closing_qty"], card["closing_value"]) == ("0", "0.00")
    with ledger.store.read() as tx:
        balances = tx.all("select position_id, qty_e6, value_e6 from stock_balance")
        costs = tx.all("select qty_e6, value_e6 from cost_position")
    assert [row for row in balances if row[1:] != (0, 0)] == []
    assert [row for row in costs if row != (0, 0)] == []


def run_scenario(url: str, data: st.DataObject) -> None:
    with Ledger.open(url) as ledger:
        ledger.init()
        ledger.apply(WORLD, actor="setup", role="sysadmin")
        stock = Stock(ledger)
        model = Model()
        posted: list[list[int]] = []  # the event ids of each request, in posting order

        for _ in range(data.draw(st.integers(1, 20), label="steps")):
            request = draw_request(data, model, ledger)
            note(repr(request))
            result = stock.post(**request)
            posted.append([event["event_id"] for event in result.events])
            check_invariants(ledger, model)

        for event_ids in reversed(posted):
            # any event of a request reverses the whole request
            target = data.draw(st.sampled_from(event_ids), label="reverses")
            stock.post(kind="reversal", reverses=target, role="finance", comment="undo")
        model.on_hand.clear()
        check_invariants(ledger, model)
        check_all_zero(ledger)


@settings(max_examples=40, deadline=None, database=None)
@given(data=st.data())
def test_random_postings_keep_the_books_on_sqlite(data):
    with tempfile.TemporaryDirectory() as directory:
        run_scenario(f"sqlite:///{directory}/ledger.sqlite", data)


@pytest.mark.postgres
@settings(max_examples=10, deadline=None, database=None)
@given(data=st.data())
def test_random_postings_keep_the_books_on_postgresql(pg_server, data):
    run_scenario(pg_server.create_database(f"properties_{next(_databases)}"), data)
