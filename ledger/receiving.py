"""Receiving and quality control (L5.1, L5.2): expected receipts received in one or more goods
receipts, QC decisions on quarantined stock, and recall holds on a lot across a facility."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from ledger import numbers, timeutil
from ledger.config import Config, Facility, Item, Location, Variant
from ledger.errors import LedgerError, missing, unknown, validation_error
from ledger.numbers import ZERO, fmt, from_units, to_units
from ledger.operations import (
    Caller,
    authorise,
    caller_of,
    comment_of,
    conflict,
    each,
    facility_of,
    fields_of,
    fingerprint,
    flag,
    instant,
    location_of,
    lot_id_of,
    move_events,
    operation,
    posting,
    quantity,
    variant_of,
    whole_number,
    within,
)
from ledger.queries import lot_numbers
from ledger.requests import choice, currency_code, text
from ledger.session import PlannedEvent
from ledger.storage import Tx
from ledger.vocabulary import BinKind, Bucket, PartyKind
from ledger.workflow import Workflow

if TYPE_CHECKING:
    from ledger.api import Ledger

T = TypeVar("T")


class ReceiptStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"  # closed with every line received (over-receipts included)
    CLOSED_SHORT = "closed_short"  # closed with quantities outstanding: the under-receipt


CLOSED_STATUSES = frozenset({ReceiptStatus.CLOSED, ReceiptStatus.CLOSED_SHORT})


class ShortReason(StrEnum):
    """Why an expected receipt is closed with quantities still outstanding."""

    SUPPLIER_SHORT = "supplier_short"
    SUPPLIER_CANCELLED = "supplier_cancelled"
    BACKORDERED = "backordered"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    LOST_IN_TRANSIT = "lost_in_transit"


class RecallStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"


RECEIPT_BUCKETS = frozenset({Bucket.AVAILABLE, Bucket.QUARANTINE})
QC_BUCKETS = frozenset({Bucket.AVAILABLE, Bucket.DAMAGED})
LANDING_BINS = frozenset({BinKind.RECEIVING, BinKind.QUARANTINE})
RECALL_HOLD = "recall_hold"
RECALL_RELEASE = "recall_release"
# Fields of a line's own posting: errors about them are named under the line (`lines[1].qty`).
LINE_FIELDS = frozenset(
    {"qty", "bin", "bucket", "lot", "lot_expires_on", "unit_cost", "currency", "sku"}
)


# -- expected receipts ---------------------------------------------------------------------------

EXPECTATION_FIELDS = frozenset(
    {
        "idempotency_key", "actor", "role", "facility", "reference", "document_type", "vendor",
        "expected_at", "qc_required", "over_tolerance_pct", "comment", "lines",
    }
)  # fmt: skip
EXPECTED_LINE_FIELDS = frozenset(
    {"line", "sku", "qty", "lot", "lot_expires_on", "unit_cost", "currency"}
)


@dataclass(frozen=True, slots=True)
class ExpectedLineRequest:
    line: int
    sku: str
    qty: Decimal
    lot: str | None
    lot_expires_on: str | None
    unit_cost: Decimal | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class ExpectationRequest:
    caller: Caller
    facility: str
    reference: str
    document_type: str
    vendor: str | None
    expected_at: str | None
    qc_required: bool
    over_tolerance_pct: Decimal
    comment: str | None
    lines: tuple[ExpectedLineRequest, ...]


def parse_expectation(raw: object) -> ExpectationRequest:
    raw = fields_of(raw, EXPECTATION_FIELDS)
    expected_at = raw.get("expected_at")
    request = ExpectationRequest(
        caller=caller_of(raw),
        facility=text(raw, "facility", required=True),
        reference=text(raw, "reference", required=True),
        document_type=text(raw, "document_type") or "asn",
        vendor=text(raw, "vendor"),
        expected_at=instant(raw, "expected_at") if expected_at is not None else None,
        qc_required=flag(raw, "qc_required"),
        over_tolerance_pct=tolerance_pct(raw),
        comment=comment_of(raw),
        lines=each(raw, "lines", lambda item, index: parse_expected_line(item, index + 1)),
    )
    unique_lines(request.lines)
    return request


def parse_expected_line(raw: object, default_line: int) -> ExpectedLineRequest:
    raw = fields_of(raw, EXPECTED_LINE_FIELDS)
    unit_cost, currency = cost_of(raw)
    return ExpectedLineRequest(
        line=whole_number(raw, "line", default_line),
        sku=text(raw, "sku", required=True),
        qty=quantity(raw, "qty"),
        lot=text(raw, "lot"),
        lot_expires_on=day_of(raw, "lot_expires_on"),
        unit_cost=unit_cost,
        currency=currency,
    )


def cost_of(raw: Mapping[str, Any]) -> tuple[Decimal | None, str | None]:
    unit_cost = None
    if raw.get("unit_cost") is not None:
        unit_cost = numbers.parse_cost(raw["unit_cost"], "unit_cost")
    currency = currency_code(raw, "currency")
    if unit_cost is not None and currency is None:
        raise missing("currency")
    return unit_cost, currency


def day_of(raw: Mapping[str, Any], field: str) -> str | None:
    if raw.get(field) is None:
        return None
    return timeutil.parse_day(raw[field], field).isoformat()


def tolerance_pct(raw: Mapping[str, Any]) -> Decimal:
    """How far past the expected quantity a line may be received, in percent (default 0)."""
    if raw.get("over_tolerance_pct") is None:
        return ZERO
    pct = numbers.parse_quantity(raw["over_tolerance_pct"], "over_tolerance_pct")
    if pct < 0:
        raise validation_error("over_tolerance_pct", "must not be negative")
    return pct


def unique_lines(lines: tuple[ExpectedLineRequest, ...]) -> None:
    seen: set[int] = set()
    for index, line in enumerate(lines):
        if line.line in seen:
            raise validation_error(f"lines[{index}].line", f"line {line.line} appears twice")
        seen.add(line.line)


def register_receipt(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Register an expected receipt (an ASN or purchase-order receipt) to receive against."""
    req = parse_expectation(request)

    def body(wf: Workflow) -> dict[str, Any]:
        facility = facility_of(wf.config, req.facility)
        authorise(wf, req.caller, "receiving.write", facility)
        vendor_id = vendor_of(wf.config, req.vendor)
        variants = []
        for index, line in enumerate(req.lines):
            with within(f"lines[{index}]"):
                variants.append(check_expected_line(wf.config, facility, line))
        check_new_reference(wf.tx, facility, req.reference)
        receipt_id = write_expectation(wf, req, facility, vendor_id, variants)
        wf.audit(
            req.caller.actor, req.caller.role, "receiving.expect", req.reference,
            {"facility": facility.code, "receipt_id": receipt_id, "lines": len(req.lines)},
        )  # fmt: skip
        return receipt_json(wf.tx, wf.config, receipt_id)

    return operation(ledger, "receiving.expect", req.caller, fingerprint(req), req.reference, body)


def vendor_of(config: Config, code: str | None) -> int | None:
    if code is None:
        return None
    party = config.parties.get(code)
    if party is None or party.kind is not PartyKind.VENDOR:
        raise unknown("unknown_vendor", "vendor", code)
    return party.party_id


def check_expected_line(config: Config, facility: Facility, line: ExpectedLineRequest) -> Variant:
    variant, item = variant_of(config, line.sku)
    if line.lot is not None and not item.lot_tracked:
        raise validation_error("lot", f"item {item.code} is not lot-tracked")
    if item.serial_tracked and line.qty != line.qty.to_integral_value():
        raise validation_error("qty", f"item {item.code} is serial-tracked: whole units only")
    if line.currency is not None and line.currency != facility.currency:
        raise LedgerError(
            "currency_mismatch",
            f"currency: {line.currency} differs from the currency of {facility.code}, "
            f"{facility.currency}",
            field="currency",
        )
    return variant


def check_new_reference(tx: Tx, facility: Facility, reference: str) -> None:
    row = tx.one(
        "select receipt_id from expected_receipt where facility_id = ? and reference = ?",
        (facility.facility_id, reference),
    )
    if row is not None:
        raise conflict(
            "receipt_exists", "reference",
            f"an expected receipt {reference!r} is already registered at {facility.code}",
        )  # fmt: skip


def write_expectation(
    wf: Workflow,
    req: ExpectationRequest,
    facility: Facility,
    vendor_id: int | None,
    variants: list[Variant],
) -> int:
    receipt_id = wf.tx.new_ids("expected_receipt", 1)[0]
    wf.tx.run(
        "insert into expected_receipt (receipt_id, facility_id, reference, document_type, "
        "vendor_id, expected_at, qc_required, over_tolerance_pct_e6, status, comment, "
        "created_at, created_by) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            receipt_id, facility.facility_id, req.reference, req.document_type, vendor_id,
            req.expected_at, req.qc_required, to_units(req.over_tolerance_pct),
            ReceiptStatus.OPEN.value, req.comment, wf.now, req.caller.actor,
        ),
    )  # fmt: skip
    wf.tx.many(
        "insert into expected_receipt_line (receipt_id, line_no, variant_id, expected_qty_e6, "
        "lot_number, lot_expires_on, unit_cost_e6, currency) values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                receipt_id, line.line, variant.variant_id, to_units(line.qty), line.lot,
                line.lot_expires_on, to_units(line.unit_cost), line.currency,
            )
            for line, variant in zip(req.lines, variants, strict=True)
        ],
    )  # fmt: skip
    return receipt_id


# -- the expected receipt as stored ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpectedLine:
    line: int
    variant: Variant
    item: Item
    expected: Decimal
    received: Decimal
    lot: str | None
    lot_expires_on: str | None
    unit_cost: Decimal | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class ExpectedReceipt:
    receipt_id: int
    facility: Facility
    reference: str
    document_type: str
    qc_required: bool
    over_tolerance_pct: Decimal
    status: ReceiptStatus
    lines: dict[int, ExpectedLine]


def load_receipt(
    tx: Tx, config: Config, facility: Facility, reference: str, *, lock: bool = False
) -> ExpectedReceipt:
    """An expected receipt with what has been received on each line; `lock` holds it (on
    PostgreSQL) until commit, so concurrent receipts against it are checked one after the
    other."""
    sql = (
        "select receipt_id, document_type, qc_required, over_tolerance_pct_e6, status "
        "from expected_receipt where facility_id = ? and reference = ?"
    )
    row = tx.one(tx.locked(sql) if lock else sql, (facility.facility_id, reference))
    if row is None:
        raise LedgerError(
            "unknown_receipt",
            f"receipt: no expected receipt {reference!r} at {facility.code}",
            field="receipt",
        )
    receipt_id = row[0]
    received = dict(
        tx.all(
            "select line_no, sum(qty_e6) from goods_receipt_line where receipt_id = ? "
            "group by line_no",
            (receipt_id,),
        )
    )
    lines = {}
    for line_no, variant_id, qty, lot, expires, cost, currency in tx.all(
        "select line_no, variant_id, expected_qty_e6, lot_number, lot_expires_on, unit_cost_e6, "
        "currency from expected_receipt_line where receipt_id = ? order by line_no",
        (receipt_id,),
    ):
        variant = config.variants_by_id[variant_id]
        lines[line_no] = ExpectedLine(
            line_no, variant, config.items_by_id[variant.item_id], from_units(qty),
            from_units(received.get(line_no, 0)), lot, expires, from_units(cost), currency,
        )  # fmt: skip
    return ExpectedReceipt(
        receipt_id, facility, reference, row[1], bool(row[2]), from_units(row[3]),
        ReceiptStatus(row[4]), lines,
    )  # fmt: skip


def receipt_status(lines: Mapping[int, ExpectedLine], added: Mapping[int, Decimal]) -> str:
    """open → partially_received → received, from what each line has received."""
    totals = [(line.expected, line.received + added.get(n, ZERO)) for n, line in lines.items()]
    if all(received >= expected for expected, received in totals):
        return ReceiptStatus.RECEIVED.value
    if any(received > 0 for _, received in totals):
        return ReceiptStatus.PARTIALLY_RECEIVED.value
    return ReceiptStatus.OPEN.value


# -- goods receipts --------------------------------------------------------------------------

GOODS_RECEIPT_FIELDS = frozenset(
    {
        "idempotency_key", "actor", "role", "facility", "receipt", "document_id", "occurred_at",
        "comment", "lines",
    }
)  # fmt: skip
RECEIVED_LINE_FIELDS = frozenset(
    {"line", "qty", "bin", "bucket", "lot", "lot_expires_on", "unit_cost", "currency"}
)


@dataclass(frozen=True, slots=True)
class ReceivedLineRequest:
    line: int
    qty: Decimal
    bin: str | None
    bucket: Bucket | None
    lot: str | None
    lot_expires_on: str | None
    unit_cost: Decimal | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class GoodsReceiptRequest:
    caller: Caller
    facility: str
    receipt: str
    document_id: str | None
    occurred_at: str
    comment: str | None
    lines: tuple[ReceivedLineRequest, ...]


@dataclass(frozen=True, slots=True)
class ReceiptPosting:
    """One line of a goods receipt, decided: what lands where, at what cost."""

    entry: int  # the line's index in the request
    expected: ExpectedLine
    qty: Decimal
    location: Location
    bucket: Bucket
    lot: str | None
    lot_expires_on: str | None
    unit_cost: Decimal
    currency: str


def parse_goods_receipt(raw: object) -> GoodsReceiptRequest:
    raw = fields_of(raw, GOODS_RECEIPT_FIELDS)
    return GoodsReceiptRequest(
        caller=caller_of(raw),
        facility=text(raw, "facility", required=True),
        receipt=text(raw, "receipt", required=True),
        document_id=text(raw, "document_id"),
        occurred_at=instant(raw, "occurred_at"),
        comment=comment_of(raw),
        lines=each(raw, "lines", lambda item, _: parse_received_line(item)),
    )


def parse_received_line(raw: object) -> ReceivedLineRequest:
    raw = fields_of(raw, RECEIVED_LINE_FIELDS)
    bucket = choice(raw, "bucket", Bucket)
    if bucket is not None and bucket not in RECEIPT_BUCKETS:
        raise validation_error("bucket", "receipts land in available or quarantine")
    unit_cost, currency = cost_of(raw)
    return ReceivedLineRequest(
        line=whole_number(raw, "line"),
        qty=quantity(raw, "qty"),
        bin=text(raw, "bin"),
        bucket=bucket,
        lot=text(raw, "lot"),
        lot_expires_on=day_of(raw, "lot_expires_on"),
        unit_cost=unit_cost,
        currency=currency,
    )


def receive(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Receive goods against an expected receipt: each line posts a `receipt` into a receiving or
    quarantine bin and counts towards its expected line (partial, over and under receipts)."""
    req = parse_goods_receipt(request)

    def body(wf: Workflow) -> dict[str, Any]:
        facility = facility_of(wf.config, req.facility)
        authorise(wf, req.caller, "receiving.write", facility)
        receipt = load_receipt(wf.tx, wf.config, facility, req.receipt, lock=True)
        postings = plan_goods_receipt(req, receipt, wf.config)
        return write_goods_receipt(wf, req, receipt, postings)

    return operation(ledger, "receiving.receive", req.caller, fingerprint(req), req.receipt, body)


def plan_goods_receipt(
    req: GoodsReceiptRequest, receipt: ExpectedReceipt, config: Config
) -> list[ReceiptPosting]:
    if receipt.status in CLOSED_STATUSES:
        raise conflict(
            "invalid_transition", "receipt",
            f"expected receipt {receipt.reference!r} is {receipt.status.value}: nothing more "
            "can be received against it",
        )  # fmt: skip
    postings = []
    for index, line in enumerate(req.lines):
        with within(f"lines[{index}]"):
            postings.append(plan_received_line(index, line, receipt, config))
    check_over_receipt(receipt, postings)
    return postings


def plan_received_line(
    index: int, line: ReceivedLineRequest, receipt: ExpectedReceipt, config: Config
) -> ReceiptPosting:
    expected = receipt.lines.get(line.line)
    if expected is None:
        raise LedgerError(
            "unknown_receipt_line",
            f"line: expected receipt {receipt.reference!r} has no line {line.line}",
            field="line",
        )
    location = landing_bin(config, receipt.facility, line.bin)
    lot = line.lot or expected.lot
    if expected.item.lot_tracked and lot is None:
        raise missing("lot")
    expires = line.lot_expires_on or (expected.lot_expires_on if lot == expected.lot else None)
    unit_cost, currency = line.unit_cost, line.currency
    if unit_cost is None:
        unit_cost, currency = expected.unit_cost, expected.currency
    if unit_cost is None or currency is None:
        raise validation_error(
            "unit_cost", "is required: neither the line nor the expected receipt gives one"
        )
    return ReceiptPosting(
        index, expected, line.qty, location, landing_bucket(receipt, location, line.bucket), lot,
        expires, unit_cost, currency,
    )  # fmt: skip


def landing_bin(config: Config, facility: Facility, code: str | None) -> Location:
    """Receipts land in a receiving or quarantine bin (L5.1); by default the facility's first
    receiving bin."""
    if code is None:
        return receiving_bin(config, facility)
    location = location_of(config, facility, code)
    if location.kind not in LANDING_BINS:
        raise validation_error(
            "bin", f"receipts land in a receiving or quarantine bin, not a {location.kind} bin"
        )
    return location


def receiving_bin(config: Config, facility: Facility) -> Location:
    bins = [
        location
        for (facility_id, _), location in config.locations.items()
        if facility_id == facility.facility_id and location.kind is BinKind.RECEIVING
    ]
    if not bins:
        raise missing("bin")
    return min(bins, key=lambda location: location.location_id)


def landing_bucket(receipt: ExpectedReceipt, location: Location, asked: Bucket | None) -> Bucket:
    """Quarantine when the receipt needs QC or the bin is a quarantine bin, else available."""
    held = receipt.qc_required or location.kind is BinKind.QUARANTINE
    if asked is None:
        return Bucket.QUARANTINE if held else Bucket.AVAILABLE
    if asked is Bucket.AVAILABLE and receipt.qc_required:
        raise validation_error(
            "bucket", f"expected receipt {receipt.reference!r} needs QC: it lands in quarantine"
        )
    if asked is Bucket.AVAILABLE and location.kind is BinKind.QUARANTINE:
        raise validation_error("bucket", f"bin {location.code} holds quarantined stock only")
    return asked


def added_per_line(postings: list[ReceiptPosting]) -> dict[int, Decimal]:
    added: dict[int, Decimal] = {}
    for p in postings:
        added[p.expected.line] = added.get(p.expected.line, ZERO) + p.qty
    return added


def check_over_receipt(receipt: ExpectedReceipt, postings: list[ReceiptPosting]) -> None:
    """A line may be received past its expected quantity only within the receipt's
    over-receipt tolerance; beyond it the receipt is refused (L5.1)."""
    added = added_per_line(postings)
    factor = 1 + receipt.over_tolerance_pct / 100
    for p in reversed(postings):  # name the last line that pushed it over
        line = p.expected
        total = line.received + added[line.line]
        allowed = line.expected * factor
        if total > allowed:
            field = f"lines[{p.entry}].qty"
            raise LedgerError(
                "over_receipt",
                f"{field}: {fmt(total)} received on line {line.line} against {fmt(line.expected)} "
                f"expected exceeds the over-receipt tolerance of "
                f"{fmt(receipt.over_tolerance_pct)}%",
                field=field,
                expected=fmt(line.expected),
                received=fmt(total),
                allowed=fmt(allowed),
            )


def write_goods_receipt(
    wf: Workflow, req: GoodsReceiptRequest, receipt: ExpectedReceipt, postings: list[ReceiptPosting]
) -> dict[str, Any]:
    posted = []
    for p in postings:
        with within(f"lines[{p.entry}]", LINE_FIELDS):
            posted.append(wf.post(receipt_posting(req, receipt, p)))
    wf.flush()
    goods_receipt_id = wf.tx.new_ids("goods_receipt", 1)[0]
    wf.tx.run(
        "insert into goods_receipt (goods_receipt_id, receipt_id, idempotency_key, document_id, "
        "occurred_at, posted_at, actor, role, comment) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            goods_receipt_id, receipt.receipt_id, req.caller.key, req.document_id,
            req.occurred_at, wf.now, req.caller.actor, req.caller.role, req.comment,
        ),
    )  # fmt: skip
    wf.tx.many(
        "insert into goods_receipt_line (goods_receipt_id, entry_no, receipt_id, line_no, qty_e6, "
        "location_id, bucket, lot_id, event_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                goods_receipt_id, p.entry + 1, receipt.receipt_id, p.expected.line,
                to_units(p.qty), p.location.location_id, p.bucket.value, events[0].lot_id,
                events[0].event_id,
            )
            for p, events in zip(postings, posted, strict=True)
        ],
    )  # fmt: skip
    status = receipt_status(receipt.lines, added_per_line(postings))
    wf.tx.run(
        "update expected_receipt set status = ? where receipt_id = ?", (status, receipt.receipt_id)
    )
    detail = {"goods_receipt_id": goods_receipt_id, "status": status, "lines": len(postings)}
    wf.audit(req.caller.actor, req.caller.role, "receiving.receive", receipt.reference, detail)
    wf.emit("goods-received", {"receipt": receipt.reference, **detail})
    events = [event for events in posted for event in events]
    return {
        "goods_receipt_id": goods_receipt_id,
        **receipt_json(wf.tx, wf.config, receipt.receipt_id),
        "events": wf.events_json(events),
    }


def receipt_posting(
    req: GoodsReceiptRequest, receipt: ExpectedReceipt, p: ReceiptPosting
) -> dict[str, Any]:
    return posting(
        idempotency_key=f"{req.caller.key}:line:{p.entry + 1}",
        kind="receipt",
        sku=p.expected.variant.sku,
        facility=receipt.facility.code,
        bin=p.location.code,
        bucket=p.bucket.value,
        lot=p.lot,
        lot_expires_on=p.lot_expires_on,
        qty=fmt(p.qty),
        unit_cost=fmt(p.unit_cost),
        currency=p.currency,
        actor=req.caller.actor,
        role=req.caller.role,
        comment=req.comment,
        source={
            "document_type": receipt.document_type,
            "document_id": receipt.reference,
            "line": str(p.expected.line),
        },
        occurred_at=req.occurred_at,
    )


# -- closing an expected receipt -------------------------------------------------------------

CLOSE_FIELDS = frozenset(
    {"idempotency_key", "actor", "role", "facility", "receipt", "reason", "comment"}
)


@dataclass(frozen=True, slots=True)
class CloseRequest:
    caller: Caller
    facility: str
    receipt: str
    reason: ShortReason | None
    comment: str | None


def parse_close(raw: object) -> CloseRequest:
    raw = fields_of(raw, CLOSE_FIELDS)
    return CloseRequest(
        caller=caller_of(raw),
        facility=text(raw, "facility", required=True),
        receipt=text(raw, "receipt", required=True),
        reason=choice(raw, "reason", ShortReason),
        comment=comment_of(raw),
    )


def close_receipt(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Close an expected receipt: `closed` when every line is received, `closed_short` (with a
    short reason) when quantities are still outstanding — the under-receipt is then final."""
    req = parse_close(request)

    def body(wf: Workflow) -> dict[str, Any]:
        facility = facility_of(wf.config, req.facility)
        authorise(wf, req.caller, "receiving.write", facility)
        receipt = load_receipt(wf.tx, wf.config, facility, req.receipt, lock=True)
        status = status_on_close(receipt, req.reason)
        wf.tx.run(
            "update expected_receipt set status = ?, closed_at = ?, closed_by = ?, "
            "close_reason = ?, close_comment = ? where receipt_id = ?",
            (
                status.value, wf.now, req.caller.actor, req.reason and req.reason.value,
                req.comment, receipt.receipt_id,
            ),
        )  # fmt: skip
        detail = {"status": status.value, "reason": req.reason and req.reason.value}
        wf.audit(req.caller.actor, req.caller.role, "receiving.close", req.receipt, detail)
        wf.emit("receipt-closed", {"receipt": req.receipt, "facility": facility.code, **detail})
        return receipt_json(wf.tx, wf.config, receipt.receipt_id)

    return operation(ledger, "receiving.close", req.caller, fingerprint(req), req.receipt, body)


def status_on_close(receipt: ExpectedReceipt, reason: ShortReason | None) -> ReceiptStatus:
    if receipt.status in CLOSED_STATUSES:
        raise conflict(
            "invalid_transition", "receipt",
            f"expected receipt {receipt.reference!r} is already {receipt.status.value}",
        )  # fmt: skip
    if receipt.status is ReceiptStatus.RECEIVED:
        return ReceiptStatus.CLOSED
    if reason is None:
        raise LedgerError(
            "reason_required",
            "reason: is required to close a receipt with quantities outstanding",
            field="reason",
        )
    return ReceiptStatus.CLOSED_SHORT


# -- QC decisions ----------------------------------------------------------------------------

QC_FIELDS = frozenset(
    {
        "idempotency_key", "actor", "role", "facility", "sku", "bin", "lot", "owner", "qty",
        "to_bucket", "reason_code", "comment", "occurred_at", "receipt",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class QcRequest:
    caller: Caller
    facility: str
    sku: str
    bin: str | None
    lot: str | None
    owner: str | None
    qty: Decimal
    to_bucket: Bucket
    reason_code: str
    comment: str | None
    occurred_at: str
    receipt: str | None


@dataclass(frozen=True, slots=True)
class StockAt:
    """A position's identity, resolved: the SKU, bin, lot and owner."""

    variant: Variant
    location: Location
    lot_id: int | None
    lot: str | None
    owner_id: int
    owner: str


def parse_qc(raw: object) -> QcRequest:
    raw = fields_of(raw, QC_FIELDS)
    caller = caller_of(raw)
    to_bucket = choice(raw, "to_bucket", Bucket) or Bucket.AVAILABLE
    if to_bucket not in QC_BUCKETS:
        raise validation_error("to_bucket", "QC releases to available or rejects to damaged")
    reason = text(raw, "reason_code")
    if reason is None:
        raise LedgerError(
            "reason_required", "reason_code: is required for a QC decision", field="reason_code"
        )
    return QcRequest(
        caller=caller,
        facility=text(raw, "facility", required=True),
        sku=text(raw, "sku", required=True),
        bin=text(raw, "bin"),
        lot=text(raw, "lot"),
        owner=text(raw, "owner"),
        qty=quantity(raw, "qty"),
        to_bucket=to_bucket,
        reason_code=reason,
        comment=comment_of(raw),
        occurred_at=instant(raw, "occurred_at"),
        receipt=text(raw, "receipt"),
    )


def release_from_quarantine(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """A QC decision on quarantined stock: release to available (reason e.g. qc_release) or
    reject to damaged (reason e.g. damage), by an explicit reclassification (L5.2)."""
    req = parse_qc(request)

    def body(wf: Workflow) -> dict[str, Any]:
        facility = facility_of(wf.config, req.facility)
        authorise(wf, req.caller, "qc.release", facility)
        receipt_id = None
        if req.receipt is not None:
            receipt_id = load_receipt(wf.tx, wf.config, facility, req.receipt).receipt_id
        stock = stock_at(wf, facility, req.sku, req.bin, req.lot, req.owner)
        check_not_recalled(wf.tx, facility, stock, req.qty)
        events = wf.post(qc_posting(req, facility, stock))
        wf.flush()
        decision_id = write_qc_decision(wf, req, facility, receipt_id, stock, events)
        return {
            "decision_id": decision_id,
            "facility": facility.code,
            "sku": stock.variant.sku,
            "bin": stock.location.code,
            "lot": stock.lot,
            "qty": fmt(req.qty),
            "from_bucket": Bucket.QUARANTINE.value,
            "to_bucket": req.to_bucket.value,
            "reason_code": req.reason_code,
            "receipt": req.receipt,
            "events": wf.events_json(events),
        }

    subject = f"{req.facility}/{req.sku}"
    return operation(ledger, "qc.release", req.caller, fingerprint(req), subject, body)


def stock_at(
    wf: Workflow, facility: Facility, sku: str, bin_: str | None, lot: str | None,
    owner: str | None,
) -> StockAt:  # fmt: skip
    variant, item = variant_of(wf.config, sku)
    location = (
        location_of(wf.config, facility, bin_) if bin_ else receiving_bin(wf.config, facility)
    )
    lot_id = None
    if item.lot_tracked:
        if lot is None:
            raise missing("lot")
        lot_id = lot_id_of(wf.tx, variant, lot)
    elif lot is not None:
        raise validation_error("lot", f"item {item.code} is not lot-tracked")
    owner_id = facility.org_id
    if owner is not None:
        party = wf.config.parties.get(owner)
        if party is None:
            raise unknown("unknown_owner", "owner", owner)
        owner_id = party.party_id
    owner_code = wf.config.parties_by_id[owner_id].code
    return StockAt(variant, location, lot_id, lot, owner_id, owner_code)


def check_not_recalled(tx: Tx, facility: Facility, stock: StockAt, qty: Decimal) -> None:
    """QC may not release quarantined stock an active recall holds: only the recall's own
    release returns it (L5.2)."""
    if stock.lot_id is None:
        return
    held = from_units(
        tx.one(
            "select coalesce(sum(l.qty_e6), 0) from recall_line l join recall r "
            "on r.recall_id = l.recall_id where r.status = 'active' and l.action = 'hold' "
            "and r.facility_id = ? and r.variant_id = ? and r.lot_id = ? and l.location_id = ? "
            "and l.owner_id = ?",
            (facility.facility_id, stock.variant.variant_id, stock.lot_id,
             stock.location.location_id, stock.owner_id),
        )[0]  # type: ignore[index]
    )  # fmt: skip
    if held == 0:
        return
    row = tx.one(
        tx.locked(
            "select qty_e6 from stock_balance where variant_id = ? and facility_id = ? "
            "and location_id = ? and lot_key = ? and bucket = 'quarantine' and owner_id = ?"
        ),
        (stock.variant.variant_id, facility.facility_id, stock.location.location_id,
         stock.lot_id, stock.owner_id),
    )  # fmt: skip
    free = (from_units(row[0]) if row else ZERO) - held
    if qty > free:
        raise conflict(
            "recall_hold", "qty",
            f"{fmt(held)} of lot {stock.lot!r} at {stock.location.code} is held by a recall; QC "
            f"may release at most {fmt(max(free, ZERO))}",
            held=fmt(held),
        )  # fmt: skip


def qc_posting(req: QcRequest, facility: Facility, stock: StockAt) -> dict[str, Any]:
    return posting(
        idempotency_key=f"{req.caller.key}:qc",
        kind="reclassification",
        sku=stock.variant.sku,
        facility=facility.code,
        bin=stock.location.code,
        lot=stock.lot,
        owner=stock.owner,
        bucket=Bucket.QUARANTINE.value,
        to_bucket=req.to_bucket.value,
        qty=fmt(req.qty),
        reason_code=req.reason_code,
        actor=req.caller.actor,
        role=req.caller.role,
        comment=req.comment,
        source={
            "document_type": "qc_decision",
            "document_id": req.receipt or req.caller.key,
            "line": None,
        },
        occurred_at=req.occurred_at,
    )


def write_qc_decision(
    wf: Workflow,
    req: QcRequest,
    facility: Facility,
    receipt_id: int | None,
    stock: StockAt,
    events: list[PlannedEvent],
) -> int:
    decision_id = wf.tx.new_ids("qc_decision", 1)[0]
    out_event, in_event = move_events(events)
    wf.tx.run(
        "insert into qc_decision (decision_id, idempotency_key, facility_id, receipt_id, "
        "variant_id, location_id, lot_id, owner_id, from_bucket, to_bucket, qty_e6, reason_code, "
        "comment, out_event_id, in_event_id, actor, role, occurred_at, decided_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            decision_id, req.caller.key, facility.facility_id, receipt_id,
            stock.variant.variant_id, stock.location.location_id, stock.lot_id, stock.owner_id,
            Bucket.QUARANTINE.value, req.to_bucket.value, to_units(req.qty), req.reason_code,
            req.comment, out_event, in_event, req.caller.actor, req.caller.role, req.occurred_at,
            wf.now,
        ),
    )  # fmt: skip
    detail = {
        "decision_id": decision_id, "facility": facility.code, "bin": stock.location.code,
        "lot": stock.lot, "qty": fmt(req.qty), "to_bucket": req.to_bucket.value,
        "reason_code": req.reason_code, "receipt": req.receipt,
    }  # fmt: skip
    wf.audit(req.caller.actor, req.caller.role, "qc.release", stock.variant.sku, detail)
    return decision_id


# -- recall holds ----------------------------------------------------------------------------

RECALL_FIELDS = frozenset(
    {
        "idempotency_key", "actor", "role", "facility", "sku", "lot", "policy_reference",
        "reason_code", "comment", "occurred_at",
    }
)  # fmt: skip
RELEASE_FIELDS = frozenset(
    {"idempotency_key", "actor", "role", "recall", "reason_code", "comment", "occurred_at"}
)


@dataclass(frozen=True, slots=True)
class RecallRequest:
    caller: Caller
    facility: str
    sku: str
    lot: str
    policy_reference: str
    reason_code: str
    comment: str | None
    occurred_at: str


@dataclass(frozen=True, slots=True)
class RecallReleaseRequest:
    caller: Caller
    recall: int
    reason_code: str
    comment: str | None
    occurred_at: str


@dataclass(frozen=True, slots=True)
class Holding:
    """Stock of a recalled lot at one bin and owner, and the quantity moved."""

    location_id: int
    owner_id: int
    qty: Decimal


@dataclass(frozen=True, slots=True)
class Recall:
    recall_id: int
    facility: Facility
    variant: Variant
    lot: str
    policy_reference: str
    status: RecallStatus
    holdings: tuple[Holding, ...]


def parse_recall(raw: object) -> RecallRequest:
    raw = fields_of(raw, RECALL_FIELDS)
    return RecallRequest(
        caller=caller_of(raw),
        facility=text(raw, "facility", required=True),
        sku=text(raw, "sku", required=True),
        lot=text(raw, "lot", required=True),
        policy_reference=text(raw, "policy_reference", required=True),
        reason_code=text(raw, "reason_code") or RECALL_HOLD,
        comment=comment_of(raw),
        occurred_at=instant(raw, "occurred_at"),
    )


def parse_recall_release(raw: object) -> RecallReleaseRequest:
    raw = fields_of(raw, RELEASE_FIELDS)
    return RecallReleaseRequest(
        caller=caller_of(raw),
        recall=whole_number(raw, "recall"),
        reason_code=text(raw, "reason_code") or RECALL_RELEASE,
        comment=comment_of(raw),
        occurred_at=instant(raw, "occurred_at"),
    )


def recall(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Quarantine a lot in every bin of a facility where it is available (reason e.g.
    recall_hold), under a policy reference, and record what the recall holds (L5.2)."""
    req = parse_recall(request)

    def body(wf: Workflow) -> dict[str, Any]:
        facility = facility_of(wf.config, req.facility)
        authorise(wf, req.caller, "recall.write", facility)
        variant, item = variant_of(wf.config, req.sku)
        if not item.lot_tracked:
            raise validation_error("lot", f"item {item.code} is not lot-tracked")
        lot_id = lot_id_of(wf.tx, variant, req.lot)
        holdings = available_holdings(wf.tx, facility, variant, lot_id)
        if not holdings:
            raise LedgerError(
                "lot_not_held",
                f"lot: {req.lot!r} of {variant.sku} is not held available at {facility.code}",
                field="lot",
            )
        recall_id = wf.tx.new_ids("recall", 1)[0]
        held = Recall(
            recall_id, facility, variant, req.lot, req.policy_reference, RecallStatus.ACTIVE,
            holdings,
        )  # fmt: skip
        return write_recall(wf, req, held, lot_id)

    subject = f"{req.facility}/{req.sku}/{req.lot}"
    return operation(ledger, "recall.hold", req.caller, fingerprint(req), subject, body)


def available_holdings(
    tx: Tx, facility: Facility, variant: Variant, lot_id: int
) -> tuple[Holding, ...]:
    """Where the lot is available at the facility, every bin and owner, locked for the move."""
    rows = tx.all(
        tx.locked(
            "select location_id, owner_id, qty_e6 from stock_balance where variant_id = ? "
            "and facility_id = ? and lot_key = ? and bucket = 'available' and qty_e6 > 0"
        ),
        (variant.variant_id, facility.facility_id, lot_id),
    )
    return tuple(Holding(row[0], row[1], from_units(row[2])) for row in sorted(rows))


def write_recall(wf: Workflow, req: RecallRequest, held: Recall, lot_id: int) -> dict[str, Any]:
    moves = post_recall_moves(wf, req, held, release=False)
    wf.tx.run(
        "insert into recall (recall_id, facility_id, variant_id, lot_id, policy_reference, "
        "reason_code, status, comment, occurred_at, opened_at, opened_by) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            held.recall_id, held.facility.facility_id, held.variant.variant_id, lot_id,
            req.policy_reference, req.reason_code, RecallStatus.ACTIVE.value, req.comment,
            req.occurred_at, wf.now, req.caller.actor,
        ),
    )  # fmt: skip
    write_recall_lines(wf, held, "hold", moves)
    detail = {"recall_id": held.recall_id, "policy_reference": req.policy_reference}
    wf.audit(req.caller.actor, req.caller.role, "recall.hold", req.lot, detail)
    wf.emit("recall-held", recall_json(wf.tx, wf.config, held.recall_id))
    events = [event for move in moves for event in move]
    return {**recall_json(wf.tx, wf.config, held.recall_id), "events": wf.events_json(events)}


def post_recall_moves(
    wf: Workflow, req: RecallRequest | RecallReleaseRequest, held: Recall, *, release: bool
) -> list[list[PlannedEvent]]:
    """One reclassification per holding — available → quarantine for the hold, back for the
    release — each naming the recall and its policy reference; flushed, so they have ids."""
    moves = [
        wf.post(recall_move(wf, req, held, line, holding, release=release))
        for line, holding in enumerate(held.holdings, start=1)
    ]
    wf.flush()
    return moves


def recall_move(
    wf: Workflow,
    req: RecallRequest | RecallReleaseRequest,
    held: Recall,
    line: int,
    holding: Holding,
    *,
    release: bool,
) -> dict[str, Any]:
    action = "release" if release else "hold"
    source, target = Bucket.AVAILABLE, Bucket.QUARANTINE
    if release:
        source, target = target, source
    note = f"recall {held.recall_id} {action} under {held.policy_reference}"
    return posting(
        idempotency_key=f"{req.caller.key}:{action}:{line}",
        kind="reclassification",
        sku=held.variant.sku,
        facility=held.facility.code,
        bin=wf.config.locations_by_id[holding.location_id].code,
        lot=held.lot,
        owner=wf.config.parties_by_id[holding.owner_id].code,
        bucket=source.value,
        to_bucket=target.value,
        qty=fmt(holding.qty),
        reason_code=req.reason_code,
        actor=req.caller.actor,
        role=req.caller.role,
        comment=f"{note}: {req.comment}" if req.comment else note,
        source={
            "document_type": "recall",
            "document_id": held.policy_reference,
            "line": str(held.recall_id),
        },
        occurred_at=req.occurred_at,
    )


def write_recall_lines(
    wf: Workflow, held: Recall, action: str, moves: list[list[PlannedEvent]]
) -> None:
    wf.tx.many(
        "insert into recall_line (recall_id, line_no, action, location_id, owner_id, qty_e6, "
        "out_event_id, in_event_id, recorded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (held.recall_id, n, action, holding.location_id, holding.owner_id,
             to_units(holding.qty), *move_events(events), wf.now)
            for n, (holding, events) in enumerate(zip(held.holdings, moves, strict=True), 1)
        ],
    )  # fmt: skip


def release_recall(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """End a recall: move exactly the quantities it quarantined back to available (reason e.g.
    recall_release). They must still be in quarantine where the recall put them."""
    req = parse_recall_release(request)

    def body(wf: Workflow) -> dict[str, Any]:
        held = load_recall(wf.tx, wf.config, req.recall, lock=True)
        authorise(wf, req.caller, "recall.write", held.facility)
        if held.status is not RecallStatus.ACTIVE:
            raise conflict(
                "invalid_transition", "recall", f"recall {held.recall_id} is already released"
            )
        return write_recall_release(wf, req, held)

    return operation(ledger, "recall.release", req.caller, fingerprint(req), str(req.recall), body)


def write_recall_release(wf: Workflow, req: RecallReleaseRequest, held: Recall) -> dict[str, Any]:
    moves = post_recall_moves(wf, req, held, release=True)
    write_recall_lines(wf, held, "release", moves)
    wf.tx.run(
        "update recall set status = ?, released_at = ?, released_by = ?, release_reason = ?, "
        "release_comment = ? where recall_id = ?",
        (RecallStatus.RELEASED.value, wf.now, req.caller.actor, req.reason_code, req.comment,
         held.recall_id),
    )  # fmt: skip
    detail = {"recall_id": held.recall_id, "policy_reference": held.policy_reference}
    wf.audit(req.caller.actor, req.caller.role, "recall.release", held.lot, detail)
    wf.emit("recall-released", recall_json(wf.tx, wf.config, held.recall_id))
    events = [event for move in moves for event in move]
    return {**recall_json(wf.tx, wf.config, held.recall_id), "events": wf.events_json(events)}


def load_recall(tx: Tx, config: Config, recall_id: int, *, lock: bool = False) -> Recall:
    sql = (
        "select facility_id, variant_id, lot_id, policy_reference, status from recall "
        "where recall_id = ?"
    )
    row = tx.one(tx.locked(sql) if lock else sql, (recall_id,))
    if row is None:
        raise LedgerError("unknown_recall", f"recall: no recall {recall_id}", field="recall")
    holdings = tx.all(
        "select location_id, owner_id, qty_e6 from recall_line where recall_id = ? "
        "and action = 'hold' order by line_no",
        (recall_id,),
    )
    lot = lot_numbers(tx, [row[2]])[row[2]]
    return Recall(
        recall_id, config.facilities_by_id[row[0]], config.variants_by_id[row[1]], lot, row[3],
        RecallStatus(row[4]), tuple(Holding(r[0], r[1], from_units(r[2])) for r in holdings),
    )  # fmt: skip


# -- reads -----------------------------------------------------------------------------------


def show_receipt(ledger: Ledger, facility: str, reference: str) -> dict[str, Any]:
    """An expected receipt: per line expected, received, outstanding, over and short; and the
    goods receipts against it."""
    with ledger.store.read() as tx:
        config = ledger.config(tx)
        found = load_receipt(tx, config, facility_of(config, facility), reference)
        return receipt_json(tx, config, found.receipt_id, with_receipts=True)


def show_recall(ledger: Ledger, recall_id: int) -> dict[str, Any]:
    with ledger.store.read() as tx:
        config = ledger.config(tx)
        load_recall(tx, config, recall_id)
        return recall_json(tx, config, recall_id)


def receipt_json(
    tx: Tx, config: Config, receipt_id: int, *, with_receipts: bool = False
) -> dict[str, Any]:
    row = tx.one(
        "select facility_id, reference, document_type, vendor_id, expected_at, qc_required, "
        "over_tolerance_pct_e6, status, close_reason from expected_receipt where receipt_id = ?",
        (receipt_id,),
    )
    assert row is not None
    facility = config.facilities_by_id[row[0]]
    found = load_receipt(tx, config, facility, row[1])
    status = ReceiptStatus(row[7])
    result = {
        "receipt_id": receipt_id,
        "receipt": row[1],
        "facility": facility.code,
        "document_type": row[2],
        "vendor": config.parties_by_id[row[3]].code if row[3] else None,
        "expected_at": timeutil.iso(row[4]),
        "qc_required": bool(row[5]),
        "over_tolerance_pct": fmt(from_units(row[6])),
        "status": status.value,
        "close_reason": row[8],
        "lines": [line_json(line, status) for line in found.lines.values()],
    }
    if with_receipts:
        result["goods_receipts"] = goods_receipts_json(tx, config, receipt_id)
    return result


def line_json(line: ExpectedLine, status: ReceiptStatus) -> dict[str, Any]:
    missing_qty = max(line.expected - line.received, ZERO)
    closed = status in CLOSED_STATUSES
    return {
        "line": line.line,
        "sku": line.variant.sku,
        "lot": line.lot,
        "expected": fmt(line.expected),
        "received": fmt(line.received),
        "outstanding": fmt(ZERO if closed else missing_qty),
        "over": fmt(max(line.received - line.expected, ZERO)),
        "short": fmt(missing_qty if status is ReceiptStatus.CLOSED_SHORT else ZERO),
    }


def goods_receipts_json(tx: Tx, config: Config, receipt_id: int) -> list[dict[str, Any]]:
    heads = tx.all(
        "select goods_receipt_id, document_id, occurred_at, actor, role from goods_receipt "
        "where receipt_id = ? order by goods_receipt_id",
        (receipt_id,),
    )
    rows = tx.all(
        "select goods_receipt_id, line_no, qty_e6, location_id, bucket, lot_id, event_id "
        "from goods_receipt_line where receipt_id = ? order by goods_receipt_id, entry_no",
        (receipt_id,),
    )
    lots = lot_numbers(tx, [row[5] for row in rows if row[5]])
    return [
        {
            "goods_receipt_id": head[0],
            "document_id": head[1],
            "occurred_at": timeutil.iso(head[2]),
            "actor": head[3],
            "role": head[4],
            "lines": [
                {
                    "line": row[1],
                    "qty": fmt(from_units(row[2])),
                    "bin": config.locations_by_id[row[3]].code,
                    "bucket": row[4],
                    "lot": lots.get(row[5]),
                    "event_id": row[6],
                }
                for row in rows
                if row[0] == head[0]
            ],
        }
        for head in heads
    ]


def recall_json(tx: Tx, config: Config, recall_id: int) -> dict[str, Any]:
    row = tx.one(
        "select facility_id, variant_id, lot_id, policy_reference, reason_code, status, "
        "opened_by, occurred_at, released_by, release_reason from recall where recall_id = ?",
        (recall_id,),
    )
    assert row is not None
    lines = tx.all(
        "select line_no, action, location_id, owner_id, qty_e6, out_event_id, in_event_id "
        "from recall_line where recall_id = ? order by action, line_no",
        (recall_id,),
    )
    held = [line for line in lines if line[1] == "hold"]
    return {
        "recall_id": recall_id,
        "facility": config.facilities_by_id[row[0]].code,
        "sku": config.variants_by_id[row[1]].sku,
        "lot": lot_numbers(tx, [row[2]])[row[2]],
        "policy_reference": row[3],
        "reason_code": row[4],
        "status": row[5],
        "opened_by": row[6],
        "occurred_at": timeutil.iso(row[7]),
        "released_by": row[8],
        "release_reason": row[9],
        "held": [
            {
                "line": line[0],
                "bin": config.locations_by_id[line[2]].code,
                "owner": config.parties_by_id[line[3]].code,
                "qty": fmt(from_units(line[4])),
                "hold_event_id": line[6],
                "release_event_id": next(
                    (other[6] for other in lines if other[1] == "release" and other[0] == line[0]),
                    None,
                ),
            }
            for line in held
        ],
        "qty": fmt(sum((from_units(line[4]) for line in held), ZERO)),
    }
