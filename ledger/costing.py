"""Cost of stock per facility + variant: moving average and FIFO layers (L7).

Pure functions over a `CostPosition`; the caller works on a clone and keeps it only when the
whole posting is accepted. Invariants kept here and tested:
- the position's value is the sum of every cost delta recorded against it;
- for FIFO, the remaining layers sum to the position's quantity and value;
- taking the whole remaining quantity takes the whole remaining value (no rounding residue).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ledger.errors import LedgerError
from ledger.numbers import ZERO, money, unit_cost
from ledger.vocabulary import CostingMethod


@dataclass(slots=True, eq=False)
class LayerId:
    """A layer's identity, shared by every copy of it: the id, or until the flush gives it one,
    the planned event that opens it (a layer's id is its opening event's id)."""

    value: int | None
    opened_by: object | None = None


@dataclass(slots=True, eq=False)
class Layer:
    """One FIFO cost layer; a layer opened with a negative quantity is a negative-stock hole."""

    ident: LayerId
    unit_cost: Decimal
    opened_qty: Decimal
    remaining_qty: Decimal
    remaining_value: Decimal
    opened_at: str
    touched: bool = False

    @property
    def layer_id(self) -> int | None:
        return self.ident.value

    def clone(self) -> Layer:
        return Layer(
            self.ident, self.unit_cost, self.opened_qty, self.remaining_qty, self.remaining_value,
            self.opened_at, self.touched,
        )  # fmt: skip

    @property
    def is_hole(self) -> bool:
        return self.opened_qty < 0


@dataclass(slots=True)
class LayerEntry:
    """What one event did to one layer: the consumption (or opening) the ledger records."""

    layer: Layer
    qty: Decimal
    value: Decimal


@dataclass(slots=True)
class CostPosition:
    facility_id: int
    variant_id: int
    method: CostingMethod
    currency: str
    qty: Decimal
    value: Decimal
    last_unit_cost: Decimal | None
    layers: list[Layer] | None = None  # FIFO: the open layers, oldest first
    exists: bool = True
    # The last known cost was set by stock that is not written yet (an earlier request of the
    # same batch), so it is newer than anything a reversal could take back.
    last_cost_pending: bool = False

    def average(self) -> Decimal | None:
        """The cost an outbound unit goes at: the average while stock is positive, else the last
        known cost (L7.3)."""
        if self.qty > 0:
            return unit_cost(self.value / self.qty)
        return self.last_unit_cost

    def clone(self) -> CostPosition:
        layers = None if self.layers is None else [layer.clone() for layer in self.layers]
        return CostPosition(
            self.facility_id, self.variant_id, self.method, self.currency, self.qty, self.value,
            self.last_unit_cost, layers, self.exists, self.last_cost_pending,
        )  # fmt: skip


@dataclass(slots=True)
class CostEffect:
    delta: Decimal = ZERO
    entries: list[LayerEntry] = field(default_factory=list)
    # A receipt that fills a negative-stock hole records the difference between what the hole
    # was issued at and what the stock really cost as a separate cost_adjustment (L7.3).
    settlement: Decimal = ZERO
    settlement_entries: list[LayerEntry] = field(default_factory=list)


def share(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """`total` * part/whole to the cent; the whole takes exactly the total."""
    if part == whole:
        return total
    return money(total * part / whole)


def inbound(
    cp: CostPosition, qty: Decimal, cost: Decimal, opened_at: str, value: Decimal | None = None
) -> CostEffect:
    """Stock arriving at `cost` a unit, or at an exact total `value` (cost carried along by a
    transfer): fills any hole first, then opens a layer (FIFO)."""
    effect = CostEffect(delta=money(qty * cost) if value is None else value)
    if cp.method is CostingMethod.FIFO:
        _inbound_fifo(cp, qty, cost, opened_at, effect)
    elif cp.qty < 0:
        hole_units = min(qty, -cp.qty)
        booked = share(-cp.value, hole_units, -cp.qty)
        effect.settlement = booked - share(effect.delta, hole_units, qty)
    cp.qty += qty
    cp.value += effect.delta + effect.settlement
    cp.last_unit_cost = cost
    cp.last_cost_pending = True
    return effect


def _inbound_fifo(
    cp: CostPosition, qty: Decimal, cost: Decimal, opened_at: str, effect: CostEffect
) -> None:
    layers = _layers(cp)
    left, value_left = qty, effect.delta
    hole = open_hole(layers)
    if hole is not None:
        hole_units = min(qty, -hole.remaining_qty)
        part = share(effect.delta, hole_units, qty)
        booked = share(-hole.remaining_value, hole_units, -hole.remaining_qty)
        # Each event's entries sum to its own cost delta: the receipt brings the units at
        # their real cost, the settlement carries the difference to what they were issued at.
        _move(hole, hole_units, part, effect.entries)
        effect.settlement = booked - part
        if effect.settlement:
            _move(hole, ZERO, effect.settlement, effect.settlement_entries)
        left, value_left = qty - hole_units, effect.delta - part
    if left > 0:
        layer = Layer(LayerId(None), cost, left, left, value_left, opened_at, touched=True)
        layers.append(layer)
        effect.entries.append(LayerEntry(layer, left, value_left))


def outbound(cp: CostPosition, qty: Decimal, opened_at: str) -> CostEffect:
    """Stock leaving: at the average (moving average) or oldest layers first (FIFO); beyond
    stock, at the last known cost (L7.3)."""
    effect = CostEffect()
    if cp.method is CostingMethod.FIFO:
        _outbound_fifo(cp, qty, opened_at, effect)
    else:
        in_stock = min(max(cp.qty, ZERO), qty)
        taken = share(cp.value, in_stock, cp.qty) if in_stock > 0 else ZERO
        beyond = qty - in_stock
        last = cp.average() or ZERO
        effect.delta = -taken - money(beyond * last)
    cp.qty -= qty
    cp.value += effect.delta
    return effect


def _outbound_fifo(cp: CostPosition, qty: Decimal, opened_at: str, effect: CostEffect) -> None:
    layers = _layers(cp)
    left = qty
    last = cp.last_unit_cost
    for layer in layers:
        if left == 0:
            break
        if layer.remaining_qty <= 0:
            continue
        taken = min(left, layer.remaining_qty)
        value = share(layer.remaining_value, taken, layer.remaining_qty)
        _move(layer, -taken, -value, effect.entries)
        left -= taken
        last = layer.unit_cost
    if left > 0:
        hole = open_hole(layers)
        if hole is None:
            cost = last if last is not None else ZERO
            hole = Layer(LayerId(None), cost, -left, ZERO, ZERO, opened_at, touched=True)
            layers.append(hole)
        _move(hole, -left, -money(left * hole.unit_cost), effect.entries)
    effect.delta = sum((entry.value for entry in effect.entries), ZERO)


def outbound_carried(
    cp: CostPosition, qty: Decimal, value: Decimal | None, picks: list[tuple[Layer, Decimal]]
) -> CostEffect:
    """Stock leaving with the cost a workflow carries for it (a shipment leaving the in-transit
    node): an exact value (moving average) or named layers (FIFO), so shipments in transit at
    the same time never swap costs."""
    effect = CostEffect()
    if cp.method is CostingMethod.FIFO:
        if sum((taken for _, taken in picks), ZERO) != qty:
            raise LedgerError("validation_error", "layers: must add up to qty", field="layers")
        for layer, taken in picks:
            if not 0 < taken <= layer.remaining_qty:
                raise LedgerError(
                    "layer_not_available",
                    f"layers: cost layer {layer.layer_id} holds {layer.remaining_qty}",
                    field="layers",
                )
            value_taken = share(layer.remaining_value, taken, layer.remaining_qty)
            _move(layer, -taken, -value_taken, effect.entries)
        effect.delta = sum((entry.value for entry in effect.entries), ZERO)
    else:
        if value is None:
            raise LedgerError("validation_error", "value: is required", field="value")
        effect.delta = -value
    cp.qty -= qty
    cp.value += effect.delta
    return effect


def revalue(cp: CostPosition, amount: Decimal) -> CostEffect:
    """A cost adjustment of `amount` over the stock on hand (FIFO: across open layers by
    quantity)."""
    if cp.qty <= 0:
        raise LedgerError(
            "no_stock_to_revalue", "amount: there is no stock on hand to revalue", field="amount"
        )
    if cp.value + amount < 0:
        raise LedgerError(
            "negative_value", "amount: would make the stock's value negative", field="amount"
        )
    effect = CostEffect(delta=amount)
    if cp.method is CostingMethod.FIFO:
        open_layers = [layer for layer in _layers(cp) if layer.remaining_qty > 0]
        # Gains spread by quantity; losses by value, so no layer is ever valued below zero.
        weight = (lambda x: x.remaining_qty) if amount > 0 else (lambda x: x.remaining_value)
        whole = sum((weight(layer) for layer in open_layers), ZERO)
        left = amount
        for index, layer in enumerate(open_layers):
            last = index == len(open_layers) - 1
            part = left if last else share(amount, weight(layer), whole)
            if layer.remaining_value + part < 0:
                raise LedgerError(
                    "negative_value", "amount: would value a cost layer below zero", field="amount"
                )
            _move(layer, ZERO, part, effect.entries)
            left -= part
    cp.value += amount
    return effect


def undo(cp: CostPosition, qty: Decimal, delta: Decimal, entries: list[LayerEntry]) -> None:
    """Take back an event exactly (a reversal): its quantity, its cost and its layer entries."""
    for entry in entries:
        layer = entry.layer
        remaining = layer.remaining_qty - entry.qty
        valid = remaining <= 0 if layer.is_hole else 0 <= remaining <= layer.opened_qty
        # Emptying a layer must take all its value: one revalued since it opened cannot be
        # taken back alone (reverse the cost adjustment first).
        if valid and not layer.is_hole and remaining == 0:
            valid = layer.remaining_value - entry.value == 0
        if not valid:
            raise LedgerError(
                "cost_layer_consumed",
                f"reverses: cost layer {layer.layer_id} has been consumed or revalued since; "
                "reverse those events first",
                field="reverses",
            )
        layer.remaining_qty = remaining
        layer.remaining_value -= entry.value
        layer.touched = True
    cp.qty -= qty
    cp.value -= delta


def zero_stock_residue(cp: CostPosition) -> Decimal:
    """Value left with no stock (only a reversal at an old cost can leave it): the amount a
    zero_stock_revaluation must record to clear it."""
    if cp.qty == 0 and cp.value != 0 and cp.method is CostingMethod.MOVING_AVERAGE:
        return -cp.value
    return ZERO


def open_hole(layers: list[Layer]) -> Layer | None:
    """The negative-stock hole, wherever it stands: a reversal can reopen one behind a later
    layer, and the next receipt must still fill it first."""
    return next((layer for layer in layers if layer.remaining_qty < 0), None)


def _layers(cp: CostPosition) -> list[Layer]:
    if cp.layers is None:
        raise AssertionError("FIFO layers must be loaded before costing")
    return cp.layers


def _move(layer: Layer, qty: Decimal, value: Decimal, entries: list[LayerEntry]) -> None:
    layer.remaining_qty += qty
    layer.remaining_value += value
    layer.touched = True
    entries.append(LayerEntry(layer, qty, value))
