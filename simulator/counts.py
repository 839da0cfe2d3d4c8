"""Weekly cycle counts before opening: a tenth of the assortment counted blind, recounted by a
colleague beyond the tolerance, approved by the manager; they find unrecorded shrink."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.context import Sim, row
from simulator.inbox import Row

MISCOUNT = 0.08
COUNT_DAYS = {"store": 2, "warehouse": 1}  # Wednesday, Tuesday
TOLERANCE = {"store": (2, 10), "warehouse": (5, 2)}  # (max_qty, max_pct), as in the master data


@dataclass(slots=True)
class Position:
    s: int
    lot: str | None
    owner: str | None
    book: int
    true: int  # what is really there


def count_facilities(sim: Sim) -> None:
    for f, facility in enumerate(sim.world.facilities):
        if sim.day.weekday() == COUNT_DAYS[facility.kind]:
            count(sim, f)


def count(sim: Sim, f: int) -> None:
    facility = sim.world.facilities[f]
    positions = [p for s in chosen_skus(sim, f) for p in positions_of(sim, f, s)]
    if not positions:
        return
    number = f"CC-{facility.code}-{sim.day:%Y%m%d}"
    started = sim.minute(300, 302)
    first, second = facility.staff[0], facility.staff[1]
    if sim.rng.random() < 0.5:
        first, second = second, first
    approved = sim.at(sim.minute(345, 350))
    rows: list[Row] = []
    for index, position in enumerate(positions):
        # the first round fits between 05:03 and 05:25 however many positions there are
        minute = 303 + 22 * (index + float(sim.rng.random())) / len(positions)
        counted = miscounted(sim, f, position)
        rows.append(
            count_row(sim, number, f, position, 1, counted, first, minute, started, approved)
        )
        final = counted
        if not within(facility.kind, counted - position.book, position.book):
            final = position.true
            rows.append(
                count_row(
                    sim,
                    number,
                    f,
                    position,
                    2,
                    final,
                    second,
                    sim.minute(330, 340),
                    started,
                    approved,
                )
            )
        settle(sim, f, position, final)
    sim.write("count_results", rows, approved)


def chosen_skus(sim: Sim, f: int) -> list[int]:
    stock = sim.stock
    carried = np.flatnonzero((stock.book[f] > 0) | (stock.physical[f] > 0))
    recalled = {s for (g, s, _lot) in stock.recalled if g == f}
    carried = np.array([s for s in carried if s not in recalled], dtype=np.int64)
    if len(carried) == 0:
        return []
    size = min(len(carried), max(3, math.ceil(len(carried) / 10)))
    return sorted(int(s) for s in sim.rng.choice(carried, size=size, replace=False))


def positions_of(sim: Sim, f: int, s: int) -> list[Position]:
    stock, category = sim.stock, sim.world.catalogue.category[s]
    if category.lot_tracked:
        return [Position(s, lot.code, None, lot.qty, lot.qty) for lot in stock.lots[(f, s)]]
    owner = category.vendor if category.route == "consignment" else None
    true = int(stock.physical[f, s]) if owner is None else int(stock.book[f, s])
    return [Position(s, None, owner, int(stock.book[f, s]), true)]


def miscounted(sim: Sim, f: int, position: Position) -> int:
    """The first count: what is there, but now and then a unit or two off. Lots and consigned
    stock are counted by scanning, without mistakes."""
    if position.lot is not None or position.owner is not None:
        return position.true
    if sim.rng.random() >= MISCOUNT or position.true == 0:
        return position.true
    slip = int(sim.rng.choice([-2, -1, 1, 2]))
    if not sim.world.facilities[f].is_store:
        stock = sim.stock
        free = int(
            stock.book[f, position.s] - stock.held[f, position.s] - stock.promised[f, position.s]
        )
        if free < 3:
            return position.true  # never count away what is promised
    return max(0, position.true + slip)


def within(kind: str, variance: int, system: int) -> bool:
    max_qty, max_pct = TOLERANCE[kind]
    return abs(variance) <= max_qty and abs(variance) * 100 <= max_pct * abs(system)


def settle(sim: Sim, f: int, position: Position, final: int) -> None:
    """The approved count becomes the book quantity."""
    variance = final - position.book
    if variance == 0:
        return
    stock = sim.stock
    stock.book[f, position.s] += variance


def count_row(
    sim: Sim,
    number: str,
    f: int,
    position: Position,
    attempt: int,
    qty: int,
    counter: str,
    minute: float,
    started: float,
    approved,
) -> Row:
    facility = sim.world.facilities[f]
    return row(
        count_no=number, facility=facility.code, bin=facility.default_bin, sku=sim.sku(position.s),
        lot=position.lot, owner=position.owner, attempt=attempt, counted_qty=qty, counter=counter,
        counted_at=sim.at(minute), started_at=sim.at(started), approved_by=facility.manager,
        approved_at=approved,
    )  # fmt: skip
