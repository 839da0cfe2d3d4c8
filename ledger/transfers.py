"""Transfers between facilities (SPEC L4): request and approval, shipments through the in-transit
node with the cost carried along, receipts and their exceptions. See docs/ledger-transfers.md."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from ledger import access, numbers, timeutil, workflow
from ledger.access import Viewer, can_see, can_see_cost
from ledger.config import Config, Facility, Variant
from ledger.errors import LedgerError, missing, unknown, validation_error
from ledger.numbers import ZERO, fmt, from_units, to_units
from ledger.operations import Caller, caller_of
from ledger.queries import lot_numbers
from ledger.requests import MAX_COMMENT, choice, currency_code, text
from ledger.session import PlannedEvent
from ledger.storage import Tx
from ledger.vocabulary import Bucket, CostingMethod, FacilityType, Kind, PartyKind
from ledger.workflow import Workflow

if TYPE_CHECKING:
    from ledger.api import Ledger

T = TypeVar("T")

MAX_LINES = 500
PERCENT = Decimal(100)


# -- vocabulary ------------------------------------------------------------------------------


class TransferStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    SUBMITTED = "submitted"
    SHIPPING = "shipping"
    RECEIVING = "receiving"
    RECEIVED = "received"
    RECEIVED_WITH_EXCEPTIONS = "received_with_exceptions"
    CANCELLED = "cancelled"


class ShipmentStatus(StrEnum):
    IN_TRANSIT = "in_transit"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    RECEIVED_WITH_EXCEPTIONS = "received_with_exceptions"


class ExceptionType(StrEnum):
    SHORT = "short"  # not arrived (yet): recorded, the units stay in transit
    DAMAGED = "damaged"  # arrived damaged: into the destination's damaged bucket
    LOST = "lost"  # written off from the in-transit node
    MISROUTED = "misrouted"  # arrived at another facility: moved there


CANCELLABLE = frozenset(
    {TransferStatus.DRAFT, TransferStatus.PENDING_APPROVAL, TransferStatus.SUBMITTED}
)
SHIPPABLE = frozenset({TransferStatus.SUBMITTED, TransferStatus.SHIPPING, TransferStatus.RECEIVING})
SETTLED = frozenset({ShipmentStatus.RECEIVED, ShipmentStatus.RECEIVED_WITH_EXCEPTIONS})
# Fields left out of read results for viewers without cost visibility (L8.3).
COST_FIELDS = frozenset(
    {"request_value", "goods_value", "transfer_cost", "in_transit_value", "value", "currency"}
)


# -- requests: parsed and validated without the database -------------------------------------


@dataclass(frozen=True, slots=True)
class LineRef:
    """A line named the way people name stock: SKU (or barcode), lot, owner."""

    sku: str
    lot: str | None
    owner: str | None


@dataclass(frozen=True, slots=True)
class QtyLine:
    ref: LineRef
    qty: Decimal
    bin: str | None = None


@dataclass(frozen=True, slots=True)
class NewTransfer:
    caller: Caller
    source: str
    destination: str
    via: str | None
    lines: tuple[QtyLine, ...]
    suggestion_id: str | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """Submitting or cancelling a transfer."""

    caller: Caller
    transfer_id: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class Approval:
    caller: Caller
    transfer_id: int
    reason: str
    lines: tuple[QtyLine, ...]  # adjusted quantities; lines not named keep the requested qty


@dataclass(frozen=True, slots=True)
class ShipOrder:
    caller: Caller
    transfer_id: int
    occurred_at: str
    lines: tuple[QtyLine, ...]
    transfer_cost: Decimal | None  # for the whole shipment, spread over lines by goods value
    transfer_cost_per_unit: Decimal | None
    currency: str | None
    final: bool  # the last shipment: what is left unshipped is short-shipped
    reason_code: str | None  # why the rest was short-shipped
    carrier: str | None
    reference: str | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class ReceiptException:
    type: ExceptionType
    ref: LineRef
    qty: Decimal
    reason_code: str
    facility: str | None  # misrouted: where the units arrived
    bin: str | None
    comment: str | None
    approver: str | None  # lost: approver of a write-off over the adjustment threshold


@dataclass(frozen=True, slots=True)
class ReceiptOrder:
    caller: Caller
    shipment_id: int
    occurred_at: str
    lines: tuple[QtyLine, ...]
    exceptions: tuple[ReceiptException, ...]
    comment: str | None


def fingerprint(order: object) -> str:
    """The idempotency fingerprint of a parsed order: quantities are already normalised."""
    return workflow.fingerprint(dataclasses.asdict(order))  # type: ignore[call-overload]


def fields_of(raw: object, where: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise validation_error(where, "must be a JSON object")
    extra = sorted(set(raw) - allowed)
    if extra:
        raise validation_error(extra[0], "is not a known field")
    return raw


def within(prefix: str, parse: Callable[[], T]) -> T:
    """Run `parse`, naming the field of a rejection inside `prefix` (e.g. `lines[2].qty`)."""
    try:
        return parse()
    except LedgerError as error:
        error.field = f"{prefix}.{error.field}" if error.field else prefix
        error.message = f"{prefix}.{error.message}"
        error.args = (error.message,)
        raise


def identifier(raw: Mapping[str, Any], field: str) -> int:
    value = raw.get(field)
    if value is None:
        raise missing(field)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise validation_error(field, "must be a positive integer id")
    try:
        number = int(value)
    except ValueError:
        raise validation_error(field, "must be a positive integer id") from None
    if number <= 0:
        raise validation_error(field, "must be a positive integer id")
    return number


def quantity(raw: Mapping[str, Any], field: str, *, zero_ok: bool = False) -> Decimal:
    if raw.get(field) is None:
        raise missing(field)
    qty = numbers.parse_quantity(raw[field], field)
    if qty < 0 or (qty == 0 and not zero_ok):
        raise validation_error(field, "must not be negative" if zero_ok else "must be positive")
    return qty


def instant(raw: Mapping[str, Any], field: str) -> str:
    if raw.get(field) in (None, ""):
        raise missing(field)
    return timeutil.stored(timeutil.parse_instant(raw[field], field))


def flag(raw: Mapping[str, Any], field: str) -> bool:
    value = raw.get(field, False)
    if not isinstance(value, bool):
        raise validation_error(field, "must be true or false")
    return value


def money_field(raw: Mapping[str, Any], field: str, *, per_unit: bool = False) -> Decimal | None:
    if raw.get(field) is None:
        return None
    parse = numbers.parse_cost if per_unit else numbers.parse_money
    value = parse(raw[field], field)
    if value < 0:
        raise validation_error(field, "must not be negative")
    return value


def parse_ref(raw: Mapping[str, Any]) -> LineRef:
    return LineRef(
        sku=text(raw, "sku", required=True), lot=text(raw, "lot"), owner=text(raw, "owner")
    )


def listed(
    raw: Mapping[str, Any], field: str, parse: Callable[[Mapping[str, Any]], T], *, required: bool
) -> tuple[T, ...]:
    value = raw.get(field)
    if value is None or value == []:
        if required:
            raise missing(field)
        return ()
    if not isinstance(value, list):
        raise validation_error(field, "must be a list")
    if len(value) > MAX_LINES:
        raise validation_error(field, f"must have at most {MAX_LINES} entries")
    items = []
    for index, item in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(item, Mapping):
            raise validation_error(where, "must be a JSON object")
        items.append(within(where, lambda item=item: parse(item)))
    return tuple(items)


def unique_refs(lines: Sequence[QtyLine], field: str) -> None:
    seen: dict[LineRef, int] = {}
    for index, line in enumerate(lines):
        if line.ref in seen:
            raise validation_error(
                f"{field}[{index}]", f"names the same stock as {field}[{seen[line.ref]}]"
            )
        seen[line.ref] = index


REQUEST_FIELDS = frozenset(
    {
        "idempotency_key", "actor", "role", "source", "destination", "via", "lines",
        "suggestion_id", "comment",
    }
)  # fmt: skip
REQUEST_LINE_FIELDS = frozenset({"sku", "lot", "owner", "qty"})


def parse_new_transfer(raw: object) -> NewTransfer:
    raw = fields_of(raw, "request", REQUEST_FIELDS)
    caller = caller_of(raw)

    def line(item: Mapping[str, Any]) -> QtyLine:
        item = fields_of(item, "line", REQUEST_LINE_FIELDS)
        return QtyLine(parse_ref(item), quantity(item, "qty"))

    lines = listed(raw, "lines", line, required=True)
    unique_refs(lines, "lines")
    source = text(raw, "source", required=True)
    destination = text(raw, "destination", required=True)
    if source == destination:
        raise validation_error("destination", "must differ from source")
    return NewTransfer(
        caller=caller,
        source=source,
        destination=destination,
        via=text(raw, "via"),
        lines=lines,
        suggestion_id=text(raw, "suggestion_id"),
        comment=text(raw, "comment", limit=MAX_COMMENT),
    )


DECISION_FIELDS = frozenset({"idempotency_key", "actor", "role", "transfer_id", "reason"})


def parse_decision(raw: object, *, reason_required: bool) -> Decision:
    raw = fields_of(raw, "request", DECISION_FIELDS)
    return Decision(
        caller=caller_of(raw),
        transfer_id=identifier(raw, "transfer_id"),
        reason=text(raw, "reason", required=reason_required, limit=MAX_COMMENT),
    )


APPROVAL_FIELDS = DECISION_FIELDS | {"lines"}


def parse_approval(raw: object) -> Approval:
    raw = fields_of(raw, "request", APPROVAL_FIELDS)
    caller = caller_of(raw)

    def line(item: Mapping[str, Any]) -> QtyLine:
        item = fields_of(item, "line", REQUEST_LINE_FIELDS)
        return QtyLine(parse_ref(item), quantity(item, "qty", zero_ok=True))

    lines = listed(raw, "lines", line, required=False)
    unique_refs(lines, "lines")
    return Approval(
        caller=caller,
        transfer_id=identifier(raw, "transfer_id"),
        reason=text(raw, "reason", required=True, limit=MAX_COMMENT),
        lines=lines,
    )


SHIP_FIELDS = frozenset(
    {
        "idempotency_key", "actor", "role", "transfer_id", "occurred_at", "lines",
        "transfer_cost", "transfer_cost_per_unit", "currency", "final", "reason_code",
        "carrier", "reference", "comment",
    }
)  # fmt: skip
SHIP_LINE_FIELDS = REQUEST_LINE_FIELDS | {"bin"}


def parse_ship_order(raw: object) -> ShipOrder:
    raw = fields_of(raw, "request", SHIP_FIELDS)
    caller = caller_of(raw)

    def line(item: Mapping[str, Any]) -> QtyLine:
        item = fields_of(item, "line", SHIP_LINE_FIELDS)
        return QtyLine(parse_ref(item), quantity(item, "qty"), text(item, "bin"))

    final = flag(raw, "final")
    lines = listed(raw, "lines", line, required=not final)
    unique_refs(lines, "lines")
    cost = money_field(raw, "transfer_cost")
    per_unit = money_field(raw, "transfer_cost_per_unit", per_unit=True)
    currency = currency_code(raw, "currency")
    if (cost or per_unit) and currency is None:
        raise missing("currency")
    return ShipOrder(
        caller=caller,
        transfer_id=identifier(raw, "transfer_id"),
        occurred_at=instant(raw, "occurred_at"),
        lines=lines,
        transfer_cost=cost,
        transfer_cost_per_unit=per_unit,
        currency=currency,
        final=final,
        reason_code=text(raw, "reason_code"),
        carrier=text(raw, "carrier"),
        reference=text(raw, "reference"),
        comment=text(raw, "comment", limit=MAX_COMMENT),
    )


RECEIPT_FIELDS = frozenset(
    {"idempotency_key", "actor", "role", "shipment_id", "occurred_at", "lines", "exceptions",
     "comment"}
)  # fmt: skip
EXCEPTION_FIELDS = REQUEST_LINE_FIELDS | {
    "type", "reason_code", "facility", "bin", "comment", "approver",
}  # fmt: skip


def parse_exception(item: Mapping[str, Any]) -> ReceiptException:
    item = fields_of(item, "exception", EXCEPTION_FIELDS)
    kind = choice(item, "type", ExceptionType, required=True)
    reason = text(item, "reason_code")
    if reason is None:
        raise LedgerError(
            "reason_required",
            f"reason_code: is required for a {kind.value} exception",
            field="reason_code",
        )
    facility = text(item, "facility")
    if kind is ExceptionType.MISROUTED and facility is None:
        raise missing("facility")
    allowed = {
        "facility": kind is ExceptionType.MISROUTED,
        "bin": kind in (ExceptionType.MISROUTED, ExceptionType.DAMAGED),
        "approver": kind is ExceptionType.LOST,
    }
    for name, applies in allowed.items():
        if not applies and item.get(name) is not None:
            raise validation_error(name, f"does not apply to a {kind.value} exception")
    return ReceiptException(
        type=kind,
        ref=parse_ref(item),
        qty=quantity(item, "qty"),
        reason_code=reason,
        facility=facility,
        bin=text(item, "bin"),
        comment=text(item, "comment", limit=MAX_COMMENT),
        approver=text(item, "approver"),
    )


def parse_receipt_order(raw: object) -> ReceiptOrder:
    raw = fields_of(raw, "request", RECEIPT_FIELDS)
    caller = caller_of(raw)

    def line(item: Mapping[str, Any]) -> QtyLine:
        item = fields_of(item, "line", SHIP_LINE_FIELDS)
        return QtyLine(parse_ref(item), quantity(item, "qty"), text(item, "bin"))

    lines = listed(raw, "lines", line, required=False)
    unique_refs(lines, "lines")
    exceptions = listed(raw, "exceptions", parse_exception, required=False)
    if not lines and not exceptions:
        raise missing("lines")
    return ReceiptOrder(
        caller=caller,
        shipment_id=identifier(raw, "shipment_id"),
        occurred_at=instant(raw, "occurred_at"),
        lines=lines,
        exceptions=exceptions,
        comment=text(raw, "comment", limit=MAX_COMMENT),
    )


# -- state: the transfer's rows, read (and locked) in the transaction --------------------------


@dataclass(slots=True)
class TransferLine:
    line_no: int
    variant_id: int
    lot_id: int | None
    owner_id: int
    requested: Decimal
    approved: Decimal | None = None
    shipped: Decimal = ZERO
    short_shipped: Decimal = ZERO
    short_ship_reason: str | None = None

    @property
    def open_qty(self) -> Decimal:
        """What is still to ship: approved, less shipped and short-shipped."""
        return (self.approved or ZERO) - self.shipped - self.short_shipped


@dataclass(slots=True)
class Transfer:
    transfer_id: int
    org_id: int
    source_id: int
    destination_id: int
    transit_id: int
    status: TransferStatus
    suggestion_id: str | None
    comment: str | None
    requested_by: str
    requested_role: str
    requested_at: str
    submitted_at: str | None = None
    request_value: Decimal | None = None
    approval_required: bool | None = None
    approval_triggers: str | None = None
    approved_by: str | None = None
    approved_role: str | None = None
    approved_at: str | None = None
    approval_reason: str | None = None
    cancelled_by: str | None = None
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    shipping_closed: bool = False
    updated_at: str = ""
    lines: list[TransferLine] = dataclasses.field(default_factory=list)


@dataclass(slots=True)
class ShipmentLine:
    line_no: int
    transfer_line_no: int
    variant_id: int
    lot_id: int | None
    owner_id: int
    from_location_id: int
    shipped: Decimal
    goods_value: Decimal
    transfer_cost: Decimal
    received: Decimal = ZERO
    damaged: Decimal = ZERO
    lost: Decimal = ZERO
    misrouted: Decimal = ZERO
    short: Decimal = ZERO
    cleared_value: Decimal = ZERO  # value that has left the in-transit node

    @property
    def in_transit_qty(self) -> Decimal:
        return self.shipped - self.received - self.damaged - self.lost - self.misrouted

    @property
    def in_transit_value(self) -> Decimal:
        return self.goods_value + self.transfer_cost - self.cleared_value

    @property
    def has_exceptions(self) -> bool:
        return bool(self.damaged or self.lost or self.misrouted)


@dataclass(slots=True)
class Shipment:
    shipment_id: int
    transfer_id: int
    shipment_no: int
    status: ShipmentStatus
    shipped_by: str
    shipped_role: str
    shipped_at: str
    posted_at: str
    carrier: str | None
    reference: str | None
    transfer_cost: Decimal
    currency: str
    settled_at: str | None
    updated_at: str
    lines: list[ShipmentLine] = dataclasses.field(default_factory=list)


TRANSFER_COLUMNS = (
    "transfer_id, org_id, source_facility_id, destination_facility_id, in_transit_facility_id, "
    "status, suggestion_id, comment, requested_by, requested_role, requested_at, submitted_at, "
    "request_value_e6, approval_required, approval_triggers, approved_by, approved_role, "
    "approved_at, approval_reason, cancelled_by, cancelled_at, cancel_reason, shipping_closed, "
    "updated_at"
)
LINE_COLUMNS = (
    "line_no, variant_id, lot_id, owner_id, requested_qty_e6, approved_qty_e6, shipped_qty_e6, "
    "short_shipped_qty_e6, short_ship_reason"
)
SHIPMENT_COLUMNS = (
    "shipment_id, transfer_id, shipment_no, status, shipped_by, shipped_role, shipped_at, "
    "posted_at, carrier, reference, transfer_cost_e6, currency, settled_at, updated_at"
)
SHIPMENT_LINE_COLUMNS = (
    "line_no, transfer_line_no, variant_id, lot_id, owner_id, from_location_id, shipped_qty_e6, "
    "goods_value_e6, transfer_cost_e6, received_qty_e6, damaged_qty_e6, lost_qty_e6, "
    "misrouted_qty_e6, short_qty_e6, cleared_value_e6"
)


def _transfer(row: Sequence[Any]) -> Transfer:
    flag_value = None if row[13] is None else bool(row[13])
    return Transfer(
        *row[:5], TransferStatus(row[5]), *row[6:12], from_units(row[12]), flag_value,
        *row[14:22], bool(row[22]), row[23],
    )  # fmt: skip


def _line(row: Sequence[Any]) -> TransferLine:
    return TransferLine(
        row[0], row[1], row[2], row[3], from_units(row[4]), from_units(row[5]),
        from_units(row[6]), from_units(row[7]), row[8],
    )  # fmt: skip


def _shipment(row: Sequence[Any]) -> Shipment:
    return Shipment(*row[:3], ShipmentStatus(row[3]), *row[4:10], from_units(row[10]), *row[11:14])


def _shipment_line(row: Sequence[Any]) -> ShipmentLine:
    return ShipmentLine(*row[:6], *(from_units(value) for value in row[6:15]))


def load_transfer(tx: Tx, transfer_id: int, *, lock: bool = False) -> Transfer:
    """A transfer and its lines; `lock` holds the row until commit, so operations on one
    transfer are applied one after the other (PostgreSQL; SQLite has one writer anyway)."""
    sql = f"select {TRANSFER_COLUMNS} from transfer_request where transfer_id = ?"
    row = tx.one(tx.locked(sql) if lock else sql, (transfer_id,))
    if row is None:
        raise unknown("unknown_transfer", "transfer_id", transfer_id)
    transfer = _transfer(row)
    transfer.lines = [
        _line(line)
        for line in tx.all(
            f"select {LINE_COLUMNS} from transfer_request_line where transfer_id = ? "
            "order by line_no",
            (transfer_id,),
        )
    ]
    return transfer


def load_shipments(tx: Tx, transfer_id: int) -> list[Shipment]:
    shipments = [
        _shipment(row)
        for row in tx.all(
            f"select {SHIPMENT_COLUMNS} from transfer_shipment where transfer_id = ? "
            "order by shipment_no",
            (transfer_id,),
        )
    ]
    by_id = {shipment.shipment_id: shipment for shipment in shipments}
    rows = tx.all(
        f"select shipment_id, {SHIPMENT_LINE_COLUMNS} from transfer_shipment_line "
        "where shipment_id in (select shipment_id from transfer_shipment where transfer_id = ?) "
        "order by shipment_id, line_no",
        (transfer_id,),
    )
    for row in rows:
        by_id[row[0]].lines.append(_shipment_line(row[1:]))
    return shipments


def transfer_of_shipment(tx: Tx, shipment_id: int) -> int:
    row = tx.one("select transfer_id from transfer_shipment where shipment_id = ?", (shipment_id,))
    if row is None:
        raise unknown("unknown_shipment", "shipment_id", shipment_id)
    return row[0]


def has_receipts(tx: Tx, transfer_id: int) -> bool:
    return (
        tx.one("select 1 from transfer_receipt where transfer_id = ?", (transfer_id,)) is not None
    )


@dataclass(frozen=True, slots=True)
class Sites:
    source: Facility
    destination: Facility
    transit: Facility

    @classmethod
    def of(cls, config: Config, transfer: Transfer) -> Sites:
        by_id = config.facilities_by_id
        return cls(
            by_id[transfer.source_id], by_id[transfer.destination_id], by_id[transfer.transit_id]
        )


@dataclass(frozen=True, slots=True)
class Stock:
    """Resolved stock of a line: variant, lot, owner."""

    variant: Variant
    lot_id: int | None
    owner_id: int


def resolve_stock(tx: Tx, config: Config, ref: LineRef, org_id: int) -> Stock:
    variant = config.variant(ref.sku)
    if variant is None:
        raise unknown("unknown_sku", "sku", ref.sku)
    owner_id = org_id
    if ref.owner is not None:
        party = config.parties.get(ref.owner)
        if party is None:
            raise unknown("unknown_owner", "owner", ref.owner)
        owner_id = party.party_id
    lot_id = None
    if ref.lot is not None:
        item = config.items_by_id[variant.item_id]
        if not item.lot_tracked:
            raise validation_error("lot", f"item {item.code} is not lot-tracked")
        row = tx.one(
            "select lot_id from lot where variant_id = ? and lot_number = ?",
            (variant.variant_id, ref.lot),
        )
        if row is None:
            raise LedgerError(
                "unknown_lot", f"lot: no lot {ref.lot!r} of {variant.sku}", field="lot"
            )
        lot_id = row[0]
    return Stock(variant, lot_id, owner_id)


def resolve_facility(config: Config, code: str, field: str) -> Facility:
    facility = config.facilities.get(code)
    if facility is None:
        raise unknown("unknown_facility", field, code)
    return facility


def in_transit_node(config: Config, via: str | None, org_id: int) -> Facility:
    """The in-transit facility a transfer passes through: the one named, else the
    organisation's only one."""
    if via is not None:
        node = resolve_facility(config, via, "via")
        if node.facility_type is not FacilityType.IN_TRANSIT or node.org_id != org_id:
            raise validation_error(
                "via", f"{via} is not an in-transit facility of the organisation"
            )
        return node
    nodes = [
        facility
        for facility in config.facilities.values()
        if facility.facility_type is FacilityType.IN_TRANSIT and facility.org_id == org_id
    ]
    if len(nodes) != 1:
        raise validation_error("via", f"name the in-transit facility ({len(nodes)} configured)")
    return nodes[0]


def check_route(sites: Sites) -> None:
    """Stock moves between stocking facilities of one organisation, in one currency, so the
    carried value means the same at both ends."""
    check_stocking(sites.source, "source", sites.source)
    check_stocking(sites.destination, "destination", sites.source)
    check_currency(sites.transit, "via", sites.source)


def check_stocking(facility: Facility, field: str, source: Facility) -> None:
    if facility.facility_type is FacilityType.IN_TRANSIT:
        raise validation_error(field, "must be a stocking facility, not the in-transit node")
    if facility.org_id != source.org_id:
        raise validation_error(field, "must belong to the source's organisation")
    check_currency(facility, field, source)


def check_currency(facility: Facility, field: str, source: Facility) -> None:
    if facility.currency != source.currency:
        raise LedgerError(
            "currency_mismatch",
            f"{field}: {facility.code} keeps stock in {facility.currency}, the source in "
            f"{source.currency}",
            field=field,
        )


# -- rules: decisions that read nothing and write nothing --------------------------------------


@dataclass(frozen=True, slots=True)
class LineAssessment:
    line_no: int
    on_hand: Decimal
    average_cost: Decimal
    value: Decimal
    share_pct: Decimal | None  # the share of the source's on-hand; None: nothing on hand


@dataclass(frozen=True, slots=True)
class Assessment:
    value: Decimal
    lines: tuple[LineAssessment, ...]
    triggers: tuple[str, ...]  # "value", "share": the thresholds the request is over


def assess(
    lines: Sequence[TransferLine],
    stock: Mapping[int, tuple[Decimal, Decimal]],
    value_threshold: Decimal | None,
    pct_threshold: Decimal | None,
) -> Assessment:
    """Whether a request needs approval: its value at the source's average cost over the value
    threshold, or any line taking more than the percentage threshold of the source's on-hand
    (a line with nothing on hand takes all of it)."""
    assessed = []
    for line in lines:
        on_hand, average = stock[line.line_no]
        share = line.requested / on_hand * PERCENT if on_hand > 0 else None
        value = numbers.money(line.requested * average)
        assessed.append(LineAssessment(line.line_no, on_hand, average, value, share))
    total = sum((line.value for line in assessed), ZERO)
    triggers = []
    if access.approval_needed(value_threshold, total):
        triggers.append("value")
    if pct_threshold is not None and any(
        line.share_pct is None or line.share_pct > pct_threshold for line in assessed
    ):
        triggers.append("share")
    return Assessment(total, tuple(assessed), tuple(triggers))


def shipment_status(lines: Sequence[ShipmentLine]) -> ShipmentStatus:
    """Settled when no unit is left in transit; with exceptions when any unit was damaged,
    lost or misrouted; partially received once anything was recorded against it."""
    if all(line.in_transit_qty == 0 for line in lines):
        if any(line.has_exceptions for line in lines):
            return ShipmentStatus.RECEIVED_WITH_EXCEPTIONS
        return ShipmentStatus.RECEIVED
    recorded = any(line.in_transit_qty != line.shipped or line.short for line in lines)
    return ShipmentStatus.PARTIALLY_RECEIVED if recorded else ShipmentStatus.IN_TRANSIT


def progress(
    transfer: Transfer, shipments: Sequence[Shipment], received_any: bool
) -> TransferStatus:
    """A shipped transfer's status: shipping until the first receipt, then receiving until
    shipping is closed and every shipment is settled."""
    if transfer.shipping_closed and all(shipment.status in SETTLED for shipment in shipments):
        exceptional = any(
            shipment.status is ShipmentStatus.RECEIVED_WITH_EXCEPTIONS for shipment in shipments
        ) or any(line.short_shipped for line in transfer.lines)
        return TransferStatus.RECEIVED_WITH_EXCEPTIONS if exceptional else TransferStatus.RECEIVED
    return TransferStatus.RECEIVING if received_any else TransferStatus.SHIPPING


def invalid_transition(
    transfer: Transfer, action: str, allowed: str, message: str | None = None
) -> LedgerError:
    """The transfer's status does not allow the operation (HTTP 409, a conflict with its state)."""
    error = LedgerError(
        "invalid_transition",
        message
        or f"transfer_id: transfer {transfer.transfer_id} is {transfer.status.value}; "
        f"only {allowed} can be {action}",
        field="transfer_id",
        current_status=transfer.status.value,
    )
    error.status = 409
    return error


@dataclass(slots=True)
class Leg:
    """Stock leaving one position, in the pieces its cost came in: one piece at the average,
    or one per FIFO layer consumed, so the next position keeps the layers' unit costs."""

    qty: Decimal
    value: Decimal | None  # None: consigned stock, which carries no cost
    extra: Decimal = ZERO  # transfer cost added on the way


def legs_of(event: PlannedEvent, owned: bool) -> list[Leg]:
    if not owned:
        return [Leg(-event.qty, None)]
    if event.entries:
        return [Leg(-entry.qty, -entry.value) for entry in event.entries]
    return [Leg(-event.qty, -event.cost_delta)]


def spread_transfer_cost(
    legs: Sequence[Leg], total: Decimal | None, per_unit: Decimal | None
) -> None:
    """Add the transfer cost to the owned legs: a per-unit rate by quantity, a shipment amount
    by goods value (by quantity when the goods carry no value); the last leg takes the rest."""
    owned = [leg for leg in legs if leg.value is not None]
    if (total or per_unit) and not owned:
        raise validation_error("transfer_cost", "consigned stock carries no cost")
    for leg in owned:
        leg.extra = numbers.money(leg.qty * per_unit) if per_unit else ZERO
    if not total:
        return
    weights = [leg.value for leg in owned]
    if not any(weights):
        weights = [leg.qty for leg in owned]
    whole = sum(weights, ZERO)  # type: ignore[arg-type]
    left = total
    for index, (leg, weight) in enumerate(zip(owned, weights, strict=True)):
        part = left if index == len(owned) - 1 else numbers.money(total * weight / whole)
        leg.extra += part
        left -= part


@dataclass(slots=True)
class Pick:
    """One shipment line: the transfer line it fulfils and the stock it takes."""

    index: int
    line: TransferLine
    stock: Stock
    qty: Decimal
    bin: str | None


def match_transfer_line(transfer: Transfer, stock: Stock) -> TransferLine:
    for line in transfer.lines:
        if line.variant_id == stock.variant.variant_id and line.owner_id == stock.owner_id:
            if line.lot_id is not None and stock.lot_id not in (None, line.lot_id):
                raise validation_error("lot", "differs from the lot the transfer line asks for")
            return line
    raise validation_error("sku", f"{stock.variant.sku} is not on transfer {transfer.transfer_id}")


def check_quantities_to_ship(picks: Sequence[Pick]) -> None:
    wanted: dict[int, Decimal] = {}
    for pick in picks:
        wanted[pick.line.line_no] = wanted.get(pick.line.line_no, ZERO) + pick.qty
    for pick in picks:
        if wanted[pick.line.line_no] > pick.line.open_qty:
            raise LedgerError(
                "over_shipment",
                f"lines[{pick.index}].qty: {fmt(wanted[pick.line.line_no])} exceeds the "
                f"{fmt(pick.line.open_qty)} of {pick.stock.variant.sku} left to ship",
                field=f"lines[{pick.index}].qty",
                open_qty=fmt(pick.line.open_qty),
            )


@dataclass(slots=True)
class Piece:
    """Units of one shipment line settled by a receipt: received, or an exception."""

    index: int  # position in the request's lines, or in its exceptions
    line: ShipmentLine
    qty: Decimal
    exception: ReceiptException | None = None
    facility: Facility | None = None  # where the units go; None for losses and shorts
    bin: str | None = None
    exception_id: int | None = None
    events: list[PlannedEvent] = dataclasses.field(default_factory=list)
    cleared: Decimal = ZERO  # value taken out of the in-transit node

    @property
    def type(self) -> ExceptionType | None:
        return self.exception.type if self.exception else None

    @property
    def field(self) -> str:
        return f"exceptions[{self.index}]" if self.exception else f"lines[{self.index}]"


def match_shipment_line(shipment: Shipment, stock: Stock, lot_named: bool) -> ShipmentLine:
    candidates = [
        line
        for line in shipment.lines
        if line.variant_id == stock.variant.variant_id
        and line.owner_id == stock.owner_id
        and (not lot_named or line.lot_id == stock.lot_id)
    ]
    if not candidates:
        raise validation_error(
            "sku", f"{stock.variant.sku} is not on shipment {shipment.shipment_id}"
        )
    if len(candidates) > 1:
        raise missing("lot")
    return candidates[0]


def check_quantities_to_receive(pieces: Sequence[Piece]) -> None:
    """Nothing settles more than is in transit, and a short names units still in transit: the
    piece that takes a shipment line over is the one refused."""
    asked: dict[int, Decimal] = {}
    for piece in pieces:
        line = piece.line
        asked[line.line_no] = asked.get(line.line_no, ZERO) + piece.qty
        if asked[line.line_no] > line.in_transit_qty:
            raise LedgerError(
                "over_receipt",
                f"{piece.field}.qty: {fmt(asked[line.line_no])} exceeds the "
                f"{fmt(line.in_transit_qty)} still in transit on this shipment line",
                field=f"{piece.field}.qty",
                in_transit=fmt(line.in_transit_qty),
            )


# -- access: who may do what, where (L8) -----------------------------------------------------


def authorise(wf: Workflow, caller: Caller, action: str, facility: Facility) -> None:
    access.authorise(
        wf.config.grants, caller.actor, caller.role, action, facility.facility_id, wf.now,
        facility.code,
    )  # fmt: skip


def authorise_requester(wf: Workflow, caller: Caller, sites: Sites) -> None:
    """Requesting needs "transfer.request" at either end: a store asks its warehouse for stock,
    or a warehouse pushes stock out to a store."""
    try:
        authorise(wf, caller, "transfer.request", sites.source)
    except LedgerError as error:
        if error.field == "role":
            raise
        try:
            authorise(wf, caller, "transfer.request", sites.destination)
        except LedgerError:
            error.message = (
                f"actor: {caller.actor!r} holds no valid grant as {caller.role} at "
                f"{sites.source.code} or {sites.destination.code}"
            )
            error.args = (error.message,)
            raise error from None


def authorise_canceller(wf: Workflow, caller: Caller, sites: Sites) -> None:
    """Whoever may request the transfer may cancel it, and so may an approver (a rejection)."""
    try:
        authorise_requester(wf, caller, sites)
    except LedgerError as error:
        try:
            authorise(wf, caller, "transfer.approve", sites.source)
        except LedgerError:
            raise error from None


def check_self_approval(wf: Workflow, transfer: Transfer, caller: Caller) -> None:
    policy = wf.config.approval_policy(transfer.source_id)
    if policy.no_self_approval and caller.actor == transfer.requested_by:
        error = LedgerError(
            "self_approval", "actor: may not approve a transfer they requested", field="actor"
        )
        error.status = 403
        raise error


def check_reason_code(config: Config, code: str, field: str) -> None:
    reason = config.reasons.get(code)
    if reason is None or not reason.is_active:
        raise unknown("unknown_reason_code", field, code)


# -- writes ------------------------------------------------------------------------------------


def save_transfer(tx: Tx, transfer: Transfer) -> None:
    tx.run(
        "update transfer_request set status = ?, submitted_at = ?, request_value_e6 = ?, "
        "approval_required = ?, approval_triggers = ?, approved_by = ?, approved_role = ?, "
        "approved_at = ?, approval_reason = ?, cancelled_by = ?, cancelled_at = ?, "
        "cancel_reason = ?, shipping_closed = ?, updated_at = ? where transfer_id = ?",
        (
            transfer.status.value, transfer.submitted_at, to_units(transfer.request_value),
            transfer.approval_required, transfer.approval_triggers, transfer.approved_by,
            transfer.approved_role, transfer.approved_at, transfer.approval_reason,
            transfer.cancelled_by, transfer.cancelled_at, transfer.cancel_reason,
            transfer.shipping_closed, transfer.updated_at, transfer.transfer_id,
        ),
    )  # fmt: skip
    tx.many(
        "update transfer_request_line set approved_qty_e6 = ?, shipped_qty_e6 = ?, "
        "short_shipped_qty_e6 = ?, short_ship_reason = ? where transfer_id = ? and line_no = ?",
        [
            (to_units(line.approved), to_units(line.shipped), to_units(line.short_shipped),
             line.short_ship_reason, transfer.transfer_id, line.line_no)
            for line in transfer.lines
        ],
    )  # fmt: skip


def insert_transfer(tx: Tx, transfer: Transfer) -> None:
    tx.run(
        "insert into transfer_request (transfer_id, org_id, source_facility_id, "
        "destination_facility_id, in_transit_facility_id, status, suggestion_id, comment, "
        "requested_by, requested_role, requested_at, shipping_closed, updated_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            transfer.transfer_id, transfer.org_id, transfer.source_id, transfer.destination_id,
            transfer.transit_id, transfer.status.value, transfer.suggestion_id, transfer.comment,
            transfer.requested_by, transfer.requested_role, transfer.requested_at, False,
            transfer.updated_at,
        ),
    )  # fmt: skip
    tx.many(
        f"insert into transfer_request_line (transfer_id, {LINE_COLUMNS}) "
        f"values ({', '.join('?' * 10)})",
        [
            (transfer.transfer_id, line.line_no, line.variant_id, line.lot_id, line.owner_id,
             to_units(line.requested), None, 0, 0, None)
            for line in transfer.lines
        ],
    )  # fmt: skip


def insert_shipment(tx: Tx, shipment: Shipment) -> None:
    tx.run(
        f"insert into transfer_shipment ({SHIPMENT_COLUMNS}) values ({', '.join('?' * 14)})",
        (
            shipment.shipment_id, shipment.transfer_id, shipment.shipment_no,
            shipment.status.value, shipment.shipped_by, shipment.shipped_role, shipment.shipped_at,
            shipment.posted_at, shipment.carrier, shipment.reference,
            to_units(shipment.transfer_cost), shipment.currency, shipment.settled_at,
            shipment.updated_at,
        ),
    )  # fmt: skip
    tx.many(
        f"insert into transfer_shipment_line (shipment_id, {SHIPMENT_LINE_COLUMNS}) "
        f"values ({', '.join('?' * 16)})",
        [(shipment.shipment_id, *shipment_line_row(line)) for line in shipment.lines],
    )


def shipment_line_row(line: ShipmentLine) -> tuple[Any, ...]:
    return (
        line.line_no, line.transfer_line_no, line.variant_id, line.lot_id, line.owner_id,
        line.from_location_id, *(to_units(value) for value in (
            line.shipped, line.goods_value, line.transfer_cost, line.received, line.damaged,
            line.lost, line.misrouted, line.short, line.cleared_value,
        )),
    )  # fmt: skip


def save_shipment(tx: Tx, shipment: Shipment) -> None:
    tx.run(
        "update transfer_shipment set status = ?, settled_at = ?, updated_at = ? "
        "where shipment_id = ?",
        (shipment.status.value, shipment.settled_at, shipment.updated_at, shipment.shipment_id),
    )
    tx.many(
        "update transfer_shipment_line set received_qty_e6 = ?, damaged_qty_e6 = ?, "
        "lost_qty_e6 = ?, misrouted_qty_e6 = ?, short_qty_e6 = ?, cleared_value_e6 = ? "
        "where shipment_id = ? and line_no = ?",
        [
            (*(to_units(value) for value in (
                line.received, line.damaged, line.lost, line.misrouted, line.short,
                line.cleared_value,
            )), shipment.shipment_id, line.line_no)
            for line in shipment.lines
        ],
    )  # fmt: skip


def record_status(
    wf: Workflow,
    transfer_id: int,
    shipment_id: int | None,
    before: str | None,
    after: str,
    caller: Caller,
    reason: str | None = None,
) -> None:
    if before == after:
        return
    before, after = (str(before) if before else None), str(after)
    change_id = wf.tx.new_ids("transfer_status_change", 1)[0]
    wf.tx.run(
        "insert into transfer_status_change (change_id, transfer_id, shipment_id, from_status, "
        "to_status, actor, role, at, reason) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (change_id, transfer_id, shipment_id, before, after, caller.actor, caller.role, wf.now,
         reason),
    )  # fmt: skip


def link_events(
    wf: Workflow,
    transfer_id: int,
    shipment_id: int,
    line_no: int,
    leg: str,
    events: Sequence[PlannedEvent],
    receipt_id: int | None = None,
    exception_id: int | None = None,
) -> None:
    wf.tx.many(
        "insert into transfer_stock_event (event_id, transfer_id, shipment_id, shipment_line_no, "
        "receipt_id, exception_id, leg) values (?, ?, ?, ?, ?, ?, ?)",
        [
            (event.event_id, transfer_id, shipment_id, line_no, receipt_id, exception_id, leg)
            for event in events
        ],
    )


def base_posting(
    caller: Caller, occurred_at: str, key: str, document: tuple[str, int, int]
) -> dict[str, Any]:
    """What every movement of an operation shares: who, when, and the document it came from."""
    return {
        "idempotency_key": key,
        "actor": caller.actor,
        "role": caller.role,
        "occurred_at": occurred_at,
        "source": {
            "document_type": document[0],
            "document_id": str(document[1]),
            "line": str(document[2]),
        },
    }


def post(wf: Workflow, where: str, request: dict[str, Any]) -> list[PlannedEvent]:
    """Post one movement; a rejection names the request's field it came from."""
    return within(where, lambda: wf.post({k: v for k, v in request.items() if v is not None}))


def is_owned(config: Config, stock: Stock) -> bool:
    return config.parties_by_id[stock.owner_id].kind is PartyKind.ORG


# -- operations --------------------------------------------------------------------------------


def operate(
    ledger: Ledger,
    operation: str,
    caller: Caller,
    subject: str,
    digest: str,
    work: Callable[[Workflow], dict[str, Any]],
) -> dict[str, Any]:
    """Run one operation in one write transaction: a retry with the same key and request gets
    the first result (`replayed: true`); refusals by access control stay in the audit trail."""

    def attempt(wf: Workflow) -> dict[str, Any]:
        replay = wf.replay(operation, caller.key, digest)
        if replay is not None:
            return replay
        result = work(wf)
        return wf.remember(operation, caller.key, digest, {"ok": True, **result})

    return workflow.run(
        ledger, attempt, actor=caller.actor, role=caller.role, action=operation, subject=subject
    )


def announce(
    wf: Workflow, caller: Caller, operation: str, topic: str, message: dict[str, Any]
) -> None:
    """The outbox message of an operation and its audit row: the same facts."""
    wf.emit(topic, message)
    wf.audit(caller.actor, caller.role, operation, f"transfer {message['transfer_id']}", message)


def request_transfer(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Create a transfer request in `draft`."""
    order = parse_new_transfer(request)

    def work(wf: Workflow) -> dict[str, Any]:
        config = wf.config
        source = resolve_facility(config, order.source, "source")
        destination = resolve_facility(config, order.destination, "destination")
        sites = Sites(source, destination, in_transit_node(config, order.via, source.org_id))
        check_route(sites)
        authorise_requester(wf, order.caller, sites)
        transfer = Transfer(
            transfer_id=wf.tx.new_ids("transfer_request", 1)[0],
            org_id=source.org_id,
            source_id=source.facility_id,
            destination_id=destination.facility_id,
            transit_id=sites.transit.facility_id,
            status=TransferStatus.DRAFT,
            suggestion_id=order.suggestion_id,
            comment=order.comment,
            requested_by=order.caller.actor,
            requested_role=order.caller.role,
            requested_at=wf.now,
            updated_at=wf.now,
            lines=new_lines(wf.tx, config, order.lines, source.org_id),
        )
        insert_transfer(wf.tx, transfer)
        record_status(wf, transfer.transfer_id, None, None, transfer.status, order.caller)
        view = transfer_view(wf.tx, config, transfer.transfer_id)
        announce(wf, order.caller, "transfer.request", "transfer-requested", summary(view))
        return view

    subject = f"transfer {order.source}->{order.destination}"
    return operate(ledger, "transfer.request", order.caller, subject, fingerprint(order), work)


def new_lines(tx: Tx, config: Config, lines: Sequence[QtyLine], org_id: int) -> list[TransferLine]:
    """The request's lines, resolved; one line per SKU and owner."""
    resolved: list[TransferLine] = []
    seen: dict[tuple[int, int], int] = {}
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        stock = within(where, lambda line=line: resolve_stock(tx, config, line.ref, org_id))
        key = (stock.variant.variant_id, stock.owner_id)
        if key in seen:
            raise validation_error(where, f"names the same SKU and owner as lines[{seen[key]}]")
        seen[key] = index
        resolved.append(
            TransferLine(
                line_no=index + 1,
                variant_id=stock.variant.variant_id,
                lot_id=stock.lot_id,
                owner_id=stock.owner_id,
                requested=line.qty,
            )
        )
    return resolved


def submit_transfer(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Submit a draft: to `pending_approval` when over the approval thresholds, else to
    `submitted` with the requested quantities approved as they are."""
    order = parse_decision(request, reason_required=False)

    def work(wf: Workflow) -> dict[str, Any]:
        transfer = load_transfer(wf.tx, order.transfer_id, lock=True)
        authorise_requester(wf, order.caller, Sites.of(wf.config, transfer))
        if transfer.status is not TransferStatus.DRAFT:
            raise invalid_transition(transfer, "submitted", "a draft")
        policy = wf.config.approval_policy(transfer.source_id)
        stock = {line.line_no: source_stock(wf.tx, transfer, line) for line in transfer.lines}
        assessment = assess(
            transfer.lines, stock, policy.transfer_value_threshold, policy.transfer_pct_threshold
        )
        before = transfer.status
        apply_submission(transfer, assessment, wf.now)
        save_transfer(wf.tx, transfer)
        record_status(wf, order.transfer_id, None, before, transfer.status, order.caller)
        view = transfer_view(wf.tx, wf.config, transfer.transfer_id)
        view["assessment"] = assessment_json(assessment, transfer)
        message = {**summary(view), "assessment": view["assessment"]}
        announce(wf, order.caller, "transfer.submit", "transfer-submitted", message)
        return view

    subject = f"transfer {order.transfer_id}"
    return operate(ledger, "transfer.submit", order.caller, subject, fingerprint(order), work)


def source_stock(tx: Tx, transfer: Transfer, line: TransferLine) -> tuple[Decimal, Decimal]:
    """The source's available on-hand of the line's stock and its current average cost
    (consigned stock is not valued)."""
    params: list[Any] = [line.variant_id, transfer.source_id, line.owner_id]
    lot_filter = ""
    if line.lot_id is not None:
        lot_filter, params = " and lot_key = ?", [*params, line.lot_id]
    row = tx.one(
        "select coalesce(sum(qty_e6), 0) from stock_balance where variant_id = ? "
        f"and facility_id = ? and owner_id = ? and bucket = 'available'{lot_filter}",
        params,
    )
    on_hand = from_units(row[0])  # type: ignore[index]
    if line.owner_id != transfer.org_id:
        return on_hand, ZERO
    cost = tx.one(
        "select qty_e6, value_e6, last_unit_cost_e6 from cost_position "
        "where facility_id = ? and variant_id = ?",
        (transfer.source_id, line.variant_id),
    )
    if cost is None:
        return on_hand, ZERO
    qty, value = from_units(cost[0]), from_units(cost[1])
    average = numbers.unit_cost(value / qty) if qty > 0 else from_units(cost[2]) or ZERO
    return on_hand, average


def apply_submission(transfer: Transfer, assessment: Assessment, now: str) -> None:
    transfer.submitted_at = transfer.updated_at = now
    transfer.request_value = assessment.value
    transfer.approval_required = bool(assessment.triggers)
    transfer.approval_triggers = ",".join(assessment.triggers) or None
    if assessment.triggers:
        transfer.status = TransferStatus.PENDING_APPROVAL
        return
    transfer.status = TransferStatus.SUBMITTED
    for line in transfer.lines:
        line.approved = line.requested


def approve_transfer(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Approve a transfer pending approval, optionally adjusting line quantities (0 drops a
    line); records approver, time and reason."""
    order = parse_approval(request)

    def work(wf: Workflow) -> dict[str, Any]:
        transfer = load_transfer(wf.tx, order.transfer_id, lock=True)
        authorise(wf, order.caller, "transfer.approve", Sites.of(wf.config, transfer).source)
        if transfer.status is not TransferStatus.PENDING_APPROVAL:
            raise invalid_transition(transfer, "approved", "a transfer pending approval")
        check_self_approval(wf, transfer, order.caller)
        approved = approved_quantities(wf.tx, wf.config, transfer, order.lines)
        for line in transfer.lines:
            line.approved = approved[line.line_no]
        transfer.status = TransferStatus.SUBMITTED
        transfer.approved_by, transfer.approved_role = order.caller.actor, order.caller.role
        transfer.approved_at = transfer.updated_at = wf.now
        transfer.approval_reason = order.reason
        save_transfer(wf.tx, transfer)
        record_status(
            wf, order.transfer_id, None, TransferStatus.PENDING_APPROVAL, transfer.status,
            order.caller, order.reason,
        )  # fmt: skip
        view = transfer_view(wf.tx, wf.config, transfer.transfer_id)
        message = {**summary(view), "approval": view["approval"], "lines": view["lines"]}
        announce(wf, order.caller, "transfer.approve", "transfer-approved", message)
        return view

    subject = f"transfer {order.transfer_id}"
    return operate(ledger, "transfer.approve", order.caller, subject, fingerprint(order), work)


def approved_quantities(
    tx: Tx, config: Config, transfer: Transfer, lines: Sequence[QtyLine]
) -> dict[int, Decimal]:
    """The quantity approved per line: as requested unless the approver names the line."""
    approved = {line.line_no: line.requested for line in transfer.lines}
    for index, adjusted in enumerate(lines):

        def resolve(adjusted: QtyLine = adjusted) -> TransferLine:
            stock = resolve_stock(tx, config, adjusted.ref, transfer.org_id)
            return match_transfer_line(transfer, stock)

        approved[within(f"lines[{index}]", resolve).line_no] = adjusted.qty
    if not any(approved.values()):
        raise validation_error("lines", "approve at least one unit, or cancel the transfer")
    return approved


def cancel_transfer(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Cancel a transfer before anything has shipped (an approver's rejection included)."""
    order = parse_decision(request, reason_required=True)

    def work(wf: Workflow) -> dict[str, Any]:
        transfer = load_transfer(wf.tx, order.transfer_id, lock=True)
        authorise_canceller(wf, order.caller, Sites.of(wf.config, transfer))
        if transfer.status not in CANCELLABLE:
            raise invalid_transition(transfer, "cancelled", "transfers not yet shipped")
        before = transfer.status
        transfer.status = TransferStatus.CANCELLED
        transfer.cancelled_by, transfer.cancel_reason = order.caller.actor, order.reason
        transfer.cancelled_at = transfer.updated_at = wf.now
        save_transfer(wf.tx, transfer)
        record_status(
            wf, order.transfer_id, None, before, transfer.status, order.caller, order.reason
        )
        view = transfer_view(wf.tx, wf.config, transfer.transfer_id)
        message = {**summary(view), "from": before.value, "reason": order.reason}
        announce(wf, order.caller, "transfer.cancel", "transfer-cancelled", message)
        return view

    subject = f"transfer {order.transfer_id}"
    return operate(ledger, "transfer.cancel", order.caller, subject, fingerprint(order), work)


def ship_transfer(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Ship from the source: each line leaves the source (`transfer_out`, at the source's cost)
    and enters the in-transit node (`transfer_in`, bucket in_transit, at exactly that value
    plus its share of any transfer cost), in one transaction. A `final` shipment closes
    shipping; what it leaves unshipped is short-shipped with a reason."""
    order = parse_ship_order(request)

    def work(wf: Workflow) -> dict[str, Any]:
        transfer = load_transfer(wf.tx, order.transfer_id, lock=True)
        sites = Sites.of(wf.config, transfer)
        authorise(wf, order.caller, "transfer.execute", sites.source)
        if transfer.status not in SHIPPABLE or transfer.shipping_closed:
            raise invalid_transition(transfer, "shipped", "submitted transfers with stock to ship")
        picks = plan_picks(wf, transfer, order)
        short = short_shipped(transfer, picks, order, wf.config)
        if not picks:
            return close_shipping(wf, order, transfer, short)
        if order.currency is not None:
            check_currency_code(order.currency, sites.transit)
        shipment = new_shipment(wf, transfer, order, sites)
        shipped = ship_stock(wf, order, picks, shipment, sites)
        wf.flush()
        return record_shipment(wf, order, transfer, shipment, short, shipped)

    subject = f"transfer {order.transfer_id}"
    return operate(ledger, "transfer.ship", order.caller, subject, fingerprint(order), work)


def check_currency_code(currency: str, transit: Facility) -> None:
    if currency != transit.currency:
        raise LedgerError(
            "currency_mismatch",
            f"currency: {currency} differs from the in-transit value's {transit.currency}",
            field="currency",
        )


def plan_picks(wf: Workflow, transfer: Transfer, order: ShipOrder) -> list[Pick]:
    """The shipment's lines, each matched to the transfer line it fulfils."""
    picks: list[Pick] = []
    seen: dict[tuple[int, int | None, int], int] = {}
    for index, line in enumerate(order.lines):

        def pick(line: QtyLine = line, index: int = index) -> Pick:
            stock = resolve_stock(wf.tx, wf.config, line.ref, transfer.org_id)
            matched = match_transfer_line(transfer, stock)
            if stock.lot_id is None and matched.lot_id is not None:
                stock = Stock(stock.variant, matched.lot_id, stock.owner_id)
            return Pick(index, matched, stock, line.qty, line.bin)

        picked = within(f"lines[{index}]", pick)
        key = (picked.stock.variant.variant_id, picked.stock.lot_id, picked.stock.owner_id)
        if key in seen:
            raise validation_error(f"lines[{index}]", f"ships the same stock as lines[{seen[key]}]")
        seen[key] = index
        picks.append(picked)
    check_quantities_to_ship(picks)
    return picks


def short_shipped(
    transfer: Transfer, picks: Sequence[Pick], order: ShipOrder, config: Config
) -> dict[int, Decimal]:
    """On the final shipment, what each line leaves unshipped; it needs a reason (L2.3)."""
    if not order.final:
        return {}
    shipping: dict[int, Decimal] = {}
    for pick in picks:
        shipping[pick.line.line_no] = shipping.get(pick.line.line_no, ZERO) + pick.qty
    short = {
        line.line_no: line.open_qty - shipping.get(line.line_no, ZERO) for line in transfer.lines
    }
    short = {line_no: qty for line_no, qty in short.items() if qty > 0}
    if short:
        if order.reason_code is None:
            raise LedgerError(
                "reason_required",
                "reason_code: is required when the final shipment leaves quantities unshipped",
                field="reason_code",
            )
        check_reason_code(config, order.reason_code, "reason_code")
    return short


def apply_short_shipping(
    transfer: Transfer, short: Mapping[int, Decimal], reason_code: str | None
) -> None:
    for line in transfer.lines:
        if line.line_no in short:
            line.short_shipped += short[line.line_no]
            line.short_ship_reason = reason_code
    transfer.shipping_closed = all(line.open_qty == 0 for line in transfer.lines)


def close_shipping(
    wf: Workflow, order: ShipOrder, transfer: Transfer, short: Mapping[int, Decimal]
) -> dict[str, Any]:
    """A final shipment without lines: nothing more will ship; the rest is short-shipped."""
    if not any(line.shipped for line in transfer.lines):
        raise invalid_transition(
            transfer, "closed", "", f"transfer_id: transfer {transfer.transfer_id} has shipped "
            "nothing; cancel it instead",
        )  # fmt: skip
    before = transfer.status
    apply_short_shipping(transfer, short, order.reason_code)
    update_progress(wf, transfer)
    record_status(
        wf, order.transfer_id, None, before, transfer.status, order.caller, order.reason_code
    )
    view = transfer_view(wf.tx, wf.config, transfer.transfer_id)
    message = {**summary(view), "reason_code": order.reason_code, "lines": view["lines"]}
    announce(wf, order.caller, "transfer.ship", "transfer-shipping-closed", message)
    return view


def update_progress(wf: Workflow, transfer: Transfer) -> None:
    shipments = load_shipments(wf.tx, transfer.transfer_id)
    transfer.status = progress(transfer, shipments, has_receipts(wf.tx, transfer.transfer_id))
    transfer.updated_at = wf.now
    save_transfer(wf.tx, transfer)


def new_shipment(wf: Workflow, transfer: Transfer, order: ShipOrder, sites: Sites) -> Shipment:
    row = wf.tx.one(
        "select coalesce(max(shipment_no), 0) from transfer_shipment where transfer_id = ?",
        (transfer.transfer_id,),
    )
    return Shipment(
        shipment_id=wf.tx.new_ids("transfer_shipment", 1)[0],
        transfer_id=transfer.transfer_id,
        shipment_no=row[0] + 1,  # type: ignore[index]
        status=ShipmentStatus.IN_TRANSIT,
        shipped_by=order.caller.actor,
        shipped_role=order.caller.role,
        shipped_at=order.occurred_at,
        posted_at=wf.now,
        carrier=order.carrier,
        reference=order.reference,
        transfer_cost=ZERO,
        currency=sites.transit.currency,
        settled_at=None,
        updated_at=wf.now,
    )


@dataclass(slots=True)
class Shipped:
    """One shipment line as posted: the events out of the source, the legs its cost left in,
    and the events into the in-transit node."""

    pick: Pick
    out: list[PlannedEvent]
    legs: list[Leg]
    into: list[PlannedEvent] = dataclasses.field(default_factory=list)


def ship_stock(
    wf: Workflow, order: ShipOrder, picks: Sequence[Pick], shipment: Shipment, sites: Sites
) -> list[Shipped]:
    """Post every line out of the source, then into the in-transit node with its share of the
    transfer cost (the shares need every line's goods value first)."""
    comment = order.comment or (
        f"transfer {shipment.transfer_id} shipment {shipment.shipment_no}: "
        f"{sites.source.code} -> {sites.destination.code}"
    )
    shipped = []
    for pick in picks:
        posting = ship_posting(wf, order, shipment, pick, comment, f"{pick.index}:out")
        posting.update(kind=Kind.TRANSFER_OUT.value, facility=sites.source.code, bin=pick.bin)
        out = post(wf, f"lines[{pick.index}]", {**posting, "qty": pick.qty})
        shipped.append(Shipped(pick, out, legs_of(out[0], is_owned(wf.config, pick.stock))))
    legs = [leg for line in shipped for leg in line.legs]
    spread_transfer_cost(legs, order.transfer_cost, order.transfer_cost_per_unit)
    for line in shipped:
        for number, leg in enumerate(line.legs):
            posting = ship_posting(
                wf, order, shipment, line.pick, comment, f"{line.pick.index}:in:{number}"
            )
            posting.update(
                kind=Kind.TRANSFER_IN.value,
                facility=sites.transit.code,
                bucket=Bucket.IN_TRANSIT.value,
                qty=leg.qty,
                value=None if leg.value is None else leg.value + leg.extra,
            )
            line.into += post(wf, f"lines[{line.pick.index}]", posting)
    return shipped


def ship_posting(
    wf: Workflow, order: ShipOrder, shipment: Shipment, pick: Pick, comment: str, leg: str
) -> dict[str, Any]:
    document = ("transfer_shipment", shipment.shipment_id, pick.index + 1)
    posting = base_posting(
        order.caller, order.occurred_at, f"{order.caller.key}:ship:{leg}", document
    )
    return {**posting, **stock_fields(wf, pick.stock), "comment": comment}


def stock_fields(wf: Workflow, stock: Stock) -> dict[str, Any]:
    return {
        "sku": stock.variant.sku,
        "lot": lot_of(wf, stock.lot_id),
        "owner": wf.config.parties_by_id[stock.owner_id].code,
    }


def lot_of(wf: Workflow, lot_id: int | None) -> str | None:
    if lot_id is None:
        return None
    row = wf.tx.one("select lot_number from lot where lot_id = ?", (lot_id,))
    return row[0]  # type: ignore[index]


def record_shipment(
    wf: Workflow,
    order: ShipOrder,
    transfer: Transfer,
    shipment: Shipment,
    short: Mapping[int, Decimal],
    shipped: Sequence[Shipped],
) -> dict[str, Any]:
    for line in shipped:
        shipment.lines.append(shipment_line(line))
        shipment.transfer_cost += shipment.lines[-1].transfer_cost
        line.pick.line.shipped += line.pick.qty
    apply_short_shipping(transfer, short, order.reason_code)
    insert_shipment(wf.tx, shipment)
    for line in shipped:
        where = (transfer.transfer_id, shipment.shipment_id, line.pick.index + 1)
        link_events(wf, *where, "source_out", line.out)
        link_events(wf, *where, "transit_in", line.into)
    before = transfer.status
    update_progress(wf, transfer)
    record_status(
        wf, transfer.transfer_id, shipment.shipment_id, None, shipment.status, order.caller
    )
    record_status(wf, transfer.transfer_id, None, before, transfer.status, order.caller)
    event_ids = [event.event_id for line in shipped for event in (*line.out, *line.into)]
    result = {
        "transfer_id": transfer.transfer_id,
        "status": transfer.status.value,
        "shipping_closed": transfer.shipping_closed,
        "shipment": shipment_view(wf.tx, wf.config, transfer.transfer_id, shipment.shipment_id),
        "event_ids": event_ids,
    }
    announce(wf, order.caller, "transfer.ship", "transfer-shipped", result)
    return result


def shipment_line(line: Shipped) -> ShipmentLine:
    pick = line.pick
    return ShipmentLine(
        line_no=pick.index + 1,
        transfer_line_no=pick.line.line_no,
        variant_id=pick.stock.variant.variant_id,
        lot_id=pick.stock.lot_id,
        owner_id=pick.stock.owner_id,
        from_location_id=line.out[0].position.key[2],
        shipped=pick.qty,
        goods_value=sum((leg.value or ZERO for leg in line.legs), ZERO),
        transfer_cost=sum((leg.extra for leg in line.legs), ZERO),
    )


def receive_shipment(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Receive (part of) a shipment at the destination: units leave the in-transit node and
    enter the destination at the value they carried; exceptions record short, damaged, lost
    and misrouted units with their reasons."""
    order = parse_receipt_order(request)

    def work(wf: Workflow) -> dict[str, Any]:
        transfer = load_transfer(wf.tx, transfer_of_shipment(wf.tx, order.shipment_id), lock=True)
        shipments = load_shipments(wf.tx, transfer.transfer_id)
        shipment = next(s for s in shipments if s.shipment_id == order.shipment_id)
        sites = Sites.of(wf.config, transfer)
        authorise(wf, order.caller, "transfer.execute", sites.destination)
        if order.occurred_at < shipment.shipped_at:
            raise validation_error("occurred_at", "is before the shipment left the source")
        pieces = plan_pieces(wf, transfer, shipment, order, sites)
        check_quantities_to_receive(pieces)
        receipt_id = wf.tx.new_ids("transfer_receipt", 1)[0]
        for piece in pieces:
            if piece.exception is not None:
                piece.exception_id = wf.tx.new_ids("transfer_exception", 1)[0]
            receive_piece(wf, order, transfer, shipment, receipt_id, piece, sites)
            settle(piece)  # the next piece of the same line takes from what is left
        wf.flush()
        return record_receipt(wf, order, transfer, shipments, shipment, receipt_id, pieces)

    subject = f"shipment {order.shipment_id}"
    return operate(ledger, "transfer.receive", order.caller, subject, fingerprint(order), work)


def plan_pieces(
    wf: Workflow, transfer: Transfer, shipment: Shipment, order: ReceiptOrder, sites: Sites
) -> list[Piece]:
    """The receipt's lines and exceptions, each matched to the shipment line it settles."""

    def line_of(ref: LineRef) -> ShipmentLine:
        stock = resolve_stock(wf.tx, wf.config, ref, transfer.org_id)
        return match_shipment_line(shipment, stock, ref.lot is not None)

    pieces = []
    for index, line in enumerate(order.lines):
        matched = within(f"lines[{index}]", lambda line=line: line_of(line.ref))
        pieces.append(Piece(index, matched, line.qty, None, sites.destination, line.bin))
    for index, exception in enumerate(order.exceptions):

        def piece(exception: ReceiptException = exception, index: int = index) -> Piece:
            check_reason_code(wf.config, exception.reason_code, "reason_code")
            matched = line_of(exception.ref)
            facility = arrival_facility(wf, order.caller, exception, sites)
            return Piece(index, matched, exception.qty, exception, facility, exception.bin)

        pieces.append(within(f"exceptions[{index}]", piece))
    return pieces


def arrival_facility(
    wf: Workflow, caller: Caller, exception: ReceiptException, sites: Sites
) -> Facility | None:
    """Where an exception's units go: damaged ones to the destination, misrouted ones to where
    they arrived (the receiver must be granted there too), lost and short ones nowhere."""
    if exception.type is ExceptionType.DAMAGED:
        return sites.destination
    if exception.type is not ExceptionType.MISROUTED:
        return None
    facility = resolve_facility(wf.config, exception.facility, "facility")  # type: ignore[arg-type]
    if facility.facility_id == sites.destination.facility_id:
        raise validation_error("facility", "must be a facility other than the destination")
    check_stocking(facility, "facility", sites.source)
    authorise(wf, caller, "transfer.execute", facility)
    return facility


def receive_piece(
    wf: Workflow,
    order: ReceiptOrder,
    transfer: Transfer,
    shipment: Shipment,
    receipt_id: int,
    piece: Piece,
    sites: Sites,
) -> None:
    """Move one piece out of the in-transit node: written off (lost), or into the destination
    or the facility it arrived at, in the pieces its cost left transit in. Shorts stay. The
    piece leaves transit with its own shipment line's cost, never another shipment's."""
    if piece.type is ExceptionType.SHORT:
        return
    line, exception = piece.line, piece.exception
    lost = piece.type is ExceptionType.LOST
    what = piece.type.value if piece.type else "received"
    comment = (
        (exception.comment if exception else None)
        or order.comment
        or f"transfer {transfer.transfer_id} shipment {shipment.shipment_no}: {what}"
    )
    stock = Stock(wf.config.variants_by_id[line.variant_id], line.lot_id, line.owner_id)
    document = ("transfer_receipt", receipt_id, line.line_no)
    key = f"{order.caller.key}:receive:{piece.field}"
    base = {
        **base_posting(order.caller, order.occurred_at, f"{key}:out", document),
        **stock_fields(wf, stock),
        "reason_code": exception.reason_code if exception else None,
        "comment": comment,
    }
    out = post(wf, piece.field, {
        **base,
        "kind": (Kind.ADJUSTMENT if lost else Kind.TRANSFER_OUT).value,
        "facility": sites.transit.code,
        "bucket": Bucket.IN_TRANSIT.value,
        "qty": -piece.qty if lost else piece.qty,
        "approver": exception.approver if exception else None,
        **(carried_cost(wf, shipment, line, piece.qty) if is_owned(wf.config, stock) else {}),
    })  # fmt: skip
    piece.events += out
    piece.cleared = -out[0].cost_delta
    if lost:
        return
    bucket = Bucket.DAMAGED if piece.type is ExceptionType.DAMAGED else Bucket.AVAILABLE
    for number, leg in enumerate(legs_of(out[0], is_owned(wf.config, stock))):
        piece.events += post(wf, piece.field, {
            **base,
            "idempotency_key": f"{key}:in:{number}",
            "kind": Kind.TRANSFER_IN.value,
            "facility": piece.facility.code,  # type: ignore[union-attr]
            "bin": piece.bin,
            "bucket": bucket.value,
            "qty": leg.qty,
            "value": leg.value,
        })  # fmt: skip


def carried_cost(
    wf: Workflow, shipment: Shipment, line: ShipmentLine, qty: Decimal
) -> dict[str, Any]:
    """What `qty` units of a shipment line take out of the in-transit node, where shipments of
    the same SKU share one cost position: the line's own value (moving average) or the layers
    its legs into transit opened (FIFO)."""
    variant = wf.config.variants_by_id[line.variant_id]
    if wf.config.items_by_id[variant.item_id].costing_method is CostingMethod.FIFO:
        opened = transit_layers(wf.tx, shipment.shipment_id, line.line_no)
        taken = line.shipped - line.in_transit_qty
        return {
            "layers": [
                {"layer_id": layer_id, "qty": fmt(part)}
                for layer_id, part in layers_to_take(opened, taken, qty)
            ]
        }
    return {"value": format(in_transit_share(line, qty), "f")}


def in_transit_share(line: ShipmentLine, qty: Decimal) -> Decimal:
    """The value `qty` of the units a shipment line still has in transit carry: in proportion to
    quantity, to the cent (half up); the last units take exactly what is left."""
    if qty == line.in_transit_qty:
        return line.in_transit_value
    return numbers.money(line.in_transit_value * qty / line.in_transit_qty)


def transit_layers(tx: Tx, shipment_id: int, line_no: int) -> list[tuple[int, Decimal]]:
    """The in-transit cost layers a shipment line opened, in order, with their quantities: a
    layer's id is the id of the `transfer_in` event that opened it."""
    rows = tx.all(
        "select l.layer_id, l.opened_qty_e6 from transfer_stock_event t "
        "join cost_layer l on l.layer_id = t.event_id "
        "where t.shipment_id = ? and t.shipment_line_no = ? and t.leg = 'transit_in' "
        "order by t.event_id",
        (shipment_id, line_no),
    )
    return [(row[0], from_units(row[1]) or ZERO) for row in rows]


def layers_to_take(
    opened: Sequence[tuple[int, Decimal]], taken: Decimal, qty: Decimal
) -> list[tuple[int, Decimal]]:
    """The layers (id, qty) the next `qty` units take, in the order the layers were opened, once
    the `taken` units that left before are skipped."""
    picks = []
    skip, left = taken, qty
    for layer_id, layer_qty in opened:
        if left == 0:
            break
        skipped = min(skip, layer_qty)
        skip -= skipped
        part = min(layer_qty - skipped, left)
        if part > 0:
            picks.append((layer_id, part))
            left -= part
    return picks


def settle(piece: Piece) -> None:
    """Count a piece on its shipment line."""
    line = piece.line
    if piece.type is ExceptionType.SHORT:
        line.short += piece.qty
        return
    if piece.type is None:
        line.received += piece.qty
    elif piece.type is ExceptionType.DAMAGED:
        line.damaged += piece.qty
    elif piece.type is ExceptionType.LOST:
        line.lost += piece.qty
    else:
        line.misrouted += piece.qty
    line.cleared_value += piece.cleared


def record_receipt(
    wf: Workflow,
    order: ReceiptOrder,
    transfer: Transfer,
    shipments: Sequence[Shipment],
    shipment: Shipment,
    receipt_id: int,
    pieces: Sequence[Piece],
) -> dict[str, Any]:
    insert_receipt(wf, order, transfer, receipt_id)
    for piece in pieces:
        if piece.exception is not None:
            insert_exception(wf, order, receipt_id, shipment, piece)
        link_events(
            wf, transfer.transfer_id, shipment.shipment_id, piece.line.line_no,
            piece.type.value if piece.type else "received", piece.events, receipt_id,
            piece.exception_id,
        )  # fmt: skip
    before_shipment, before = shipment.status, transfer.status
    shipment.status = shipment_status(shipment.lines)
    shipment.updated_at = wf.now
    if shipment.status in SETTLED:
        shipment.settled_at = order.occurred_at
    save_shipment(wf.tx, shipment)
    transfer.status = progress(transfer, shipments, received_any=True)
    transfer.updated_at = wf.now
    save_transfer(wf.tx, transfer)
    record_status(
        wf, transfer.transfer_id, shipment.shipment_id, before_shipment, shipment.status,
        order.caller,
    )  # fmt: skip
    record_status(wf, transfer.transfer_id, None, before, transfer.status, order.caller)
    view = shipment_view(wf.tx, wf.config, transfer.transfer_id, shipment.shipment_id)
    result = {
        "transfer_id": transfer.transfer_id,
        "status": transfer.status.value,
        "receipt_id": receipt_id,
        "shipment": view,
        "exceptions": [e for e in view["exceptions"] if e["receipt_id"] == receipt_id],
        "event_ids": [event.event_id for piece in pieces for event in piece.events],
    }
    announce(wf, order.caller, "transfer.receive", "transfer-received", result)
    for exception in result["exceptions"]:
        message = {"transfer_id": transfer.transfer_id, "shipment_id": shipment.shipment_id}
        wf.emit("transfer-exception", {**message, **exception})
    return result


def insert_receipt(wf: Workflow, order: ReceiptOrder, transfer: Transfer, receipt_id: int) -> None:
    wf.tx.run(
        "insert into transfer_receipt (receipt_id, shipment_id, transfer_id, facility_id, "
        "received_by, received_role, occurred_at, posted_at, comment) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (receipt_id, order.shipment_id, transfer.transfer_id, transfer.destination_id,
         order.caller.actor, order.caller.role, order.occurred_at, wf.now, order.comment),
    )  # fmt: skip


def insert_exception(
    wf: Workflow, order: ReceiptOrder, receipt_id: int, shipment: Shipment, piece: Piece
) -> None:
    exception = piece.exception
    assert exception is not None
    misrouted_to = piece.facility if exception.type is ExceptionType.MISROUTED else None
    wf.tx.run(
        "insert into transfer_exception (exception_id, receipt_id, shipment_id, "
        "shipment_line_no, exception_type, qty_e6, value_e6, reason_code, facility_id, comment, "
        "recorded_by, recorded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (piece.exception_id, receipt_id, shipment.shipment_id, piece.line.line_no,
         exception.type.value, to_units(piece.qty), to_units(piece.cleared),
         exception.reason_code, misrouted_to.facility_id if misrouted_to else None,
         exception.comment, order.caller.actor, wf.now),
    )  # fmt: skip


# -- reads -------------------------------------------------------------------------------------


def transfer(ledger: Ledger, transfer_id: int, viewer: Viewer | None = None) -> dict[str, Any]:
    """A transfer with its lines, shipments (their lines, receipts, exceptions and stock card
    event ids) and status history."""
    with ledger.store.read() as tx:
        config = ledger.config(tx)
        view = transfer_view(tx, config, transfer_id)
        return visible_to(viewer, config, view)


def transfers(
    ledger: Ledger,
    status: str | None = None,
    source: str | None = None,
    destination: str | None = None,
    viewer: Viewer | None = None,
) -> list[dict[str, Any]]:
    """Transfers, newest first, filtered by status and source/destination facility."""
    where, params = ["1 = 1"], []
    if status is not None:
        state = choice({"status": status}, "status", TransferStatus, required=True)
        where, params = [*where, "t.status = ?"], [*params, state.value]
    with ledger.store.read() as tx:
        config = ledger.config(tx)
        for field, code in (("source", source), ("destination", destination)):
            if code is not None:
                where.append(f"t.{field}_facility_id = ?")
                params.append(resolve_facility(config, code, field).facility_id)
        rows = tx.all(
            "select t.transfer_id, t.status, t.source_facility_id, t.destination_facility_id, "
            "t.suggestion_id, t.requested_by, t.requested_at, t.updated_at, "
            "(select count(*) from transfer_request_line l where l.transfer_id = t.transfer_id), "
            "(select count(*) from transfer_shipment s where s.transfer_id = t.transfer_id), "
            "(select count(*) from transfer_shipment s where s.transfer_id = t.transfer_id "
            "and s.status in ('in_transit', 'partially_received')) "
            f"from transfer_request t where {' and '.join(where)} order by t.transfer_id desc",
            params,
        )
    now = workflow.now_text()
    listing = []
    for row in rows:
        ends = (row[2], row[3])
        if viewer is not None and not any(can_see(config.grants, viewer, f, now) for f in ends):
            continue
        listing.append(
            {
                "transfer_id": row[0], "status": row[1],
                "source": config.facilities_by_id[row[2]].code,
                "destination": config.facilities_by_id[row[3]].code, "suggestion_id": row[4],
                "requested_by": row[5], "requested_at": timeutil.iso(row[6]),
                "updated_at": timeutil.iso(row[7]), "lines": row[8], "shipments": row[9],
                "open_shipments": row[10],
            }
        )  # fmt: skip
    return listing


def visible_to(viewer: Viewer | None, config: Config, view: dict[str, Any]) -> dict[str, Any]:
    """The view as a viewer may see it: granted at either end, cost fields only with cost
    visibility at the source (L8.3)."""
    if viewer is None:
        return view
    now = workflow.now_text()
    ends = [config.facilities[view["source"]], config.facilities[view["destination"]]]
    if not any(can_see(config.grants, viewer, end.facility_id, now) for end in ends):
        error = LedgerError(
            "forbidden", f"transfer_id: no grant to see transfer {view['transfer_id']}",
            field="transfer_id",
        )  # fmt: skip
        error.status = 403
        raise error
    if can_see_cost(config.grants, viewer, ends[0].facility_id, now):
        return view
    return without_cost(view)


def without_cost(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_cost(v) for k, v in value.items() if k not in COST_FIELDS}
    if isinstance(value, list):
        return [without_cost(item) for item in value]
    return value


def money_text(value: Decimal | None) -> str | None:
    return None if value is None else format(numbers.money(value), "f")


def transfer_view(tx: Tx, config: Config, transfer_id: int) -> dict[str, Any]:
    transfer = load_transfer(tx, transfer_id)
    shipments = load_shipments(tx, transfer_id)
    lot_ids = [line.lot_id for line in transfer.lines] + [
        line.lot_id for shipment in shipments for line in shipment.lines
    ]
    lots = lot_numbers(tx, (lot_id for lot_id in lot_ids if lot_id))
    sites = Sites.of(config, transfer)
    history = tx.all(
        "select at, shipment_id, from_status, to_status, actor, role, reason "
        "from transfer_status_change where transfer_id = ? order by change_id",
        (transfer_id,),
    )
    return {
        "transfer_id": transfer.transfer_id,
        "status": transfer.status.value,
        "source": sites.source.code,
        "destination": sites.destination.code,
        "via": sites.transit.code,
        "suggestion_id": transfer.suggestion_id,
        "comment": transfer.comment,
        "requested_by": transfer.requested_by,
        "requested_role": transfer.requested_role,
        "requested_at": timeutil.iso(transfer.requested_at),
        "submitted_at": timeutil.iso(transfer.submitted_at),
        "approval": {
            "required": transfer.approval_required,
            "triggers": transfer.approval_triggers.split(",") if transfer.approval_triggers else [],
            "request_value": money_text(transfer.request_value),
            "approved_by": transfer.approved_by,
            "approved_role": transfer.approved_role,
            "approved_at": timeutil.iso(transfer.approved_at),
            "reason": transfer.approval_reason,
        },
        "cancellation": None
        if transfer.cancelled_at is None
        else {
            "cancelled_by": transfer.cancelled_by,
            "cancelled_at": timeutil.iso(transfer.cancelled_at),
            "reason": transfer.cancel_reason,
        },
        "shipping_closed": transfer.shipping_closed,
        "lines": [line_view(config, lots, line) for line in transfer.lines],
        "shipments": [shipment_json(tx, config, lots, shipment, sites) for shipment in shipments],
        "history": [
            {
                "at": timeutil.iso(row[0]),
                "shipment_id": row[1],
                "from": row[2],
                "to": row[3],
                "actor": row[4],
                "role": row[5],
                "reason": row[6],
            }
            for row in history
        ],
    }


def line_view(config: Config, lots: Mapping[int, str], line: TransferLine) -> dict[str, Any]:
    return {
        "line_no": line.line_no,
        "sku": config.variants_by_id[line.variant_id].sku,
        "lot": lots.get(line.lot_id) if line.lot_id else None,
        "owner": config.parties_by_id[line.owner_id].code,
        "requested_qty": fmt(line.requested),
        "approved_qty": fmt(line.approved),
        "shipped_qty": fmt(line.shipped),
        "short_shipped_qty": fmt(line.short_shipped),
        "short_ship_reason": line.short_ship_reason,
        "open_qty": fmt(line.open_qty) if line.approved is not None else None,
    }


def shipment_view(tx: Tx, config: Config, transfer_id: int, shipment_id: int) -> dict[str, Any]:
    view = transfer_view(tx, config, transfer_id)
    return next(s for s in view["shipments"] if s["shipment_id"] == shipment_id)


def shipment_json(
    tx: Tx, config: Config, lots: Mapping[int, str], shipment: Shipment, sites: Sites
) -> dict[str, Any]:
    links = tx.all(
        "select event_id, receipt_id, exception_id from transfer_stock_event "
        "where shipment_id = ? order by event_id",
        (shipment.shipment_id,),
    )
    receipts = tx.all(
        "select receipt_id, received_by, received_role, occurred_at, posted_at, comment "
        "from transfer_receipt where shipment_id = ? order by receipt_id",
        (shipment.shipment_id,),
    )
    exceptions = tx.all(
        "select exception_id, receipt_id, shipment_line_no, exception_type, qty_e6, value_e6, "
        "reason_code, facility_id, comment, recorded_by, recorded_at from transfer_exception "
        "where shipment_id = ? order by exception_id",
        (shipment.shipment_id,),
    )
    lines = {line.line_no: line for line in shipment.lines}
    counts = {kind.value: 0 for kind in ExceptionType}
    for row in exceptions:
        counts[row[3]] += 1
    return {
        "shipment_id": shipment.shipment_id,
        "shipment_no": shipment.shipment_no,
        "status": shipment.status.value,
        "shipped_by": shipment.shipped_by,
        "shipped_role": shipment.shipped_role,
        "shipped_at": timeutil.iso(shipment.shipped_at),
        "posted_at": timeutil.iso(shipment.posted_at),
        "settled_at": timeutil.iso(shipment.settled_at),
        "carrier": shipment.carrier,
        "reference": shipment.reference,
        "transfer_cost": money_text(shipment.transfer_cost),
        "currency": shipment.currency,
        "lines": [shipment_line_view(config, lots, line) for line in shipment.lines],
        "exception_counts": counts,
        "exceptions": [
            {
                "exception_id": row[0],
                "receipt_id": row[1],
                "line_no": row[2],
                "type": row[3],
                "sku": config.variants_by_id[lines[row[2]].variant_id].sku,
                "lot": lots.get(lines[row[2]].lot_id) if lines[row[2]].lot_id else None,
                "qty": fmt(from_units(row[4])),
                "value": money_text(from_units(row[5])),
                "reason_code": row[6],
                "facility": config.facilities_by_id[row[7]].code if row[7] else None,
                "comment": row[8],
                "recorded_by": row[9],
                "recorded_at": timeutil.iso(row[10]),
                "event_ids": [link[0] for link in links if link[2] == row[0]],
            }
            for row in exceptions
        ],
        "receipts": [
            {
                "receipt_id": row[0],
                "facility": sites.destination.code,
                "received_by": row[1],
                "received_role": row[2],
                "occurred_at": timeutil.iso(row[3]),
                "posted_at": timeutil.iso(row[4]),
                "comment": row[5],
                "event_ids": [link[0] for link in links if link[1] == row[0]],
            }
            for row in receipts
        ],
        "event_ids": [link[0] for link in links if link[1] is None],
    }


def shipment_line_view(
    config: Config, lots: Mapping[int, str], line: ShipmentLine
) -> dict[str, Any]:
    return {
        "line_no": line.line_no,
        "transfer_line_no": line.transfer_line_no,
        "sku": config.variants_by_id[line.variant_id].sku,
        "lot": lots.get(line.lot_id) if line.lot_id else None,
        "owner": config.parties_by_id[line.owner_id].code,
        "from_bin": config.locations_by_id[line.from_location_id].code,
        "shipped_qty": fmt(line.shipped),
        "received_qty": fmt(line.received),
        "damaged_qty": fmt(line.damaged),
        "lost_qty": fmt(line.lost),
        "misrouted_qty": fmt(line.misrouted),
        "short_qty": fmt(line.short),
        "in_transit_qty": fmt(line.in_transit_qty),
        "goods_value": money_text(line.goods_value),
        "transfer_cost": money_text(line.transfer_cost),
        "in_transit_value": money_text(line.in_transit_value),
    }


def summary(view: Mapping[str, Any]) -> dict[str, Any]:
    """What outbox messages and audit rows say about a transfer."""
    keys = ("transfer_id", "status", "source", "destination", "suggestion_id", "requested_by")
    return {key: view[key] for key in keys}


def assessment_json(assessment: Assessment, transfer: Transfer) -> dict[str, Any]:
    skus = {line.line_no: line for line in transfer.lines}
    return {
        "approval_required": bool(assessment.triggers),
        "triggers": list(assessment.triggers),
        "request_value": money_text(assessment.value),
        "lines": [
            {
                "line_no": line.line_no,
                "qty": fmt(skus[line.line_no].requested),
                "on_hand": fmt(line.on_hand),
                "average_cost": fmt(line.average_cost),
                "value": money_text(line.value),
                "share_pct": None
                if line.share_pct is None
                else fmt(line.share_pct.quantize(Decimal("0.01"))),
            }
            for line in assessment.lines
        ],
    }
