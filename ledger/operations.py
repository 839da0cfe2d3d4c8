"""Requests of the ledger's workflows: who asks (`Caller`), field parsing that names the field,
look-ups of master data, authorisation, and running an operation once per idempotency key."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from ledger import access, numbers, timeutil, workflow
from ledger.config import Config, Facility, Item, Location, Variant
from ledger.errors import LedgerError, missing, unknown, validation_error
from ledger.requests import MAX_COMMENT, choice, text
from ledger.session import PlannedEvent
from ledger.storage import Tx
from ledger.vocabulary import FacilityType, Role
from ledger.workflow import Workflow

if TYPE_CHECKING:
    from ledger.api import Ledger

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks, and the key that makes asking again harmless."""

    key: str
    actor: str
    role: str


def fields_of(raw: object, allowed: frozenset[str]) -> Mapping[str, Any]:
    """`raw` as a JSON object holding only `allowed` fields."""
    if not isinstance(raw, Mapping):
        raise validation_error("request", "must be a JSON object")
    extra = sorted(set(raw) - allowed)
    if extra:
        raise validation_error(extra[0], "is not a known field")
    return raw


@contextmanager
def within(prefix: str, fields: frozenset[str] | None = None) -> Iterator[None]:
    """Errors raised inside name their field under `prefix` (`lines[2].qty`); with `fields`, only
    errors about one of those fields are renamed."""
    try:
        yield
    except LedgerError as error:
        field = error.field
        if field is None or (fields is not None and field not in fields):
            raise
        named = prefix if field == "request" else f"{prefix}.{field}"
        rule = error.message.removeprefix(f"{field}:").strip()
        error.field, error.message = named, f"{named}: {rule}"
        error.args = (error.message,)
        raise


def caller_of(raw: Mapping[str, Any]) -> Caller:
    return Caller(
        key=text(raw, "idempotency_key", required=True),
        actor=text(raw, "actor", required=True),
        role=choice(raw, "role", Role, required=True).value,
    )


def instant(raw: Mapping[str, Any], field: str) -> str:
    """A required business time as stored: fixed-width UTC text."""
    if raw.get(field) in (None, ""):
        raise missing(field)
    return timeutil.stored(timeutil.parse_instant(raw[field], field))


def quantity(raw: Mapping[str, Any], field: str, *, allow_zero: bool = False) -> Decimal:
    if raw.get(field) is None:
        raise missing(field)
    qty = numbers.parse_quantity(raw[field], field)
    if qty < 0 or (qty == 0 and not allow_zero):
        raise validation_error(field, "must not be negative" if allow_zero else "must be positive")
    return qty


def each(raw: Mapping[str, Any], field: str, parse: Callable[[Any, int], T]) -> tuple[T, ...]:
    """Every item of a required, non-empty list, parsed; errors name the item (`lines[2].qty`)."""
    value = raw.get(field)
    if value is None or value == []:
        raise missing(field)
    if not isinstance(value, list):
        raise validation_error(field, "must be a list")
    parsed = []
    for index, item in enumerate(value):
        with within(f"{field}[{index}]"):
            parsed.append(parse(item, index))
    return tuple(parsed)


def whole_number(raw: Mapping[str, Any], field: str, default: int | None = None) -> int:
    value = raw.get(field)
    if value is None:
        if default is None:
            raise missing(field)
        return default
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise validation_error(field, "must be a positive whole number")
    return value


def flag(raw: Mapping[str, Any], field: str) -> bool:
    value = raw.get(field, False)
    if not isinstance(value, bool):
        raise validation_error(field, "must be true or false")
    return value


def comment_of(raw: Mapping[str, Any], *, required: bool = False) -> str | None:
    return text(raw, "comment", required=required, limit=MAX_COMMENT)


def fingerprint(request: Any) -> str:
    """The digest of a parsed request: the same request normalised is the same payload."""
    return workflow.fingerprint(asdict(request))


def facility_of(config: Config, code: str) -> Facility:
    facility = config.facilities.get(code)
    if facility is None:
        raise unknown("unknown_facility", "facility", code)
    if facility.facility_type is FacilityType.IN_TRANSIT:
        raise validation_error("facility", "the in-transit node is moved only by transfers")
    return facility


def variant_of(config: Config, sku: str) -> tuple[Variant, Item]:
    variant = config.variant(sku)
    if variant is None:
        raise unknown("unknown_sku", "sku", sku)
    return variant, config.items_by_id[variant.item_id]


def location_of(config: Config, facility: Facility, code: str, field: str = "bin") -> Location:
    location = config.locations.get((facility.facility_id, code))
    if location is None:
        raise LedgerError(
            "unknown_bin", f"{field}: no bin {code!r} in facility {facility.code}", field=field
        )
    return location


def lot_id_of(tx: Tx, variant: Variant, number: str) -> int:
    row = tx.one(
        "select lot_id from lot where variant_id = ? and lot_number = ?",
        (variant.variant_id, number),
    )
    if row is None:
        raise LedgerError("unknown_lot", f"lot: no lot {number!r} of {variant.sku}", field="lot")
    return row[0]


def authorise(wf: Workflow, caller: Caller, action: str, facility: Facility) -> None:
    access.authorise(
        wf.config.grants, caller.actor, caller.role, action, facility.facility_id, wf.now,
        facility.code,
    )  # fmt: skip


def operation(
    ledger: Ledger,
    kind: str,
    caller: Caller,
    digest: str,
    subject: str,
    body: Callable[[Workflow], dict[str, Any]],
) -> dict[str, Any]:
    """Run `body` in one workflow transaction, once per idempotency key: a retry of the same
    request answers with the stored result, another request under the key is a conflict."""

    def work(wf: Workflow) -> dict[str, Any]:
        replayed = wf.replay(kind, caller.key, digest)
        if replayed is not None:
            return replayed
        return wf.remember(kind, caller.key, digest, body(wf))

    return workflow.run(
        ledger, work, actor=caller.actor, role=caller.role, action=kind, subject=subject
    )


def conflict(code: str, field: str, rule: str, **detail: Any) -> LedgerError:
    error = LedgerError(code, f"{field}: {rule}", field=field, **detail)
    error.status = 409
    return error


def posting(**fields: Any) -> dict[str, Any]:
    """A posting request for `wf.post`, without the fields left empty."""
    return {name: value for name, value in fields.items() if value is not None}


def move_events(events: list[PlannedEvent]) -> tuple[int, int]:
    """The (out, in) event ids of a two-event move."""
    return events[0].event_id, events[-1].event_id  # type: ignore[return-value]
