"""Replenishment (SPEC M1) on frames built by hand: every formula against a hand-computed
example — velocity, sigma, z, safety stock, reorder point, order-up-to, MOQ and case packs,
capacity, min/max precedence, impact — and the edge cases (no history, zero demand, negative
stock, no lead-time samples, no vendor)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from models import demand, lead_times
from models.inputs import (
    CHANNEL_PRIORITIES,
    CHANNEL_SALES,
    CONSUMPTION,
    LANES,
    LEAD_TIMES,
    RULES,
    STOCK,
    VENDOR_TERMS,
    ModelInputError,
    ModelSettings,
    check_rules,
    check_vendor_terms,
)
from models.normal import inverse_normal_cdf, normal_cdf
from models.rebalancing import transfer_suggestions
from models.replenishment import (
    ceil_to_multiple,
    floor_to_multiple,
    plan_positions,
    replenishment_suggestions,
    with_levels,
)

D = Decimal
AS_OF = date(2026, 10, 31)
Z95 = statistics.NormalDist().inv_cdf(0.95)  # 1.6448536…


def frame(contract: dict[str, pl.DataType], rows: list[dict[str, Any]]) -> pl.LazyFrame:
    return pl.DataFrame(rows, schema=contract, orient="row").lazy()


@dataclass
class World:
    """Stock, sales, lead times and configuration of a small network, as the models read them."""

    settings: ModelSettings = field(default_factory=lambda: ModelSettings(as_of=AS_OF))
    sales: list[dict[str, Any]] = field(default_factory=list)
    stock: list[dict[str, Any]] = field(default_factory=list)
    lead_times: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    terms: list[dict[str, Any]] = field(default_factory=list)
    lanes: list[dict[str, Any]] = field(default_factory=list)
    priorities: dict[str, int] = field(default_factory=dict)

    def sell(self, facility: str, sku: str, days_ago: int, qty: float, channel: str = "pos",
             value: str = "0") -> None:  # fmt: skip
        self.sales.append({
            "facility_id": facility, "variant_id": sku, "channel_id": channel,
            "sale_date": AS_OF - timedelta(days=days_ago), "sold_qty": qty,
            "sold_value_amount": D(value),
        })  # fmt: skip

    def hold(self, facility: str, sku: str, on_hand: str, *, since_days: int = 400,
             **quantities: str) -> None:  # fmt: skip
        row = {"facility_id": facility, "variant_id": sku, "on_hand_qty": D(on_hand),
               "first_activity_date": AS_OF - timedelta(days=since_days)}  # fmt: skip
        for name in ("reserved", "backordered", "inbound", "in_transit"):
            row[f"{name}_qty"] = D(quantities.get(name, "0"))
        self.stock.append(row)

    def lead_time(self, facility: str, sku: str, days: float, source: str | None = None) -> None:
        self.lead_times.append({
            "facility_id": facility, "variant_id": sku, "source_facility_id": source,
            "received_date": AS_OF - timedelta(days=10), "lead_time_days": days,
        })  # fmt: skip

    def rule(self, facility: str, sku: str, **values: Any) -> None:
        self.rules.append({"facility_id": facility, "variant_id": sku, **values})

    def vendor(self, sku: str, vendor: str = "ACME", cost: str = "4.00", lead_time: int = 7,
               moq: str = "0", case_pack: str | None = None,
               currency: str = "EUR") -> None:  # fmt: skip
        self.terms.append({
            "vendor_id": vendor, "variant_id": sku, "unit_cost_amount": D(cost),
            "currency_code": currency, "lead_time_days": lead_time, "moq_qty": D(moq),
            "case_pack_qty": None if case_pack is None else D(case_pack),
        })  # fmt: skip

    def lane(self, source: str, destination: str, cost: str = "0.50", lead_time: int = 2,
             currency: str = "EUR") -> None:  # fmt: skip
        self.lanes.append({
            "source_facility_id": source, "destination_facility_id": destination,
            "cost_per_unit_amount": D(cost), "currency_code": currency, "lead_time_days": lead_time,
        })  # fmt: skip

    def frames(self) -> dict[str, pl.LazyFrame]:
        rules = [{name: row.get(name) for name in RULES} for row in self.rules]
        for row in rules:
            for name in ("min_qty", "max_qty", "service_level", "capacity_qty"):
                row[name] = None if row[name] is None else D(str(row[name]))
        channel_sales = frame(
            CHANNEL_SALES, [{n: row[n] for n in CHANNEL_SALES} for row in self.sales]
        )
        consumption = frame(CONSUMPTION, [{n: row[n] for n in CONSUMPTION} for row in self.sales])
        # the daily grain the demand statistics read: all channels of a day together
        daily = consumption.group_by(["facility_id", "variant_id", "sale_date"]).agg(
            pl.col("sold_qty").sum()
        )
        return {
            "sales": daily,
            "channel_sales": channel_sales,
            "consumption": consumption,
            "stock": frame(STOCK, self.stock),
            "lead_time_samples": frame(LEAD_TIMES, self.lead_times),
            "rules": frame(RULES, rules),
            "vendor_terms": frame(VENDOR_TERMS, self.terms),
            "channel_priorities": frame(
                CHANNEL_PRIORITIES,
                [{"channel_id": c, "priority": p} for c, p in self.priorities.items()],
            ),
        }  # fmt: skip

    def plan(self) -> pl.LazyFrame:
        frames = self.frames()
        del frames["consumption"]
        return plan_positions(**frames, settings=self.settings)

    def transfers(self) -> pl.DataFrame:
        samples = self.frames()["lead_time_samples"]
        return transfer_suggestions(
            self.plan(), frame(LANES, self.lanes), samples, self.settings
        ).collect()

    def suggestions(self, *, with_transfers: bool = False) -> dict[tuple[str, str], dict[str, Any]]:
        plan = self.plan()
        transfers = None
        if with_transfers:
            samples = self.frames()["lead_time_samples"]
            transfers = transfer_suggestions(plan, frame(LANES, self.lanes), samples, self.settings)
        rows = replenishment_suggestions(plan, transfers, self.settings).collect()
        return {(r["facility_id"], r["variant_id"]): r for r in rows.iter_rows(named=True)}

    def suggestion(self, facility: str = "ST1", sku: str = "TEE-M", **kw: Any) -> dict[str, Any]:
        return self.suggestions(**kw)[(facility, sku)]


def approx(value: float, rel: float = 1e-9) -> Any:
    return pytest.approx(value, rel=rel, abs=1e-9)


def level_row(**columns: Any) -> dict[str, Any]:
    """One position's levels from given statistics (the rest of the plan left out)."""
    base = {"demand_qty_per_day": 0.0, "demand_sigma_qty": 0.0, "lead_time_days": 0.0,
            "lead_time_sigma_days": 0.0, "z_score": Z95, "review_period_days": 7,
            "min_qty": None, "max_qty": None, "capacity_qty": None}  # fmt: skip
    base.update(columns)
    schema = {"demand_qty_per_day": pl.Float64, "demand_sigma_qty": pl.Float64,
              "lead_time_days": pl.Float64, "lead_time_sigma_days": pl.Float64,
              "z_score": pl.Float64, "review_period_days": pl.Int32, "min_qty": RULES["min_qty"],
              "max_qty": RULES["max_qty"], "capacity_qty": RULES["capacity_qty"]}  # fmt: skip
    for name in ("min_qty", "max_qty", "capacity_qty"):
        base[name] = None if base[name] is None else D(str(base[name]))
    levels = with_levels(pl.LazyFrame([base], schema=schema), ModelSettings(as_of=AS_OF))
    return levels.collect().row(0, named=True)


# -- the normal distribution -------------------------------------------------------------------


def test_z_and_the_normal_cdf_match_the_standard_library():
    levels = [1e-6, 0.01, 0.02425, 0.3, 0.5, 0.8, 0.9, 0.95, 0.975, 0.99, 0.999, 0.999999]
    got = pl.select(z=inverse_normal_cdf(pl.Series(levels))).to_series().to_list()
    for level, z in zip(levels, got, strict=True):
        assert z == approx(statistics.NormalDist().inv_cdf(level), rel=1e-12)
    assert got[7] == approx(1.6448536269514722)  # the 95% service level
    xs = [-8.0, -3.0, -1.1547, 0.0, 0.5, 2.0, 6.0]
    cdf = pl.select(p=normal_cdf(pl.Series(xs))).to_series().to_list()
    for x, p in zip(xs, cdf, strict=True):
        assert p == approx(statistics.NormalDist().cdf(x), rel=1e-12)


def test_z_is_null_outside_the_open_unit_interval():
    got = pl.select(z=inverse_normal_cdf(pl.Series([0.0, 1.0, 1.5]))).to_series().to_list()
    assert got == [None, None, None]


# -- demand --------------------------------------------------------------------------------------


def test_velocity_and_sigma_count_the_days_without_sales_as_zero():
    """Over 7 days: 4 today, 2 two days ago, nothing else. Mean 6/7; sample sd of
    [4, 0, 2, 0, 0, 0, 0] = √((20 - 36/7) / 6) = √(104/42) = 1.5735…; the 28-day window has
    one more sale of 7 (13/28)."""
    world = World(
        settings=ModelSettings(as_of=AS_OF, velocity_windows=(7, 28), planning_window_days=7)
    )
    world.hold("ST1", "TEE-M", "10")
    world.sell("ST1", "TEE-M", 0, 3.0, channel="pos")
    world.sell("ST1", "TEE-M", 0, 1.0, channel="ecommerce")
    world.sell("ST1", "TEE-M", 2, 2.0, channel="ecommerce")
    world.sell("ST1", "TEE-M", 20, 7.0)
    world.sell("ST1", "TEE-M", 40, 100.0)  # outside every window
    stats = demand.demand_statistics(
        world.frames()["sales"], world.frames()["stock"], world.settings
    )
    row = stats.collect().row(0, named=True)
    assert row["velocity_7d_qty"] == approx(6 / 7)
    assert row["velocity_28d_qty"] == approx(13 / 28)
    assert row["demand_qty_per_day"] == approx(6 / 7)
    assert row["demand_sigma_qty"] == approx(math.sqrt(104 / 42))
    assert row["demand_sigma_qty"] == approx(statistics.stdev([4, 0, 2, 0, 0, 0, 0]))
    assert (row["planning_days"], row["sale_days"]) == (7, 2)
    channels = demand.channel_demand(
        world.frames()["channel_sales"], world.frames()["stock"], world.settings
    )
    by_channel = {
        r["channel_id"]: r["channel_velocity_qty"] for r in channels.collect().iter_rows(named=True)
    }
    assert by_channel == {"pos": approx(3 / 7), "ecommerce": approx(3 / 7)}


def test_a_short_history_is_averaged_over_the_days_it_has():
    """First activity 3 days ago: 4 days of history (both ends counted), 6 sold → 1.5/day."""
    world = World(
        settings=ModelSettings(as_of=AS_OF, velocity_windows=(7, 28), planning_window_days=7)
    )
    world.hold("ST1", "TEE-M", "10", since_days=3)
    world.sell("ST1", "TEE-M", 0, 4.0)
    world.sell("ST1", "TEE-M", 2, 2.0)
    row = world.suggestion()
    assert (row["history_days"], row["planning_days"]) == (4, 4)
    assert row["demand_qty_per_day"] == approx(1.5)
    assert row["velocity_28d_qty"] == approx(1.5)
    assert row["demand_sigma_qty"] == approx(statistics.stdev([4, 0, 2, 0]))
    assert "short_history" in row["constraints"]


def test_reversed_sales_net_out_and_negative_net_demand_plans_on_zero():
    world = World(
        settings=ModelSettings(as_of=AS_OF, velocity_windows=(7,), planning_window_days=7)
    )
    world.hold("ST1", "TEE-M", "0")
    world.sell("ST1", "TEE-M", 1, -5.0)  # a reversal of a sale older than the window
    row = world.suggestion()
    assert row["velocity_7d_qty"] == approx(-5 / 7)
    assert row["demand_qty_per_day"] == 0.0
    assert "zero_demand" in row["constraints"]


# -- lead times ----------------------------------------------------------------------------------


def test_lead_time_mean_and_sigma_come_from_receipts_in_the_lookback():
    world = World()
    for days in (3.0, 5.0, 4.0):
        world.lead_time("ST1", "TEE-M", days)
    world.lead_time("ST1", "TEE-M", 90.0)
    world.lead_times[-1]["received_date"] = AS_OF - timedelta(days=400)  # before the lookback
    world.lead_time("ST1", "TEE-M", 2.0, source="DC1")
    world.lead_time("ST2", "TEE-L", 4.0, source="DC1")
    frames = world.frames()
    row = lead_times.position_lead_times(frames["lead_time_samples"], world.settings).filter(
        pl.col("facility_id") == "ST1"
    ).collect().row(0, named=True)  # fmt: skip
    assert row["lead_time_samples"] == 4
    assert row["lead_time_mean_days"] == approx(3.5)
    assert row["lead_time_sigma_days"] == approx(statistics.stdev([3, 5, 4, 2]))
    lanes = lead_times.lane_lead_times(frames["lead_time_samples"], world.settings).collect()
    assert sorted(lanes.rows()) == [("DC1", "ST1", 1, 2.0, 0.0), ("DC1", "ST2", 1, 4.0, 0.0)]


def test_without_samples_the_vendor_lead_time_stands_with_no_variability():
    world = World()
    world.hold("ST1", "TEE-M", "0")
    world.sell("ST1", "TEE-M", 1, 2.0)
    world.vendor("TEE-M", lead_time=9)
    row = world.suggestion()
    assert (row["lead_time_days"], row["lead_time_sigma_days"]) == (9.0, 0.0)
    assert (row["lead_time_source"], row["lead_time_samples"]) == ("vendor_terms", 0)
    assert "no_lead_time_samples" in row["constraints"]
    assert "no receipts observed" in row["rationale"]


def test_without_samples_or_vendor_terms_the_default_lead_time_stands():
    world = World()
    world.hold("ST1", "TEE-M", "0")
    world.sell("ST1", "TEE-M", 1, 2.0)
    row = world.suggestion()
    assert (row["lead_time_days"], row["lead_time_source"]) == (14.0, "default")
    assert {"no_lead_time_samples", "no_vendor_terms"} <= set(row["constraints"])
    assert row["vendor_id"] is None and row["order_qty"] > 0


# -- levels --------------------------------------------------------------------------------------


def test_safety_stock_reorder_point_and_order_up_to():
    """d̄ 10/day, sd 3, LT 4 days, sLT 1 day, 95%: SS = 1.6449 · √(4·9 + 100·1) = 1.6449 · 11.6619
    = 19.18 → 20 units; ROP = 10·4 + 19.18 = 59.18 → 60; order-up-to = 60 + 10·7 = 130."""
    row = level_row(demand_qty_per_day=10.0, demand_sigma_qty=3.0, lead_time_days=4.0,
                    lead_time_sigma_days=1.0)  # fmt: skip
    assert Z95 * math.sqrt(136) == approx(19.1822, rel=1e-5)
    assert (row["safety_stock_qty"], row["reorder_point_qty"], row["order_up_to_qty"]) == (
        D(20), D(60), D(130),
    )  # fmt: skip
    assert row["level_source"] == "computed"


def test_min_max_rule_takes_precedence_over_the_computed_levels():
    computed = {"demand_qty_per_day": 10.0, "demand_sigma_qty": 3.0, "lead_time_days": 4.0,
                "lead_time_sigma_days": 1.0}  # fmt: skip
    both = level_row(**computed, min_qty="25", max_qty="45")
    assert (both["reorder_point_qty"], both["order_up_to_qty"]) == (D(25), D(45))
    assert both["level_source"] == "min_max_rule"
    only_min = level_row(**computed, min_qty="25")  # max: min + demand over the review period
    assert (only_min["reorder_point_qty"], only_min["order_up_to_qty"]) == (D(25), D(95))
    only_max = level_row(**computed, max_qty="50")  # the max also bounds the reorder point
    assert (only_max["reorder_point_qty"], only_max["order_up_to_qty"]) == (D(50), D(50))


def test_capacity_caps_the_levels():
    row = level_row(demand_qty_per_day=10.0, lead_time_days=4.0, capacity_qty="100")
    assert (row["reorder_point_qty"], row["order_up_to_qty"]) == (D(40), D(100))
    assert row["is_level_capped"]


def test_rounding_to_multiples_is_exact():
    values = pl.DataFrame({"q": [D("22"), D("30"), D("0.000001"), D("1000.0001")],
                           "s": [D("10"), D("10"), D("0.5"), D("1000")]},
                          schema={"q": pl.Decimal(18, 6), "s": pl.Decimal(18, 6)})  # fmt: skip
    got = values.select(
        up=ceil_to_multiple(pl.col("q"), pl.col("s")),
        down=floor_to_multiple(pl.col("q"), pl.col("s")),
    )
    assert got["up"].to_list() == [D(30), D(30), D("0.5"), D(2000)]
    assert got["down"].to_list() == [D(20), D(30), D(0), D(1000)]


# -- the order -----------------------------------------------------------------------------------


def steady_store(world: World, on_hand: str = "5", **stock: str) -> None:
    """ST1 sells 2 a day, every day for 91 days (sd 0); lead time 5 days from samples (sd 0)."""
    world.hold("ST1", "TEE-M", on_hand, **stock)
    for day in range(91):
        world.sell("ST1", "TEE-M", day, 2.0)
    world.lead_time("ST1", "TEE-M", 5.0)


def test_an_order_brings_the_position_up_to_the_order_up_to_level():
    """d̄ 2, sd 0, LT 5: SS 0, ROP 10, order-up-to 10 + 14 = 24. Position 5 - 1 reserved - 1
    backordered + 2 inbound + 1 in transit = 6 ≤ 10: order 24 - 6 = 18."""
    world = World()
    steady_store(world, reserved="1", backordered="1", inbound="2", in_transit="1")
    world.vendor("TEE-M")
    row = world.suggestion()
    assert (row["safety_stock_qty"], row["reorder_point_qty"], row["order_up_to_qty"]) == (
        D(0), D(10), D(24),
    )  # fmt: skip
    assert row["inventory_position_qty"] == D(6)
    assert (row["decision"], row["need_qty"], row["order_qty"]) == ("order", D(18), D(18))
    assert (row["vendor_id"], row["order_value_amount"]) == ("ACME", D("72.00"))
    assert row["position_after_qty"] == D(24)
    assert (
        "Inventory position 6 = on hand 5 - reserved 1 - backordered 1 + inbound 2 + in transit 1"
        in row["rationale"]
    )
    assert "order 18 from ACME" in row["rationale"]
    assert row["constraints"] == ["backorders"]


def test_moq_then_case_pack_round_the_order_up():
    world = World()
    steady_store(world)
    world.vendor("TEE-M", moq="25", case_pack="10")
    row = world.suggestion()  # need 24 - 5 = 19 → MOQ 25 → 3 cases of 10 = 30
    assert (row["need_qty"], row["order_qty"]) == (D(19), D(30))
    assert row["constraints"] == ["moq", "case_pack"]
    assert "raised to the MOQ 25; rounded up to case packs of 10" in row["rationale"]


def test_capacity_cuts_the_order_to_whole_cases_and_refuses_what_falls_below_the_moq():
    world = World()
    steady_store(world)
    world.vendor("TEE-M", case_pack="6")
    world.rule("ST1", "TEE-M", capacity_qty="20")  # room 20 - 5 = 15: two cases of 6
    row = world.suggestion()
    assert (row["need_qty"], row["order_qty"]) == (D(15), D(12))
    assert "capacity" in row["constraints"]
    world.terms.clear()
    world.vendor("TEE-M", case_pack="6", moq="18")
    row = world.suggestion()
    assert (row["decision"], row["order_qty"]) == ("capacity_full", D(0))
    assert {"moq", "capacity"} <= set(row["constraints"])


def test_above_the_reorder_point_nothing_is_ordered():
    world = World()
    steady_store(world, on_hand="11")
    world.vendor("TEE-M")
    row = world.suggestion()
    assert (row["decision"], row["order_qty"], row["is_reorder_due"]) == ("no_order", D(0), False)
    assert "Above the reorder point: no order." in row["rationale"]


def test_expected_impact_days_of_cover_and_stockout_risk():
    """d̄ 2, LT 5, review 7: 12 days of protection, mean demand 24, sd √(12·sd²); with sd = 0 the
    risk is 1 below 24 and 0 at or above it. Cover 5/2 = 2.5 → 24/2 = 12 days."""
    world = World()
    steady_store(world)
    world.vendor("TEE-M")
    row = world.suggestion()
    assert (row["days_of_cover_before"], row["days_of_cover_after"]) == (2.5, 12.0)
    assert (row["stockout_risk_before"], row["stockout_risk_after"]) == (1.0, 0.0)
    assert (
        "Cover 2.5 → 12 days; stockout risk over lead time + review period 100% → 0%"
        in row["rationale"]
    )


def test_stockout_risk_with_variable_demand():
    """Alternating 3 and 1 a day over 91 days (d̄ = 183/91, sd ≈ 1.0055): 12 days of protection,
    mean 12·d̄, sd = √12 · sd; the position 20 has risk 1 - Φ((20 - 12·d̄)/sd) ≈ 0.88."""
    world = World()
    world.hold("ST1", "TEE-M", "20")
    for day in range(91):
        world.sell("ST1", "TEE-M", day, 1.0 if day % 2 else 3.0)
    world.lead_time("ST1", "TEE-M", 5.0)
    row = world.suggestion()
    daily = [1.0 if day % 2 else 3.0 for day in range(91)]
    mean, sigma = 12 * 183 / 91, math.sqrt(12) * statistics.stdev(daily)
    assert row["demand_qty_per_day"] == approx(statistics.mean(daily))
    assert row["demand_sigma_qty"] == approx(statistics.stdev(daily))
    expected = 1 - statistics.NormalDist().cdf((20 - mean) / sigma)
    assert row["stockout_risk_before"] == approx(expected)
    assert 0.85 < expected < 0.9
    after = float(row["position_after_qty"])
    assert row["stockout_risk_after"] == approx(
        1 - statistics.NormalDist().cdf((after - mean) / sigma)
    )


# -- edge cases ----------------------------------------------------------------------------------


def test_no_history_orders_nothing_without_a_rule_and_up_to_the_rule_with_one():
    world = World()
    world.hold("ST1", "TEE-M", "0")
    world.rule("ST2", "TEE-M", min_qty="4", max_qty="10")  # never stocked nor sold there
    rows = world.suggestions()
    bare = rows[("ST1", "TEE-M")]
    assert (bare["decision"], bare["order_qty"], bare["reorder_point_qty"]) == (
        "no_order",
        D(0),
        D(0),
    )
    assert bare["days_of_cover_before"] is None
    assert "no_history" in bare["constraints"]
    assert bare["rationale"].startswith("No sales in the last 91 days.")
    assert bare["rationale"].endswith(
        "no order. Stockout risk over lead time + review period 0% → 0%."
    )
    ruled = rows[("ST2", "TEE-M")]
    assert (ruled["decision"], ruled["order_qty"]) == ("order", D(10))
    assert {"no_history", "min_max_rule"} <= set(ruled["constraints"])


def test_negative_stock_is_part_of_the_position_and_of_the_need():
    world = World()
    steady_store(world, on_hand="-3")
    row = world.suggestion()
    assert row["inventory_position_qty"] == D(-3)
    assert (row["need_qty"], row["order_qty"]) == (D(27), D(27))
    assert "negative_stock" in row["constraints"]
    assert row["days_of_cover_before"] == 0.0


def test_zero_demand_with_stock_orders_nothing():
    world = World()
    world.hold("ST1", "TEE-M", "7")
    world.sell("ST1", "TEE-M", 2, 2.0)
    world.sell("ST1", "TEE-M", 2, -2.0)  # sold and taken back the same day
    row = world.suggestion()
    assert (row["demand_qty_per_day"], row["order_qty"], row["decision"]) == (0.0, D(0), "no_order")
    assert row["stockout_risk_before"] == 0.0


def test_the_same_inputs_give_the_same_suggestion_id_and_a_change_a_new_one():
    world = World()
    steady_store(world)
    first, again = world.suggestion()["suggestion_id"], world.suggestion()["suggestion_id"]
    assert first == again and first.startswith("RS-20261031-ST1-TEE-M-")
    world.stock[0]["on_hand_qty"] = D(4)
    assert world.suggestion()["suggestion_id"] != first


# -- configuration checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "rule"),
    [
        ({"min_qty": "10", "max_qty": "5"}, "max_qty", "must not be below min_qty"),
        ({"service_level": "1"}, "service_level", "must be between 0 and 1 (exclusive)"),
        ({"min_qty": "-1"}, "min_qty", "must not be negative"),
        ({"capacity_qty": "0"}, "capacity_qty", "must be positive"),
        ({"review_period_days": -7}, "review_period_days", "must not be negative"),
    ],
)
def test_a_broken_rule_is_refused_naming_the_field_and_the_rule(values, field, rule):
    world = World()
    world.rule("DC1", "TEE-M", **values)
    with pytest.raises(ModelInputError) as caught:
        check_rules(world.frames()["rules"].collect())
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert str(caught.value).startswith(f"replenishment_rules.{field}: {rule} (facility_id DC1")


def test_duplicate_vendor_terms_are_refused():
    world = World()
    world.vendor("TEE-M")
    world.vendor("TEE-M", cost="5.00")
    with pytest.raises(ModelInputError, match=r"vendor_terms.variant_id: must be unique"):
        check_vendor_terms(world.frames()["vendor_terms"].collect())


def test_a_frame_without_a_contract_column_is_refused():
    world = World()
    world.hold("ST1", "TEE-M", "1")
    frames = world.frames()
    del frames["consumption"]
    frames["stock"] = frames["stock"].drop("reserved_qty")
    with pytest.raises(ModelInputError, match=r"stock.reserved_qty: is a required column"):
        plan_positions(**frames, settings=world.settings).collect()
