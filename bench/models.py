"""Replenishment, rebalancing and ABC/XYZ model benchmark (a report, not a test).

Generates a synthetic network in memory — facility x SKU positions with a year of daily sales
by channel, stock, reservations, lead-time samples, rules, vendor terms, lanes and channel
priorities — times the Polars models (plan, transfer suggestions, replenishment suggestions with
their rationale, ABC/XYZ; collected together), then a straightforward pandas implementation of
the same formulas on the same data, and prints both, the ratio and whether they agree.

    uv run python bench/models.py                        # 100,000 positions
    uv run python bench/models.py --positions 2000

Goal (issue notes): 100,000 positions with a year of history within 5 s for Polars.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import rebalancing
from models.inputs import (
    CHANNEL_PRIORITIES,
    CHANNEL_SALES,
    CONSUMPTION,
    LANES,
    LEAD_TIMES,
    RULES,
    SALES,
    STOCK,
    VENDOR_TERMS,
    ModelSettings,
)
from pipelines import modelling

RESULTS = Path(__file__).resolve().parent / "results"
AS_OF = date(2026, 10, 31)
KEYS = ["facility_id", "variant_id"]
PRIORITIES = {"ecommerce": 1, "marketplace": 2, "pos": 3, "wholesale": 4}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    settings = ModelSettings(as_of=AS_OF)
    started = time.perf_counter()
    data = generate(args)
    year = data.pop("daily_rows")["rows"][0]
    print(
        f"Generated {data['stock'].height:,} positions ({args.facilities} facilities), "
        f"{year:,} daily sales over {args.days} days, as the warehouse returns them: "
        f"{data['sales'].height:,} daily rows (91 days), {data['consumption'].height:,} weekly, "
        f"{data['channel_sales'].height:,} by channel; {data['lead_times'].height:,} lead-time "
        f"samples; in {time.perf_counter() - started:.1f} s"
    )
    polars_seconds, results = time_polars(data, settings)
    print(f"Polars: {polars_seconds:.2f} s  ({describe(results)})")
    report: dict[str, Any] = {"positions": data["stock"].height, "polars_seconds": polars_seconds}
    if not args.no_pandas:
        frames = {name: frame.to_pandas() for name, frame in data.items()}
        pandas_seconds, baseline = time_pandas(frames, settings)
        print(f"pandas: {pandas_seconds:.2f} s")
        print(f"ratio pandas / Polars: {pandas_seconds / polars_seconds:.1f}x")
        agreement = compare(results, baseline)
        print(f"agree: {json.dumps(agreement)}")
        report |= {"pandas_seconds": pandas_seconds, "agreement": agreement}
    print(f"goal 5 s for Polars: {'met' if polars_seconds <= 5 else 'missed'}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"models_{data['stock'].height}.json"
    path.write_text(json.dumps(report, indent=2))
    return 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--facilities", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-pandas", action="store_true", help="time Polars only")
    return parser.parse_args(argv)


# -- synthetic data ----------------------------------------------------------------------------


def facility_codes(count: int) -> list[str]:
    """Two distribution centres, the rest stores."""
    return [f"DC{n}" for n in (1, 2)] + [f"ST{n:03d}" for n in range(1, count - 1)]


def generate(args: argparse.Namespace) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(args.seed)
    facilities = facility_codes(args.facilities)
    skus = max(1, args.positions // len(facilities))
    facility = np.repeat(np.arange(len(facilities)), skus)
    variant = np.tile(np.arange(skus), len(facilities))
    count = facility.size
    rate = rng.lognormal(mean=-0.3, sigma=1.0, size=count)  # mean daily demand, ~1.2
    rate[facility < 2] *= 4  # the DCs ship online and wholesale orders
    cost = np.round(rng.uniform(0.5, 40.0, size=skus), 2)
    names = {"facility_id": np.array(facilities)[facility], "variant_id": variant_names(variant)}
    return {
        **sales(rng, names, facility, variant, rate, cost, args.days),
        "stock": stock(rng, names, rate),
        "lead_times": lead_times(rng, names, facility, facilities),
        "rules": rules(rng, names, rate),
        "vendor_terms": vendor_terms(rng, skus, cost),
        "lanes": lanes(facilities),
        "channel_priorities": pl.DataFrame(
            {"channel_id": list(PRIORITIES), "priority": list(PRIORITIES.values())},
            schema=CHANNEL_PRIORITIES,
        ),
    }


def variant_names(variant: np.ndarray) -> np.ndarray:
    return np.char.add("SKU-", np.char.zfill(variant.astype(str), 6))


def sales(
    rng: np.random.Generator,
    names: dict[str, np.ndarray],
    facility: np.ndarray,
    variant: np.ndarray,
    rate: np.ndarray,
    cost: np.ndarray,
    days: int,
) -> dict[str, pl.DataFrame]:
    """A Poisson quantity per position and day (days without a sale have no row) with weekly
    seasonality; stores sell through pos (some ecommerce pick-ups), DCs online and wholesale.
    Shaped as the warehouse queries return them: daily over the velocity windows, by week over
    the ABC window, by channel over the planning window."""
    position = np.repeat(np.arange(rate.size), days)
    days_ago = np.tile(np.arange(days)[::-1], rate.size)
    weekday = 1.0 + 0.3 * np.sin(2 * np.pi * days_ago / 7)
    qty = rng.poisson(rate[position] * weekday)
    sold = qty > 0
    position, days_ago, qty = position[sold], days_ago[sold], qty[sold]
    daily = pl.DataFrame(
        {
            "facility_id": names["facility_id"][position],
            "variant_id": names["variant_id"][position],
            "days_ago": days_ago,
            "sold_qty": qty.astype(np.float64),
            "sold_value_amount": qty * cost[variant[position]],
        }
    ).with_columns(
        sale_date=pl.lit(AS_OF) - pl.duration(days=pl.col("days_ago")),
        sold_value_amount=pl.col("sold_value_amount").cast(VENDOR_TERMS["unit_cost_amount"]),
    )
    recent = daily.filter(pl.col("days_ago") < 91)
    at_dc = recent["facility_id"].str.starts_with("DC").to_numpy()
    draw = rng.random(recent.height)
    channel = np.where(
        at_dc,
        np.where(draw < 0.6, "ecommerce", np.where(draw < 0.8, "marketplace", "wholesale")),
        np.where(draw < 0.85, "pos", "ecommerce"),
    )
    by_channel = (
        recent.with_columns(channel_id=pl.Series(channel))
        .group_by(["facility_id", "variant_id", "channel_id"])
        .agg(pl.col("sale_date").max(), pl.col("sold_qty").sum())
    )
    weekly = (
        daily.filter(pl.col("days_ago") < 364)
        .group_by(["facility_id", "variant_id", (pl.col("days_ago") // 7).alias("bucket")])
        .agg(pl.col("sold_qty").sum(), pl.col("sold_value_amount").sum())
        .with_columns(sale_date=pl.lit(AS_OF) - pl.duration(days=pl.col("bucket") * 7))
    )
    return {
        "sales": recent.select(list(SALES)).cast(SALES),
        "channel_sales": by_channel.select(list(CHANNEL_SALES)).cast(CHANNEL_SALES),
        "consumption": weekly.select(list(CONSUMPTION)).cast(CONSUMPTION),
        "daily_rows": pl.DataFrame({"rows": [daily.height]}),
    }


def stock(rng: np.random.Generator, names: dict[str, np.ndarray], rate: np.ndarray) -> pl.DataFrame:
    count = rate.size
    on_hand = np.round(rate * rng.uniform(-1.0, 30.0, size=count))
    first = np.where(rng.random(count) < 0.05, rng.integers(5, 200, size=count), 500)
    return pl.DataFrame(
        {
            **names,
            "on_hand_qty": on_hand,
            "reserved_qty": np.round(rate * rng.uniform(0, 1, size=count)),
            "backordered_qty": np.where(rng.random(count) < 0.02, 2.0, 0.0),
            "inbound_qty": np.where(rng.random(count) < 0.2, np.round(rate * 14), 0.0),
            "in_transit_qty": np.where(rng.random(count) < 0.1, np.round(rate * 7), 0.0),
            "first_activity_date": np.datetime64(AS_OF) - first.astype("timedelta64[D]"),
        }
    ).cast(STOCK)


def lead_times(
    rng: np.random.Generator,
    names: dict[str, np.ndarray],
    facility: np.ndarray,
    facilities: list[str],
) -> pl.DataFrame:
    """Four receipts a position a year: DCs from vendors (~9 days), stores from a DC (~3)."""
    position = np.repeat(np.arange(facility.size), 4)
    at_dc = facility[position] < 2
    days = np.where(at_dc, rng.normal(9, 2, position.size), rng.normal(3, 1, position.size))
    source = np.where(at_dc, "", np.array(facilities[:2])[position % 2])
    frame = pl.DataFrame(
        {
            "facility_id": names["facility_id"][position],
            "variant_id": names["variant_id"][position],
            "source_facility_id": source,
            "received_date": np.datetime64(AS_OF)
            - rng.integers(0, 365, position.size).astype("timedelta64[D]"),
            "lead_time_days": np.clip(days, 0.5, None),
        }
    )
    vendor_receipt = pl.col("source_facility_id") == ""
    return frame.with_columns(
        source_facility_id=pl.when(vendor_receipt).then(None).otherwise("source_facility_id")
    ).cast(LEAD_TIMES)


def rules(rng: np.random.Generator, names: dict[str, np.ndarray], rate: np.ndarray) -> pl.DataFrame:
    """Min/max rules on 10 % of positions, a capacity on 20 %."""
    chosen = rng.random(rate.size) < 0.25
    has_levels = rng.random(rate.size) < 0.4
    minimum = np.where(has_levels, np.ceil(rate * 5), np.nan)[chosen]
    return pl.DataFrame(
        {
            "facility_id": names["facility_id"][chosen],
            "variant_id": names["variant_id"][chosen],
            "min_qty": minimum,
            "max_qty": minimum * 3,
            "service_level": np.where(rng.random(chosen.sum()) < 0.5, 0.98, np.nan),
            "capacity_qty": np.where(
                rng.random(chosen.sum()) < 0.8, np.ceil(rate[chosen] * 40), np.nan
            ),
            "review_period_days": np.full(chosen.sum(), 7),
        },
        nan_to_null=True,
    ).cast(RULES)


def vendor_terms(rng: np.random.Generator, skus: int, cost: np.ndarray) -> pl.DataFrame:
    """Two vendors per SKU: a cheaper slow one and a dearer fast one."""
    variant = variant_names(np.arange(skus))
    frames = [
        pl.DataFrame(
            {
                "vendor_id": np.full(skus, vendor),
                "variant_id": variant,
                "unit_cost_amount": np.round(cost * factor, 2),
                "currency_code": np.full(skus, "EUR"),
                "lead_time_days": np.full(skus, lead_time),
                "moq_qty": rng.choice([0, 12, 24, 48], size=skus).astype(np.float64),
                "case_pack_qty": np.where(rng.random(skus) < 0.5, 6.0, np.nan),
            },
            nan_to_null=True,
        )
        for vendor, factor, lead_time in (("SLOWCO", 1.0, 14), ("FASTCO", 1.15, 5))
    ]
    return pl.concat(frames).cast(VENDOR_TERMS)


def lanes(facilities: list[str]) -> pl.DataFrame:
    """Both DCs to every store; each store to its two neighbours."""
    stores = facilities[2:]
    rows = [(dc, store, 0.30, 2) for dc in facilities[:2] for store in stores]
    for index, store in enumerate(stores):
        for step in (1, -1):
            rows.append((store, stores[(index + step) % len(stores)], 0.80, 1))
    frame = pl.DataFrame(
        rows,
        schema=["source_facility_id", "destination_facility_id", "cost_per_unit_amount",
                "lead_time_days"],
        orient="row",
    )  # fmt: skip
    return frame.with_columns(currency_code=pl.lit("EUR")).select(list(LANES)).cast(LANES)


# -- Polars --------------------------------------------------------------------------------------


def time_polars(
    data: dict[str, pl.DataFrame], settings: ModelSettings
) -> tuple[float, dict[str, pl.DataFrame]]:
    lazy = {name: frame.lazy() for name, frame in data.items()}
    inputs = modelling.Loaded(
        sales=lazy["sales"], channel_sales=lazy["channel_sales"],
        consumption=lazy["consumption"], stock=lazy["stock"], lead_times=lazy["lead_times"],
        rules=lazy["rules"], vendor_terms=lazy["vendor_terms"], lanes=lazy["lanes"],
        channel_priorities=lazy["channel_priorities"],
    )  # fmt: skip
    started = time.perf_counter()
    results = modelling.compute(inputs, settings)
    seconds = time.perf_counter() - started
    names = {"replenishment_suggestions": "suggestions", "transfer_suggestions": "transfers",
             "abc_xyz": "segments"}  # fmt: skip
    return seconds, {names[name]: frame for name, frame in results.items()}


def describe(results: dict[str, pl.DataFrame]) -> str:
    orders = results["suggestions"].filter(pl.col("order_qty") > 0).height
    return (
        f"{results['suggestions'].height:,} suggestions, {orders:,} orders, "
        f"{results['transfers'].height:,} transfers, {results['segments'].height:,} segments"
    )


# -- pandas: the same formulas -------------------------------------------------------------------


def time_pandas(
    frames: dict[str, pd.DataFrame], settings: ModelSettings
) -> tuple[float, dict[str, pd.DataFrame]]:
    started = time.perf_counter()
    plan = pandas_plan(frames, settings)
    transfers = pandas_transfers(plan, frames, settings)
    suggestions = pandas_orders(plan, transfers)
    segments = pandas_abc_xyz(frames, settings)
    seconds = time.perf_counter() - started
    return seconds, {"suggestions": suggestions, "transfers": transfers, "segments": segments}


def days_ago(column: pd.Series) -> pd.Series:
    return (pd.Timestamp(AS_OF) - pd.to_datetime(column)).dt.days


def history(stock: pd.DataFrame) -> pd.DataFrame:
    days = days_ago(stock["first_activity_date"]) + 1
    return stock[KEYS].assign(history_days=days.where(days > 0))


def observed(history_days: pd.Series, window: int) -> pd.Series:
    return history_days.clip(1, window).fillna(window)


def sample_sigma(total: pd.Series, squares: pd.Series, days: pd.Series) -> pd.Series:
    variance = ((squares - total * total / days) / (days - 1)).clip(lower=0)
    return np.sqrt(variance).where(days > 1, 0.0)


def pandas_demand(
    sales: pd.DataFrame, stock: pd.DataFrame, settings: ModelSettings
) -> pd.DataFrame:
    planning = settings.planning_window_days
    sold = sales.assign(days_ago=days_ago(sales["sale_date"]))
    daily = sold[(sold["days_ago"] >= 0) & (sold["days_ago"] < max(settings.velocity_windows))]
    columns = {f"sold_{w}": daily["sold_qty"].where(daily["days_ago"] < w, 0.0)
               for w in settings.velocity_windows}  # fmt: skip
    in_planning = daily["days_ago"] < planning
    columns["squares"] = (daily["sold_qty"] ** 2).where(in_planning, 0.0)
    columns["sale_days"] = in_planning.astype(int)
    sums = daily[KEYS].assign(**columns).groupby(KEYS, as_index=False).sum()
    stats = history(stock).merge(sums, on=KEYS, how="outer")
    for w in settings.velocity_windows:
        stats[f"velocity_{w}d_qty"] = stats[f"sold_{w}"].fillna(0) / observed(
            stats["history_days"], w
        )
    days = observed(stats["history_days"], planning)
    total = stats[f"sold_{planning}"].fillna(0)
    stats["demand_qty_per_day"] = (total / days).clip(lower=0)
    stats["demand_sigma_qty"] = sample_sigma(total, stats["squares"].fillna(0), days)
    stats["sale_days"] = stats["sale_days"].fillna(0)
    return stats


def pandas_channels(frames: dict[str, pd.DataFrame], settings: ModelSettings) -> pd.DataFrame:
    planning = settings.planning_window_days
    sales = frames["channel_sales"]
    recent = sales[days_ago(sales["sale_date"]).between(0, planning - 1)]
    by_channel = recent.groupby([*KEYS, "channel_id"], as_index=False)["sold_qty"].sum()
    by_channel = by_channel.merge(history(frames["stock"]), on=KEYS, how="left")
    by_channel["velocity"] = by_channel["sold_qty"] / observed(by_channel["history_days"], planning)
    by_channel = by_channel[by_channel["velocity"] > 0].merge(
        frames["channel_priorities"], on="channel_id", how="left"
    )
    top = by_channel.assign(velocity_desc=-by_channel["velocity"]).sort_values(
        [*KEYS, "priority", "velocity_desc", "channel_id"], na_position="last"
    )
    top = top.drop_duplicates(KEYS)
    return top[[*KEYS, "channel_id", "priority"]].rename(
        columns={"channel_id": "top_channel_id", "priority": "channel_priority"}
    )


def pandas_plan(frames: dict[str, pd.DataFrame], settings: ModelSettings) -> pd.DataFrame:
    stock, rules = frames["stock"], frames["rules"]
    stats = pandas_demand(frames["sales"], stock, settings)
    keys = pd.concat([stock[KEYS], rules[KEYS], stats[KEYS]]).drop_duplicates()
    plan = keys.merge(stock.drop(columns="first_activity_date"), on=KEYS, how="left")
    quantities = ["on_hand_qty", "reserved_qty", "backordered_qty", "inbound_qty", "in_transit_qty"]
    plan[quantities] = plan[quantities].astype("float64").fillna(0.0)
    plan = plan.merge(stats[[*KEYS, "history_days", "demand_qty_per_day", "demand_sigma_qty",
                             "sale_days"]], on=KEYS, how="left")  # fmt: skip
    plan = plan.merge(pandas_channels(frames, settings), on=KEYS, how="left")
    terms = frames["vendor_terms"].sort_values(
        ["variant_id", "unit_cost_amount", "lead_time_days", "vendor_id"]
    )
    vendor = terms.drop_duplicates("variant_id").rename(
        columns={"lead_time_days": "vendor_lead_time_days"}
    )
    plan = plan.merge(vendor, on="variant_id", how="left")
    samples = frames["lead_times"]
    recent = samples[
        days_ago(samples["received_date"]).between(0, settings.lead_time_lookback_days - 1)
    ]
    observed_lt = recent.groupby(KEYS)["lead_time_days"].agg(["count", "mean", "std"]).reset_index()
    plan = plan.merge(observed_lt, on=KEYS, how="left").merge(rules, on=KEYS, how="left")
    for name in ("unit_cost_amount", "moq_qty", "case_pack_qty", "min_qty", "max_qty",
                 "service_level", "capacity_qty"):  # fmt: skip
        plan[name] = plan[name].astype("float64")
    plan["demand_qty_per_day"] = plan["demand_qty_per_day"].fillna(0.0)
    plan["demand_sigma_qty"] = plan["demand_sigma_qty"].fillna(0.0)
    has_samples = plan["count"].fillna(0) > 0
    plan["lead_time_days"] = np.where(
        has_samples, plan["mean"], plan["vendor_lead_time_days"].astype("float64").fillna(14.0)
    )
    plan["lead_time_sigma_days"] = np.where(
        has_samples, np.where(plan["count"] > 1, plan["std"], 0.0), 0.0
    )
    plan["service_level"] = plan["service_level"].fillna(settings.service_level)
    plan["review_period_days"] = plan["review_period_days"].astype("float64").fillna(7)
    plan["z_score"] = plan["service_level"].map(lambda p: _inverse_normal(p))
    return pandas_levels(plan)


def _inverse_normal(p: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(p)


def up(values: pd.Series | np.ndarray) -> np.ndarray:
    return np.clip(np.ceil(np.round(values, 6)), 0, None)


def pandas_levels(plan: pd.DataFrame) -> pd.DataFrame:
    d, sd = plan["demand_qty_per_day"], plan["demand_sigma_qty"]
    lt, slt = plan["lead_time_days"], plan["lead_time_sigma_days"]
    safety = (plan["z_score"] * np.sqrt(lt * sd * sd + d * d * slt * slt)).clip(lower=0)
    plan["safety_stock_qty"] = up(safety)
    reorder = plan["min_qty"].fillna(pd.Series(up(d * lt + safety), index=plan.index))
    reorder = np.where(plan["max_qty"] < reorder, plan["max_qty"], reorder)
    order_up_to = plan["max_qty"].fillna(pd.Series(reorder + up(d * plan["review_period_days"]),
                                                   index=plan.index))  # fmt: skip
    capacity = plan["capacity_qty"]
    plan["reorder_point_qty"] = np.fmin(reorder, capacity)
    plan["order_up_to_qty"] = np.fmin(order_up_to, capacity)
    available = plan["on_hand_qty"] - plan["reserved_qty"] - plan["backordered_qty"]
    plan["available_qty"] = available
    plan["inventory_position_qty"] = available + plan["inbound_qty"] + plan["in_transit_qty"]
    plan["physical_qty"] = plan["on_hand_qty"] + plan["inbound_qty"] + plan["in_transit_qty"]
    return plan


def pandas_transfers(
    plan: pd.DataFrame, frames: dict[str, pd.DataFrame], settings: ModelSettings
) -> pd.DataFrame:
    position = plan["inventory_position_qty"]
    due = (position <= plan["reorder_point_qty"]) & (plan["order_up_to_qty"] > position)
    wanted = np.ceil(plan["order_up_to_qty"] - position)
    room = plan["capacity_qty"] - plan["physical_qty"]
    need = np.floor(np.where(room < wanted, room, wanted)).clip(0)
    destinations = plan.assign(need=need)[due & (need > 0)]
    destinations = destinations.assign(
        cover=(
            destinations["inventory_position_qty"].clip(lower=0)
            / destinations["demand_qty_per_day"]
        ).where(destinations["demand_qty_per_day"] > 0, np.inf),
        priority=destinations["channel_priority"].fillna(rebalancing.UNRANKED),
        need_desc=-destinations["need"],
    ).sort_values(["variant_id", "priority", "cover", "need_desc", "facility_id"])
    destinations["order"] = destinations.groupby("variant_id").cumcount()
    floor = plan["min_qty"].fillna(plan["safety_stock_qty"])
    protected = np.fmax(floor, plan["reorder_point_qty"])
    sources = plan.assign(
        spare=np.floor(plan["available_qty"] - floor).clip(0),
        protected_spare=np.floor(plan["available_qty"] - protected).clip(0),
    )
    sources = sources[(position > plan["reorder_point_qty"]) & (sources["spare"] > 0)]
    pairs = destinations[["variant_id", "facility_id", "need", "priority", "order", "vendor_id",
                          "unit_cost_amount", "currency_code", "vendor_lead_time_days",
                          "lead_time_days"]].merge(
        sources[["variant_id", "facility_id", "spare", "protected_spare", "channel_priority"]],
        on="variant_id", suffixes=("_dst", "_src"),
    )  # fmt: skip
    pairs = pairs[pairs["facility_id_dst"] != pairs["facility_id_src"]]
    lanes = frames["lanes"].rename(
        columns={
            "source_facility_id": "facility_id_src",
            "destination_facility_id": "facility_id_dst",
        }
    )
    samples = frames["lead_times"]
    lookback = days_ago(samples["received_date"]).between(0, settings.lead_time_lookback_days - 1)
    samples = samples[samples["source_facility_id"].notna() & lookback]
    observed_lanes = samples.groupby(["source_facility_id", "facility_id"])["lead_time_days"].mean()
    observed_lanes = (
        observed_lanes.rename("observed")
        .reset_index()
        .rename(columns={"source_facility_id": "facility_id_src", "facility_id": "facility_id_dst"})
    )
    lanes = lanes.merge(observed_lanes, on=["facility_id_src", "facility_id_dst"], how="left")
    lanes["lane_lead_time"] = lanes["observed"].fillna(lanes["lead_time_days"].astype("float64"))
    pairs = pairs.merge(
        lanes[["facility_id_src", "facility_id_dst", "lane_lead_time", "cost_per_unit_amount",
               "currency_code"]].rename(columns={"currency_code": "lane_currency"}),
        on=["facility_id_src", "facility_id_dst"],
    )  # fmt: skip
    vendor_lt = pairs["vendor_lead_time_days"].astype("float64").fillna(pairs["lead_time_days"])
    faster = pairs["lane_lead_time"] <= vendor_lt
    cheaper = (pairs["lane_currency"] == pairs["currency_code"]) & (
        pairs["cost_per_unit_amount"].astype("float64") < pairs["unit_cost_amount"]
    )
    pairs = pairs[pairs["vendor_id"].isna() | faster | cheaper]
    is_protected = pairs["channel_priority"].notna() & (
        pairs["channel_priority"] < pairs["priority"]
    )
    pairs = pairs.assign(cap=np.where(is_protected, pairs["protected_spare"], pairs["spare"]))
    pairs = pairs[pairs["cap"] > 0]
    pairs = pairs.assign(
        cost=pairs["cost_per_unit_amount"].astype("float64"), neg_cap=-pairs["cap"]
    ).sort_values(
        ["variant_id", "facility_id_dst", "lane_lead_time", "cost", "neg_cap", "facility_id_src"]
    )
    pairs["rank"] = pairs.groupby(["variant_id", "facility_id_dst"]).cumcount()
    pairs["allocated"] = 0.0
    destination, source = ["variant_id", "facility_id_dst"], ["variant_id", "facility_id_src"]
    pairs = pairs.sort_values([*source, "order"])
    for _ in range(settings.transfer_rounds):
        need_left = pairs["need"] - pairs.groupby(destination)["allocated"].transform("sum")
        room_left = pairs["cap"] - pairs.groupby(source)["allocated"].transform("sum")
        viable = (need_left > 0) & (room_left > 0)
        best = pairs["rank"].where(viable).groupby([pairs[c] for c in destination]).transform("min")
        chosen = viable & (pairs["rank"] == best)
        asked = need_left.where(chosen, 0.0)
        before = asked.groupby([pairs[c] for c in source]).cumsum() - asked
        given = np.clip(room_left - before, 0, need_left)
        pairs["allocated"] = pairs["allocated"] + np.where(chosen, given, 0.0)
    moved = pairs[pairs["allocated"] > 0]
    return moved[[*source, "facility_id_dst", "allocated"]]


def pandas_orders(plan: pd.DataFrame, transfers: pd.DataFrame) -> pd.DataFrame:
    incoming = transfers.groupby(["facility_id_dst", "variant_id"])["allocated"].sum()
    outgoing = transfers.groupby(["facility_id_src", "variant_id"])["allocated"].sum()
    index = pd.MultiIndex.from_frame(plan[KEYS])
    transfer_in = incoming.reindex(index).fillna(0).to_numpy()
    transfer_out = outgoing.reindex(index).fillna(0).to_numpy()
    position = plan["inventory_position_qty"]
    after = position + transfer_in - transfer_out
    due = (np.fmin(position, after) <= plan["reorder_point_qty"]) & (
        plan["order_up_to_qty"] > after
    )
    need = np.where(due, plan["order_up_to_qty"] - after, 0.0)
    moq = plan["moq_qty"].fillna(0)
    step = plan["case_pack_qty"].fillna(1)
    raised = np.where(need > 0, np.fmax(need, moq), 0.0)
    rounded = np.ceil(np.round(raised / step, 6)) * step
    room = plan["capacity_qty"] - plan["physical_qty"] - transfer_in + transfer_out
    fitted = np.floor(np.round(room.clip(lower=0) / step, 6)) * step
    fitted = np.where(fitted < moq, 0.0, fitted)
    over = (rounded > room).fillna(False) if hasattr(rounded > room, "fillna") else rounded > room
    order = np.where(over, fitted, rounded)
    return plan[KEYS].assign(order_qty=order, need_qty=need)


def pandas_abc_xyz(frames: dict[str, pd.DataFrame], settings: ModelSettings) -> pd.DataFrame:
    sales, stock = frames["consumption"], frames["stock"]
    ago = days_ago(sales["sale_date"])
    window = sales[(ago >= 0) & (ago < settings.abc_window_days)].assign(
        bucket=ago // settings.xyz_bucket_days, value=sales["sold_value_amount"].astype("float64")
    )
    buckets = window.groupby([*KEYS, "bucket"], as_index=False)[["sold_qty", "value"]].sum()
    buckets = buckets.assign(in_squares=buckets["sold_qty"] ** 2)
    totals = buckets.groupby(KEYS, as_index=False)[["value", "sold_qty", "in_squares"]].sum()
    totals = totals.rename(columns={"sold_qty": "in_total"})
    frame = (
        pd.concat([stock[KEYS], totals[KEYS]]).drop_duplicates().merge(totals, on=KEYS, how="left")
    )
    frame = frame.merge(history(stock), on=KEYS, how="left").fillna(
        {"value": 0.0, "in_total": 0.0, "in_squares": 0.0}
    )
    size = settings.xyz_bucket_days
    most = settings.abc_window_days // size
    count = ((frame["history_days"] + size - 1) // size).clip(1, most).fillna(most)
    mean = frame["in_total"] / count
    sigma = sample_sigma(frame["in_total"], frame["in_squares"], count)
    frame["demand_cv"] = (sigma / mean).where(mean > 0)
    frame = frame.sort_values(["facility_id", "value", "variant_id"], ascending=[True, False, True])
    value = frame["value"].clip(lower=0)
    total = value.groupby(frame["facility_id"]).transform("sum")
    frame["share"] = (value / total).where(total > 0, 0.0)
    before = frame["share"].groupby(frame["facility_id"]).cumsum() - frame["share"]
    a, b = settings.abc_shares
    frame["abc_class"] = np.select(
        [frame["share"] <= 0, before < a, before < b], ["C", "A", "B"], default="C"
    )
    x, y = settings.xyz_cv
    cv = frame["demand_cv"]
    frame["xyz_class"] = np.select([cv.isna(), cv <= x, cv <= y], ["Z", "X", "Y"], default="Z")
    return frame[[*KEYS, "abc_class", "xyz_class"]]


# -- agreement -----------------------------------------------------------------------------------


def compare(results: dict[str, pl.DataFrame], baseline: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Share of positions where both give the same order and segment; transfer totals."""
    orders = (
        results["suggestions"]
        .select(*KEYS, polars_order=pl.col("order_qty").cast(pl.Float64))
        .join(pl.from_pandas(baseline["suggestions"]), on=KEYS, how="inner")
    )
    same_orders = orders.filter((pl.col("polars_order") - pl.col("order_qty")).abs() < 1e-6).height
    segments = (
        results["segments"]
        .select(*KEYS, "abc_class", "xyz_class")
        .join(pl.from_pandas(baseline["segments"]), on=KEYS, how="inner", suffix="_pandas")
    )
    same_segments = segments.filter(
        (pl.col("abc_class") == pl.col("abc_class_pandas"))
        & (pl.col("xyz_class") == pl.col("xyz_class_pandas"))
    ).height
    return {
        "orders_equal_share": round(same_orders / max(orders.height, 1), 6),
        "segments_equal_share": round(same_segments / max(segments.height, 1), 6),
        "transfer_units": {
            "polars": float(results["transfers"]["transfer_qty"].cast(pl.Float64).sum()),
            "pandas": float(baseline["transfers"]["allocated"].sum()),
        },
        "positions_compared": orders.height,
        "finite": bool(math.isfinite(float(orders["order_qty"].sum()))),
    }


if __name__ == "__main__":
    raise SystemExit(main())
