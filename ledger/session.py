"""The unit of work of one write transaction: the stock it has read, the changes accepted so
far, and the single flush that writes them.

Requests are planned against a `Draft` (copies of what they touch); only a request that is
accepted whole is merged into the session, so a rejected request in a batch leaves nothing
behind. The flush writes events, balances, cost, layers, outbox and idempotency records
together, in the transaction the caller commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledger import numbers, timeutil
from ledger.config import Config, Lot, Period, bump_config_version
from ledger.costing import CostPosition, Layer, LayerEntry, LayerId
from ledger.errors import LedgerError
from ledger.numbers import ZERO, from_units, to_units
from ledger.storage import Tx
from ledger.vocabulary import CostingMethod, Kind

FUTURE_TOLERANCE = timedelta(days=1)
PositionKey = tuple[int, int, int, int, str, int]  # variant, facility, location, lot, bucket, owner

EVENT_COLUMNS = (
    "event_id, idempotency_key, org_id, facility_id, location_id, variant_id, lot_id, bucket, "
    "owner_id, position_id, kind, qty_e6, qty_after_e6, unit_cost_e6, cost_delta_e6, "
    "avg_cost_after_e6, currency, reason_code, actor, role, comment, channel, cost_centre, "
    "source_doc_type, source_doc_id, source_line, occurred_at, posted_at, reverses_event_id, "
    "period_code, approved_by"
)


@dataclass(slots=True, eq=False)
class Position:
    key: PositionKey
    position_id: int | None
    qty: Decimal
    value: Decimal
    exists: bool

    def clone(self) -> Position:
        return Position(self.key, self.position_id, self.qty, self.value, self.exists)


@dataclass(slots=True)
class Context:
    """What every event of one request shares."""

    idempotency_key: str
    org_id: int
    actor: str
    role: str
    comment: str | None
    channel: str | None
    cost_centre: str | None
    source: tuple[str, str, str | None]
    occurred_at: str
    posted_at: str
    period_code: str
    approved_by: str | None = None


@dataclass(slots=True, eq=False)
class PlannedEvent:
    context: Context
    kind: Kind
    position: Position
    lot_id: int | None
    qty: Decimal
    qty_after: Decimal
    unit_cost: Decimal | None
    cost_delta: Decimal
    avg_after: Decimal | None
    currency: str | None
    reason_code: str | None
    reverses_event_id: int | None = None
    entries: list[LayerEntry] = field(default_factory=list)
    event_id: int | None = None
    stored: tuple[Any, ...] | None = None  # the row as flushed

    def row(self, position_id: int) -> tuple[Any, ...]:
        ctx, key = self.context, self.position.key
        return (
            self.event_id, ctx.idempotency_key, ctx.org_id, key[1], key[2], key[0],
            self.lot_id, key[4], key[5], position_id, self.kind.value,
            to_units(self.qty), to_units(self.qty_after), to_units(self.unit_cost),
            to_units(self.cost_delta), to_units(self.avg_after), self.currency, self.reason_code,
            ctx.actor, ctx.role, ctx.comment, ctx.channel, ctx.cost_centre, *ctx.source,
            ctx.occurred_at, ctx.posted_at, self.reverses_event_id, ctx.period_code,
            ctx.approved_by,
        )  # fmt: skip


@dataclass(slots=True)
class Accepted:
    """One accepted request waiting for the flush."""

    key: str
    fingerprint: str
    events: list[PlannedEvent]
    messages: list[tuple[str, PlannedEvent | None, dict[str, Any]]]


class Draft:
    """Copies of the stock one request touches; merged into the session only on acceptance."""

    def __init__(self, session: PostingSession):
        self.session = session
        self.config = session.config
        self.positions: dict[PositionKey, Position] = {}
        self.costs: dict[tuple[int, int], CostPosition] = {}
        self.lots: dict[tuple[int, str], Lot] = {}
        self.periods: dict[str, Period] = {}
        self.reversed: set[int] = set()
        self.events: list[PlannedEvent] = []
        self.messages: list[tuple[str, PlannedEvent | None, dict[str, Any]]] = []

    def position(self, key: PositionKey) -> Position:
        found = self.positions.get(key)
        if found is None:
            found = self.session.position(key).clone()
            self.positions[key] = found
        return found

    def cost(self, facility_id: int, variant_id: int) -> CostPosition:
        found = self.costs.get((facility_id, variant_id))
        if found is None:
            found = self.session.cost(facility_id, variant_id).clone()
            self.costs[(facility_id, variant_id)] = found
        return found

    def layer(self, cp: CostPosition, layer_id: int) -> Layer:
        """A layer by id, closed ones included (a reversal may reopen one)."""
        assert cp.layers is not None
        for layer in cp.layers:
            if layer.layer_id == layer_id:
                return layer
        layer = self.session.load_layer(layer_id, cp.facility_id, cp.variant_id)
        cp.layers.append(layer)
        cp.layers.sort(key=lambda item: item.layer_id if item.layer_id is not None else 1 << 62)
        return layer

    def lot(self, variant_id: int, number: str) -> Lot | None:
        return self.lots.get((variant_id, number)) or self.session.lot(variant_id, number)

    def new_lot(self, variant_id: int, number: str, expires_on: date | None) -> Lot:
        lot = Lot(self.session.tx.new_ids("lot", 1)[0], variant_id, number, expires_on)
        self.lots[(variant_id, number)] = lot
        return lot

    def lot_positions(self, key: PositionKey) -> list[tuple[Lot, Position]]:
        """Every lot held at the position `key` names (its lot part ignored), as of this draft."""
        found = []
        for lot_key in self.session.lot_keys(key):
            position = self.position((key[0], key[1], key[2], lot_key, key[4], key[5]))
            found.append((self.session.lot_by_id(key[0], lot_key), position))
        return found

    def period(self, moment: str) -> Period | None:
        for period in (*self.periods.values(), *self.session.new_periods):
            if period.starts_at <= moment < period.ends_at:
                return period
        return self.config.period_at(moment)

    def is_reversed(self, event_id: int) -> bool:
        return event_id in self.reversed or event_id in self.session.reversed

    def add(self, event: PlannedEvent) -> PlannedEvent:
        self.events.append(event)
        return event


@dataclass(slots=True)
class StockCache:
    """Committed stock state read by earlier sessions; valid while the store's generation is
    unchanged (no other writer has committed since)."""

    generation: int = -1
    positions: dict[PositionKey, Position] = field(default_factory=dict)
    costs: dict[tuple[int, int], CostPosition] = field(default_factory=dict)
    lots: dict[tuple[int, str], Lot] = field(default_factory=dict)
    lot_numbers: dict[int, str] = field(default_factory=dict)

    def too_big(self) -> bool:
        return len(self.positions) > 500_000


class PostingSession:
    def __init__(self, tx: Tx, config: Config, cache: StockCache | None = None):
        self.tx = tx
        self.config = config
        moment = timeutil.now()
        self.posted_at = timeutil.stored(moment)
        # Business time may run a little ahead of the server clock, not a month.
        self.future_limit = timeutil.stored(moment + FUTURE_TOLERANCE)
        cache = cache or StockCache()
        self.positions = cache.positions
        self.costs = cache.costs
        self.lots = cache.lots
        self.lot_numbers = cache.lot_numbers
        self.new_lots: list[Lot] = []
        self.new_periods: list[Period] = []
        self.reversed: set[int] = set()
        self.accepted: list[Accepted] = []
        self.by_key: dict[str, Accepted] = {}
        self.opened_periods = False
        self.fresh_keys: set[PositionKey] = set()  # positions this session creates

    # -- reads, each row locked for update on backends with row locks ------------------------

    def position(self, key: PositionKey) -> Position:
        found = self.positions.get(key)
        if found is not None:
            return found
        row = self.tx.one(
            self.tx.locked(
                "select position_id, qty_e6, value_e6 from stock_balance where variant_id = ? "
                "and facility_id = ? and location_id = ? and lot_key = ? and bucket = ? "
                "and owner_id = ?"
            ),
            key,
        )
        if row is None:
            found = Position(key, None, ZERO, ZERO, exists=False)
        else:
            found = Position(key, row[0], from_units(row[1]), from_units(row[2]), exists=True)
        self.positions[key] = found
        return found

    def cost(self, facility_id: int, variant_id: int) -> CostPosition:
        found = self.costs.get((facility_id, variant_id))
        if found is not None:
            return found
        row = self.tx.one(
            self.tx.locked(
                "select costing_method, currency, qty_e6, value_e6, last_unit_cost_e6 "
                "from cost_position where facility_id = ? and variant_id = ?"
            ),
            (facility_id, variant_id),
        )
        if row is None:
            variant = self.config.variants_by_id[variant_id]
            method = self.config.items_by_id[variant.item_id].costing_method
            currency = self.config.facilities_by_id[facility_id].currency
            found = CostPosition(facility_id, variant_id, method, currency, ZERO, ZERO, None)
            found.exists = False
        else:
            found = CostPosition(
                facility_id, variant_id, CostingMethod(row[0]), row[1], from_units(row[2]),
                from_units(row[3]), from_units(row[4]),
            )  # fmt: skip
        if found.method is CostingMethod.FIFO:
            found.layers = self._open_layers(facility_id, variant_id) if found.exists else []
        self.costs[(facility_id, variant_id)] = found
        return found

    def _open_layers(self, facility_id: int, variant_id: int) -> list[Layer]:
        rows = self.tx.all(
            self.tx.locked(
                "select layer_id, unit_cost_e6, opened_qty_e6, remaining_qty_e6, "
                "remaining_value_e6, opened_at from cost_layer where facility_id = ? "
                "and variant_id = ? and remaining_qty_e6 <> 0 order by layer_id"
            ),
            (facility_id, variant_id),
        )
        return [_layer(row) for row in rows]

    def load_layer(self, layer_id: int, facility_id: int, variant_id: int) -> Layer:
        row = self.tx.one(
            self.tx.locked(
                "select layer_id, unit_cost_e6, opened_qty_e6, remaining_qty_e6, "
                "remaining_value_e6, opened_at from cost_layer where layer_id = ? "
                "and facility_id = ? and variant_id = ?"
            ),
            (layer_id, facility_id, variant_id),
        )
        if row is None:
            raise LedgerError(
                "layer_not_available",
                f"layers: no cost layer {layer_id} of this SKU at this facility",
                field="layers",
            )
        return _layer(row)

    def lot(self, variant_id: int, number: str) -> Lot | None:
        found = self.lots.get((variant_id, number))
        if found is not None:
            return found
        row = self.tx.one(
            "select lot_id, expires_on from lot where variant_id = ? and lot_number = ?",
            (variant_id, number),
        )
        if row is None:
            return None
        expires = date.fromisoformat(row[1]) if row[1] else None
        found = Lot(row[0], variant_id, number, expires)
        self.lots[(variant_id, number)] = found
        self.lot_numbers[found.lot_id] = number
        return found

    def lot_keys(self, key: PositionKey) -> list[int]:
        """The lots stocked at a position's variant, facility, bin, bucket and owner: the stored
        ones and those this session has created."""
        # Stored quantities may be stale within a batch, so every stored lot comes back; the
        # caller reads each position's current quantity.
        rows = self.tx.all(
            self.tx.locked(
                "select lot_key from stock_balance where variant_id = ? and facility_id = ? "
                "and location_id = ? and bucket = ? and owner_id = ? and lot_key <> 0"
            ),
            (key[0], key[1], key[2], key[4], key[5]),
        )
        keys = {row[0] for row in rows}
        shape = (key[0], key[1], key[2], key[4], key[5])
        keys |= {
            fresh[3]
            for fresh in self.fresh_keys
            if (fresh[0], fresh[1], fresh[2], fresh[4], fresh[5]) == shape
        }
        return sorted(keys)

    def lot_by_id(self, variant_id: int, lot_id: int) -> Lot:
        number = self.lot_numbers.get(lot_id)
        if number is None:
            row = self.tx.one("select lot_number from lot where lot_id = ?", (lot_id,))
            assert row is not None, f"lot {lot_id} of a stock position is missing"
            number = row[0]
        found = self.lot(variant_id, number)
        assert found is not None, f"lot {lot_id} of a stock position is missing"
        return found

    # -- accepting and writing ---------------------------------------------------------------

    def accept(self, draft: Draft, key: str, fingerprint: str) -> Accepted:
        self.fresh_keys.update(k for k, position in draft.positions.items() if not position.exists)
        self.positions.update(draft.positions)
        self.costs.update(draft.costs)
        self.lots.update(draft.lots)
        self.lot_numbers.update((lot.lot_id, lot.lot_number) for lot in draft.lots.values())
        self.new_lots.extend(draft.lots.values())
        self.new_periods.extend(draft.periods.values())
        self.reversed |= draft.reversed
        accepted = Accepted(key, fingerprint, draft.events, draft.messages)
        self.accepted.append(accepted)
        self.by_key[key] = accepted
        return accepted

    def flush(self) -> None:
        """Write what was accepted since the last flush."""
        try:
            self._flush()
        finally:
            self.opened_periods |= bool(self.new_periods)
            self.accepted, self.new_lots, self.new_periods = [], [], []

    def _flush(self) -> None:
        tx = self.tx
        events = [event for accepted in self.accepted for event in accepted.events]
        if not events:
            return
        if self.new_periods:
            tx.many(
                "insert into period (code, starts_at, ends_at, status, changed_at, changed_by, "
                "close_version) values (?, ?, ?, 'open', ?, 'ledger', 0)",
                [
                    (p.code, p.starts_at, p.ends_at, events[0].context.posted_at)
                    for p in self.new_periods
                ],
            )
            bump_config_version(tx)
        if self.new_lots:
            tx.many(
                "insert into lot (lot_id, variant_id, lot_number, expires_on) values (?, ?, ?, ?)",
                [
                    (lot.lot_id, lot.variant_id, lot.lot_number,
                     lot.expires_on.isoformat() if lot.expires_on else None)
                    for lot in self.new_lots
                ],
            )  # fmt: skip
        first_event = tx.next_ids("stock_event", len(events))
        for offset, event in enumerate(events):
            event.event_id = first_event + offset
        self._write_positions(events)
        for event in events:
            event.stored = event.row(self.positions[event.position.key].position_id)  # type: ignore[arg-type]
        tx.many(
            f"insert into stock_event ({EVENT_COLUMNS}) values ({', '.join('?' * 31)})",
            [event.stored for event in events],
        )
        self._write_costs(events)
        tx.many(
            "insert into idempotency (key, request_hash, first_event_id, last_event_id, "
            "posted_at) values (?, ?, ?, ?, ?)",
            [
                (a.key, a.fingerprint, a.events[0].event_id, a.events[-1].event_id,
                 a.events[0].context.posted_at)
                for a in self.accepted
            ],
        )  # fmt: skip
        self._write_outbox()

    def _write_positions(self, events: list[PlannedEvent]) -> None:
        last_event: dict[PositionKey, int] = {}
        for event in events:
            last_event[event.position.key] = event.event_id  # type: ignore[assignment]
        touched = [self.positions[key] for key in last_event]
        new = [position for position in touched if not position.exists]
        existing = [position for position in touched if position.exists]
        if new:
            for position, position_id in zip(
                new, self.tx.new_ids("stock_balance", len(new)), strict=True
            ):
                position.position_id = position_id
            self.tx.many(
                "insert into stock_balance (position_id, variant_id, facility_id, location_id, "
                "lot_key, bucket, owner_id, qty_e6, value_e6, last_event_id) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (p.position_id, *p.key, to_units(p.qty), to_units(p.value), last_event[p.key])
                    for p in new
                ],
            )
            for position in new:
                position.exists = True
        self.tx.many(
            "update stock_balance set qty_e6 = ?, value_e6 = ?, last_event_id = ? "
            "where position_id = ?",
            [
                (to_units(p.qty), to_units(p.value), last_event[p.key], p.position_id)
                for p in existing
            ],
        )

    def _write_costs(self, events: list[PlannedEvent]) -> None:
        touched = {
            (event.position.key[1], event.position.key[0])
            for event in events
            if event.currency is not None  # owned stock: it has a cost position
        }
        cps = [self.costs[key] for key in touched if key in self.costs]
        rows = [
            (to_units(cp.qty), to_units(cp.value), to_units(cp.last_unit_cost), cp.currency,
             cp.facility_id, cp.variant_id)
            for cp in cps
        ]  # fmt: skip
        self.tx.many(
            "insert into cost_position (qty_e6, value_e6, last_unit_cost_e6, currency, "
            "facility_id, variant_id, costing_method) values (?, ?, ?, ?, ?, ?, ?)",
            [(*row, cp.method.value) for row, cp in zip(rows, cps, strict=True) if not cp.exists],
        )
        self.tx.many(
            "update cost_position set qty_e6 = ?, value_e6 = ?, last_unit_cost_e6 = ?, "
            "currency = ? where facility_id = ? and variant_id = ?",
            [row for row, cp in zip(rows, cps, strict=True) if cp.exists],
        )
        for cp in cps:
            cp.exists = True
            cp.last_cost_pending = False
        self._write_layers(events, cps)

    def _write_layers(self, events: list[PlannedEvent], cps: list[CostPosition]) -> None:
        layers = [layer for cp in cps for layer in (cp.layers or ()) if layer.touched]
        new = [layer for layer in layers if layer.layer_id is None]
        existing = [layer for layer in layers if layer.layer_id is not None]
        for layer in new:
            layer.ident.value = layer.ident.opened_by.event_id  # type: ignore[union-attr]
        owners = {id(layer): cp for cp in cps for layer in (cp.layers or ())}
        self.tx.many(
            "insert into cost_layer (layer_id, facility_id, variant_id, opened_event_id, "
            "opened_at, unit_cost_e6, opened_qty_e6, remaining_qty_e6, remaining_value_e6, "
            "currency) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_layer_row(layer, owners[id(layer)]) for layer in new],
        )
        self.tx.many(
            "update cost_layer set remaining_qty_e6 = ?, remaining_value_e6 = ? where layer_id = ?",
            [
                (to_units(layer.remaining_qty), to_units(layer.remaining_value), layer.layer_id)
                for layer in existing
            ],
        )
        self.tx.many(
            "insert into cost_layer_entry (event_id, layer_id, qty_e6, value_e6) "
            "values (?, ?, ?, ?)",
            [
                (event.event_id, entry.layer.layer_id, to_units(entry.qty), to_units(entry.value))
                for event in events
                for entry in event.entries
            ],
        )
        for cp in cps:
            if cp.layers is not None:
                cp.layers = [layer for layer in cp.layers if layer.remaining_qty != 0]
                for layer in cp.layers:
                    layer.touched = False

    def _write_outbox(self) -> None:
        messages: list[tuple[str, int | None, str | None, str]] = []
        for accepted in self.accepted:
            for event in accepted.events:
                messages.append(("stock_event", event.event_id, None, event.context.posted_at))
            for topic, event, payload in accepted.messages:
                body = dict(payload, event_id=event.event_id if event else None)
                messages.append(
                    (
                        topic,
                        None,
                        json.dumps(body, sort_keys=True),
                        accepted.events[0].context.posted_at,
                    )
                )
        first = self.tx.next_ids("outbox", len(messages))
        self.tx.many(
            "insert into outbox (seq, topic, event_id, payload, created_at) values (?, ?, ?, ?, ?)",
            [(first + offset, *message) for offset, message in enumerate(messages)],
        )


def _layer(row: tuple[Any, ...]) -> Layer:
    return Layer(
        LayerId(row[0]), from_units(row[1]), from_units(row[2]), from_units(row[3]),
        from_units(row[4]), row[5],
    )  # fmt: skip


def _layer_row(layer: Layer, owner: CostPosition) -> tuple[Any, ...]:
    return (
        layer.layer_id, owner.facility_id, owner.variant_id, layer.layer_id, layer.opened_at,
        to_units(layer.unit_cost), to_units(layer.opened_qty), to_units(layer.remaining_qty),
        to_units(layer.remaining_value), owner.currency,
    )  # fmt: skip


def money_text(value: Decimal | None) -> str | None:
    return None if value is None else numbers.fmt(value)
