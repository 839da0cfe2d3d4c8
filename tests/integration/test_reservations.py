"""Reservations, the promise contract (L3): the lifecycle with available-to-promise at every step,
TTLs and the expiry sweep, partial commits by channel, consumption onto the stock card, and
every rejection leaving the ledger as it was."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger, LedgerError, reservations, timeutil
from ledger.access import Viewer
from tests.support import WORLD, Stock, dump_tables

AT = "2026-10-15T10:00:00Z"
ROOT = Path(__file__).resolve().parents[2]


def later(minutes: float) -> str:
    """AT plus some minutes, as the ISO text results carry."""
    moment = timeutil.parse_instant(AT, "at") + timedelta(minutes=minutes)
    return timeutil.iso(timeutil.stored(moment))  # type: ignore[return-value]


class Promises:
    """Reservation requests with the dull fields filled in: alice as store keeper, order SO-1,
    one line per reservation, a fresh idempotency key each time, acting at AT."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self._numbers = itertools.count(1)

    def reserve_request(self, qty: str, **fields: Any) -> dict[str, Any]:
        number = next(self._numbers)
        request = {
            "idempotency_key": f"reserve-{number}", "sku": "TEE-M", "facility": "DC1",
            "qty": qty, "channel": "ecommerce", "actor": "alice", "role": "store_keeper",
            "reference": {"document_type": "order", "document_id": "SO-1", "line": str(number)},
            **fields,
        }  # fmt: skip
        return {name: value for name, value in request.items() if value is not None}

    def reserve(self, qty: str, at: str = AT, **fields: Any) -> dict[str, Any]:
        return reservations.reserve(self.ledger, self.reserve_request(qty, **fields), at=at)[
            "reservation"
        ]

    def step_request(self, operation: str, reservation_id: int, **fields: Any) -> dict[str, Any]:
        request = {
            "idempotency_key": f"{operation}-{next(self._numbers)}",
            "reservation_id": reservation_id, "actor": "alice", "role": "store_keeper", **fields,
        }  # fmt: skip
        return {name: value for name, value in request.items() if value is not None}

    def step(self, operation: str, reservation_id: int, at: str = AT, **fields: Any) -> dict:
        run = getattr(reservations, operation)
        return run(self.ledger, self.step_request(operation, reservation_id, **fields), at=at)

    def atp(self, sku: str = "TEE-M", facility: str = "DC1") -> dict[str, str]:
        found = reservations.atp(self.ledger, sku, facility)
        return {
            name: found[name] for name in ("on_hand", "reserved", "allocated", "committed", "atp")
        }


def breakdown(on_hand: int, reserved: int, allocated: int, committed: int) -> dict[str, str]:
    atp = on_hand - reserved - allocated - committed
    return {
        "on_hand": str(on_hand), "reserved": str(reserved), "allocated": str(allocated),
        "committed": str(committed), "atp": str(atp),
    }  # fmt: skip


def topics(ledger: Ledger, reservation_id: int) -> list[str]:
    return [
        message["topic"]
        for message in ledger.outbox()
        if message["payload"].get("reservation_id") == reservation_id
    ]


def assert_promises_add_up(ledger: Ledger) -> None:
    """The promise totals of every facility + SKU are exactly the sum of its open holds."""
    with ledger.store.read() as tx:
        drifted = tx.all(
            "select h.facility_id, h.variant_id from reservation_hold h "
            "where h.reserved_qty_e6 <> (select coalesce(sum(r.held_qty_e6), 0) from reservation r "
            "  where r.facility_id = h.facility_id and r.variant_id = h.variant_id "
            "  and r.status = 'reserved') "
            "or h.allocated_qty_e6 <> (select coalesce(sum(r.held_qty_e6), 0) from reservation r "
            "  where r.facility_id = h.facility_id and r.variant_id = h.variant_id "
            "  and r.status = 'allocated') "
            "or h.committed_qty_e6 <> (select coalesce(sum(r.held_qty_e6), 0) from reservation r "
            "  where r.facility_id = h.facility_id and r.variant_id = h.variant_id "
            "  and r.status = 'committed')"
        )
    assert drifted == []


@pytest.fixture
def promises(stock: Stock) -> Promises:
    return Promises(stock.ledger)


# -- the lifecycle ---------------------------------------------------------------------------


def test_reserve_allocate_commit_consume_with_atp_at_each_step(stock: Stock, promises: Promises):
    stock.receive("TEE-M", "10", "5.00")
    assert promises.atp() == breakdown(10, 0, 0, 0)

    held = promises.reserve("4")
    assert (held["status"], held["qty"], held["channel"]) == ("reserved", "4", "ecommerce")
    assert promises.atp() == breakdown(10, 4, 0, 0)

    allocated = promises.step("allocate", held["reservation_id"])["reservation"]
    assert allocated["status"] == "allocated"
    assert promises.atp() == breakdown(10, 0, 4, 0)

    committed = promises.step("commit", held["reservation_id"])["reservation"]
    assert committed["status"] == "committed"
    assert promises.atp() == breakdown(10, 0, 0, 4)

    consumed = promises.step("consume", held["reservation_id"])
    assert (consumed["reservation"]["status"], consumed["reservation"]["consumed_qty"]) == (
        "consumed",
        "4",
    )
    assert promises.atp() == breakdown(6, 0, 0, 0)
    assert stock.on_hand("TEE-M") == "6"

    history = reservations.reservation(stock.ledger, held["reservation_id"])["history"]
    assert [(entry["action"], entry["to_status"], entry["qty"]) for entry in history] == [
        ("reserve", "reserved", "4"),
        ("allocate", "allocated", "4"),
        ("commit", "committed", "4"),
        ("consume", "consumed", "4"),
    ]
    assert {entry["actor"] for entry in history} == {"alice"}
    assert topics(stock.ledger, held["reservation_id"]) == [
        "inventory-reserved", "inventory-allocated", "inventory-committed", "inventory-consumed",
    ]  # fmt: skip
    assert_promises_add_up(stock.ledger)


def test_release_gives_back_exactly_what_it_releases(stock: Stock, promises: Promises):
    stock.receive("RICE-KG", "10", "1.20")
    held = promises.reserve("3.5", sku="RICE-KG")
    assert promises.atp("RICE-KG")["atp"] == "6.5"

    part = promises.step(
        "release", held["reservation_id"], qty="1.25", reason_code="payment_failed"
    )
    assert (part["reservation"]["status"], part["reservation"]["qty"]) == ("reserved", "2.25")
    assert promises.atp("RICE-KG") == {**breakdown(10, 0, 0, 0), "reserved": "2.25", "atp": "7.75"}

    rest = promises.step("release", held["reservation_id"], reason_code="customer_cancelled")
    assert rest["reservation"]["status"] == "released"
    assert rest["reservation"]["close_reason"] == "customer_cancelled"
    assert rest["reservation"]["released_qty"] == "3.5"
    assert promises.atp("RICE-KG") == breakdown(10, 0, 0, 0)
    assert topics(stock.ledger, held["reservation_id"])[-2:] == ["inventory-released"] * 2
    assert_promises_add_up(stock.ledger)


def test_consume_posts_the_issue_from_the_picked_bins_onto_the_stock_card(
    stock: Stock, promises: Promises
):
    stock.receive("TEE-M", "3", "5.00", bin="A1")
    stock.receive("TEE-M", "3", "5.00", bin="A2")
    held = promises.reserve("5", channel="wholesale")
    promises.step("allocate", held["reservation_id"])
    promises.step("commit", held["reservation_id"])

    first = promises.step(
        "consume",
        held["reservation_id"],
        picks=[{"bin": "A1", "qty": "3"}, {"bin": "A2", "qty": "1"}],
    )
    assert (first["reservation"]["status"], first["reservation"]["qty"]) == ("committed", "1")
    assert promises.atp() == breakdown(2, 0, 0, 1)
    final = promises.step("consume", held["reservation_id"], picks=[{"bin": "A2", "qty": "1"}])
    assert final["reservation"]["status"] == "consumed"
    assert promises.atp() == breakdown(1, 0, 0, 0)

    card = stock.ledger.card("TEE-M", "DC1")
    issues = [event for event in card["events"] if event["kind"] == "issue"]
    assert [(event["bin"], event["qty"], event["cost_delta"]) for event in issues] == [
        ("A1", "-3", "-15.00"), ("A2", "-1", "-5.00"), ("A2", "-1", "-5.00"),
    ]  # fmt: skip
    assert {event["channel"] for event in issues} == {"wholesale"}
    assert [event["source"] for event in issues] == [held["reference"]] * 3
    assert card["closing_qty"] == "1"
    history = reservations.reservation(stock.ledger, held["reservation_id"])["history"]
    consumed = [entry["event_ids"] for entry in history if entry["action"] == "consume"]
    assert consumed == [[issues[0]["event_id"], issues[1]["event_id"]], [issues[2]["event_id"]]]


def test_consume_of_a_lot_tracked_item_names_the_lot_and_may_short_ship_the_rest(
    stock: Stock, promises: Promises
):
    stock.receive("MILK-1L", "6", "0.80", lot="L-42")
    held = promises.reserve("4", sku="MILK-1L", channel="pos")
    promises.step("allocate", held["reservation_id"])
    promises.step("commit", held["reservation_id"])

    done = promises.step(
        "consume", held["reservation_id"], picks=[{"lot": "L-42", "qty": "3"}],
        reason_code="lost_in_pick",
    )  # fmt: skip
    assert done["reservation"]["status"] == "consumed"
    assert (done["reservation"]["consumed_qty"], done["reservation"]["released_qty"]) == ("3", "1")
    assert done["reservation"]["close_reason"] == "lost_in_pick"
    assert [(event["lot"], event["qty"]) for event in done["events"]] == [("L-42", "-3")]
    assert promises.atp("MILK-1L") == breakdown(3, 0, 0, 0)
    assert_promises_add_up(stock.ledger)


# -- TTLs and the expiry sweep -------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "minutes"), [("pos", 5), ("ecommerce", 15), ("wholesale", 60), ("marketplace", 15)]
)
def test_reserve_ttl_defaults_per_channel(
    stock: Stock, promises: Promises, channel: str, minutes: int
):
    stock.receive("TEE-M", "10", "5.00")
    held = promises.reserve("1", channel=channel)
    assert held["expires_at"] == later(minutes)

    allocated = promises.step("allocate", held["reservation_id"], at=later(1))
    assert allocated["reservation"]["expires_at"] == later(1 + 120)
    committed = promises.step("commit", held["reservation_id"], at=later(2))
    assert committed["reservation"]["expires_at"] == later(2 + 24 * 60)


def test_ttl_overrides_per_channel_and_facility(stock: Stock, promises: Promises):
    stock.receive("TEE-M", "10", "5.00")
    stock.receive("TEE-M", "10", "5.00", facility="ST1")
    ops = {"actor": "ops", "role": "sysadmin"}
    assert reservations.set_ttl(stock.ledger, "pos", "reserve", 10, **ops)["status"] == "created"
    reservations.set_ttl(stock.ledger, "pos", "reserve", 3, facility="ST1", **ops)
    reservations.set_ttl(stock.ledger, "wholesale", "commit", 48 * 60, **ops)

    assert promises.reserve("1", channel="pos")["expires_at"] == later(10)
    assert promises.reserve("1", channel="pos", facility="ST1")["expires_at"] == later(3)
    assert promises.reserve("1", channel="ecommerce", facility="ST1")["expires_at"] == later(15)
    assert reservations.ttls(stock.ledger, "ST1")["minutes"]["reserve"] == {
        "pos": 3, "ecommerce": 15, "wholesale": 60, "marketplace": 15,
    }  # fmt: skip

    wholesale = promises.reserve("2", channel="wholesale")
    promises.step("allocate", wholesale["reservation_id"])
    committed = promises.step("commit", wholesale["reservation_id"])["reservation"]
    assert committed["expires_at"] == later(48 * 60)
    again = reservations.set_ttl(stock.ledger, "pos", "reserve", 10, **ops)
    assert again["status"] == "unchanged"


def test_a_callers_own_expiry_is_recorded_and_used_when_earlier(stock: Stock, promises: Promises):
    stock.receive("TEE-M", "10", "5.00")
    held = promises.reserve("2", channel="wholesale")
    allocated = promises.step("allocate", held["reservation_id"], expires_at=later(30))
    assert allocated["reservation"]["expires_at"] == later(30)  # before the 120-minute TTL
    assert allocated["reservation"]["requested_expires_at"] == later(30)
    committed = promises.step("commit", held["reservation_id"], expires_at=later(48 * 60))
    assert committed["reservation"]["expires_at"] == later(24 * 60)  # the TTL is earlier
    assert committed["reservation"]["requested_expires_at"] == later(48 * 60)


def test_the_sweep_releases_exactly_the_expired_holds_and_is_idempotent(
    stock: Stock, promises: Promises
):
    stock.ledger.apply([{"type": "grant", "actor": "system", "role": "sysadmin"}],
                       actor="setup", role="sysadmin")  # fmt: skip
    stock.receive("TEE-M", "20", "5.00")
    pos = promises.reserve("2", channel="pos")  # expires at +5
    web = promises.reserve("3", channel="ecommerce")  # +15
    trade = promises.reserve("4", channel="wholesale")  # +60
    picked = promises.reserve("5", channel="ecommerce")
    promises.step("allocate", picked["reservation_id"], at=later(10))  # +10+120
    assert promises.atp() == breakdown(20, 9, 5, 0)

    swept = reservations.expire(stock.ledger, at=later(15))  # +15 is due: expiry is inclusive
    assert sorted(hold["reservation_id"] for hold in swept["expired"]) == [
        pos["reservation_id"], web["reservation_id"],
    ]  # fmt: skip
    assert {hold["close_reason"] for hold in swept["expired"]} == {"inventory_expired"}
    assert promises.atp() == breakdown(20, 4, 5, 0)
    expired = [m["payload"] for m in stock.ledger.outbox() if m["topic"] == "inventory-expired"]
    assert sorted((payload["reservation_id"], payload["qty"]) for payload in expired) == [
        (pos["reservation_id"], "2"), (web["reservation_id"], "3"),
    ]  # fmt: skip

    before = dump_tables(stock.ledger)
    assert reservations.expire(stock.ledger, at=later(15))["expired"] == []
    assert dump_tables(stock.ledger) == before

    late = reservations.expire(stock.ledger, at=later(10 + 120))
    assert sorted(hold["reservation_id"] for hold in late["expired"]) == [
        trade["reservation_id"], picked["reservation_id"],
    ]  # fmt: skip
    assert promises.atp() == breakdown(20, 0, 0, 0)
    history = reservations.reservation(stock.ledger, picked["reservation_id"])["history"]
    assert [(e["action"], e["from_status"], e["reason_code"], e["actor"]) for e in history][-1] == (
        "expire", "allocated", "inventory_expired", "system",
    )  # fmt: skip
    assert_promises_add_up(stock.ledger)


def test_an_expired_hold_moves_no_further_but_can_be_released(stock: Stock, promises: Promises):
    stock.receive("TEE-M", "5", "5.00")
    held = promises.reserve("2", channel="pos")
    assert_rejected(
        stock.ledger,
        lambda: promises.step("allocate", held["reservation_id"], at=later(6)),
        "reservation_expired", "expires_at",
    )  # fmt: skip
    released = promises.step(
        "release", held["reservation_id"], at=later(6), reason_code="pickup_no_show"
    )
    assert released["reservation"]["status"] == "released"
    assert promises.atp() == breakdown(5, 0, 0, 0)


# -- partial commits (L3.4) ----------------------------------------------------------------


def test_a_short_b2c_commit_releases_the_rest_with_its_reason(stock: Stock, promises: Promises):
    stock.receive("TEE-M", "10", "5.00")
    held = promises.reserve("5", channel="ecommerce")
    promises.step("allocate", held["reservation_id"])
    assert_rejected(
        stock.ledger, lambda: promises.step("commit", held["reservation_id"], qty="3"),
        "reason_required", "reason_code",
    )  # fmt: skip

    committed = promises.step("commit", held["reservation_id"], qty="3", reason_code="damaged")
    hold = committed["reservation"]
    assert (hold["status"], hold["qty"], hold["released_qty"]) == ("committed", "3", "2")
    assert promises.atp() == breakdown(10, 0, 0, 3)
    history = reservations.reservation(stock.ledger, held["reservation_id"])["history"]
    assert [(e["action"], e["qty"], e["reason_code"]) for e in history[-2:]] == [
        ("release", "2", "damaged"), ("commit", "3", None),
    ]  # fmt: skip


def test_a_short_wholesale_commit_is_refused_until_the_backorder_policy_allows_a_split(
    stock: Stock, promises: Promises
):
    stock.receive("TEE-M", "10", "5.00")
    held = promises.reserve("5", channel="wholesale")
    promises.step("allocate", held["reservation_id"])
    short = {"qty": "3", "reason_code": "insufficient_available"}
    error = assert_rejected(
        stock.ledger, lambda: promises.step("commit", held["reservation_id"], **short),
        "partial_commit_refused", "qty",
    )  # fmt: skip
    assert error.detail == {"allocated": "5"}

    reservations.set_backorder_policy(stock.ledger, False, actor="ops", role="sysadmin")
    reservations.set_backorder_policy(
        stock.ledger, True, facility="DC1", actor="ops", role="sysadmin"
    )
    committed = promises.step("commit", held["reservation_id"], **short)["reservation"]
    assert (committed["status"], committed["qty"], committed["backordered_qty"]) == (
        "committed", "3", "2",
    )  # fmt: skip
    assert promises.atp() == breakdown(10, 0, 0, 3)
    backordered = [m for m in stock.ledger.outbox() if m["topic"] == "inventory-backordered"]
    assert [(m["payload"]["qty"], m["payload"]["reason_code"]) for m in backordered] == [
        ("2", "insufficient_available")
    ]
    assert_promises_add_up(stock.ledger)


# -- available-to-promise and overcommit ---------------------------------------------------


def test_atp_counts_every_bin_lot_and_owner_of_the_available_bucket(
    stock: Stock, promises: Promises
):
    stock.receive("TEE-M", "4", "5.00", bin="A1")
    stock.receive("TEE-M", "3", "5.00", bin="A2")
    stock.post(kind="receipt", sku="TEE-M", facility="DC1", qty="2", owner="ACME")  # consigned
    stock.post(
        kind="reclassification", sku="TEE-M", facility="DC1", bin="A1", qty="1",
        to_bucket="damaged", reason_code="damage",
    )  # fmt: skip
    assert promises.atp()["on_hand"] == "8"
    promises.reserve("8")
    assert_rejected(stock.ledger, lambda: promises.reserve("1"), "insufficient_available", "qty")
    sid = Viewer("sid", "store_keeper")  # granted ST1 only
    assert reservations.atp(stock.ledger, "TEE-M", "ST1", sid)["atp"] == "0"
    with pytest.raises(LedgerError) as caught:
        reservations.atp(stock.ledger, "TEE-M", "DC1", sid)
    assert caught.value.code == "forbidden"


def test_reserving_beyond_atp_overcommits_only_where_negative_stock_is_allowed(
    stock: Stock, promises: Promises
):
    stock.receive("TEE-M", "1", "5.00", facility="ST1")
    held = promises.reserve("3", facility="ST1", actor="sid")
    assert held["overcommitted"] is True
    assert promises.atp(facility="ST1") == breakdown(1, 3, 0, 0)
    overcommitted = [m for m in stock.ledger.outbox() if m["topic"] == "stock-overcommitted"]
    assert [(m["payload"]["reservation_id"], m["payload"]["shortfall"]) for m in overcommitted] == [
        (held["reservation_id"], "2")
    ]


# -- rejections change nothing -------------------------------------------------------------


def assert_rejected(
    ledger: Ledger,
    act: Callable[[], Any],
    code: str,
    field: str | None = None,
    *,
    audited: bool = False,
) -> LedgerError:
    """`act` is rejected with `code` naming `field`, and nothing is written — but for a refusal
    by access control, which the audit trail keeps as one 'refused' row (L8.4)."""
    before = dump_tables(ledger)
    with pytest.raises(LedgerError) as caught:
        act()
    error = caught.value
    assert error.code == code, error.message
    if field is not None:
        assert error.field == field, error.message
        assert error.message.startswith(f"{field}: "), error.message
    after = dump_tables(ledger)
    if audited:
        earlier = before.pop("audit_log")
        added = [row for row in after.pop("audit_log") if row not in earlier]
        assert [row[6] for row in added] == ["refused"]
        assert added[0][4].startswith("reservation.")
        for tables in (before, after):  # PostgreSQL's audit counter moves with the audit row
            tables["ledger_counter"] = [r for r in tables["ledger_counter"] if r[0] != "audit_log"]
    assert after == before
    return error


@pytest.fixture
def booked(stock: Stock, promises: Promises) -> dict[str, int]:
    """Stock at DC1 and ST1; one hold reserved, one allocated, one consumed."""
    stock.receive("TEE-M", "10", "5.00")
    stock.receive("TEE-M", "10", "5.00", facility="ST1")
    reserved = promises.reserve("4", reference={"document_type": "order", "document_id": "SO-9",
                                                "line": "1"})  # fmt: skip
    allocated = promises.reserve("2")
    promises.step("allocate", allocated["reservation_id"])
    consumed = promises.reserve("1")
    for operation in ("allocate", "commit", "consume"):
        promises.step(operation, consumed["reservation_id"])
    return {
        "reserved": reserved["reservation_id"],
        "allocated": allocated["reservation_id"],
        "consumed": consumed["reservation_id"],
    }


REJECTIONS: list[tuple[str, Callable[[Promises, dict[str, int]], Any], str, str | None, bool]] = [
    ("reserve without a channel", lambda p, ids: p.reserve("1", channel=None),
     "validation_error", "channel", False),
    ("reserve in an unknown channel", lambda p, ids: p.reserve("1", channel="telex"),
     "validation_error", "channel", False),
    ("reserve without a reference line", lambda p, ids: p.reserve(
        "1", reference={"document_type": "order", "document_id": "SO-2"}),
     "validation_error", "reference.line", False),
    ("reserve a second hold on the same order line", lambda p, ids: p.reserve(
        "1", reference={"document_type": "order", "document_id": "SO-9", "line": "1"}),
     "reservation_exists", "reference", False),
    ("reserve more than available", lambda p, ids: p.reserve("5"),
     "insufficient_available", "qty", False),
    ("reserve half a serial-tracked drill", lambda p, ids: p.reserve("0.5", sku="DRILL-18V"),
     "validation_error", "qty", False),
    ("release more than reserved", lambda p, ids: p.step(
        "release", ids["reserved"], qty="5", reason_code="customer_cancelled"),
     "over_release", "qty", False),
    ("release with an unknown reason", lambda p, ids: p.step(
        "release", ids["reserved"], reason_code="changed_my_mind"),
     "unknown_reason_code", "reason_code", False),
    ("release without a reason", lambda p, ids: p.step("release", ids["reserved"]),
     "reason_required", "reason_code", False),
    ("short commit with a release reason", lambda p, ids: p.step(
        "commit", ids["allocated"], qty="1", reason_code="payment_failed"),
     "reason_not_allowed", "reason_code", False),
    ("commit more than allocated", lambda p, ids: p.step("commit", ids["allocated"], qty="3"),
     "over_commit", "qty", False),
    ("commit before allocate", lambda p, ids: p.step("commit", ids["reserved"]),
     "invalid_transition", "reservation_id", False),
    ("consume before commit", lambda p, ids: p.step("consume", ids["allocated"]),
     "invalid_transition", "reservation_id", False),
    ("release after consume", lambda p, ids: p.step(
        "release", ids["consumed"], reason_code="customer_cancelled"),
     "invalid_transition", "reservation_id", False),
    ("allocate an unknown reservation", lambda p, ids: p.step("allocate", 999),
     "unknown_reservation", "reservation_id", False),
    ("reserve as finance", lambda p, ids: p.reserve("1", actor="fiona", role="finance"),
     "forbidden", "role", True),
    ("sam reserves at ST1, where he has no grant", lambda p, ids: p.reserve(
        "1", facility="ST1", actor="sam"),
     "forbidden", "actor", True),
    ("ivy allocates with an expired grant", lambda p, ids: p.step(
        "allocate", ids["reserved"], actor="ivy", role="inventory_controller"),
     "forbidden", "actor", True),
    ("a store keeper sets a TTL", lambda p, ids: reservations.set_ttl(
        p.ledger, "pos", "reserve", 1, actor="alice", role="store_keeper"),
     "forbidden", "role", True),
    ("the sweep runs as an account with no grant", lambda p, ids: reservations.expire(
        p.ledger, at=later(60 * 24 * 7), actor="cron"),
     "forbidden", "actor", True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("act", "code", "field", "audited"),
    [pytest.param(*case[1:], id=case[0]) for case in REJECTIONS],
)
def test_a_rejected_request_changes_nothing(
    promises: Promises,
    booked: dict[str, int],
    act: Callable[[Promises, dict[str, int]], Any],
    code: str,
    field: str | None,
    audited: bool,
):
    assert_rejected(promises.ledger, lambda: act(promises, booked), code, field, audited=audited)
    assert_promises_add_up(promises.ledger)


# -- idempotency -----------------------------------------------------------------------------


def test_a_retried_operation_is_answered_not_applied_twice(stock: Stock, promises: Promises):
    stock.receive("TEE-M", "10", "5.00")
    request = promises.reserve_request("4")
    first = reservations.reserve(stock.ledger, request, at=AT)
    again = reservations.reserve(stock.ledger, request, at=later(1))
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["reservation"] == first["reservation"]
    assert promises.atp() == breakdown(10, 4, 0, 0)

    reservation_id = first["reservation"]["reservation_id"]
    promises.step("allocate", reservation_id)
    promises.step("commit", reservation_id)
    consume = promises.step_request("consume", reservation_id)
    shipped = reservations.consume(stock.ledger, consume, at=AT)
    retried = reservations.consume(stock.ledger, consume, at=AT)
    assert retried["replayed"] is True
    assert retried["events"] == shipped["events"]
    assert stock.on_hand("TEE-M") == "6"
    assert promises.atp() == breakdown(6, 0, 0, 0)


def test_the_same_key_for_another_request_is_a_conflict(stock: Stock, promises: Promises):
    stock.receive("TEE-M", "10", "5.00")
    request = promises.reserve_request("4")
    reservations.reserve(stock.ledger, request, at=AT)
    error = assert_rejected(
        stock.ledger, lambda: reservations.reserve(stock.ledger, {**request, "qty": "5"}, at=AT),
        "idempotency_conflict", "idempotency_key",
    )  # fmt: skip
    assert error.status == 409


# -- the command line ------------------------------------------------------------------------


def stockcard(db: str, *args: str, stdin: str | None = None) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "stockcard.cli", "ledger", "--db", db, *args],
        cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


def test_the_command_line_reserves_shows_atp_and_sweeps(tmp_path: Path):
    db = f"sqlite:///{tmp_path}/ledger.sqlite"
    with Ledger.open(db) as ledger:
        ledger.init()
        ledger.apply(WORLD, actor="setup", role="sysadmin")
        Stock(ledger).receive("TEE-M", "5", "5.00")
        request = Promises(ledger).reserve_request("2", channel="pos")
    path = tmp_path / "reserve.json"
    path.write_text(json.dumps(request), encoding="utf-8")

    code, reserved = stockcard(db, "reservation", "reserve", str(path), "--at", AT)
    assert (code, reserved["reservation"]["status"]) == (0, "reserved")
    code, atp = stockcard(db, "atp", "--sku", "TEE-M", "--facility", "DC1")
    assert (code, atp["atp"]) == (0, "3")
    code, swept = stockcard(db, "expire", "--at", later(5), "--actor", "ops")
    assert (code, len(swept["expired"])) == (0, 1)
    code, refused = stockcard(db, "reservation", "reserve", "-", stdin=json.dumps({**request,
                              "qty": "9"}))  # fmt: skip
    assert (code, refused["error"]["code"]) == (1, "idempotency_conflict")
