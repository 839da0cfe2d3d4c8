"""Idempotency (L2.1): a retried request returns the first result and changes nothing; the same
key with another payload is a conflict."""

from __future__ import annotations

from typing import Any

import pytest

from ledger import LedgerError
from ledger.api import PostingResult
from tests.support import Stock, dump_tables


def event_ids(result: PostingResult) -> list[int]:
    return [event["event_id"] for event in result.events]


def stored_events(stock: Stock, key: str) -> list[tuple]:
    with stock.ledger.store.read() as tx:
        return tx.all("select * from stock_event where idempotency_key = ?", (key,))


def test_the_same_request_twice_posts_once_and_replays_the_first_result(stock: Stock):
    first = stock.receive("TEE-M", "10", "4.50", idempotency_key="grn-7-1")
    after_first = dump_tables(stock.ledger)

    again = stock.receive("TEE-M", "10", "4.50", idempotency_key="grn-7-1")

    assert first.replayed is False
    assert again.replayed is True
    assert again.idempotency_key == "grn-7-1"
    assert event_ids(again) == event_ids(first)
    assert again.events == first.events
    assert dump_tables(stock.ledger) == after_first
    assert len(stored_events(stock, "grn-7-1")) == 1
    assert stock.on_hand("TEE-M") == "10"


def test_a_replayed_bin_move_returns_both_legs(stock: Stock):
    stock.receive("TEE-M", "10", "4.50")
    move = stock.request(
        idempotency_key="move-1", kind="bin_move", sku="TEE-M", facility="DC1", bin="A1",
        to_bin="A2", qty="4",
    )  # fmt: skip
    first = stock.ledger.post(move)
    again = stock.ledger.post(dict(move))
    assert len(first.events) == 2
    assert again.replayed is True
    assert event_ids(again) == event_ids(first)


def test_the_same_key_with_another_payload_is_a_conflict_and_writes_nothing(stock: Stock):
    stock.receive("TEE-M", "10", "4.50", idempotency_key="grn-7-1")
    before = dump_tables(stock.ledger)

    with pytest.raises(LedgerError) as caught:
        stock.receive("TEE-M", "12", "4.50", idempotency_key="grn-7-1")

    error = caught.value
    assert error.code == "idempotency_conflict"
    assert error.status == 409
    assert error.field == "idempotency_key"
    assert "grn-7-1" in error.message
    assert dump_tables(stock.ledger) == before
    assert stock.on_hand("TEE-M") == "10"


CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("sku", {"sku": "TEE-L"}),
    ("qty", {"qty": "10.5"}),
    ("unit_cost", {"unit_cost": "4.51"}),
    ("occurred_at", {"occurred_at": "2026-10-15T10:00:01Z"}),
    ("source", {"source": {"document_type": "GRN", "document_id": "G-2"}}),
    ("source-line", {"source": {"document_type": "GRN", "document_id": "G-1", "line": "1"}}),
    ("comment", {"comment": "second thoughts"}),
    ("actor", {"actor": "bob"}),
]


def test_any_change_of_payload_under_the_same_key_is_a_conflict(
    stock: Stock, subtests: pytest.Subtests
):
    request = stock.request(
        idempotency_key="grn-7-1", kind="receipt", sku="TEE-M", facility="DC1", qty="10",
        unit_cost="4.50", currency="EUR", source={"document_type": "GRN", "document_id": "G-1"},
    )  # fmt: skip
    stock.ledger.post(request)
    before = dump_tables(stock.ledger)
    for case, changes in CHANGES:
        with subtests.test(case):
            with pytest.raises(LedgerError) as caught:
                stock.ledger.post({**request, **changes})
            assert caught.value.code == "idempotency_conflict"
            assert dump_tables(stock.ledger) == before


def test_text_moved_from_one_field_to_the_next_is_another_payload(
    stock: Stock, subtests: pytest.Subtests
):
    """The payload is compared field by field, not as one run of text: a document type and id
    that differ only in where they split are two different documents, whatever the character
    at the split."""
    for name, mark in [("RS", "\x1e"), ("US", "\x1f"), ("bar", "|")]:
        with subtests.test(name):
            request = stock.request(
                idempotency_key=f"grn-{name}", kind="receipt", sku="TEE-M", facility="DC1",
                qty="1", unit_cost="4.50", currency="EUR",
                source={"document_type": f"GRN{mark}G", "document_id": "1"},
            )  # fmt: skip
            stock.ledger.post(request)
            shifted = {**request, "source": {"document_type": "GRN", "document_id": f"G{mark}1"}}
            with pytest.raises(LedgerError) as caught:
                stock.ledger.post(shifted)
            assert caught.value.code == "idempotency_conflict"
    assert stock.on_hand("TEE-M") == "3"


def test_equal_decimals_and_equal_instants_are_the_same_payload(stock: Stock):
    first = stock.receive("TEE-M", "10", "4.5", idempotency_key="grn-8-1")
    again = stock.receive(
        "TEE-M", "10.000", "4.500000", idempotency_key="grn-8-1",
        occurred_at="2026-10-15T12:00:00+02:00",
    )  # fmt: skip
    as_integer = stock.ledger.post({**stock.request(idempotency_key="grn-8-1"), **{
        "kind": "receipt", "sku": "TEE-M", "facility": "DC1", "qty": 10, "unit_cost": "4.50",
        "currency": "EUR",
    }})  # fmt: skip
    assert again.replayed is True
    assert as_integer.replayed is True
    assert event_ids(again) == event_ids(as_integer) == event_ids(first)
    assert stock.on_hand("TEE-M") == "10"


def test_the_same_key_twice_in_one_batch_posts_once(stock: Stock):
    request = stock.request(
        idempotency_key="pos-42", kind="receipt", sku="TEE-M", facility="DC1", qty="3",
        unit_cost="4.00", currency="EUR",
    )  # fmt: skip
    first, second = stock.ledger.post_many([request, dict(request)])
    assert isinstance(first, PostingResult)
    assert isinstance(second, PostingResult)
    assert event_ids(second) == event_ids(first)
    assert (first.replayed, second.replayed) == (False, True)
    assert len(stored_events(stock, "pos-42")) == 1
    assert stock.on_hand("TEE-M") == "3"


def test_the_same_key_with_another_payload_in_one_batch_is_a_conflict(stock: Stock):
    request = stock.request(
        idempotency_key="pos-43", kind="receipt", sku="TEE-M", facility="DC1", qty="3",
        unit_cost="4.00", currency="EUR",
    )  # fmt: skip
    first, second = stock.ledger.post_many([request, {**request, "qty": "4"}])
    assert isinstance(first, PostingResult)
    assert isinstance(second, LedgerError)
    assert (second.code, second.status) == ("idempotency_conflict", 409)
    assert stock.on_hand("TEE-M") == "3"


def test_a_retried_batch_applies_nothing_twice(stock: Stock):
    batch = [
        stock.request(idempotency_key=f"pos-{n}", kind="receipt", sku="TEE-M", facility="DC1",
                      qty="1", unit_cost="4.00", currency="EUR")
        for n in range(5)
    ]  # fmt: skip
    first = stock.ledger.post_many(batch)
    before = dump_tables(stock.ledger)
    again = stock.ledger.post_many(batch)
    assert all(result.replayed for result in again)  # type: ignore[union-attr]
    assert [event_ids(r) for r in again] == [event_ids(r) for r in first]  # type: ignore[arg-type]
    assert dump_tables(stock.ledger) == before
    assert stock.on_hand("TEE-M") == "5"


def test_a_replay_after_the_period_closed_returns_the_first_result(stock: Stock):
    first = stock.receive(
        "TEE-M", "10", "4.50", idempotency_key="grn-9-1", occurred_at="2026-09-20T10:00:00Z"
    )
    stock.ledger.close_period("2026-09", actor="fiona", role="finance")
    before = dump_tables(stock.ledger)

    again = stock.receive(
        "TEE-M", "10", "4.50", idempotency_key="grn-9-1", occurred_at="2026-09-20T10:00:00Z"
    )

    assert again.replayed is True
    assert event_ids(again) == event_ids(first)
    assert again.events[0]["period"] == "2026-09"
    assert dump_tables(stock.ledger) == before


def test_a_rejected_request_does_not_use_up_its_key(stock: Stock):
    with pytest.raises(LedgerError) as caught:
        stock.issue("TEE-M", "5", idempotency_key="pick-1")
    assert caught.value.code == "insufficient_stock"
    stock.receive("TEE-M", "10", "4.50")
    result = stock.issue("TEE-M", "5", idempotency_key="pick-1")
    assert result.replayed is False
    assert stock.on_hand("TEE-M") == "5"
