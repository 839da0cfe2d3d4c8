"""Demand: store-by-SKU base rates shaped by the day of the week, the season and promotions,
scaled so the whole simulation lands near its target number of movements."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from simulator.world import World

# Stores are shut on Sundays; Saturday is the busiest day.
STORE_WEEK = np.array([0.85, 0.85, 0.9, 1.0, 1.25, 1.5, 0.0])
ONLINE_WEEK = np.array([1.15, 1.0, 0.95, 0.95, 0.9, 0.85, 1.2])
MEAN_LINE_QTY = 1.25  # 1, 2 or 3 units a till line (see sales.LINE_QTY)
POS_SHARE = 0.55  # of all movements, till lines are about this share (measured)
ONLINE_SHARE = 0.06  # web-shop order lines per till line
WHOLESALE_SHARE = 0.004  # wholesale order lines per till line
ASSORTMENT = 0.85  # share of the centrally bought assortment a store lists
PROMO_WEEKLY_CHANCE = 0.03
PROMO_UPLIFT = 2.0


def seasonal(category: str, day: date) -> float:
    """Yearly shape of a category: Christmas for everything, summer and sales for clothes."""
    doy = day.timetuple().tm_yday
    christmas = 1.0 + 0.8 * math.exp(-((((doy - 352) % 365) / 18.0) ** 2)) if doy < 359 else 0.9
    shape = {
        "apparel": 1.0 + 0.25 * math.cos(2 * math.pi * (doy - 120) / 365),
        "homeware": 1.0 + 0.3 * christmas - 0.3,
        "grocery": 1.0 + 0.12 * math.cos(2 * math.pi * (doy - 15) / 365),
        "dairy": 1.0 + 0.08 * math.cos(2 * math.pi * (doy - 200) / 365),
        "books": 1.0 + 0.6 * (christmas - 1.0),
    }[category]
    return shape * (christmas if category in ("apparel", "homeware") else 1.0)


@dataclass(slots=True)
class Demand:
    """`store_rate[f, s]`: till lines a day at intensity 1 before the calendar's shape;
    `shape[d, s]`: season x promotion of SKU s on day d; `intensity` scales everything."""

    store_rate: np.ndarray
    shape: np.ndarray
    promo: np.ndarray
    intensity: float

    def pos_lines(self, day_index: int, weekday: int) -> np.ndarray:
        """Expected till lines per (store, SKU) on a day."""
        return self.intensity * STORE_WEEK[weekday] * self.store_rate * self.shape[day_index]

    def daily_units(self) -> np.ndarray:
        """Average units a day per (store, SKU), for replenishment targets."""
        week = STORE_WEEK.mean()
        return self.intensity * week * self.store_rate * self.shape.mean(axis=0) * MEAN_LINE_QTY

    def online_lines(self, day_index: int, weekday: int, sellable: np.ndarray) -> float:
        """Expected web-shop order lines on a day."""
        rate = (self.store_rate.sum(axis=0) * self.shape[day_index])[sellable].sum()
        return ONLINE_SHARE * self.intensity * ONLINE_WEEK[weekday] * rate


def build_demand(world: World, rng: np.random.Generator) -> Demand:
    scale, cat = world.scale, world.catalogue
    stores = len(world.stores)
    size = rng.lognormal(0.0, 0.25, stores)  # some stores are busier than others
    everywhere = np.array([c.route != "dc" for c in cat.category])  # dairy and books: all stores
    carried = (rng.random((stores, len(cat))) < ASSORTMENT) | everywhere
    store_rate = np.outer(size, cat.rate) * carried
    dates = scale.dates()
    season = np.array([[seasonal(c.code, d) for c in cat.category] for d in dates])
    promo = promotions(len(dates), len(cat), dates[0].weekday(), rng)
    shape = season * np.where(promo, PROMO_UPLIFT, 1.0)
    weekly = np.array([STORE_WEEK[d.weekday()] for d in dates])
    expected_lines = float((weekly[:, None] * shape).sum(axis=0) @ store_rate.sum(axis=0))
    intensity = scale.target * POS_SHARE / max(expected_lines, 1e-9)
    return Demand(store_rate, shape, promo, intensity)


def promotions(days: int, skus: int, first_weekday: int, rng: np.random.Generator) -> np.ndarray:
    """Week-long promotions starting on Mondays, for a few SKUs each week."""
    promo = np.zeros((days, skus), dtype=bool)
    first_monday = (7 - first_weekday) % 7
    for start in range(first_monday, days, 7):
        chosen = rng.random(skus) < PROMO_WEEKLY_CHANCE
        promo[start : start + 7, chosen] = True
    return promo
