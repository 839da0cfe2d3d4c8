"""Reservations, the promise contract (SPEC L3): holds of a facility's available stock of a
SKU for an order line, moving reserve → allocate → commit → release | consume, with TTLs, an
expiry sweep and available-to-promise."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ledger import access, numbers, timeutil, workflow
from ledger.access import Viewer
from ledger.api import Ledger
from ledger.config import Config, Facility, Variant
from ledger.errors import LedgerError, missing, unknown, validation_error
from ledger.numbers import ZERO, fmt, from_units, to_units
from ledger.requests import MAX_COMMENT, choice, text
from ledger.session import PlannedEvent
from ledger.storage import Tx
from ledger.vocabulary import Channel, FacilityType, Role
from ledger.workflow import Workflow

# -- the closed lists ------------------------------------------------------------------------


class Status(StrEnum):
    RESERVED = "reserved"
    ALLOCATED = "allocated"
    COMMITTED = "committed"
    RELEASED = "released"
    CONSUMED = "consumed"


OPEN = (Status.RESERVED, Status.ALLOCATED, Status.COMMITTED)


class Stage(StrEnum):
    """The stages a TTL is set for; each starts the status of the same name."""

    RESERVE = "reserve"
    ALLOCATE = "allocate"
    COMMIT = "commit"


class ReleaseReason(StrEnum):
    PAYMENT_FAILED = "payment_failed"
    APPROVAL_FAILED = "approval_failed"
    CUSTOMER_CANCELLED = "customer_cancelled"
    INVENTORY_EXPIRED = "inventory_expired"
    PICKUP_NO_SHOW = "pickup_no_show"
    SUBSTITUTION_DECLINED = "substitution_declined"
    FRAUD_HOLD = "fraud_hold"


class ShortShipReason(StrEnum):
    INSUFFICIENT_AVAILABLE = "insufficient_available"
    DAMAGED = "damaged"
    QC_HOLD = "qc_hold"
    RECALL_HOLD = "recall_hold"
    LOST_IN_PICK = "lost_in_pick"
    CARRIER_CONSTRAINT = "carrier_constraint"


RELEASE_REASONS = frozenset(ReleaseReason)
SHORT_SHIP_REASONS = frozenset(ShortShipReason)

# Channels selling to consumers, where a short commit ships what there is (L3.4).
B2C = frozenset({Channel.POS, Channel.ECOMMERCE, Channel.MARKETPLACE})

DEFAULT_TTL_MINUTES: dict[Stage, dict[Channel, int]] = {
    Stage.RESERVE: {
        Channel.POS: 5,
        Channel.ECOMMERCE: 15,
        Channel.WHOLESALE: 60,
        Channel.MARKETPLACE: 15,  # a marketplace checkout behaves like our own web shop's
    },
    Stage.ALLOCATE: dict.fromkeys(Channel, 120),
    Stage.COMMIT: dict.fromkeys(Channel, 24 * 60),
}
MAX_TTL_MINUTES = 366 * 24 * 60

TOPICS = {
    "reserve": "inventory-reserved",
    "allocate": "inventory-allocated",
    "commit": "inventory-committed",
    "release": "inventory-released",
    "backorder": "inventory-backordered",
    "consume": "inventory-consumed",
    "expire": "inventory-expired",
}

# -- requests --------------------------------------------------------------------------------

RESERVE_FIELDS = frozenset(
    {"idempotency_key", "sku", "facility", "qty", "channel", "reference", "actor", "role",
     "expires_at", "comment"}
)  # fmt: skip
COMMON_FIELDS = frozenset({"idempotency_key", "reservation_id", "actor", "role", "comment"})
STEP_FIELDS = {
    "allocate": COMMON_FIELDS | {"expires_at"},
    "commit": COMMON_FIELDS | {"qty", "reason_code", "expires_at"},
    "release": COMMON_FIELDS | {"qty", "reason_code"},
    "consume": COMMON_FIELDS | {"qty", "reason_code", "picks", "occurred_at"},
}
REFERENCE_FIELDS = frozenset({"document_type", "document_id", "line"})
PICK_FIELDS = frozenset({"bin", "lot", "owner", "qty"})


@dataclass(frozen=True, slots=True)
class Reference:
    """The caller's order or cart line a reservation is for."""

    document_type: str
    document_id: str
    line: str

    def json(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    def label(self) -> str:
        return f"{self.document_type} {self.document_id}/{self.line}"


@dataclass(frozen=True, slots=True)
class Pick:
    """Where consumed units are issued from: a bin (default: the facility's), lot and owner."""

    bin: str | None
    lot: str | None
    owner: str | None
    qty: Decimal


@dataclass(frozen=True, slots=True)
class ReserveRequest:
    key: str
    sku: str
    facility: str
    qty: Decimal
    channel: Channel
    reference: Reference
    actor: str
    role: str
    expires_at: str | None
    comment: str | None

    @property
    def fingerprint(self) -> str:
        return workflow.fingerprint({"operation": "reserve", **dataclasses.asdict(self)})


@dataclass(frozen=True, slots=True)
class StepRequest:
    """allocate, commit, release or consume of an existing reservation."""

    operation: str
    key: str
    reservation_id: int
    actor: str
    role: str
    qty: Decimal | None = None
    reason: str | None = None
    expires_at: str | None = None
    occurred_at: str | None = None
    picks: tuple[Pick, ...] = ()
    comment: str | None = None

    @property
    def fingerprint(self) -> str:
        return workflow.fingerprint(dataclasses.asdict(self))


def parse_reserve(raw: object) -> ReserveRequest:
    """A typed reserve request, or a `validation_error` naming the first bad field."""
    raw = _object(raw, RESERVE_FIELDS)
    return ReserveRequest(
        key=text(raw, "idempotency_key", required=True),
        sku=text(raw, "sku", required=True),
        facility=text(raw, "facility", required=True),
        qty=_positive(raw, "qty", required=True),  # type: ignore[arg-type]
        channel=choice(raw, "channel", Channel, required=True),
        reference=_reference(raw),
        actor=text(raw, "actor", required=True),
        role=choice(raw, "role", Role, required=True).value,
        expires_at=_instant(raw, "expires_at"),
        comment=text(raw, "comment", limit=MAX_COMMENT),
    )


def parse_step(operation: str, raw: object) -> StepRequest:
    """A typed allocate, commit, release or consume request."""
    raw = _object(raw, STEP_FIELDS[operation])
    picks = _picks(raw)
    qty = _positive(raw, "qty")
    if picks:
        picked = sum((pick.qty for pick in picks), ZERO)
        if qty is not None and qty != picked:
            raise validation_error(
                "picks", f"quantities add up to {fmt(picked)}, not the qty {fmt(qty)}"
            )
        qty = picked
    return StepRequest(
        operation=operation,
        key=text(raw, "idempotency_key", required=True),
        reservation_id=_reservation_id(raw),
        actor=text(raw, "actor", required=True),
        role=choice(raw, "role", Role, required=True).value,
        qty=qty,
        reason=_reason(raw, operation),
        expires_at=_instant(raw, "expires_at"),
        occurred_at=_instant(raw, "occurred_at"),
        picks=picks,
        comment=text(raw, "comment", limit=MAX_COMMENT),
    )


def _object(raw: object, fields: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise validation_error("request", "must be a JSON object")
    extra = set(raw) - fields
    if extra:
        raise validation_error(sorted(extra)[0], "is not a known field")
    return raw


def _positive(raw: Mapping[str, Any], field: str, *, required: bool = False) -> Decimal | None:
    if raw.get(field) is None:
        if required:
            raise missing(field)
        return None
    qty = numbers.parse_quantity(raw[field], field)
    if qty <= 0:
        raise validation_error(field, "must be positive")
    return qty


def _instant(raw: Mapping[str, Any], field: str) -> str | None:
    if raw.get(field) in (None, ""):
        return None
    return timeutil.stored(timeutil.parse_instant(raw[field], field))


def _reference(raw: Mapping[str, Any]) -> Reference:
    value = raw.get("reference")
    if value is None:
        raise missing("reference")
    if not isinstance(value, Mapping):
        raise validation_error(
            "reference", "must be an object with document_type, document_id, line"
        )
    extra = set(value) - REFERENCE_FIELDS
    if extra:
        raise validation_error(f"reference.{sorted(extra)[0]}", "is not a known field")
    for field in sorted(REFERENCE_FIELDS):
        if text(value, field) is None:
            raise missing(f"reference.{field}")
    return Reference(
        text(value, "document_type"),
        text(value, "document_id"),
        text(value, "line"),  # type: ignore[arg-type]
    )


def _reservation_id(raw: Mapping[str, Any]) -> int:
    value = raw.get("reservation_id")
    if value is None:
        raise missing("reservation_id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise validation_error("reservation_id", "must be a reservation id (a positive integer)")
    if int(value) <= 0:
        raise validation_error("reservation_id", "must be a positive integer")
    return int(value)


def _reason(raw: Mapping[str, Any], operation: str) -> str | None:
    """Releases name a release or short-ship reason; a short commit or consume a short-ship
    reason (L3.3). Unknown codes are refused."""
    code = text(raw, "reason_code")
    if code is None:
        if operation == "release":
            raise LedgerError(
                "reason_required", "reason_code: is required for a release", field="reason_code"
            )
        return None
    if code not in RELEASE_REASONS and code not in SHORT_SHIP_REASONS:
        raise unknown("unknown_reason_code", "reason_code", code)
    if operation != "release" and code not in SHORT_SHIP_REASONS:
        raise LedgerError(
            "reason_not_allowed",
            f"reason_code: {code!r} is a release reason; a short {operation} needs a short-ship "
            f"reason ({', '.join(sorted(SHORT_SHIP_REASONS))})",
            field="reason_code",
        )
    return code


def _picks(raw: Mapping[str, Any]) -> tuple[Pick, ...]:
    value = raw.get("picks")
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise validation_error("picks", "must be a non-empty list of {bin, lot, owner, qty}")
    picks = []
    for index, item in enumerate(value):
        where = f"picks[{index}]"
        if not isinstance(item, Mapping):
            raise validation_error(where, "must be an object")
        extra = set(item) - PICK_FIELDS
        if extra:
            raise validation_error(f"{where}.{sorted(extra)[0]}", "is not a known field")
        try:
            qty: Decimal = _positive(item, "qty", required=True)  # type: ignore[assignment]
            picks.append(Pick(text(item, "bin"), text(item, "lot"), text(item, "owner"), qty))
        except LedgerError as error:
            raise validation_error(
                f"{where}.{error.field}", error.message.split(": ", 1)[1]
            ) from None
    return tuple(picks)


def _moment(at: str | None) -> str | None:
    """The injected "now" of an operation as stored text; None means the posting time."""
    return None if at is None else timeutil.stored(timeutil.parse_instant(at, "at"))


# -- what is stored --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hold:
    """One reservation as stored."""

    reservation_id: int
    facility_id: int
    variant_id: int
    channel: Channel
    reference: Reference
    status: Status
    requested: Decimal
    held: Decimal
    released: Decimal
    backordered: Decimal
    consumed: Decimal
    overcommitted: bool
    expires_at: str
    requested_expires_at: str | None
    close_reason: str | None
    actor: str
    role: str
    created_at: str
    updated_at: str


HOLD_COLUMNS = (
    "reservation_id, facility_id, variant_id, channel, ref_type, ref_id, ref_line, status, "
    "requested_qty_e6, held_qty_e6, released_qty_e6, backordered_qty_e6, consumed_qty_e6, "
    "is_overcommitted, expires_at, requested_expires_at, close_reason, actor, role, created_at, "
    "updated_at"
)


def _hold(row: tuple[Any, ...]) -> Hold:
    quantities = [from_units(units) for units in row[8:13]]
    return Hold(
        row[0], row[1], row[2], Channel(row[3]), Reference(row[4], row[5], row[6]),
        Status(row[7]), *quantities, bool(row[13]), *row[14:],  # type: ignore[arg-type]
    )  # fmt: skip


def _hold_row(hold: Hold) -> tuple[Any, ...]:
    ref = hold.reference
    return (
        hold.reservation_id, hold.facility_id, hold.variant_id, hold.channel.value,
        ref.document_type, ref.document_id, ref.line, hold.status.value, to_units(hold.requested),
        to_units(hold.held), to_units(hold.released), to_units(hold.backordered),
        to_units(hold.consumed), hold.overcommitted, hold.expires_at, hold.requested_expires_at,
        hold.close_reason, hold.actor, hold.role, hold.created_at, hold.updated_at,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Promised:
    """What a facility + SKU has promised, by stage: the sum of its open holds."""

    reserved: Decimal = ZERO
    allocated: Decimal = ZERO
    committed: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.reserved + self.allocated + self.committed


@dataclass(frozen=True, slots=True)
class Entry:
    """One transition in a reservation's history."""

    action: str
    from_status: Status | None
    to_status: Status
    qty: Decimal
    held_after: Decimal
    reason: str | None = None
    expires_at: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What an operation does to a reservation, decided before anything is written."""

    after: Hold
    entries: tuple[Entry, ...]
    issues: tuple[Pick, ...] = ()


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does an operation, and the key and comment it is recorded with."""

    actor: str
    role: str
    key: str | None = None
    comment: str | None = None


# -- the Python API --------------------------------------------------------------------------


def reserve(ledger: Ledger, request: Mapping[str, Any], *, at: str | None = None) -> dict[str, Any]:
    """Hold `qty` of a SKU's available stock at a facility for an order line (L3.1); `at`
    replaces the clock for the hold's times (tests, replays of a source system)."""
    req = parse_reserve(request)
    moment = _moment(at)
    return workflow.run(
        ledger, lambda wf: _reserve(wf, req, moment or wf.now), actor=req.actor, role=req.role,
        action="reservation.reserve", subject=req.reference.label(),
    )  # fmt: skip


def allocate(ledger: Ledger, request: Mapping[str, Any], *, at: str | None = None) -> dict:
    """reserved → allocated, with the allocate TTL."""
    return _step(ledger, parse_step("allocate", request), at, decide_allocate)


def commit(ledger: Ledger, request: Mapping[str, Any], *, at: str | None = None) -> dict:
    """allocated → committed for `qty` (default all); a short commit releases (B2C) or
    backorders (wholesale, where the policy allows a split) the rest (L3.4)."""
    return _step(ledger, parse_step("commit", request), at, decide_commit)


def release(ledger: Ledger, request: Mapping[str, Any], *, at: str | None = None) -> dict:
    """Give back `qty` (default all) of an open hold, with a reason (L3.3)."""
    return _step(ledger, parse_step("release", request), at, decide_release)


def consume(ledger: Ledger, request: Mapping[str, Any], *, at: str | None = None) -> dict:
    """Picked or shipped: issue `qty` of a committed hold from the picks (default: the
    facility's default bin) and close that much of the hold, in one transaction."""
    return _step(ledger, parse_step("consume", request), at, decide_consume)


def expire(
    ledger: Ledger,
    *,
    at: str | None = None,
    facility: str | None = None,
    actor: str = "system",
    role: str = "sysadmin",
) -> dict[str, Any]:
    """Release every open hold whose TTL has run out by `at` (default now), with reason
    `inventory_expired` (L3.2). Running it again releases nothing twice."""
    moment = _moment(at)
    return workflow.run(
        ledger, lambda wf: _expire(wf, moment or wf.now, facility, Actor(actor, role)),
        actor=actor, role=role, action="reservation.expire", subject=facility or "*",
    )  # fmt: skip


def atp(ledger: Ledger, sku: str, facility: str, viewer: Viewer | None = None) -> dict[str, Any]:
    """Available-to-promise = on hand in the available bucket - reserved - allocated -
    committed (L3.1), with the breakdown; a viewer must be granted the facility."""
    with ledger.store.read() as tx:
        config = ledger.config(tx)
        variant, site = resolve(config, sku, facility)
        check_visible(config, viewer, site)
        on_hand = available_on_hand(tx, site.facility_id, variant.variant_id)
        promised = read_promised(tx, site.facility_id, variant.variant_id)
    return atp_json(variant, site, on_hand, promised)


def reservation(
    ledger: Ledger, reservation_id: int, viewer: Viewer | None = None
) -> dict[str, Any]:
    """A reservation and its history of transitions."""
    with ledger.store.read() as tx:
        config = ledger.config(tx)
        hold = load_hold(tx, reservation_id)
        check_visible(config, viewer, config.facilities_by_id[hold.facility_id])
        history = tx.all(
            "select action, from_status, to_status, qty_e6, held_after_e6, reason_code, "
            "expires_at, event_ids, operation_key, actor, role, comment, at from "
            "reservation_history where reservation_id = ? order by history_id",
            (reservation_id,),
        )
    return {**hold_json(hold, config), "history": [history_json(row) for row in history]}


def set_ttl(
    ledger: Ledger,
    channel: str,
    stage: str,
    minutes: int,
    *,
    facility: str | None = None,
    actor: str,
    role: str,
) -> dict[str, Any]:
    """Override a TTL for a channel and stage, everywhere or at one facility (sysadmin)."""
    setting = (
        choice({"channel": channel}, "channel", Channel, required=True),
        choice({"stage": stage}, "stage", Stage, required=True),
        _minutes(minutes),
    )
    return workflow.run(
        ledger, lambda wf: _set_ttl(wf, *setting, facility, Actor(actor, role)), actor=actor,
        role=role, action="reservation.ttl", subject=f"{channel}/{stage}/{facility or '*'}",
    )  # fmt: skip


def ttls(ledger: Ledger, facility: str | None = None) -> dict[str, Any]:
    """The TTL in minutes of every stage and channel, everywhere or at one facility."""
    with ledger.store.read() as tx:
        facility_id = find_facility(ledger.config(tx), facility).facility_id if facility else None
        table = {
            stage.value: {
                channel.value: ttl_minutes(tx, channel, stage, facility_id) for channel in Channel
            }
            for stage in Stage
        }
    return {"facility": facility, "minutes": table}


def set_backorder_policy(
    ledger: Ledger, allow_split: bool, *, facility: str | None = None, actor: str, role: str
) -> dict[str, Any]:
    """Whether a short wholesale commit may split off a backorder, for the organisation or one
    facility (sysadmin)."""
    if not isinstance(allow_split, bool):
        raise validation_error("allow_split", "must be true or false")
    return workflow.run(
        ledger, lambda wf: _set_backorder(wf, allow_split, facility, Actor(actor, role)),
        actor=actor, role=role, action="reservation.backorder_policy", subject=facility or "*",
    )  # fmt: skip


# -- reserve ---------------------------------------------------------------------------------


def _reserve(wf: Workflow, req: ReserveRequest, at: str) -> dict[str, Any]:
    kind = "reservation.reserve"
    replay = wf.replay(kind, req.key, req.fingerprint)
    if replay is not None:
        return replay
    variant, site = resolve(wf.config, req.sku, req.facility)
    authorise(wf, Actor(req.actor, req.role), site)
    check_reservable(wf.config, variant, site, req.qty)
    check_expiry_request(req.expires_at, at)
    promised = lock_promised(wf.tx, site.facility_id, variant.variant_id)
    on_hand = available_on_hand(wf.tx, site.facility_id, variant.variant_id, lock=True)
    check_line_free(wf.tx, req.reference, site, variant)
    available = on_hand - promised.total
    overcommitted = check_available(wf.config, req.qty, available, variant, site)
    minutes = ttl_minutes(wf.tx, req.channel, Stage.RESERVE, site.facility_id)
    hold = new_hold(wf.tx.new_ids("reservation", 1)[0], req, variant, site, at, minutes)
    hold = dataclasses.replace(hold, overcommitted=overcommitted)
    who = Actor(req.actor, req.role, req.key, req.comment)
    entry = Entry("reserve", None, Status.RESERVED, req.qty, req.qty, None, hold.expires_at)
    insert_hold(wf.tx, hold)
    record(wf, None, Plan(hold, (entry,)), who, at)
    if overcommitted:
        emit_overcommitted(wf, hold, variant, site, available - req.qty)
    result = {"ok": True, "idempotency_key": req.key, "reservation": hold_json(hold, wf.config)}
    return wf.remember(kind, req.key, req.fingerprint, result)


def resolve(config: Config, sku: str, facility: str) -> tuple[Variant, Facility]:
    variant = config.variant(sku)
    if variant is None:
        raise unknown("unknown_sku", "sku", sku)
    return variant, find_facility(config, facility)


def find_facility(config: Config, code: str) -> Facility:
    site = config.facilities.get(code)
    if site is None:
        raise unknown("unknown_facility", "facility", code)
    return site


def check_visible(config: Config, viewer: Viewer | None, site: Facility) -> None:
    """Reads with a viewer show only facilities the viewer is granted (L8.1, L9.2)."""
    if not access.can_see(config.grants, viewer, site.facility_id, workflow.now_text()):
        error = LedgerError("forbidden", f"facility: no grant to see {site.code}", field="facility")
        error.status = 403
        raise error


def authorise(wf: Workflow, who: Actor, site: Facility) -> None:
    access.authorise(
        wf.config.grants, who.actor, who.role, "reservation.write", site.facility_id, wf.now,
        site.code,
    )  # fmt: skip


def check_reservable(config: Config, variant: Variant, site: Facility, qty: Decimal) -> None:
    if site.facility_type is FacilityType.IN_TRANSIT:
        raise validation_error("facility", "stock in transit cannot be reserved")
    item = config.items_by_id[variant.item_id]
    if item.serial_tracked and qty != qty.to_integral_value():
        raise validation_error("qty", f"item {item.code} is serial-tracked: whole units only")


def check_expiry_request(expires_at: str | None, at: str) -> None:
    if expires_at is not None and expires_at <= at:
        raise validation_error("expires_at", "must be later than the time of the request")


def check_line_free(tx: Tx, ref: Reference, site: Facility, variant: Variant) -> None:
    """One open hold per order line, facility and SKU: a second one would double-promise."""
    row = tx.one(
        "select reservation_id from reservation where ref_type = ? and ref_id = ? "
        "and ref_line = ? and facility_id = ? and variant_id = ? "
        "and status in ('reserved', 'allocated', 'committed')",
        (ref.document_type, ref.document_id, ref.line, site.facility_id, variant.variant_id),
    )
    if row is not None:
        error = LedgerError(
            "reservation_exists",
            f"reference: {ref.label()} already holds {variant.sku} at {site.code} "
            f"(reservation {row[0]})",
            field="reference",
            reservation_id=row[0],
        )
        error.status = 409
        raise error


def check_available(
    config: Config, qty: Decimal, available: Decimal, variant: Variant, site: Facility
) -> bool:
    """Whether the hold overcommits: beyond available-to-promise only where the facility +
    variant negative-stock policy allows it (L2.2), else refused."""
    if qty <= available:
        return False
    if config.allows_negative(site.facility_id, variant.variant_id):
        return True
    raise LedgerError(
        "insufficient_available",
        f"qty: {fmt(qty)} exceeds the {fmt(max(available, ZERO))} available to promise of "
        f"{variant.sku} at {site.code}",
        field="qty",
        available=fmt(available),
    )


def new_hold(
    reservation_id: int,
    req: ReserveRequest,
    variant: Variant,
    site: Facility,
    at: str,
    minutes: int,
) -> Hold:
    return Hold(
        reservation_id=reservation_id, facility_id=site.facility_id,
        variant_id=variant.variant_id, channel=req.channel, reference=req.reference,
        status=Status.RESERVED, requested=req.qty, held=req.qty, released=ZERO,
        backordered=ZERO, consumed=ZERO, overcommitted=False,
        expires_at=earliest(later(at, minutes), req.expires_at),
        requested_expires_at=req.expires_at, close_reason=None, actor=req.actor, role=req.role,
        created_at=at, updated_at=at,
    )  # fmt: skip


def emit_overcommitted(
    wf: Workflow, hold: Hold, variant: Variant, site: Facility, available_after: Decimal
) -> None:
    wf.emit(
        "stock-overcommitted",
        {
            "source": "reservation",
            "reservation_id": hold.reservation_id,
            "reference": hold.reference.json(),
            "sku": variant.sku,
            "facility": site.code,
            "qty": fmt(hold.held),
            "atp_after": fmt(available_after),
            "shortfall": fmt(min(hold.held, -available_after)),
        },
    )


# -- allocate, commit, release, consume ------------------------------------------------------

Decide = Callable[[Workflow, Hold, StepRequest, str], Plan]


def _step(ledger: Ledger, req: StepRequest, at: str | None, decide: Decide) -> dict[str, Any]:
    moment = _moment(at)
    return workflow.run(
        ledger, lambda wf: _apply_step(wf, req, moment or wf.now, decide), actor=req.actor,
        role=req.role, action=f"reservation.{req.operation}",
        subject=f"reservation {req.reservation_id}",
    )  # fmt: skip


def _apply_step(wf: Workflow, req: StepRequest, at: str, decide: Decide) -> dict[str, Any]:
    kind = f"reservation.{req.operation}"
    replay = wf.replay(kind, req.key, req.fingerprint)
    if replay is not None:
        return replay
    hold = lock_hold(wf.tx, req.reservation_id)
    authorise(wf, Actor(req.actor, req.role), wf.config.facilities_by_id[hold.facility_id])
    plan = decide(wf, hold, req, at)
    who = Actor(req.actor, req.role, req.key, req.comment)
    events = post_issues(wf, hold, req, plan, at) if plan.issues else []
    update_hold(wf.tx, plan.after)
    record(wf, hold, plan, who, at, [event.event_id for event in events])  # type: ignore[misc]
    result = {
        "ok": True,
        "idempotency_key": req.key,
        "reservation": hold_json(plan.after, wf.config),
    }
    if events:
        result["events"] = wf.events_json(events)
    return wf.remember(kind, req.key, req.fingerprint, result)


def decide_allocate(wf: Workflow, hold: Hold, req: StepRequest, at: str) -> Plan:
    check_transition(hold, "allocate", Status.RESERVED)
    check_unexpired(hold, at)
    check_expiry_request(req.expires_at, at)
    minutes = ttl_minutes(wf.tx, hold.channel, Stage.ALLOCATE, hold.facility_id)
    expires_at = earliest(later(at, minutes), req.expires_at)
    entry = Entry("allocate", hold.status, Status.ALLOCATED, hold.held, hold.held, None, expires_at)
    return Plan(moved(hold, Status.ALLOCATED, expires_at, req.expires_at, at), (entry,))


def decide_commit(wf: Workflow, hold: Hold, req: StepRequest, at: str) -> Plan:
    """Commit all or part of an allocated hold; the short part is released for B2C channels and
    backordered for wholesale only where the backorder policy allows a split (L3.4)."""
    check_transition(hold, "commit", Status.ALLOCATED)
    check_unexpired(hold, at)
    check_expiry_request(req.expires_at, at)
    qty = req.qty if req.qty is not None else hold.held
    check_within(hold, qty, "over_commit", "commit")
    short = hold.held - qty
    minutes = ttl_minutes(wf.tx, hold.channel, Stage.COMMIT, hold.facility_id)
    expires_at = earliest(later(at, minutes), req.expires_at)
    entries, hold_after = [], hold
    if short > 0:
        outcome = short_commit_outcome(hold, req, backorder_allowed(wf.tx, hold.facility_id))
        hold_after = given_back(hold, short, outcome, req.reason, at)  # type: ignore[arg-type]
        entries.append(Entry(outcome, hold.status, hold.status, short, qty, req.reason))
    else:
        check_no_reason(req, "commit")
    entries.append(Entry("commit", hold.status, Status.COMMITTED, qty, qty, None, expires_at))
    after = moved(hold_after, Status.COMMITTED, expires_at, req.expires_at, at)
    return Plan(after, tuple(entries))


def short_commit_outcome(hold: Hold, req: StepRequest, allow_split: bool) -> str:
    """'release' or 'backorder' for the part of an allocation that is not committed."""
    if req.reason is None:
        raise LedgerError(
            "reason_required",
            "reason_code: a commit of less than allocated needs a short-ship reason",
            field="reason_code",
        )
    if hold.channel in B2C:
        return "release"
    if allow_split:
        return "backorder"
    raise LedgerError(
        "partial_commit_refused",
        f"qty: {hold.channel.value} orders commit in full ({fmt(hold.held)}) unless the "
        "backorder policy allows a split",
        field="qty",
        allocated=fmt(hold.held),
    )


def decide_release(wf: Workflow, hold: Hold, req: StepRequest, at: str) -> Plan:
    """Give back part or all of an open hold; an expired one may still be released."""
    check_transition(hold, "release", *OPEN)
    qty = req.qty if req.qty is not None else hold.held
    check_within(hold, qty, "over_release", "release")
    after = given_back(hold, qty, "release", req.reason, at)  # type: ignore[arg-type]
    return Plan(after, (Entry("release", hold.status, after.status, qty, after.held, req.reason),))


def decide_consume(wf: Workflow, hold: Hold, req: StepRequest, at: str) -> Plan:
    """Consume `qty` (default all) of a committed hold; with a short-ship reason the rest is
    released and the hold closed, without one the rest stays committed for a later shipment."""
    check_transition(hold, "consume", Status.COMMITTED)
    check_unexpired(hold, at)
    qty = req.qty if req.qty is not None else hold.held
    check_within(hold, qty, "over_consume", "consume")
    rest = hold.held - qty
    if rest == 0:
        check_no_reason(req, "consume")
    held_after = rest if req.reason is None else ZERO
    status = Status.COMMITTED if held_after > 0 else Status.CONSUMED
    entries = [Entry("consume", hold.status, Status.COMMITTED if rest else status, qty, rest)]
    if req.reason is not None:
        entries.append(Entry("release", Status.COMMITTED, status, rest, ZERO, req.reason))
    after = dataclasses.replace(
        hold, status=status, held=held_after, consumed=hold.consumed + qty,
        released=hold.released + rest - held_after,
        close_reason=req.reason if held_after == 0 else hold.close_reason, updated_at=at,
    )  # fmt: skip
    issues = req.picks or (Pick(None, None, None, qty),)
    return Plan(after, tuple(entries), issues)


def decide_expiry(hold: Hold, at: str) -> Plan:
    reason = ReleaseReason.INVENTORY_EXPIRED.value
    after = given_back(hold, hold.held, "release", reason, at)
    return Plan(after, (Entry("expire", hold.status, after.status, hold.held, ZERO, reason),))


def check_transition(hold: Hold, operation: str, *allowed: Status) -> None:
    if hold.status in allowed:
        return
    error = LedgerError(
        "invalid_transition",
        f"reservation_id: reservation {hold.reservation_id} is {hold.status.value}; only a "
        f"{' or '.join(status.value for status in allowed)} one can {operation}",
        field="reservation_id",
        status=hold.status.value,
    )
    error.status = 409
    raise error


def check_unexpired(hold: Hold, at: str) -> None:
    """A hold whose TTL has run out moves no further; the sweep (or a release) gives it back."""
    if hold.expires_at <= at:
        error = LedgerError(
            "reservation_expired",
            f"expires_at: reservation {hold.reservation_id} expired at "
            f"{timeutil.iso(hold.expires_at)}",
            field="expires_at",
        )
        error.status = 409
        raise error


def check_within(hold: Hold, qty: Decimal, code: str, operation: str) -> None:
    if qty > hold.held:
        raise LedgerError(
            code,
            f"qty: cannot {operation} {fmt(qty)}; reservation {hold.reservation_id} holds "
            f"{fmt(hold.held)}",
            field="qty",
            held=fmt(hold.held),
        )


def check_no_reason(req: StepRequest, operation: str) -> None:
    if req.reason is not None:
        raise LedgerError(
            "reason_not_allowed",
            f"reason_code: a short-ship reason applies only when less than held is {operation}ed",
            field="reason_code",
        )


def moved(
    hold: Hold, status: Status, expires_at: str, requested_expires_at: str | None, at: str
) -> Hold:
    return dataclasses.replace(
        hold, status=status, expires_at=expires_at,
        requested_expires_at=requested_expires_at or hold.requested_expires_at, updated_at=at,
    )  # fmt: skip


def given_back(hold: Hold, qty: Decimal, how: str, reason: str, at: str) -> Hold:
    """`qty` of the hold released or backordered; the hold closes when nothing is left."""
    held = hold.held - qty
    closed = held == 0
    return dataclasses.replace(
        hold,
        held=held,
        released=hold.released + (qty if how == "release" else ZERO),
        backordered=hold.backordered + (qty if how == "backorder" else ZERO),
        status=Status.RELEASED if closed else hold.status,
        close_reason=reason if closed else hold.close_reason,
        updated_at=at,
    )


def post_issues(
    wf: Workflow, hold: Hold, req: StepRequest, plan: Plan, at: str
) -> list[PlannedEvent]:
    """The consumed units leave the stock card as issues on the reservation's channel, with
    the order line as their source; flushed so the history can name the events."""
    site = wf.config.facilities_by_id[hold.facility_id]
    sku = wf.config.variants_by_id[hold.variant_id].sku
    events: list[PlannedEvent] = []
    for number, pick in enumerate(plan.issues, start=1):
        request = {
            "idempotency_key": f"{req.key}:issue:{number}", "kind": "issue", "sku": sku,
            "facility": site.code, "bin": pick.bin, "lot": pick.lot, "owner": pick.owner,
            "qty": pick.qty, "channel": hold.channel.value, "source": hold.reference.json(),
            "actor": req.actor, "role": req.role, "occurred_at": req.occurred_at or at,
            "comment": req.comment,
        }  # fmt: skip
        events += wf.post({name: value for name, value in request.items() if value is not None})
    wf.flush()
    return events


# -- expiry sweep ----------------------------------------------------------------------------


def _expire(wf: Workflow, at: str, facility: str | None, who: Actor) -> dict[str, Any]:
    site = find_facility(wf.config, facility) if facility else None
    authorise_sweep(wf, who, site)
    expired = []
    for facility_id, variant_id in due_stock(wf.tx, at, site):
        lock_promised(wf.tx, facility_id, variant_id)
        for hold in due_holds(wf.tx, facility_id, variant_id, at):
            plan = decide_expiry(hold, at)
            update_hold(wf.tx, plan.after)
            record(wf, hold, plan, who, at)
            expired.append(hold_json(plan.after, wf.config))
    return {"ok": True, "at": timeutil.iso(at), "expired": expired}


def authorise_sweep(wf: Workflow, who: Actor, site: Facility | None) -> None:
    """A scheduler's service account sweeps as sysadmin; people sweep where they may reserve."""
    action = "config.write" if who.role == Role.SYSADMIN.value else "reservation.write"
    access.authorise(
        wf.config.grants, who.actor, who.role, action, site.facility_id if site else None,
        wf.now, site.code if site else None,
    )  # fmt: skip


def due_stock(tx: Tx, at: str, site: Facility | None) -> list[tuple[int, int]]:
    """The facility + SKUs with expired open holds, in lock order."""
    where, params = "", [at]
    if site is not None:
        where, params = " and facility_id = ?", [at, site.facility_id]
    rows = tx.all(
        "select distinct facility_id, variant_id from reservation "
        "where status in ('reserved', 'allocated', 'committed') and expires_at <= ?" + where,
        params,
    )
    return sorted((row[0], row[1]) for row in rows)


def due_holds(tx: Tx, facility_id: int, variant_id: int, at: str) -> list[Hold]:
    """Read again under the facility + SKU's lock: a hold moved on meanwhile is left alone."""
    rows = tx.all(
        tx.locked(
            f"select {HOLD_COLUMNS} from reservation where facility_id = ? and variant_id = ? "
            "and status in ('reserved', 'allocated', 'committed') and expires_at <= ? "
            "order by reservation_id"
        ),
        (facility_id, variant_id, at),
    )
    return [_hold(row) for row in rows]


# -- reading and writing holds ---------------------------------------------------------------


def lock_promised(tx: Tx, facility_id: int, variant_id: int) -> Promised:
    """Lock the facility + SKU's promise row (creating it the first time) and read it: every
    change of its holds queues here, so the last units cannot be promised twice (L3.5)."""
    tx.run(
        "insert into reservation_hold (facility_id, variant_id, reserved_qty_e6, "
        "allocated_qty_e6, committed_qty_e6) values (?, ?, 0, 0, 0) "
        "on conflict (facility_id, variant_id) do nothing",
        (facility_id, variant_id),
    )
    return read_promised(tx, facility_id, variant_id, lock=True)


def read_promised(tx: Tx, facility_id: int, variant_id: int, *, lock: bool = False) -> Promised:
    sql = (
        "select reserved_qty_e6, allocated_qty_e6, committed_qty_e6 from reservation_hold "
        "where facility_id = ? and variant_id = ?"
    )
    row = tx.one(tx.locked(sql) if lock else sql, (facility_id, variant_id))
    if row is None:
        return Promised()
    return Promised(*(from_units(units) for units in row))  # type: ignore[arg-type]


def available_on_hand(tx: Tx, facility_id: int, variant_id: int, *, lock: bool = False) -> Decimal:
    """On hand in the available bucket at the facility: every bin, lot and owner."""
    sql = (
        "select qty_e6 from stock_balance where facility_id = ? and variant_id = ? "
        "and bucket = 'available' order by position_id"  # one lock order for every writer
    )
    rows = tx.all(tx.locked(sql) if lock else sql, (facility_id, variant_id))
    return from_units(sum(row[0] for row in rows)) or ZERO  # type: ignore[return-value]


def lock_hold(tx: Tx, reservation_id: int) -> Hold:
    """The reservation, read under its facility + SKU's lock."""
    row = tx.one(
        "select facility_id, variant_id from reservation where reservation_id = ?",
        (reservation_id,),
    )
    if row is None:
        raise unknown("unknown_reservation", "reservation_id", reservation_id)
    lock_promised(tx, row[0], row[1])
    return load_hold(tx, reservation_id, lock=True)


def load_hold(tx: Tx, reservation_id: int, *, lock: bool = False) -> Hold:
    sql = f"select {HOLD_COLUMNS} from reservation where reservation_id = ?"
    row = tx.one(tx.locked(sql) if lock else sql, (reservation_id,))
    if row is None:
        raise unknown("unknown_reservation", "reservation_id", reservation_id)
    return _hold(row)


def insert_hold(tx: Tx, hold: Hold) -> None:
    tx.run(
        f"insert into reservation ({HOLD_COLUMNS}) values ({', '.join('?' * 21)})",
        _hold_row(hold),
    )


def update_hold(tx: Tx, hold: Hold) -> None:
    tx.run(
        "update reservation set status = ?, held_qty_e6 = ?, released_qty_e6 = ?, "
        "backordered_qty_e6 = ?, consumed_qty_e6 = ?, expires_at = ?, requested_expires_at = ?, "
        "close_reason = ?, updated_at = ? where reservation_id = ?",
        (
            hold.status.value, to_units(hold.held), to_units(hold.released),
            to_units(hold.backordered), to_units(hold.consumed), hold.expires_at,
            hold.requested_expires_at, hold.close_reason, hold.updated_at, hold.reservation_id,
        ),
    )  # fmt: skip


def record(
    wf: Workflow,
    before: Hold | None,
    plan: Plan,
    who: Actor,
    at: str,
    event_ids: list[int] | None = None,
) -> None:
    """The promise totals follow the hold; every transition goes into the history and out
    through the outbox."""
    shift_promised(wf.tx, before, plan.after)
    ids = wf.tx.new_ids("reservation_history", len(plan.entries))
    for history_id, entry in zip(ids, plan.entries, strict=True):
        events = event_ids if entry.action == "consume" else None
        insert_history(wf.tx, history_id, plan.after, entry, who, at, wf.now, events)
        wf.emit(TOPICS[entry.action], message(plan.after, entry, who, at, events, wf.config))


def shift_promised(tx: Tx, before: Hold | None, after: Hold) -> None:
    delta = dict.fromkeys(OPEN, 0)
    if before is not None and before.status in OPEN:
        delta[before.status] -= to_units(before.held)  # type: ignore[operator]
    if after.status in OPEN:
        delta[after.status] += to_units(after.held)  # type: ignore[operator]
    tx.run(
        "update reservation_hold set reserved_qty_e6 = reserved_qty_e6 + ?, "
        "allocated_qty_e6 = allocated_qty_e6 + ?, committed_qty_e6 = committed_qty_e6 + ? "
        "where facility_id = ? and variant_id = ?",
        (*delta.values(), after.facility_id, after.variant_id),
    )


def insert_history(
    tx: Tx,
    history_id: int,
    hold: Hold,
    entry: Entry,
    who: Actor,
    at: str,
    posted_at: str,
    event_ids: list[int] | None,
) -> None:
    tx.run(
        "insert into reservation_history (history_id, reservation_id, action, from_status, "
        "to_status, qty_e6, held_after_e6, reason_code, expires_at, event_ids, operation_key, "
        "actor, role, comment, at, posted_at) values "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            history_id, hold.reservation_id, entry.action,
            entry.from_status.value if entry.from_status else None, entry.to_status.value,
            to_units(entry.qty), to_units(entry.held_after), entry.reason, entry.expires_at,
            ",".join(map(str, event_ids)) if event_ids else None, who.key, who.actor, who.role,
            who.comment, at, posted_at,
        ),
    )  # fmt: skip


# -- settings --------------------------------------------------------------------------------


def ttl_minutes(tx: Tx, channel: Channel, stage: Stage, facility_id: int | None) -> int:
    """The facility's override for the channel, else the channel's, else the default."""
    rows = tx.all(
        "select facility_id, minutes from reservation_ttl where channel = ? and stage = ? "
        "and (facility_id is null or facility_id = ?)",
        (channel.value, stage.value, facility_id),
    )
    overrides = dict(rows)
    if facility_id in overrides:
        return overrides[facility_id]
    if None in overrides:
        return overrides[None]
    return DEFAULT_TTL_MINUTES[stage][channel]


def backorder_allowed(tx: Tx, facility_id: int) -> bool:
    """The facility's backorder policy, else the organisation's, else no split."""
    rows = dict(
        tx.all(
            "select facility_id, allow_split from reservation_backorder_policy "
            "where facility_id is null or facility_id = ?",
            (facility_id,),
        )
    )
    rule = rows.get(facility_id, rows.get(None, False))
    return bool(rule)


def _minutes(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise validation_error("minutes", "must be a whole number of minutes")
    minutes = int(value)
    if not 0 < minutes <= MAX_TTL_MINUTES:
        raise validation_error("minutes", f"must be between 1 and {MAX_TTL_MINUTES}")
    return minutes


def _set_ttl(
    wf: Workflow, channel: Channel, stage: Stage, minutes: int, facility: str | None, who: Actor
) -> dict[str, Any]:
    site = find_facility(wf.config, facility) if facility else None
    authorise_config(wf, who, site)
    facility_id = site.facility_id if site else None
    row = wf.tx.one(
        "select minutes from reservation_ttl where channel = ? and stage = ? "
        "and coalesce(facility_id, 0) = ?",
        (channel.value, stage.value, facility_id or 0),
    )
    status = setting_status(row, minutes)
    if status == "created":
        wf.tx.run(
            "insert into reservation_ttl (channel, stage, facility_id, minutes, set_at, set_by) "
            "values (?, ?, ?, ?, ?, ?)",
            (channel.value, stage.value, facility_id, minutes, wf.now, who.actor),
        )
    elif status == "updated":
        wf.tx.run(
            "update reservation_ttl set minutes = ?, set_at = ?, set_by = ? where channel = ? "
            "and stage = ? and coalesce(facility_id, 0) = ?",
            (minutes, wf.now, who.actor, channel.value, stage.value, facility_id or 0),
        )
    result = {"channel": channel.value, "stage": stage.value, "facility": facility,
              "minutes": minutes}  # fmt: skip
    if status != "unchanged":
        wf.audit(who.actor, who.role, "reservation ttl", f"{channel}/{stage}/{facility or '*'}",
                 result)  # fmt: skip
    return {"ok": True, "status": status, **result}


def _set_backorder(
    wf: Workflow, allow_split: bool, facility: str | None, who: Actor
) -> dict[str, Any]:
    site = find_facility(wf.config, facility) if facility else None
    authorise_config(wf, who, site)
    facility_id = site.facility_id if site else None
    row = wf.tx.one(
        "select allow_split from reservation_backorder_policy where coalesce(facility_id, 0) = ?",
        (facility_id or 0,),
    )
    status = setting_status(None if row is None else (bool(row[0]),), allow_split)
    if status == "created":
        wf.tx.run(
            "insert into reservation_backorder_policy (facility_id, allow_split, set_at, set_by) "
            "values (?, ?, ?, ?)",
            (facility_id, allow_split, wf.now, who.actor),
        )
    elif status == "updated":
        wf.tx.run(
            "update reservation_backorder_policy set allow_split = ?, set_at = ?, set_by = ? "
            "where coalesce(facility_id, 0) = ?",
            (allow_split, wf.now, who.actor, facility_id or 0),
        )
    result = {"facility": facility, "allow_split": allow_split}
    if status != "unchanged":
        wf.audit(who.actor, who.role, "reservation backorder policy", facility or "*", result)
    return {"ok": True, "status": status, **result}


def authorise_config(wf: Workflow, who: Actor, site: Facility | None) -> None:
    access.authorise(
        wf.config.grants, who.actor, who.role, "config.write", site.facility_id if site else None,
        wf.now, site.code if site else None,
    )  # fmt: skip


def setting_status(row: tuple[Any, ...] | None, wanted: object) -> str:
    if row is None:
        return "created"
    return "unchanged" if row[0] == wanted else "updated"


# -- rendering -------------------------------------------------------------------------------


def later(at: str, minutes: int) -> str:
    return timeutil.stored(timeutil.parse_instant(at, "at") + timedelta(minutes=minutes))


def earliest(computed: str, requested: str | None) -> str:
    """The caller's own expiry wins when it is earlier than the TTL's (L3.2)."""
    return computed if requested is None else min(computed, requested)


def hold_json(hold: Hold, config: Config) -> dict[str, Any]:
    return {
        "reservation_id": hold.reservation_id,
        "reference": hold.reference.json(),
        "channel": hold.channel.value,
        "sku": config.variants_by_id[hold.variant_id].sku,
        "facility": config.facilities_by_id[hold.facility_id].code,
        "status": hold.status.value,
        "qty": fmt(hold.held),
        "requested_qty": fmt(hold.requested),
        "released_qty": fmt(hold.released),
        "backordered_qty": fmt(hold.backordered),
        "consumed_qty": fmt(hold.consumed),
        "overcommitted": hold.overcommitted,
        "expires_at": timeutil.iso(hold.expires_at),
        "requested_expires_at": timeutil.iso(hold.requested_expires_at),
        "close_reason": hold.close_reason,
        "actor": hold.actor,
        "role": hold.role,
        "created_at": timeutil.iso(hold.created_at),
        "updated_at": timeutil.iso(hold.updated_at),
    }


def history_json(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "action": row[0],
        "from_status": row[1],
        "to_status": row[2],
        "qty": fmt(from_units(row[3])),
        "qty_after": fmt(from_units(row[4])),
        "reason_code": row[5],
        "expires_at": timeutil.iso(row[6]),
        "event_ids": [int(part) for part in row[7].split(",")] if row[7] else [],
        "idempotency_key": row[8],
        "actor": row[9],
        "role": row[10],
        "comment": row[11],
        "at": timeutil.iso(row[12]),
    }


def message(
    hold: Hold, entry: Entry, who: Actor, at: str, event_ids: list[int] | None, config: Config
) -> dict[str, Any]:
    return {
        "reservation_id": hold.reservation_id,
        "reference": hold.reference.json(),
        "channel": hold.channel.value,
        "sku": config.variants_by_id[hold.variant_id].sku,
        "facility": config.facilities_by_id[hold.facility_id].code,
        "action": entry.action,
        "status": entry.to_status.value,
        "qty": fmt(entry.qty),
        "qty_after": fmt(entry.held_after),
        "reason_code": entry.reason,
        "expires_at": timeutil.iso(entry.expires_at),
        "event_ids": event_ids or [],
        "actor": who.actor,
        "at": timeutil.iso(at),
    }


def atp_json(variant: Variant, site: Facility, on_hand: Decimal, promised: Promised) -> dict:
    return {
        "sku": variant.sku,
        "facility": site.code,
        "on_hand": fmt(on_hand),
        "reserved": fmt(promised.reserved),
        "allocated": fmt(promised.allocated),
        "committed": fmt(promised.committed),
        "atp": fmt(on_hand - promised.total),
    }
