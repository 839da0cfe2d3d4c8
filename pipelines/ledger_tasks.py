"""Scheduled ledger housekeeping the pipeline runs: closing finished months and releasing
expired reservation holds. Pure Python: the Dagster jobs and tests call these."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger import reservations
from ledger.api import Ledger
from ledger.errors import LedgerError


def months_to_close(ledger: Ledger, today: date) -> list[str]:
    """Open periods that ended before the first day of `today`'s month, oldest first: a
    backlog is closed in order (a month cannot close after a later one)."""
    first_of_month = today.replace(day=1).isoformat()
    return sorted(
        period["period"]
        for period in ledger.periods()
        if period["status"] == "open" and str(period["ends_at"])[:10] <= first_of_month
    )


def close_finished_periods(
    ledger: Ledger, today: date, *, actor: str, role: str = "finance"
) -> dict[str, Any]:
    """Close every finished open month (each close writes its period snapshot). A month the
    ledger refuses to close is reported with the ledger's code, and later months stay open."""
    closed: list[str] = []
    for code in months_to_close(ledger, today):
        try:
            ledger.close_period(code, actor=actor, role=role)
        except LedgerError as error:
            return {"closed": closed, "refused": {"period": code, "code": error.code,
                                                  "message": error.message}}  # fmt: skip
        closed.append(code)
    return {"closed": closed, "refused": None}


def expire_reservations(
    ledger: Ledger, *, at: str | None = None, actor: str, role: str = "sysadmin"
) -> dict[str, Any]:
    """Release every hold whose TTL has run out (reason inventory_expired); idempotent."""
    return reservations.expire(ledger, at=at, actor=actor, role=role)
