"""Periods (L2.5, L8.4): open → closed → locked; closing writes a snapshot that reconciles;
reopening takes the elevated role and a justification; every transition and every refused
attempt is on the audit trail."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

import pytest

from ledger import Ledger, LedgerError
from tests.support import Stock, dump_tables

SEPTEMBER = "2026-09-10T10:00:00Z"
OCTOBER_END = "2026-10-31T23:59:59.999999Z"


def close(ledger: Ledger, *codes: str) -> None:
    for code in codes:
        ledger.close_period(code, actor="fiona", role="finance")


def status(ledger: Ledger, code: str) -> str:
    return next(p["status"] for p in ledger.periods() if p["period"] == code)


def period_audit(ledger: Ledger) -> list[dict]:
    with ledger.store.read() as tx:
        found = tx.all(
            "select actor, role, action, subject, outcome, detail from audit_log "
            "where action like 'period %' order by audit_id"
        )
    names = ("actor", "role", "action", "subject", "outcome", "detail")
    return [{**dict(zip(names, row, strict=True)), "detail": json.loads(row[5])} for row in found]


def refused(call, code: str) -> LedgerError:
    with pytest.raises(LedgerError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    return caught.value


# -- the snapshot ------------------------------------------------------------------------------


@pytest.fixture
def october(stock: Stock) -> Stock:
    """Opening stock in September, a busy October, and a receipt in November that the October
    snapshot must not see."""
    stock.receive("TEE-M", "10", "5.00", occurred_at=SEPTEMBER)
    stock.receive("BOLT-8", "100", "0.10", occurred_at=SEPTEMBER)
    stock.receive("TEE-M", "10", "7.00", occurred_at="2026-10-02T10:00:00Z")  # average 6.00
    stock.issue("TEE-M", "4", occurred_at="2026-10-05T10:00:00Z")
    stock.post(
        kind="adjustment", sku="TEE-M", facility="DC1", qty="-1", reason_code="shrink",
        comment="torn in the aisle", occurred_at="2026-10-06T10:00:00Z",
    )  # fmt: skip
    stock.post(
        kind="bin_move", sku="TEE-M", facility="DC1", bin="A1", to_bin="A2", qty="3",
        occurred_at="2026-10-07T10:00:00Z",
    )  # fmt: skip
    stock.issue("BOLT-8", "30", occurred_at="2026-10-08T10:00:00Z")
    stock.post(
        kind="cost_adjustment", sku="BOLT-8", facility="DC1", amount="5.00", currency="EUR",
        reason_code="revaluation", comment="freight invoice", role="finance",
        occurred_at="2026-10-09T10:00:00Z",
    )  # fmt: skip
    stock.receive("TEE-M", "2", "5.00", facility="ST1", occurred_at="2026-10-10T10:00:00Z")
    stock.receive("TEE-M", "50", "9.00", occurred_at="2026-11-03T10:00:00Z")
    return stock


def position(snapshot: dict, facility: str, sku: str, bin_: str) -> dict:
    [found] = [
        p for p in snapshot["positions"]
        if (p["facility"], p["sku"], p["bin"]) == (facility, sku, bin_)
    ]  # fmt: skip
    return found


def test_closing_writes_a_snapshot_per_position(october: Stock):
    ledger = october.ledger
    close(ledger, "2026-09", "2026-10")

    snapshot = ledger.period_snapshot("2026-10")

    assert (snapshot["period"], snapshot["status"], snapshot["close_version"]) == (
        "2026-10", "closed", 1,
    )  # fmt: skip
    figures = ("opening", "inbound", "outbound", "adjustment", "closing")
    assert {
        name: (position(snapshot, "DC1", "TEE-M", "A1")[f"{name}_qty"],
               position(snapshot, "DC1", "TEE-M", "A1")[f"{name}_value"])
        for name in figures
    } == {
        "opening": ("10", "50.00"),
        "inbound": ("10", "70.00"),
        "outbound": ("7", "42.00"),  # 4 issued at 6.00, 3 moved to A2 at 6.00
        "adjustment": ("-1", "-6.00"),
        "closing": ("12", "72.00"),
    }  # fmt: skip
    a2 = position(snapshot, "DC1", "TEE-M", "A2")
    assert (a2["opening_qty"], a2["inbound_qty"], a2["closing_qty"], a2["closing_value"]) == (
        "0", "3", "3", "18.00",
    )  # fmt: skip
    bolts = position(snapshot, "DC1", "BOLT-8", "A1")
    assert (bolts["outbound_qty"], bolts["outbound_value"]) == ("30", "3.00")
    assert (bolts["adjustment_qty"], bolts["adjustment_value"]) == ("0", "5.00")
    assert (bolts["closing_qty"], bolts["closing_value"]) == ("70", "12.00")
    store = position(snapshot, "ST1", "TEE-M", "MAIN")
    assert (store["opening_qty"], store["inbound_qty"], store["closing_value"]) == (
        "0",
        "2",
        "10.00",
    )


def test_every_snapshot_position_reconciles_and_matches_the_balance_at_the_period_end(
    october: Stock,
):
    ledger = october.ledger
    close(ledger, "2026-09", "2026-10")
    snapshot = ledger.period_snapshot("2026-10")

    closing: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 2)
    for p in snapshot["positions"]:
        for unit in ("qty", "value"):
            opening, inbound, outbound, adjustment, closes = (
                Decimal(p[f"{name}_{unit}"])
                for name in ("opening", "inbound", "outbound", "adjustment", "closing")
            )
            assert closes == opening + inbound - outbound + adjustment, (p, unit)
        total = closing[(p["facility"], p["sku"])]
        total[0] += Decimal(p["closing_qty"])
        total[1] += Decimal(p["closing_value"])

    assert set(closing) == {("DC1", "TEE-M"), ("DC1", "BOLT-8"), ("ST1", "TEE-M")}
    for (facility, sku), (qty, value) in closing.items():
        at_end = ledger.balance(sku, facility, as_of=OCTOBER_END)["facilities"]
        assert Decimal(at_end[0]["on_hand"]) == qty
        card = ledger.card(sku, facility, end=OCTOBER_END)
        assert Decimal(card["closing_qty"]) == qty
        assert Decimal(card["closing_value"]) == value
    # November's receipt is in today's balance but not in October's closing.
    assert october.on_hand("TEE-M") == "65"
    assert closing[("DC1", "TEE-M")] == [Decimal(15), Decimal("90.00")]


def test_the_snapshot_of_an_earlier_period_is_the_next_ones_opening(october: Stock):
    ledger = october.ledger
    close(ledger, "2026-09", "2026-10")
    september = ledger.period_snapshot("2026-09")["positions"]
    october_ = ledger.period_snapshot("2026-10")["positions"]

    def keyed(positions: list[dict], figure: str) -> dict:
        return {
            (p["facility"], p["sku"], p["bin"]): (p[f"{figure}_qty"], p[f"{figure}_value"])
            for p in positions
        }

    september_closing = keyed(september, "closing")
    assert september_closing == {
        ("DC1", "TEE-M", "A1"): ("10", "50.00"),
        ("DC1", "BOLT-8", "A1"): ("100", "10.00"),
    }
    october_opening = keyed(october_, "opening")
    for key, figures in september_closing.items():
        assert october_opening[key] == figures


# -- order, roles and justification ------------------------------------------------------------


def test_periods_close_in_order(stock: Stock):
    ledger = stock.ledger
    error = refused(lambda: close(ledger, "2026-10"), "period_order")
    assert "2026-09" in error.message
    assert status(ledger, "2026-10") == "open"
    [attempt] = period_audit(ledger)
    assert (attempt["action"], attempt["subject"], attempt["outcome"]) == (
        "period close", "2026-10", "refused",
    )  # fmt: skip


def test_closing_takes_a_finance_role(stock: Stock):
    ledger = stock.ledger
    refused(lambda: ledger.close_period("2026-09", actor="sam", role="store_keeper"), "forbidden")
    assert status(ledger, "2026-09") == "open"


def test_reopening_takes_the_elevated_role_and_a_justification(stock: Stock):
    ledger = stock.ledger
    close(ledger, "2026-09")

    refused(
        lambda: ledger.reopen_period(
            "2026-09", actor="fiona", role="finance", justification="late GRN"
        ),
        "forbidden",
    )
    for blank in (None, "", "   "):
        error = refused(
            lambda blank=blank: ledger.reopen_period(
                "2026-09", actor="frank", role="finance_manager", justification=blank
            ),
            "validation_error",
        )
        assert error.field == "justification"
        assert "justification" in error.message
    assert status(ledger, "2026-09") == "closed"

    result = ledger.reopen_period(
        "2026-09", actor="frank", role="finance_manager", justification="GRN 1001 arrived late"
    )

    assert result["status"] == "open"
    assert status(ledger, "2026-09") == "open"
    trail = period_audit(ledger)
    assert [(a["actor"], a["role"], a["action"], a["outcome"]) for a in trail] == [
        ("fiona", "finance", "period close", "applied"),
        ("fiona", "finance", "period reopen", "refused"),
        ("frank", "finance_manager", "period reopen", "refused"),
        ("frank", "finance_manager", "period reopen", "refused"),
        ("frank", "finance_manager", "period reopen", "refused"),
        ("frank", "finance_manager", "period reopen", "applied"),
    ]
    assert trail[1]["detail"]["error"] == "forbidden"
    assert trail[1]["detail"]["justification"] == "late GRN"
    assert trail[2]["detail"]["error"] == "validation_error"
    assert trail[-1]["subject"] == "2026-09"
    assert trail[-1]["detail"]["justification"] == "GRN 1001 arrived late"
    assert (trail[-1]["detail"]["from"], trail[-1]["detail"]["to"]) == ("closed", "open")


def test_after_a_reopen_posting_works_and_closing_again_writes_version_two(stock: Stock):
    ledger = stock.ledger
    stock.receive("TEE-M", "10", "5.00", occurred_at=SEPTEMBER)
    close(ledger, "2026-09")
    assert ledger.period_snapshot("2026-09")["close_version"] == 1
    ledger.reopen_period(
        "2026-09", actor="frank", role="finance_manager", justification="GRN 1001 arrived late"
    )

    late = stock.receive("TEE-M", "5", "5.00", occurred_at="2026-09-29T10:00:00Z")
    assert late.events[0]["period"] == "2026-09"
    result = ledger.close_period("2026-09", actor="fiona", role="finance")

    assert (result["status"], result["close_version"]) == ("closed", 2)
    snapshot = ledger.period_snapshot("2026-09")
    assert snapshot["close_version"] == 2
    [tees] = snapshot["positions"]
    assert (tees["inbound_qty"], tees["closing_qty"], tees["closing_value"]) == (
        "15", "15", "75.00",
    )  # fmt: skip
    with ledger.store.read() as tx:
        versions = tx.all(
            "select close_version, closing_qty_e6 from period_snapshot "
            "where period_code = '2026-09' order by close_version"
        )
    assert versions == [(1, 10_000_000), (2, 15_000_000)]  # the first snapshot is kept


def test_locking_takes_the_elevated_role_and_is_terminal(stock: Stock):
    ledger = stock.ledger
    close(ledger, "2026-09")
    refused(lambda: ledger.lock_period("2026-09", actor="fiona", role="finance"), "forbidden")
    assert status(ledger, "2026-09") == "closed"

    assert ledger.lock_period("2026-09", actor="frank", role="finance_manager")["status"] == (
        "locked"
    )

    error = refused(
        lambda: ledger.reopen_period(
            "2026-09", actor="frank", role="finance_manager", justification="please"
        ),
        "period_locked",
    )
    assert error.field == "period"
    refused(lambda: close(ledger, "2026-09"), "period_locked")
    assert status(ledger, "2026-09") == "locked"
    outcomes = [(a["action"], a["outcome"]) for a in period_audit(ledger)]
    assert outcomes == [
        ("period close", "applied"),
        ("period lock", "refused"),
        ("period lock", "applied"),
        ("period reopen", "refused"),
        ("period close", "refused"),
    ]


def test_only_a_closed_period_can_be_locked(stock: Stock):
    ledger = stock.ledger
    refused(
        lambda: ledger.lock_period("2026-09", actor="frank", role="finance_manager"),
        "invalid_transition",
    )
    assert status(ledger, "2026-09") == "open"


def test_posting_into_a_locked_period_is_rejected_and_corrections_go_into_the_open_one(
    stock: Stock,
):
    ledger = stock.ledger
    first = stock.receive("TEE-M", "10", "5.00", occurred_at=SEPTEMBER)
    close(ledger, "2026-09")
    ledger.lock_period("2026-09", actor="frank", role="finance_manager")
    before = dump_tables(ledger)

    error = refused(lambda: stock.issue("TEE-M", "1", occurred_at=SEPTEMBER), "period_locked")
    assert error.field == "occurred_at"
    assert dump_tables(ledger) == before

    correction = stock.post(
        kind="reversal", reverses=first.events[0]["event_id"], comment="wrong GRN",
        occurred_at="2026-10-01T09:00:00Z",
    )  # fmt: skip
    assert correction.events[0]["period"] == "2026-10"
    assert stock.on_hand("TEE-M") == "0"


def test_unknown_period_is_rejected(stock: Stock):
    error = refused(lambda: close(stock.ledger, "2031-01"), "unknown_period")
    assert error.field == "period"


# -- periods created by posting ----------------------------------------------------------------


def test_a_posting_into_a_month_without_a_period_opens_it(stock: Stock):
    ledger = stock.ledger
    assert "2026-08" not in [p["period"] for p in ledger.periods()]

    result = stock.receive("TEE-M", "3", "5.00", occurred_at="2026-08-14T10:00:00Z")

    assert result.events[0]["period"] == "2026-08"
    [august] = [p for p in ledger.periods() if p["period"] == "2026-08"]
    assert august["status"] == "open"
    assert (august["starts_at"], august["ends_at"]) == (
        "2026-08-01T00:00:00Z",
        "2026-09-01T00:00:00Z",
    )
    assert [p["period"] for p in ledger.periods()] == ["2026-08", "2026-09", "2026-10", "2026-11"]
    # The new period now has to be closed before September can be.
    refused(lambda: close(ledger, "2026-09"), "period_order")
    close(ledger, "2026-08", "2026-09")


def test_two_postings_into_the_same_new_month_in_one_batch_open_it_once(stock: Stock):
    requests = [
        stock.request(kind="receipt", sku=sku, facility="DC1", qty="1", unit_cost="5.00",
                      currency="EUR", occurred_at="2026-08-14T10:00:00Z")
        for sku in ("TEE-M", "TEE-L")
    ]  # fmt: skip
    results = stock.ledger.post_many(requests)
    assert [r.events[0]["period"] for r in results] == ["2026-08", "2026-08"]  # type: ignore[union-attr]
    assert [p["period"] for p in stock.ledger.periods()].count("2026-08") == 1


def test_a_rejected_posting_does_not_open_a_period(stock: Stock):
    with pytest.raises(LedgerError):
        stock.issue("TEE-M", "3", occurred_at="2026-08-14T10:00:00Z")
    assert "2026-08" not in [p["period"] for p in stock.ledger.periods()]


# -- outbox ------------------------------------------------------------------------------------


def test_closing_sends_a_period_closed_message(stock: Stock):
    ledger = stock.ledger
    stock.receive("TEE-M", "10", "5.00", occurred_at=SEPTEMBER)
    close(ledger, "2026-09")

    messages = [m for m in ledger.outbox() if m["topic"] == "period-closed"]

    assert [m["payload"] for m in messages] == [
        {"period": "2026-09", "status": "closed", "actor": "fiona", "close_version": 1}
    ]
    assert messages[0]["seq"] > max(
        m["seq"] for m in ledger.outbox() if m["topic"] == "stock_event"
    )


def test_reopening_and_locking_send_their_own_messages(stock: Stock):
    ledger = stock.ledger
    close(ledger, "2026-09")
    ledger.reopen_period("2026-09", actor="frank", role="finance_manager", justification="late")
    close(ledger, "2026-09")
    ledger.lock_period("2026-09", actor="frank", role="finance_manager")

    topics = [(m["topic"], m["payload"]["status"], m["payload"]["close_version"])
              for m in ledger.outbox()]  # fmt: skip

    assert topics == [
        ("period-closed", "closed", 1),
        ("period-reopened", "open", 1),
        ("period-closed", "closed", 2),
        ("period-locked", "locked", 2),
    ]


def test_a_period_reopens_only_when_no_later_period_is_closed(stock: Stock):
    ledger = stock.ledger
    close(ledger, "2026-09", "2026-10")
    with pytest.raises(LedgerError) as error:
        ledger.reopen_period(
            "2026-09", actor="frank", role="finance_manager", justification="late invoice"
        )
    # reopening September under a closed October would leave October's snapshot stale
    assert error.value.code == "period_order"
    ledger.reopen_period("2026-10", actor="frank", role="finance_manager", justification="late")
    ledger.reopen_period("2026-09", actor="frank", role="finance_manager", justification="late")
    assert [p["status"] for p in ledger.periods()][:2] == ["open", "open"]
