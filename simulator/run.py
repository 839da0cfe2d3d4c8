"""`simulate`: run the retailer day by day and write what its source systems would send into an
inbox, one folder per feed. The same seed and scale give byte-identical files."""

from __future__ import annotations

import heapq
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.feeds import FEEDS
from simulator import counts, orders, recalls, stores, supply, transfers
from simulator.context import Sim, daily_units
from simulator.demand import build_demand
from simulator.inbox import Inbox
from simulator.master import write_master_data, write_opening_balances
from simulator.scale import Scale, scale_of
from simulator.state import Stock
from simulator.world import build_world

# The day's fixed moments (local wall-clock minutes); orders add their own events in between.
DAY_PLAN = (
    (180, supply.order_dairy),
    (240, supply.order_for_dcs),
    (270, recalls.run_recalls),
    (300, counts.count_facilities),
    (355, stores.write_off_expired),
    (360, transfers.review_stores),
    (361, supply.deliver_books),
    (362, supply.receive_at_stores),
    (363, transfers.receive_shipments),
    (480, stores.sell_at_stores),
    (660, supply.receive_at_dcs),
    (780, transfers.ship_transfers),
    (1275, stores.report_incidents),
    (1320, stores.write_off_damaged),
    (1380, stores.hidden_shrink),
)


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    """What a simulation wrote: files and rows per feed, bad rows per feed and kind, the
    calendar, and the refusals the ledger is expected to make (feed → code → rows)."""

    scale: str
    seed: int
    first_day: str
    last_day: str
    files: dict[str, int]
    rows: dict[str, int]
    bad_rows: dict[str, dict[str, int]]
    expected_refusals: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def bad_rows_by_kind(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for kinds in self.bad_rows.values():
            totals.update(kinds)
        return dict(sorted(totals.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "seed": self.seed,
            "date_range": {"first_day": self.first_day, "last_day": self.last_day},
            "files": self.files,
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "bad_rows_by_kind": self.bad_rows_by_kind,
            "expected_refusals": self.expected_refusals,
        }


SUMMARY_FILE = "simulation.json"  # beside the feed folders; the inbox sensor does not read it


def simulate(
    inbox: Path, *, scale: str | int = "small", seed: int = 42, bad_row_share: float = 0.02
) -> SimulationSummary:
    """Write the feeds of a simulated year (or four weeks at the tiny scale) into `inbox`, and
    the summary as `simulation.json` beside them. Whatever `inbox` held for these feeds before
    is replaced."""
    if not 0 <= bad_row_share < 0.5:
        raise ValueError(f"bad_row_share: must be from 0 up to 0.5, got {bad_row_share!r}")
    size = scale_of(scale)
    inbox = Path(inbox)
    clear(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    sim = new_simulation(inbox, size, seed, bad_row_share)
    write_master_data(sim)
    for day_index, day in enumerate(size.dates()):
        sim.day, sim.day_index = day, day_index
        run_day(sim)
        sim.inbox.flush(day)
    sim.inbox.close()
    result = summary(sim, size, seed)
    text = json.dumps(result.as_dict(), indent=2, sort_keys=True)
    (inbox / SUMMARY_FILE).write_text(text + "\n", encoding="utf-8")
    return result


def clear(inbox: Path) -> None:
    for feed in FEEDS:
        shutil.rmtree(inbox / feed, ignore_errors=True)


def new_simulation(root: Path, size: Scale, seed: int, bad_row_share: float) -> Sim:
    rng = np.random.default_rng(seed)
    world = build_world(size, rng)
    demand = build_demand(world, rng)
    lot_tracked = np.array([c.lot_tracked for c in world.catalogue.category])
    stock = Stock(len(world.facilities), len(world.catalogue), lot_tracked)
    inbox = Inbox(
        root,
        seed=seed,
        bad_row_share=bad_row_share,
        closed_month=size.closed_month,
        last_day=size.end,
    )
    sim = Sim(world, demand, stock, inbox, rng)
    sim.daily_units = daily_units(world, demand)
    quarters = size.days // 91 + 1
    sim.cost_drift = rng.normal(0.0, 0.03, (quarters, len(world.catalogue)))
    return sim


def run_day(sim: Sim) -> None:
    sim.events.clear()
    sim.clock_minute = 0.0
    if sim.day_index == 0:
        write_opening_balances(sim)
    for minute, action in DAY_PLAN:
        sim.at_minute(minute, lambda sim, action=action: action(sim))
    for minute, action, args in sim.due("events", sim.day):
        sim.at_minute(minute, action, *args)
    orders.plan_online_orders(sim)
    orders.plan_wholesale_orders(sim)
    supply.settle_consignment(sim)
    while sim.events:
        minute, _order, action, args = heapq.heappop(sim.events)
        sim.clock_minute = minute
        action(sim, *args)


def summary(sim: Sim, size: Scale, seed: int) -> SimulationSummary:
    written = sim.inbox.written
    refusals: dict[str, dict[str, int]] = {}
    for (feed, code), count in sorted(sim.expected_refusals.items()):
        refusals.setdefault(feed, {})[code] = count
    return SimulationSummary(
        scale=size.name,
        seed=seed,
        first_day=size.start.isoformat(),
        last_day=size.end.isoformat(),
        files=dict(sorted(written.files.items())),
        rows=dict(sorted(written.rows.items())),
        bad_rows={
            feed: dict(sorted(kinds.items())) for feed, kinds in sorted(written.bad_rows.items())
        },
        expected_refusals=refusals,
    )
