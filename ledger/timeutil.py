"""Business and system time: ISO 8601 with an offset in, fixed-width UTC text stored."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ledger.errors import validation_error


def parse_instant(value: object, field: str) -> datetime:
    """An aware datetime from ISO 8601 text; naive times are refused, not guessed."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise validation_error(field, f"{value!r} is not an ISO 8601 timestamp") from None
    else:
        raise validation_error(field, "must be an ISO 8601 timestamp string")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise validation_error(field, "must include a UTC offset (for example 2026-01-31T09:00Z)")
    return moment.astimezone(UTC)


def parse_day(value: object, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise validation_error(field, "must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise validation_error(field, f"{value!r} is not a date YYYY-MM-DD") from None


def stored(moment: datetime) -> str:
    # isoformat is C-fast; the fixed width keeps text order equal to time order.
    utc = moment.astimezone(UTC) if moment.utcoffset() else moment
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now() -> datetime:
    return datetime.now(UTC)


def iso(text: str | None) -> str | None:
    """Stored UTC text as the ISO form the interfaces return."""
    if text is None:
        return None
    if text.endswith(".000000Z"):
        return text[:-8] + "Z"
    return text
