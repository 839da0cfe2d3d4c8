"""What every part of the simulation shares: the world, demand, stock, the inbox being written,
the random generator, the current day, document numbers and what is due on later days."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from simulator import scale as clock
from simulator.demand import MEAN_LINE_QTY, ONLINE_SHARE, WHOLESALE_SHARE, Demand
from simulator.inbox import Inbox, Row
from simulator.state import Stock
from simulator.world import World

WEB_UNITS_PER_LINE = 1.15
CASES = 17  # units of a wholesale line: about two and a half cases


@dataclass(slots=True)
class Sim:
    world: World
    demand: Demand
    stock: Stock
    inbox: Inbox
    rng: np.random.Generator
    day: date = date.min
    day_index: int = 0
    numbers: Counter[str] = field(default_factory=Counter)
    agenda: dict[str, dict[date, list[Any]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    expected_refusals: Counter[tuple[str, str]] = field(default_factory=Counter)
    consignment_unsettled: int = 0  # consigned units sold since the last settlement
    clock_minute: float = 0.0  # the wall-clock minute of the event being simulated
    events: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = field(
        default_factory=list
    )
    daily_units: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [facility, SKU]
    cost_drift: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [quarter, SKU]

    # -- identity -----------------------------------------------------------------------------

    def number(self, series: str) -> int:
        self.numbers[series] += 1
        return self.numbers[series]

    def code(self, f: int) -> str:
        return self.world.facilities[f].code

    def sku(self, s: int) -> str:
        return self.world.catalogue.skus[s]

    # -- time ---------------------------------------------------------------------------------

    def at(self, minute: float, day: date | None = None) -> datetime:
        return clock.at(day or self.day, minute)

    def minute(self, low: float, high: float) -> float:
        """A random wall-clock minute in [low, high), to the second."""
        return round(float(self.rng.uniform(low, high)) * 60) / 60

    def later(self, day: date, days: int, *, open_on_sunday: bool = False) -> date:
        after = day + timedelta(days=days)
        if not open_on_sunday and after.weekday() == 6:
            after += timedelta(days=1)
        return after

    def at_minute(
        self, minute: float, action: Callable[..., None], *args: Any, day: date | None = None
    ) -> None:
        """Run `action(sim, *args)` at a wall-clock minute of `day` (default today; minutes past
        midnight roll over into the next days)."""
        day = day or self.day
        while minute >= 1440:
            day, minute = day + timedelta(days=1), minute - 1440
        if day < self.day or (day == self.day and minute < self.clock_minute):
            raise AssertionError(f"an event in the past: {day} minute {minute}")
        if day == self.day:
            heapq.heappush(self.events, (minute, self.number("event"), action, args))
        else:
            self.schedule("events", day, (minute, action, args))

    def due(self, agenda: str, day: date) -> list[Any]:
        return self.agenda[agenda].pop(day, [])

    def schedule(self, agenda: str, day: date, entry: Any) -> None:
        if day <= self.world.scale.end:
            self.agenda[agenda][day].append(entry)

    # -- money --------------------------------------------------------------------------------

    def unit_cost(self, s: int) -> Decimal:
        """The vendor's price this quarter: costs drift a little, so averages and layers move."""
        quarter = min(self.day_index // 91, self.cost_drift.shape[0] - 1)
        base = self.world.catalogue.cost[s]
        return (base * Decimal(f"{1 + self.cost_drift[quarter, s]:.4f}")).quantize(Decimal("0.01"))

    # -- writing ------------------------------------------------------------------------------

    def write(self, feed: str, rows: list[Row], when: datetime | date, part: str = "") -> None:
        self.inbox.add(feed, rows, when, part)

    def refusal_expected(self, feed: str, code: str) -> None:
        self.expected_refusals[(feed, code)] += 1


def daily_units(world: World, demand: Demand) -> np.ndarray:
    """Average units a day each facility sells or sends on, for replenishment targets: stores
    their tills; a distribution centre its stores, plus the web shop (DC-N) and wholesale."""
    units = np.zeros((len(world.facilities), len(world.catalogue)))
    store_units = demand.daily_units()
    stores = world.stores
    for number, store in enumerate(stores):
        f = world.index(store.code)
        units[f] = store_units[number]
        units[world.index(store.dc)] += store_units[number]
    till_lines = store_units.sum(axis=0) / MEAN_LINE_QTY
    online = np.array([c.online for c in world.catalogue.category])
    wholesale = np.array([c.wholesale for c in world.catalogue.category])
    # the shop sells seven days a week, the stores six
    web = till_lines * online * ONLINE_SHARE * 7 / 6 * WEB_UNITS_PER_LINE
    units[world.index("DC-N")] += web
    for dc in world.dcs:  # wholesale lines are split between the two centres
        units[world.index(dc.code)] += till_lines * wholesale * WHOLESALE_SHARE / 2 * CASES
    return units


def row(**fields: object) -> Row:
    """A feed row: every value as the text the source system writes, empty as None."""
    return {name: None if value is None else _text(value) for name, value in fields.items()}


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return clock.utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
