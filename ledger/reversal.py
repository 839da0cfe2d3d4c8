"""Reversals (L2.6): a new event per original event with the negated quantity, cost and layer
entries; the original is never edited, a reversal is never reversed, nothing twice."""

from __future__ import annotations

from decimal import Decimal

from ledger import access, costing
from ledger.errors import LedgerError, forbidden, unknown
from ledger.numbers import ZERO, from_units
from ledger.requests import PostingRequest
from ledger.session import Context, Draft, PlannedEvent
from ledger.vocabulary import COST_WRITERS, Kind

ORIGINAL_COLUMNS = (
    "event_id, org_id, facility_id, location_id, variant_id, lot_id, bucket, owner_id, kind, "
    "qty_e6, unit_cost_e6, cost_delta_e6, currency"
)


def plan_reversal(req: PostingRequest, ctx: Context, reason: str | None, draft: Draft) -> None:
    tx = draft.session.tx
    target = tx.one(
        "select idempotency_key, kind from stock_event where event_id = ?", (req.reverses,)
    )
    if target is None:
        raise unknown("unknown_event", "reverses", req.reverses)
    if target[1] == Kind.REVERSAL:
        raise LedgerError(
            "reversal_of_reversal",
            f"reverses: event {req.reverses} is itself a reversal and cannot be reversed",
            field="reverses",
        )
    first, last = tx.one(
        "select first_event_id, last_event_id from idempotency where key = ?", (target[0],)
    )  # type: ignore[misc]
    rows = tx.all(
        f"select {ORIGINAL_COLUMNS} from stock_event where event_id between ? and ? "
        "order by event_id",
        (first, last),
    )
    already = tx.one(
        "select min(reverses_event_id) from stock_event where reverses_event_id between ? and ?",
        (first, last),
    )
    if (already and already[0] is not None) or any(draft.is_reversed(row[0]) for row in rows):
        raise LedgerError(
            "already_reversed",
            f"reverses: event {req.reverses} is already reversed",
            field="reverses",
        )
    if any(row[8] == Kind.REVERSAL for row in rows):
        # e.g. the zero_stock_revaluation a reversal wrote: it stands with that reversal
        raise LedgerError(
            "reversal_of_reversal",
            f"reverses: event {req.reverses} was written by a reversal and cannot be reversed",
            field="reverses",
        )
    if any(row[8] == Kind.COST_ADJUSTMENT for row in rows) and req.role not in COST_WRITERS:
        raise forbidden(req.role.value, "reverse cost adjustments")
    entries: dict[int, list[tuple[int, Decimal, Decimal]]] = {}
    for event_id, layer_id, qty, value in tx.all(
        "select event_id, layer_id, qty_e6, value_e6 from cost_layer_entry "
        "where event_id between ? and ? order by event_id, layer_id",
        (first, last),
    ):
        entries.setdefault(event_id, []).append((layer_id, from_units(qty), from_units(value)))
    ctx.org_id = rows[0][1]
    for facility_id in sorted({row[2] for row in rows}):
        facility = draft.config.facilities_by_id[facility_id]
        access.authorise(
            draft.config.grants, req.actor, req.role.value, "stock.post", facility_id,
            draft.session.posted_at, facility.code,
        )  # fmt: skip
    touched = {}
    for row in reversed(rows):
        cp = reverse_event(row, entries.get(row[0], []), ctx, reason, draft)
        if cp is not None:
            touched[(cp.facility_id, cp.variant_id)] = (cp, draft.events[-1])
    for cp, event in touched.values():
        residue = costing.zero_stock_residue(cp)
        if residue:
            cp.value += residue
            event.position.value += residue
            draft.add(
                PlannedEvent(
                    ctx,
                    Kind.COST_ADJUSTMENT,
                    event.position,
                    event.lot_id,
                    ZERO,
                    event.position.qty,
                    None,
                    residue,
                    cp.average(),
                    cp.currency,
                    "zero_stock_revaluation",
                )
            )


def last_known_cost(draft: Draft, facility_id: int, variant_id: int, before: int) -> Decimal | None:
    """The cost of the latest stock that came in and still stands, once `before` is taken back
    (L7.3: a reversed receipt is not the last known cost)."""
    rows = draft.session.tx.all(
        "select e.event_id, e.unit_cost_e6 from stock_event e where e.facility_id = ? "
        "and e.variant_id = ? and e.event_id < ? and e.qty_e6 > 0 "
        "and e.kind in ('receipt', 'customer_return', 'transfer_in', 'adjustment') "
        "and e.unit_cost_e6 is not null and not exists (select 1 from stock_event r "
        "where r.reverses_event_id = e.event_id) order by e.event_id desc limit 50",
        (facility_id, variant_id, before),
    )
    for event_id, cost in rows:
        if not draft.is_reversed(event_id):
            return from_units(cost)
    return None


def reverse_event(
    row: tuple, layer_entries: list[tuple[int, Decimal, Decimal]], ctx: Context,
    reason: str | None, draft: Draft,
) -> costing.CostPosition | None:  # fmt: skip
    event_id, _, facility_id, location_id, variant_id, lot_id, bucket, owner_id = row[:8]
    qty, unit, delta, currency = (
        from_units(row[9]),
        from_units(row[10]),
        from_units(row[11]),
        row[12],
    )
    position = draft.position((variant_id, facility_id, location_id, lot_id or 0, bucket, owner_id))
    if (
        position.qty - qty < 0
        and qty > 0
        and not draft.config.allows_negative(facility_id, variant_id)
    ):
        raise LedgerError(
            "insufficient_stock",
            f"reverses: taking back event {event_id} would leave {position.qty - qty} on hand",
            field="reverses",
        )
    cp = None
    negated: list[costing.LayerEntry] = []
    if currency is not None:
        cp = draft.cost(facility_id, variant_id)
        taken = [
            costing.LayerEntry(draft.layer(cp, layer_id), layer_qty, layer_value)
            for layer_id, layer_qty, layer_value in layer_entries
        ]
        costing.undo(cp, qty, delta, taken)
        negated = [costing.LayerEntry(entry.layer, -entry.qty, -entry.value) for entry in taken]
        if qty > 0 and not cp.last_cost_pending and cp.last_unit_cost == unit:
            cp.last_unit_cost = last_known_cost(draft, facility_id, variant_id, event_id)
    position.qty -= qty
    position.value -= delta
    draft.reversed.add(event_id)
    draft.add(
        PlannedEvent(
            ctx,
            Kind.REVERSAL,
            position,
            lot_id,
            -qty,
            position.qty,
            unit,
            -delta,
            cp.average() if cp is not None else None,
            currency,
            reason,
            reverses_event_id=event_id,
            entries=negated,
        )
    )
    return cp
