"""Store replenishment: stores order from their distribution centre twice a week; shipments
arrive a day or two later, now and then short, with the odd unit lost, damaged or misrouted."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from simulator.context import Sim, row
from simulator.inbox import Row
from simulator.master import targets

SPLIT = 0.35  # transfers of four lines or more shipped in two shipments
SHORT_PICK = 0.03
LOST, DAMAGED, MISROUTED = 0.007, 0.015, 0.003
SPLIT_RECEIPT = 0.05
REVIEW_DAYS = (0, 3)  # Monday and Thursday


@dataclass(slots=True)
class TransferLine:
    s: int
    qty: int


@dataclass(slots=True)
class Transfer:
    number: str
    source: int
    destination: int
    lines: list[TransferLine]
    shipments: int = 1


@dataclass(slots=True)
class Shipment:
    number: str
    transfer: Transfer
    pieces: list[tuple[int, str | None, int]] = field(default_factory=list)  # (SKU, lot, qty)


def review_stores(sim: Sim) -> None:
    """06:00 on review days: every store asks its DC for what brings it back to its target."""
    if sim.day.weekday() not in REVIEW_DAYS:
        return
    for store in sim.world.stores:
        destination, source = sim.world.index(store.code), sim.world.index(store.dc)
        lines = [line for s in dc_route(sim) if (line := order_line(sim, source, destination, s))]
        if not lines:
            continue
        transfer = Transfer(f"TO-{sim.number('transfer'):06d}", source, destination, lines)
        when = sim.at(sim.minute(360, 375))
        sim.write(
            "transfer_orders",
            [
                row(
                    transfer_no=transfer.number,
                    line=n,
                    source=store.dc,
                    destination=store.code,
                    sku=sim.sku(line.s),
                    qty=line.qty,
                    requested_at=when,
                )
                for n, line in enumerate(lines, 1)
            ],
            when,
        )
        plan_shipments(sim, transfer)


def dc_route(sim: Sim) -> list[int]:
    return [s for s, c in enumerate(sim.world.catalogue.category) if c.route == "dc"]


def order_line(sim: Sim, source: int, destination: int, s: int) -> TransferLine | None:
    stock = sim.stock
    mu = float(sim.daily_units[destination, s])
    if mu <= 0:
        return None
    low, high, _review = targets(mu, True, "dc")
    position = int(stock.book[destination, s] + stock.inbound[destination, s])
    if position >= low:
        return None
    qty = min(high - position, stock.sellable(source, s, sim.day))
    if qty < max(1, math.ceil(mu)):
        return None
    stock.promised[source, s] += qty
    stock.inbound[destination, s] += qty
    return TransferLine(s, qty)


def plan_shipments(sim: Sim, transfer: Transfer) -> None:
    lines = transfer.lines
    if len(lines) >= 4 and sim.rng.random() < SPLIT:
        half = len(lines) // 2
        transfer.shipments = 2
        sim.schedule("shipments", sim.day, (transfer, lines[:half], False))
        sim.schedule("shipments", sim.later(sim.day, 1), (transfer, lines[half:], True))
    else:
        sim.schedule("shipments", sim.day, (transfer, lines, True))


def ship_transfers(sim: Sim) -> None:
    """13:00-16:00 at the distribution centres: today's shipments leave."""
    for transfer, lines, final in sim.due("shipments", sim.day):
        ship(sim, transfer, lines, final)


def ship(sim: Sim, transfer: Transfer, lines: list[TransferLine], final: bool) -> None:
    stock, source, destination = sim.stock, transfer.source, transfer.destination
    shipment = Shipment(f"SH-{sim.number('shipment'):06d}", transfer)
    shorted = False
    for line in lines:
        qty = line.qty
        if final and qty > 1 and sim.rng.random() < SHORT_PICK:
            qty -= int(sim.rng.integers(1, qty))
            shorted = True
        stock.promised[source, line.s] -= line.qty
        stock.inbound[destination, line.s] -= line.qty - qty
        for lot, taken in stock.take(source, line.s, qty, sim.day):
            shipment.pieces.append((line.s, lot, taken))
    when = sim.at(sim.minute(780, 960))
    sim.write(
        "shipments",
        [
            row(
                shipment_no=shipment.number,
                transfer_no=transfer.number,
                event="shipped",
                receipt_no=None,
                line=n,
                sku=sim.sku(s),
                lot=lot,
                qty=qty,
                exception=None,
                exception_facility=None,
                reason_code=None,
                final=final,
                short_reason="short_pick" if shorted else None,
                event_at=when,
            )
            for n, (s, lot, qty) in enumerate(shipment.pieces, 1)
        ],
        when,
    )
    arrival = sim.later(sim.day, 1 if sim.rng.random() < 0.8 else 2)
    if len(shipment.pieces) > 1 and sim.rng.random() < SPLIT_RECEIPT:
        cut = len(shipment.pieces) // 2
        sim.schedule("arrivals", arrival, (shipment, shipment.pieces[:cut]))
        sim.schedule("arrivals", sim.later(arrival, 1), (shipment, shipment.pieces[cut:]))
    else:
        sim.schedule("arrivals", arrival, (shipment, shipment.pieces))


def receive_shipments(sim: Sim) -> None:
    """07:00-07:45 at the stores, before they open."""
    for shipment, pieces in sim.due("arrivals", sim.day):
        receive(sim, shipment, pieces)


def receive(sim: Sim, shipment: Shipment, pieces: list[tuple[int, str | None, int]]) -> None:
    stock, destination = sim.stock, shipment.transfer.destination
    store = sim.world.facilities[destination]
    receipt = f"RC-{sim.number('receipt'):06d}"
    when = sim.at(sim.minute(420, 465))
    rows: list[Row] = []

    def add(
        s: int,
        lot: str | None,
        qty: int,
        exception: str | None = None,
        reason: str | None = None,
        elsewhere: str | None = None,
    ) -> None:
        rows.append(
            row(
                shipment_no=shipment.number,
                transfer_no=shipment.transfer.number,
                event="received",
                receipt_no=receipt,
                line=len(rows) + 1,
                sku=sim.sku(s),
                lot=lot,
                qty=qty,
                exception=exception,
                exception_facility=elsewhere,
                reason_code=reason,
                final=None,
                short_reason=None,
                event_at=when,
            )
        )

    for s, lot, qty in pieces:
        stock.inbound[destination, s] -= qty
        roll = sim.rng.random()
        other = wrong_store(sim, destination, s) if roll < MISROUTED else None
        if other is not None:
            add(s, lot, qty, "misrouted", "misrouted", sim.code(other))
            stock.add(other, s, qty, lot)
            continue
        exception_qty = 0
        if roll < MISROUTED + LOST + DAMAGED:
            exception_qty = int(sim.rng.integers(1, min(3, qty) + 1))
            if roll < MISROUTED + LOST:
                add(s, lot, exception_qty, "lost", "lost_in_transit")
            else:
                add(s, lot, exception_qty, "damaged", "transit_damage")
                stock.damaged[(destination, s, store.default_bin, lot)] += exception_qty
        if qty > exception_qty:
            add(s, lot, qty - exception_qty)
            stock.add(destination, s, qty - exception_qty, lot)
    sim.write("shipments", rows, when)


def wrong_store(sim: Sim, destination: int, s: int) -> int | None:
    """Another store that lists the SKU (a driver mixes up two branches of the same chain)."""
    others = [
        sim.world.index(store.code)
        for number, store in enumerate(sim.world.stores)
        if sim.world.index(store.code) != destination and sim.demand.store_rate[number, s] > 0
    ]
    return others[int(sim.rng.integers(len(others)))] if others else None
