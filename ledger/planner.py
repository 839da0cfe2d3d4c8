"""The posting rules: resolve → authorise → check policy → compute cost → planned events.

Nothing here writes: a plan is built on a `Draft` and the session keeps it only when the whole
request is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from ledger import access, costing, numbers
from ledger.config import Facility, Item, Lot, Period, Variant
from ledger.costing import CostEffect, CostPosition
from ledger.errors import LedgerError, forbidden, missing, unknown, validation_error
from ledger.numbers import ZERO
from ledger.requests import PostingRequest
from ledger.reversal import plan_reversal
from ledger.session import Context, Draft, PlannedEvent, Position, PositionKey
from ledger.vocabulary import (
    COST_WRITERS,
    REASON_REQUIRED,
    STOCK_WRITERS,
    Bucket,
    FacilityType,
    Kind,
    PartyKind,
    PeriodStatus,
)


@dataclass(frozen=True, slots=True)
class Target:
    """The stock a request names, resolved to master data."""

    variant: Variant
    item: Item
    facility: Facility
    location_id: int
    lot: Lot | None
    owner_id: int
    owned: bool

    def key(self, bucket: Bucket, location_id: int | None = None) -> PositionKey:
        lot_key = self.lot.lot_id if self.lot else 0
        location = self.location_id if location_id is None else location_id
        return (
            self.variant.variant_id, self.facility.facility_id, location, lot_key, bucket.value,
            self.owner_id,
        )  # fmt: skip


INBOUND = frozenset({Kind.RECEIPT, Kind.CUSTOMER_RETURN, Kind.TRANSFER_IN})
OUTBOUND = frozenset(
    {Kind.ISSUE, Kind.VENDOR_RETURN, Kind.TRANSFER_OUT, Kind.CONSIGNMENT_CONSUMPTION}
)
SIGNED = frozenset({Kind.ADJUSTMENT, Kind.COUNT_VARIANCE})
# Outbound kinds that may leave the lot to the ledger: first expiry, first out (L5.4).
FEFO_KINDS = frozenset({Kind.ISSUE, Kind.TRANSFER_OUT, Kind.CONSIGNMENT_CONSUMPTION})
SALES = frozenset({Kind.ISSUE, Kind.CONSIGNMENT_CONSUMPTION})


def plan(req: PostingRequest, draft: Draft) -> None:
    """Fill `draft` with the events `req` posts, or raise the rejection."""
    posted_at = draft.session.posted_at
    check_role(req)
    period = posting_period(req, draft)
    reason = check_reason(req, draft)
    if req.kind is Kind.REVERSAL:
        ctx = context(req, draft, posted_at, period, org_id=None)
        plan_reversal(req, ctx, reason, draft)
        return
    check_sellable(req)
    target = resolve(req, draft)
    authorise(req, draft, target.facility)
    ctx = context(req, draft, posted_at, period, org_id=target.facility.org_id)
    check_lot_on_outbound(req, target)
    if target.item.lot_tracked and target.lot is None:
        plan_fefo(req, ctx, reason, target, draft)
    elif req.kind in INBOUND or (req.kind in SIGNED and req.qty > 0):  # type: ignore[operator]
        plan_inbound(req, ctx, reason, target, draft)
    elif req.kind in OUTBOUND or req.kind in SIGNED:
        plan_outbound(req, ctx, reason, target, draft)
    elif req.kind in (Kind.BIN_MOVE, Kind.RECLASSIFICATION):
        plan_move(req, ctx, reason, target, draft)
    elif req.kind is Kind.COST_ADJUSTMENT:
        plan_cost_adjustment(req, ctx, reason, target, draft)
    else:
        raise validation_error("kind", f"{req.kind.value!r} cannot be posted directly")
    check_approval(req, ctx, target.facility, draft)


# -- resolve, authorise, check ---------------------------------------------------------------


def check_role(req: PostingRequest) -> None:
    """The role may post this kind at all (before anything is looked up)."""
    if req.role not in STOCK_WRITERS:
        raise forbidden(req.role.value, "post stock movements")
    if req.kind is Kind.COST_ADJUSTMENT and req.role not in COST_WRITERS:
        raise forbidden(req.role.value, "post cost adjustments")


def authorise(req: PostingRequest, draft: Draft, facility: Facility) -> None:
    """The actor holds a grant of the role at this facility now (L8.1). The in-transit node is
    nobody's workplace: a workflow moving stock through it has authorised the operation at the
    facilities at either end."""
    if req.internal and facility.facility_type is FacilityType.IN_TRANSIT:
        return
    action = "cost.post" if req.kind is Kind.COST_ADJUSTMENT else "stock.post"
    access.authorise(
        draft.config.grants, req.actor, req.role.value, action, facility.facility_id,
        draft.session.posted_at, facility.code,
    )  # fmt: skip


def check_approval(req: PostingRequest, ctx: Context, facility: Facility, draft: Draft) -> None:
    """Adjustments and write-offs worth more than the threshold need an approver (L8.2)."""
    if req.approver is None and req.kind is not Kind.ADJUSTMENT:
        return
    policy = draft.config.approval_policy(facility.facility_id)
    value = sum((abs(event.cost_delta) for event in draft.events), ZERO)
    needed = req.kind is Kind.ADJUSTMENT and access.approval_needed(
        policy.adjustment_value_threshold, value
    )
    if req.approver is None:
        if needed:
            error = LedgerError(
                "approval_required",
                f"approver: an adjustment worth {numbers.fmt(value)} is over the approval "
                f"threshold of {numbers.fmt(policy.adjustment_value_threshold)}",
                field="approver",
            )
            error.status = 403
            raise error
        return
    if policy.no_self_approval and req.approver == req.actor:
        error = LedgerError(
            "self_approval", "approver: may not be the actor who posts it", field="approver"
        )
        error.status = 403
        raise error
    access.authorise_approver(
        draft.config.grants, req.approver, "adjustment.approve", facility.facility_id,
        draft.session.posted_at, facility.code,
    )  # fmt: skip
    ctx.approved_by = req.approver


def posting_period(req: PostingRequest, draft: Draft) -> Period:
    """The open period `occurred_at` falls in; a month with no period yet is opened when nothing
    after it has been closed (L2.5)."""
    occurred = req.occurred
    if occurred > draft.session.future_limit:
        raise LedgerError(
            "occurred_in_future",
            "occurred_at: is more than a day after the posting time",
            field="occurred_at",
        )
    period = draft.period(occurred)
    if period is None:
        later_closed = [
            p
            for p in draft.config.periods
            if p.status is not PeriodStatus.OPEN and p.ends_at > occurred
        ]
        if later_closed:
            raise LedgerError(
                "period_closed",
                f"occurred_at: {occurred[:10]} is before closed period {later_closed[0].code} "
                "and has no open period",
                field="occurred_at",
            )
        period = monthly_period(req.occurred_at.date())
        draft.periods[period.code] = period
    if period.status is PeriodStatus.CLOSED:
        raise LedgerError(
            "period_closed", f"occurred_at: period {period.code} is closed", field="occurred_at"
        )
    if period.status is PeriodStatus.LOCKED:
        raise LedgerError(
            "period_locked",
            f"occurred_at: period {period.code} is locked; post the correction in the current "
            "open period",
            field="occurred_at",
        )
    return period


def monthly_period(day: date) -> Period:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return Period(
        f"{start:%Y-%m}", f"{start.isoformat()}T00:00:00.000000Z",
        f"{end.isoformat()}T00:00:00.000000Z", PeriodStatus.OPEN, 0,
    )  # fmt: skip


def check_reason(req: PostingRequest, draft: Draft) -> str | None:
    code = req.reason_code
    if code is None:
        if req.kind in REASON_REQUIRED:
            raise LedgerError(
                "reason_required",
                f"reason_code: is required for a {req.kind.value}",
                field="reason_code",
            )
        return None
    reason = draft.config.reasons.get(code)
    if reason is None or not reason.is_active:
        raise unknown("unknown_reason_code", "reason_code", code)
    if reason.kinds and req.kind.value not in reason.kinds:
        raise LedgerError(
            "reason_not_allowed",
            f"reason_code: {code!r} is not allowed for a {req.kind.value}",
            field="reason_code",
        )
    return code


def resolve(req: PostingRequest, draft: Draft) -> Target:
    config = draft.config
    variant = config.variant(req.sku)  # type: ignore[arg-type]
    if variant is None:
        raise unknown("unknown_sku", "sku", req.sku)
    item = config.items_by_id[variant.item_id]
    facility = config.facilities.get(req.facility)  # type: ignore[arg-type]
    if facility is None:
        raise unknown("unknown_facility", "facility", req.facility)
    in_transit = (
        facility.facility_type is FacilityType.IN_TRANSIT or req.bucket is Bucket.IN_TRANSIT
    )
    if in_transit and not req.internal:
        raise validation_error("facility", "in-transit stock is moved only by transfers")
    location_id = resolve_bin(req.bin, "bin", facility, draft)
    owner_id, owned = facility.org_id, True
    if req.owner is not None:
        party = config.parties.get(req.owner)
        if party is None:
            raise unknown("unknown_owner", "owner", req.owner)
        owner_id, owned = party.party_id, party.kind is PartyKind.ORG
    if item.serial_tracked and req.qty is not None and req.qty != req.qty.to_integral_value():
        raise validation_error("qty", f"item {item.code} is serial-tracked: whole units only")
    lot = resolve_lot(req, item, variant, draft)
    if not owned and (req.unit_cost is not None or req.kind is Kind.COST_ADJUSTMENT):
        raise validation_error("unit_cost", "consigned stock is not valued by the organisation")
    return Target(variant, item, facility, location_id, lot, owner_id, owned)


def resolve_bin(code: str | None, field: str, facility: Facility, draft: Draft) -> int:
    if code is None:
        if facility.default_location_id is None:
            raise missing(field)
        return facility.default_location_id
    location = draft.config.locations.get((facility.facility_id, code))
    if location is None:
        raise LedgerError(
            "unknown_bin", f"{field}: no bin {code!r} in facility {facility.code}", field=field
        )
    return location.location_id


def resolve_lot(req: PostingRequest, item: Item, variant: Variant, draft: Draft) -> Lot | None:
    if not item.lot_tracked:
        if req.lot is not None:
            raise validation_error("lot", f"item {item.code} is not lot-tracked")
        return None
    if req.lot is None:
        if req.kind in FEFO_KINDS:
            return None  # picked by earliest expiry (plan_fefo)
        raise missing("lot")
    lot = draft.lot(variant.variant_id, req.lot)
    creates = req.kind in INBOUND or (req.kind in SIGNED and req.qty > 0)  # type: ignore[operator]
    expires = req.lot_expires_on
    if lot is None:
        if not creates:
            raise LedgerError(
                "unknown_lot", f"lot: no lot {req.lot!r} of {variant.sku}", field="lot"
            )
        if expires is None and item.shelf_life_days is not None:
            expires = req.occurred_at.date() + timedelta(days=item.shelf_life_days)
        return draft.new_lot(variant.variant_id, req.lot, expires)
    if expires is not None and lot.expires_on != expires:
        raise LedgerError(
            "lot_expiry_mismatch",
            f"lot_expires_on: lot {req.lot!r} expires on {lot.expires_on}, not {expires}",
            field="lot_expires_on",
        )
    return lot


def check_sellable(req: PostingRequest) -> None:
    """Only available stock is sold: quarantined (QC, recall) and damaged stock must be released
    or written off first (L5.2)."""
    if req.kind in SALES and req.bucket is not Bucket.AVAILABLE:
        raise LedgerError(
            "bucket_not_sellable",
            f"bucket: {req.bucket.value} stock cannot be sold; release or write it off first",
            field="bucket",
        )


def check_lot_on_outbound(req: PostingRequest, target: Target) -> None:
    """Expired lots cannot be sold (L5.4); they can still be written off, moved or returned."""
    lot = target.lot
    if (
        req.kind is Kind.ISSUE
        and lot
        and lot.expires_on
        and lot.expires_on < req.occurred_at.date()
    ):
        raise LedgerError(
            "lot_expired", f"lot: {lot.lot_number!r} expired on {lot.expires_on}", field="lot"
        )


def context(
    req: PostingRequest, draft: Draft, posted_at: str, period: Period, org_id: int | None
) -> Context:
    return Context(
        idempotency_key=req.idempotency_key,
        org_id=org_id or 0,
        actor=req.actor,
        role=req.role.value,
        comment=req.comment,
        channel=req.channel.value if req.channel else None,
        cost_centre=req.cost_centre,
        source=(req.source.document_type, req.source.document_id, req.source.line),
        occurred_at=req.occurred,
        posted_at=posted_at,
        period_code=period.code,
    )


# -- the movement kinds ----------------------------------------------------------------------


def plan_inbound(
    req: PostingRequest, ctx: Context, reason: str | None, target: Target, draft: Draft
) -> None:
    qty = abs(req.qty)  # type: ignore[arg-type]
    position = draft.position(target.key(req.bucket))
    if not target.owned:
        record(draft, ctx, req.kind, position, target, qty, reason)
        return
    cp = draft.cost(target.facility.facility_id, target.variant.variant_id)
    cost = inbound_cost(req, cp, qty)
    effect = costing.inbound(cp, qty, cost, ctx.occurred_at, req.value)
    record(draft, ctx, req.kind, position, target, qty, reason, cp, effect, cost)
    if effect.settlement:
        record_settlement(draft, ctx, position, target, cp, effect)
    settle_zero_stock(draft, ctx, position, target, cp)


def inbound_cost(req: PostingRequest, cp: CostPosition, qty: Decimal) -> Decimal:
    """The unit cost stock comes in at: the value a transfer carries, the request's cost in the
    position's currency, or for returns and found stock the current cost."""
    if req.value is not None:
        return numbers.unit_cost(req.value / qty)
    if req.unit_cost is not None:
        if req.currency is None:
            raise missing("currency")
        if req.currency != cp.currency:
            raise LedgerError(
                "currency_mismatch",
                f"currency: {req.currency} differs from the position's average cost currency "
                f"{cp.currency}",
                field="currency",
            )
        return req.unit_cost
    if req.kind is Kind.RECEIPT:
        raise missing("unit_cost")
    known = cp.average()
    if known is None:
        raise validation_error("unit_cost", "is required: no cost is known yet for this stock")
    return known


def plan_outbound(
    req: PostingRequest,
    ctx: Context,
    reason: str | None,
    target: Target,
    draft: Draft,
    qty: Decimal | None = None,
) -> None:
    qty = abs(req.qty) if qty is None else qty  # type: ignore[arg-type]
    position = draft.position(target.key(req.bucket))
    check_stock(position, qty, target, draft)
    if not target.owned:
        consign(req, ctx, reason, target, draft, position, qty)
    else:
        cp = draft.cost(target.facility.facility_id, target.variant.variant_id)
        if req.internal and (req.value is not None or req.layers):
            picks = [(draft.layer(cp, layer_id), taken) for layer_id, taken in req.layers]
            effect = costing.outbound_carried(cp, qty, req.value, picks)
        else:
            effect = costing.outbound(cp, qty, ctx.occurred_at)
        record(draft, ctx, req.kind, position, target, -qty, reason, cp, effect)
    if position.qty < 0:
        draft.messages.append(
            (
                "stock-overcommitted",
                draft.events[-1],
                {
                    "sku": target.variant.sku,
                    "facility": target.facility.code,
                    "position": list(position.key),
                    "qty_after": numbers.fmt(position.qty),
                    "shortfall": numbers.fmt(min(qty, -position.qty)),
                },
            )
        )


def consign(
    req: PostingRequest,
    ctx: Context,
    reason: str | None,
    target: Target,
    draft: Draft,
    position: Position,
    qty: Decimal,
) -> None:
    """Stock a vendor owns leaves without cost; a sale of it is a consignment consumption that
    names the sale and the vendor for settlement (L6.1)."""
    kind = Kind.CONSIGNMENT_CONSUMPTION if req.kind is Kind.ISSUE else req.kind
    event = record(draft, ctx, kind, position, target, -qty, reason)
    if kind is Kind.CONSIGNMENT_CONSUMPTION:
        vendor = draft.config.parties_by_id[target.owner_id]
        draft.messages.append(
            (
                "consignment-consumed",
                event,
                {
                    "vendor": vendor.code,
                    "sku": target.variant.sku,
                    "facility": target.facility.code,
                    "qty": numbers.fmt(qty),
                    "sale": {"document_type": ctx.source[0], "document_id": ctx.source[1],
                             "line": ctx.source[2]},
                    "channel": ctx.channel,
                },
            )
        )  # fmt: skip


def plan_fefo(
    req: PostingRequest, ctx: Context, reason: str | None, target: Target, draft: Draft
) -> None:
    """An outbound movement of a lot-tracked item without a lot takes the lots of the position
    by earliest expiry, skipping expired ones for sales (L5.4)."""
    wanted: Decimal = abs(req.qty)  # type: ignore[arg-type]
    today = req.occurred_at.date()
    holdings = [
        (lot, position)
        for lot, position in draft.lot_positions(target.key(req.bucket))
        if position.qty > 0
        and not (req.kind is Kind.ISSUE and lot.expires_on and lot.expires_on < today)
    ]
    holdings.sort(
        key=lambda item: (item[0].expires_on is None, item[0].expires_on, item[0].lot_number)
    )
    left = wanted
    for lot, position in holdings:
        take = min(left, position.qty)
        plan_outbound(req, ctx, reason, replace(target, lot=lot), draft, take)
        left -= take
        if left == 0:
            return
    on_hand = wanted - left
    raise LedgerError(
        "insufficient_stock",
        f"qty: {numbers.fmt(wanted)} exceeds the {numbers.fmt(on_hand)} in unexpired lots of "
        f"{target.variant.sku} at {target.facility.code}",
        field="qty",
        available=numbers.fmt(on_hand),
    )


def check_stock(position: Position, qty: Decimal, target: Target, draft: Draft) -> None:
    """No negative stock unless the facility + variant policy allows it (L2.2)."""
    if position.qty - qty >= 0:
        return
    if draft.config.allows_negative(target.facility.facility_id, target.variant.variant_id):
        return
    raise LedgerError(
        "insufficient_stock",
        f"qty: {numbers.fmt(qty)} exceeds the {numbers.fmt(max(position.qty, ZERO))} on hand "
        f"of {target.variant.sku} at {target.facility.code}",
        field="qty",
        available=numbers.fmt(position.qty),
    )


def plan_move(
    req: PostingRequest, ctx: Context, reason: str | None, target: Target, draft: Draft
) -> None:
    """A bin move or a reclassification: out of one position, into another of the same facility,
    carrying the source position's share of value; the facility's cost is unchanged."""
    qty: Decimal = req.qty  # type: ignore[assignment]
    source = draft.position(target.key(req.bucket))
    if req.kind is Kind.BIN_MOVE:
        to_location = resolve_bin(req.to_bin, "to_bin", target.facility, draft)
        destination = draft.position(target.key(req.bucket, to_location))
    else:
        destination = draft.position(target.key(req.to_bucket))  # type: ignore[arg-type]
    check_stock(source, qty, target, draft)
    cp = (
        draft.cost(target.facility.facility_id, target.variant.variant_id) if target.owned else None
    )
    moved = ZERO
    if cp is not None:
        average = cp.average() or ZERO
        in_stock = min(max(source.qty, ZERO), qty)
        moved = costing.share(source.value, in_stock, source.qty) if in_stock > 0 else ZERO
        moved += numbers.money((qty - in_stock) * average)
    out_effect = CostEffect(delta=-moved) if cp is not None else None
    in_effect = CostEffect(delta=moved) if cp is not None else None
    unit = cp.average() if cp is not None else None
    record(draft, ctx, req.kind, source, target, -qty, reason, cp, out_effect, unit)
    record(draft, ctx, req.kind, destination, target, qty, reason, cp, in_effect, unit)


def plan_cost_adjustment(
    req: PostingRequest, ctx: Context, reason: str | None, target: Target, draft: Draft
) -> None:
    cp = draft.cost(target.facility.facility_id, target.variant.variant_id)
    if req.currency != cp.currency:
        raise LedgerError(
            "currency_mismatch",
            f"currency: {req.currency} differs from the position's average cost currency "
            f"{cp.currency}",
            field="currency",
        )
    effect = costing.revalue(cp, req.amount)  # type: ignore[arg-type]
    position = draft.position(target.key(req.bucket))
    record(draft, ctx, Kind.COST_ADJUSTMENT, position, target, ZERO, reason, cp, effect)


# -- events ----------------------------------------------------------------------------------


def record(
    draft: Draft,
    ctx: Context,
    kind: Kind,
    position: Position,
    target: Target,
    qty: Decimal,
    reason: str | None,
    cp: CostPosition | None = None,
    effect: CostEffect | None = None,
    unit: Decimal | None = None,
) -> PlannedEvent:
    """One stock card event: the position moves by `qty` and, for owned stock, by the cost delta."""
    delta = effect.delta if effect is not None else ZERO
    position.qty += qty
    position.value += delta
    event = PlannedEvent(
        context=ctx,
        kind=kind,
        position=position,
        lot_id=target.lot.lot_id if target.lot else None,
        qty=qty,
        qty_after=position.qty,
        unit_cost=unit if unit is not None else unit_of(effect, qty),
        cost_delta=delta,
        avg_after=cp.average() if cp is not None else None,
        currency=cp.currency if cp is not None else None,
        reason_code=reason,
        entries=effect.entries if effect is not None else [],
    )
    claim_new_layers(event)
    return draft.add(event)


def unit_of(effect: CostEffect | None, qty: Decimal) -> Decimal | None:
    if effect is None or qty == 0:
        return None
    return numbers.unit_cost(abs(effect.delta / qty))


def claim_new_layers(event: PlannedEvent) -> None:
    for entry in event.entries:
        if entry.layer.layer_id is None and entry.layer.ident.opened_by is None:
            entry.layer.ident.opened_by = event


def record_settlement(
    draft: Draft,
    ctx: Context,
    position: Position,
    target: Target,
    cp: CostPosition,
    effect: CostEffect,
) -> None:
    settlement = CostEffect(delta=effect.settlement, entries=effect.settlement_entries)
    record(
        draft, ctx, Kind.COST_ADJUSTMENT, position, target, ZERO, "negative_stock_settlement",
        cp, settlement,
    )  # fmt: skip


def settle_zero_stock(
    draft: Draft, ctx: Context, position: Position, target: Target, cp: CostPosition
) -> None:
    residue = costing.zero_stock_residue(cp)
    if residue:
        cp.value += residue
        record(
            draft, ctx, Kind.COST_ADJUSTMENT, position, target, ZERO, "zero_stock_revaluation",
            cp, CostEffect(delta=residue),
        )  # fmt: skip
