"""Orders that reserve stock at a distribution centre: web shop and wholesale order lines,
each step (reserve, allocate, commit, consume, release) timed inside the ledger's TTLs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from simulator.context import Sim, row
from simulator.demand import WHOLESALE_SHARE
from simulator.master import CUSTOMERS

PAYMENT_FAILED, CUSTOMER_CANCELLED, ONLINE_RETURN = 0.03, 0.02, 0.08
LISTING_ERROR = 0.1  # days on which the shop sells a store-only article it cannot ship
WHOLESALE_CANCELLED = 0.03
NIGHT_LULL = (270, 360)  # 04:30-06:00: the web shop's maintenance window, no orders
WAVE = (1050, 1320)  # the evening shipping wave, 17:30-22:00
ONLINE_DC = "DC-N"


@dataclass(slots=True)
class OrderLine:
    feed: str
    order: str
    line: int
    f: int
    s: int
    qty: int


def plan_online_orders(sim: Sim) -> None:
    """Today's web-shop orders, each reserved at the minute it is placed."""
    cat = sim.world.catalogue
    online = np.array([c.online for c in cat.category])
    expected = sim.demand.online_lines(sim.day_index, sim.day.weekday(), online)
    orders = int(sim.rng.poisson(expected / 1.4))
    if orders == 0:
        return
    weights = sim.demand.store_rate.sum(axis=0) * sim.demand.shape[sim.day_index] * online
    weights = weights / weights.sum()
    f = sim.world.index(ONLINE_DC)
    if sim.rng.random() < LISTING_ERROR:
        listing_error(sim, f)
    for _ in range(orders):
        minute = placed_minute(sim)
        number = f"W{sim.day:%y%m%d}-{sim.number('web'):06d}"
        count = min(3, int(sim.rng.geometric(0.6)), int((weights > 0).sum()))
        skus = sim.rng.choice(len(weights), size=count, replace=False, p=weights)
        lines = [
            OrderLine("ecommerce_orders", number, n, f, int(s), 1 + int(sim.rng.random() < 0.15))
            for n, s in enumerate(sorted(skus), 1)
        ]
        sim.at_minute(minute, place_online, lines)


def listing_error(sim: Sim, f: int) -> None:
    """A fresh-dairy article shows up in the shop by mistake and someone orders it: the centre
    never holds dairy, so the ledger refuses the hold (insufficient_available), on any retry."""
    store_only = [s for s, c in enumerate(sim.world.catalogue.category) if c.route == "dsd"]
    if not store_only:
        return
    s = store_only[int(sim.rng.integers(len(store_only)))]
    number = f"W{sim.day:%y%m%d}-{sim.number('web'):06d}"
    online_row(sim, OrderLine("ecommerce_orders", number, 1, f, s, 1), "placed", placed_minute(sim))
    sim.refusal_expected("ecommerce_orders", "insufficient_available")


def placed_minute(sim: Sim) -> float:
    while True:
        minute = sim.minute(0, 1440)
        if NIGHT_LULL[0] <= minute < NIGHT_LULL[1] or (sim.day_index == 0 and minute < 160):
            continue  # no orders before the opening balances are in
        return minute


def place_online(sim: Sim, lines: list[OrderLine]) -> None:
    now = sim.clock_minute
    paid = now + sim.minute(2, 10)
    failed = sim.rng.random() < PAYMENT_FAILED
    for line in lines:
        if sim.stock.sellable(line.f, line.s, sim.day) < line.qty:
            continue  # the shop shows it as sold out
        online_row(sim, line, "placed", now)
        sim.stock.held[line.f, line.s] += line.qty
        if failed:
            online_release(sim, line, now + sim.minute(6, 14), "payment_failed")
        elif sim.rng.random() < CUSTOMER_CANCELLED:
            online_row(sim, line, "paid", paid)
            online_release(sim, line, paid + sim.minute(10, 20), "customer_cancelled")
        else:
            online_row(sim, line, "paid", paid)
            picked = paid + sim.minute(20, 100)
            online_row(sim, line, "picked", picked)
            ship_online(sim, line, picked)


def online_row(
    sim: Sim,
    line: OrderLine,
    event: str,
    minute: float,
    day: date | None = None,
    reason: str | None = None,
) -> None:
    when = sim.at(minute, day)
    sim.write(
        line.feed,
        [
            row(
                order_id=line.order,
                line=line.line,
                event=event,
                sku=sim.sku(line.s),
                qty=line.qty,
                facility=sim.code(line.f),
                event_at=when,
                reason=reason,
            )
        ],
        when,
    )


def online_release(sim: Sim, line: OrderLine, minute: float, reason: str) -> None:
    online_row(sim, line, "cancelled", minute, reason=reason)
    sim.at_minute(minute, release, line)


def release(sim: Sim, line: OrderLine) -> None:
    sim.stock.held[line.f, line.s] -= line.qty


def ship_online(sim: Sim, line: OrderLine, picked: float) -> None:
    """Shipped in today's evening wave, or — picked too late for it — in tomorrow's, which is
    still within a day of the pick (the commit TTL)."""
    day, minute = sim.day, picked
    while minute >= 1440:
        day, minute = sim.later(day, 1, open_on_sunday=True), minute - 1440
    if minute + 15 <= WAVE[1]:
        shipped = max(minute + 15, WAVE[0]) + sim.minute(0, 20)
        shipped = min(shipped, WAVE[1])
    else:
        day, shipped = sim.later(day, 1, open_on_sunday=True), WAVE[0] + sim.minute(0, 15)
    online_row(sim, line, "shipped", shipped, day)
    sim.at_minute(shipped, consume, line, day=day)


def consume(sim: Sim, line: OrderLine) -> None:
    sim.stock.held[line.f, line.s] -= line.qty
    sim.stock.take(line.f, line.s, line.qty, sim.day)
    category = sim.world.catalogue.category[line.s]
    if line.feed != "ecommerce_orders" or category.lot_tracked:
        return  # food has no lot to come back to; business customers do not return
    if sim.rng.random() < ONLINE_RETURN * (2.0 if category.code == "apparel" else 0.5):
        back = sim.later(sim.day, int(sim.rng.integers(3, 21)), open_on_sunday=True)
        online_row(sim, line, "returned", sim.minute(600, 625), back)
        sim.at_minute(625, returned, line, day=back)


def returned(sim: Sim, line: OrderLine) -> None:
    sim.stock.add(line.f, line.s, line.qty)


# -- wholesale -----------------------------------------------------------------------------------


def plan_wholesale_orders(sim: Sim) -> None:
    """Weekday mornings: business customers order whole cases from either distribution centre."""
    if sim.day.weekday() >= 5:
        return
    cat = sim.world.catalogue
    eligible = np.array([c.wholesale for c in cat.category])
    weights = sim.demand.store_rate.sum(axis=0) * sim.demand.shape[sim.day_index] * eligible
    weights = weights / weights.sum()
    # a week's wholesale lines come in on five weekdays, split between two centres, 2.5 to an order
    till_lines = float(sim.demand.pos_lines(sim.day_index, 3).sum())
    expected = WHOLESALE_SHARE * till_lines * 7 / 5 / 2 / 2.5 + 0.3
    for dc in sim.world.dcs:
        f = sim.world.index(dc.code)
        for _ in range(int(sim.rng.poisson(expected))):
            number = f"SO-{sim.number('sales_order'):06d}"
            count = int(sim.rng.integers(1, 5))
            skus = sim.rng.choice(
                len(weights), size=min(count, int((weights > 0).sum())), replace=False, p=weights
            )
            lines = [
                OrderLine("wholesale_orders", number, n, f, int(s), 0)
                for n, s in enumerate(sorted(skus), 1)
            ]
            customer = CUSTOMERS[int(sim.rng.integers(len(CUSTOMERS)))]
            sim.at_minute(sim.minute(480, 600), place_wholesale, lines, customer)


def place_wholesale(sim: Sim, lines: list[OrderLine], customer: str) -> None:
    now = sim.clock_minute
    for line in lines:
        pack = sim.world.catalogue.category[line.s].case_pack
        packs = min(
            int(sim.rng.integers(1, 5)), sim.stock.sellable(line.f, line.s, sim.day) // pack
        )
        if packs == 0:
            continue
        line.qty = packs * pack
        wholesale_row(sim, line, customer, "ordered", now)
        sim.stock.held[line.f, line.s] += line.qty
        if sim.rng.random() < WHOLESALE_CANCELLED:
            cancelled = now + sim.minute(10, 40)
            wholesale_row(sim, line, customer, "cancelled", cancelled, "customer_cancelled")
            sim.at_minute(cancelled, release, line)
            continue
        allocated = now + sim.minute(5, 25)
        committed = allocated + sim.minute(20, 60)
        shipped = max(committed + 10, 690) + sim.minute(0, 60)
        wholesale_row(sim, line, customer, "allocated", allocated)
        wholesale_row(sim, line, customer, "committed", committed)
        wholesale_row(sim, line, customer, "shipped", min(shipped, 765))
        sim.at_minute(min(shipped, 765), consume, line)


def wholesale_row(
    sim: Sim, line: OrderLine, customer: str, event: str, minute: float, reason: str | None = None
) -> None:
    when = sim.at(minute)
    sim.write(
        line.feed,
        [
            row(
                order_no=line.order,
                line=line.line,
                customer=customer,
                event=event,
                sku=sim.sku(line.s),
                qty=line.qty,
                facility=sim.code(line.f),
                event_at=when,
                reason=reason,
            )
        ],
        when,
    )
