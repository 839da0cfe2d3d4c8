"""Parse and validate posting requests: raw JSON objects in, typed requests out.

Everything that can be checked without the database is checked here, so a request that
fails never reaches a transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger import numbers, timeutil
from ledger.errors import missing, validation_error
from ledger.vocabulary import POSTABLE_KINDS, Bucket, Channel, Kind, Role

MAX_TEXT = 200
MAX_COMMENT = 2000

FIELDS = frozenset(
    {
        "idempotency_key", "kind", "sku", "facility", "bin", "to_bin", "lot", "lot_expires_on",
        "bucket", "to_bucket", "owner", "qty", "unit_cost", "currency", "amount",
        "reason_code", "actor", "role", "comment", "channel", "cost_centre", "source",
        "occurred_at", "reverses", "value", "approver", "layers",
    }
)  # fmt: skip
SOURCE_FIELDS = frozenset({"document_type", "document_id", "line"})
QTY_KINDS = frozenset(
    {
        Kind.RECEIPT, Kind.ISSUE, Kind.CUSTOMER_RETURN, Kind.VENDOR_RETURN,
        Kind.ADJUSTMENT, Kind.RECLASSIFICATION, Kind.BIN_MOVE, Kind.TRANSFER_OUT,
        Kind.TRANSFER_IN, Kind.COUNT_VARIANCE, Kind.CONSIGNMENT_CONSUMPTION,
    }
)  # fmt: skip
SIGNED_KINDS = frozenset({Kind.ADJUSTMENT, Kind.COUNT_VARIANCE})
COMMENT_REQUIRED = frozenset({Kind.ADJUSTMENT, Kind.COST_ADJUSTMENT, Kind.REVERSAL})


@dataclass(frozen=True, slots=True)
class SourceRef:
    document_type: str
    document_id: str
    line: str | None


@dataclass(frozen=True, slots=True)
class PostingRequest:
    idempotency_key: str
    kind: Kind
    sku: str | None
    facility: str | None
    bin: str | None
    to_bin: str | None
    lot: str | None
    lot_expires_on: date | None
    bucket: Bucket
    to_bucket: Bucket | None
    owner: str | None
    qty: Decimal | None
    unit_cost: Decimal | None
    currency: str | None
    amount: Decimal | None
    reason_code: str | None
    actor: str
    role: Role
    comment: str | None
    channel: Channel | None
    cost_centre: str | None
    source: SourceRef
    occurred_at: datetime
    reverses: int | None
    fingerprint: str
    occurred: str = ""  # occurred_at as stored: fixed-width UTC text
    # Written by a workflow (transfers, counts, consignment) inside its own transaction: may
    # use the workflow's kinds and the in-transit node, and bring stock in at an exact value.
    internal: bool = False
    value: Decimal | None = None
    approver: str | None = None
    layers: tuple[tuple[int, Decimal], ...] = ()  # FIFO layers an internal outbound leg takes


def text(raw: Mapping[str, Any], field: str, *, required: bool = False, limit: int = MAX_TEXT):
    value = raw.get(field)
    # The common case first: a clean, non-empty string of sensible length.
    if value.__class__ is str and 0 < len(value) <= limit and value == value.strip():
        return value
    if value is None or value == "":
        if required:
            raise missing(field)
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise validation_error(field, "must be a string")
    value = value.strip()
    if not value:
        if required:
            raise missing(field)
        return None
    if len(value) > limit:
        raise validation_error(field, f"must be at most {limit} characters")
    return value


def choice(raw: Mapping[str, Any], field: str, enum: type, *, required: bool = False):
    value = text(raw, field, required=required)
    if value is None:
        return None
    member = enum._value2member_map_.get(value)
    if member is None:
        allowed = ", ".join(member.value for member in enum)
        raise validation_error(field, f"{value!r} is not one of {allowed}")
    return member


def currency_code(raw: Mapping[str, Any], field: str) -> str | None:
    value = text(raw, field)
    if value is not None and (len(value) != 3 or not value.isalpha() or not value.isupper()):
        raise validation_error(field, "must be a three-letter upper-case ISO 4217 code")
    return value


def parse_source(raw: Mapping[str, Any]) -> SourceRef:
    value = raw.get("source")
    if value is None:
        raise missing("source")
    if not isinstance(value, Mapping):
        raise validation_error("source", "must be an object with document_type and document_id")
    extra = set(value) - SOURCE_FIELDS
    if extra:
        raise validation_error(f"source.{sorted(extra)[0]}", "is not a known field")
    return SourceRef(
        document_type=_prefixed(value, "document_type", required=True),
        document_id=_prefixed(value, "document_id", required=True),
        line=_prefixed(value, "line"),
    )


def _prefixed(raw: Mapping[str, Any], field: str, *, required: bool = False) -> str | None:
    try:
        return text(raw, field, required=required)
    except Exception as err:
        err.field = f"source.{field}"  # type: ignore[attr-defined]
        err.message = f"source.{err.message}"  # type: ignore[attr-defined]
        err.args = (err.message,)  # type: ignore[attr-defined]
        raise


def parse_posting(raw: object, *, internal: bool = False) -> PostingRequest:
    """A typed posting request, or a `validation_error` naming the first bad field."""
    if not isinstance(raw, Mapping):
        raise validation_error("request", "must be a JSON object")
    extra = set(raw) - FIELDS
    if not internal:
        # exact carried values and named cost layers are for workflows that move cost along
        extra |= {"value", "layers"} & set(raw)
    if extra:
        raise validation_error(sorted(extra)[0], "is not a known field")
    kind = choice(raw, "kind", Kind, required=True)
    if kind not in POSTABLE_KINDS and not internal:
        raise validation_error(
            "kind", f"{kind.value!r} is posted by its own workflow, not directly"
        )
    key = text(raw, "idempotency_key", required=True)
    actor = text(raw, "actor", required=True)
    role = choice(raw, "role", Role, required=True)
    occurred_at = _instant(raw, "occurred_at")
    source = parse_source(raw)
    comment = text(raw, "comment", required=kind in COMMENT_REQUIRED, limit=MAX_COMMENT)
    reason = text(raw, "reason_code")
    channel = choice(raw, "channel", Channel)
    cost_centre = text(raw, "cost_centre")

    reverses = None
    sku = facility = bin_ = to_bin = lot = owner = currency = None
    lot_expires_on = None
    bucket, to_bucket = Bucket.AVAILABLE, None
    qty = unit_cost = amount = None
    if kind is Kind.REVERSAL:
        reverses = _event_id(raw)
        _absent(raw, "sku", "facility", "bin", "to_bin", "lot", "qty", "unit_cost", "amount")
    else:
        sku = text(raw, "sku", required=True)
        facility = text(raw, "facility", required=True)
        bin_ = text(raw, "bin")
        lot = text(raw, "lot")
        if raw.get("lot_expires_on") is not None:
            lot_expires_on = timeutil.parse_day(raw["lot_expires_on"], "lot_expires_on")
        owner = text(raw, "owner")
        bucket = choice(raw, "bucket", Bucket) or Bucket.AVAILABLE
        currency = currency_code(raw, "currency")
        if kind in QTY_KINDS:
            qty = _quantity(raw, kind)
        else:
            _absent(raw, "qty")
        if raw.get("unit_cost") is not None:
            unit_cost = numbers.parse_cost(raw["unit_cost"], "unit_cost")
        if kind is Kind.COST_ADJUSTMENT:
            if raw.get("amount") is None:
                raise missing("amount")
            amount = numbers.parse_money(raw["amount"], "amount")
            if amount == 0:
                raise validation_error("amount", "must not be zero")
            if currency is None:
                raise missing("currency")
        else:
            _absent(raw, "amount")
        if kind is Kind.BIN_MOVE:
            to_bin = text(raw, "to_bin", required=True)
            if bin_ is None:
                raise missing("bin")
            if to_bin == bin_:
                raise validation_error("to_bin", "must differ from bin")
        else:
            _absent(raw, "to_bin")
        if kind is Kind.RECLASSIFICATION:
            to_bucket = choice(raw, "to_bucket", Bucket, required=True)
            if to_bucket is bucket:
                raise validation_error("to_bucket", "must differ from bucket")
            if Bucket.IN_TRANSIT in (bucket, to_bucket) and not internal:
                raise validation_error("to_bucket", "in_transit is entered only by transfers")
        else:
            _absent(raw, "to_bucket")
        if kind is Kind.RECEIPT and unit_cost is not None and currency is None:
            raise missing("currency")

    approver = text(raw, "approver")
    layers = _layers(raw.get("layers"))
    value = None
    if raw.get("value") is not None:
        value = numbers.parse_money(raw["value"], "value")
    occurred = timeutil.stored(occurred_at)
    fingerprint = _fingerprint(
        kind, sku, facility, bin_, to_bin, lot, lot_expires_on, bucket, to_bucket, owner,
        _decimal_text(qty), _decimal_text(unit_cost), currency, _decimal_text(amount), reason,
        actor, role, comment, channel, cost_centre, source.document_type, source.document_id,
        source.line, occurred, reverses, _decimal_text(value), approver,
        ";".join(f"{layer}:{numbers.fmt(qty)}" for layer, qty in layers),
    )  # fmt: skip
    return PostingRequest(
        idempotency_key=key, kind=kind, sku=sku, facility=facility, bin=bin_, to_bin=to_bin,
        lot=lot, lot_expires_on=lot_expires_on, bucket=bucket, to_bucket=to_bucket, owner=owner,
        qty=qty, unit_cost=unit_cost, currency=currency, amount=amount, reason_code=reason,
        actor=actor, role=role, comment=comment, channel=channel, cost_centre=cost_centre,
        source=source, occurred_at=occurred_at, reverses=reverses, fingerprint=fingerprint,
        occurred=occurred, internal=internal, value=value, approver=approver, layers=layers,
    )  # fmt: skip


def _layers(value: object) -> tuple[tuple[int, Decimal], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise validation_error("layers", "must be a list of {layer_id, qty}")
    picks = []
    for index, item in enumerate(value):
        field = f"layers[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("layer_id"), int):
            raise validation_error(field, "must be {layer_id, qty}")
        qty = numbers.parse_quantity(item.get("qty"), f"{field}.qty")
        if qty <= 0:
            raise validation_error(f"{field}.qty", "must be positive")
        picks.append((item["layer_id"], qty))
    return tuple(picks)


def _instant(raw: Mapping[str, Any], field: str) -> datetime:
    if raw.get(field) in (None, ""):
        raise missing(field)
    return timeutil.parse_instant(raw[field], field)


def _quantity(raw: Mapping[str, Any], kind: Kind) -> Decimal:
    if raw.get("qty") is None:
        raise missing("qty")
    qty = numbers.parse_quantity(raw["qty"], "qty")
    if qty == 0:
        raise validation_error("qty", "must not be zero")
    if qty < 0 and kind not in SIGNED_KINDS:
        raise validation_error(
            "qty", f"must be positive for a {kind.value}; the kind gives the sign"
        )
    return qty


def _event_id(raw: Mapping[str, Any]) -> int:
    value = raw.get("reverses")
    if value is None:
        raise missing("reverses")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise validation_error("reverses", "must be the event id to reverse")
    try:
        event_id = int(value)
    except ValueError:
        raise validation_error("reverses", "must be the event id to reverse") from None
    if event_id <= 0:
        raise validation_error("reverses", "must be a positive event id")
    return event_id


def _absent(raw: Mapping[str, Any], *fields: str) -> None:
    for field in fields:
        if raw.get(field) is not None:
            raise validation_error(field, f"does not apply to a {raw.get('kind')}")


def _fingerprint(*parts: object) -> str:
    """A digest of the normalised request, so '10' and '10.0' are the same payload. Each part is
    length-prefixed, so text moved from one field to the next is another payload."""
    text = "".join(["-" if part is None else f"{len(str(part))}:{part}" for part in parts])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else numbers.fmt(value)
