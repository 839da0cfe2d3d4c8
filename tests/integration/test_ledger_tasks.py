"""The scheduled ledger work: the monthly close closes every finished month in order (each
writing its snapshot) and nothing else; the reservation sweep releases expired holds once."""

from __future__ import annotations

from datetime import date

from ledger import Ledger
from pipelines.ledger_tasks import close_finished_periods, expire_reservations, months_to_close
from tests.support import Stock


def statuses(ledger: Ledger) -> dict[str, str]:
    return {period["period"]: period["status"] for period in ledger.periods()}


def test_the_monthly_close_closes_finished_months_oldest_first(stock: Stock) -> None:
    ledger = stock.ledger
    stock.receive("BOLT-8", "10", "1.00", occurred_at="2026-09-10T10:00:00Z")
    assert months_to_close(ledger, date(2026, 11, 3)) == ["2026-09", "2026-10"]

    outcome = close_finished_periods(ledger, date(2026, 11, 3), actor="fiona")

    assert outcome == {"closed": ["2026-09", "2026-10"], "refused": None}
    assert statuses(ledger) == {"2026-09": "closed", "2026-10": "closed", "2026-11": "open"}
    snapshot = ledger.period_snapshot("2026-09")
    assert any(row["closing_qty"] == "10" for row in snapshot["positions"])
    # running again closes nothing more
    assert close_finished_periods(ledger, date(2026, 11, 20), actor="fiona")["closed"] == []


def test_a_close_the_ledger_refuses_is_reported_with_its_code(stock: Stock) -> None:
    outcome = close_finished_periods(stock.ledger, date(2026, 10, 1), actor="sam")
    assert outcome["closed"] == []
    assert outcome["refused"]["period"] == "2026-09"
    assert outcome["refused"]["code"] == "forbidden"
    assert statuses(stock.ledger)["2026-09"] == "open"


def test_the_reservation_sweep_releases_expired_holds_once(stock: Stock) -> None:
    from ledger import reservations

    stock.receive("BOLT-8", "10", "1.00", occurred_at="2026-10-01T10:00:00Z")
    reservations.reserve(
        stock.ledger,
        {"idempotency_key": "r-1", "actor": "alice", "role": "store_keeper",
         "sku": "BOLT-8", "facility": "DC1", "qty": "4", "channel": "ecommerce",
         "reference": {"document_type": "web_order", "document_id": "W-1", "line": "1"}},
        at="2026-10-02T10:00:00Z",
    )  # fmt: skip
    assert reservations.atp(stock.ledger, "BOLT-8", "DC1")["atp"] == "6"
    first = expire_reservations(stock.ledger, at="2026-10-02T11:00:00Z", actor="setup")
    second = expire_reservations(stock.ledger, at="2026-10-02T12:00:00Z", actor="setup")
    assert [hold["close_reason"] for hold in first["expired"]] == ["inventory_expired"]
    assert second["expired"] == []
    assert reservations.atp(stock.ledger, "BOLT-8", "DC1")["atp"] == "10"
