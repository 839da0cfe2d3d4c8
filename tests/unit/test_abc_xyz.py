"""ABC/XYZ segmentation (SPEC M3) on hand-built sales: value shares 80/15/5 within a facility,
coefficient-of-variation thresholds 0.5/1.0 on weekly demand, and the count frequency each
segment suggests."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal

import pytest

from models.abc_xyz import abc_xyz
from models.inputs import ModelSettings
from tests.unit.test_replenishment import AS_OF, World

D = Decimal


def segments(world: World) -> dict[tuple[str, str], dict]:
    frames = world.frames()
    rows = abc_xyz(frames["consumption"], frames["stock"], world.settings).collect()
    return {(r["facility_id"], r["variant_id"]): r for r in rows.iter_rows(named=True)}


def weekly(world: World, facility: str, sku: str, weeks: list[float], value_per_unit: str = "1"):
    """One sale a week (on the week's last day), most recent week first."""
    world.hold(facility, sku, "0", since_days=7 * len(weeks) - 1)
    for index, qty in enumerate(weeks):
        value = str(D(str(qty)) * D(value_per_unit))
        world.sell(facility, sku, 7 * index, qty, value=value)


def four_weeks() -> World:
    return World(settings=ModelSettings(as_of=AS_OF, abc_window_days=28))


def test_abc_by_cumulative_share_of_consumption_value():
    """Values 50, 30, 10, 6, 4 of 100: shares before each SKU 0, 50, 80, 90, 96 % → A, A, B, B,
    C (A while under 80 %, B under 95 %); a SKU without consumption is C. Another facility is
    ranked on its own."""
    world = four_weeks()
    for sku, value in [("S1", "50"), ("S2", "30"), ("S3", "10"), ("S4", "6"), ("S5", "4")]:
        weekly(world, "DC1", sku, [1, 1, 1, 1], value_per_unit=str(D(value) / 4))
    world.hold("DC1", "S6", "3")
    weekly(world, "ST1", "S5", [1, 1, 1, 1])
    rows = segments(world)
    got = {sku: rows[("DC1", sku)]["abc_class"] for sku in ("S1", "S2", "S3", "S4", "S5", "S6")}
    assert got == {"S1": "A", "S2": "A", "S3": "B", "S4": "B", "S5": "C", "S6": "C"}
    s3 = rows[("DC1", "S3")]
    assert s3["consumption_value_amount"] == D("10")
    assert (s3["value_share"], s3["cumulative_value_share"]) == (
        pytest.approx(0.1),
        pytest.approx(0.9),
    )
    assert rows[("ST1", "S5")]["abc_class"] == "A"


def test_a_single_dominant_sku_is_a():
    world = four_weeks()
    weekly(world, "DC1", "BIG", [1, 1, 1, 1], value_per_unit="90")
    weekly(world, "DC1", "SMALL", [1, 1, 1, 1], value_per_unit="10")
    rows = segments(world)
    assert (rows[("DC1", "BIG")]["abc_class"], rows[("DC1", "SMALL")]["abc_class"]) == ("A", "B")


def test_xyz_by_the_coefficient_of_variation_of_weekly_demand():
    """Weekly [8, 12, 8, 12]: CV = 2.309/10 = 0.23 → X; [5, 15, 5, 15]: 5.774/10 = 0.58 → Y;
    [0, 0, 0, 40]: 20/10 = 2 → Z; no demand → Z without a CV."""
    world = four_weeks()
    weekly(world, "DC1", "STEADY", [8, 12, 8, 12])
    weekly(world, "DC1", "SWINGING", [5, 15, 5, 15])
    weekly(world, "DC1", "LUMPY", [40, 0, 0, 0])
    world.hold("DC1", "IDLE", "5")
    rows = segments(world)
    steady, swinging, lumpy = (rows[("DC1", s)] for s in ("STEADY", "SWINGING", "LUMPY"))
    assert steady["demand_cv"] == pytest.approx(statistics.stdev([8, 12, 8, 12]) / 10)
    assert swinging["demand_cv"] == pytest.approx(math.sqrt(100 / 3) / 10)
    assert lumpy["demand_cv"] == pytest.approx(2.0)
    assert lumpy["bucket_mean_qty"] == pytest.approx(10.0)
    assert [r["xyz_class"] for r in (steady, swinging, lumpy)] == ["X", "Y", "Z"]
    idle = rows[("DC1", "IDLE")]
    assert (idle["demand_cv"], idle["xyz_class"], idle["segment"]) == (None, "Z", "CZ")
    assert "no demand" in idle["rationale"]


def test_thresholds_are_inclusive_at_the_upper_bound():
    """[5, 15, 5, 15] has CV 0.577: X at a threshold of 0.6, Z at thresholds 0.3 / 0.5."""
    world = World(settings=ModelSettings(as_of=AS_OF, abc_window_days=28, xyz_cv=(0.6, 1.0)))
    weekly(world, "DC1", "SWINGING", [5, 15, 5, 15])
    assert segments(world)[("DC1", "SWINGING")]["xyz_class"] == "X"
    world = World(settings=ModelSettings(as_of=AS_OF, abc_window_days=28, xyz_cv=(0.3, 0.5)))
    weekly(world, "DC1", "SWINGING", [5, 15, 5, 15])
    assert segments(world)[("DC1", "SWINGING")]["xyz_class"] == "Z"


def test_a_short_history_uses_the_weeks_it_has():
    """Two weeks of history in a four-week window: CV over 2 buckets, not 4."""
    world = four_weeks()
    weekly(world, "DC1", "NEW", [10, 10])
    row = segments(world)[("DC1", "NEW")]
    assert (row["demand_buckets"], row["demand_cv"], row["xyz_class"]) == (2, 0.0, "X")


def test_a_partial_oldest_bucket_counts_as_a_bucket():
    """Ten days of history: a full week (7 sold) and three days (3 sold) make two buckets, mean
    5, sd sqrt((49 + 9 - 100/2) / 1) = 2.83, CV 0.57: Y."""
    world = four_weeks()
    world.hold("DC1", "NEW", "0", since_days=9)
    world.sell("DC1", "NEW", 0, 7.0)
    world.sell("DC1", "NEW", 8, 3.0)
    row = segments(world)[("DC1", "NEW")]
    assert (row["demand_buckets"], row["bucket_mean_qty"]) == (2, 5.0)
    assert row["demand_cv"] == pytest.approx(math.sqrt(8) / 5)
    assert row["xyz_class"] == "Y"


def test_each_segment_suggests_a_count_interval():
    world = four_weeks()
    weekly(world, "DC1", "A-STEADY", [10, 10, 10, 10], value_per_unit="100")
    weekly(world, "DC1", "C-LUMPY", [4, 0, 0, 0])
    rows = segments(world)
    assert (
        rows[("DC1", "A-STEADY")]["segment"],
        rows[("DC1", "A-STEADY")]["count_interval_days"],
    ) == ("AX", 30)
    assert (
        rows[("DC1", "C-LUMPY")]["segment"],
        rows[("DC1", "C-LUMPY")]["count_interval_days"],
    ) == ("CZ", 90)
    assert rows[("DC1", "A-STEADY")]["rationale"].endswith("Count every 30 days.")
    custom = World(settings=ModelSettings(as_of=AS_OF, abc_window_days=28,
                                          count_interval_days={"AX": 7, "CZ": 365}))  # fmt: skip
    weekly(custom, "DC1", "A-STEADY", [10, 10, 10, 10])
    assert segments(custom)[("DC1", "A-STEADY")]["count_interval_days"] == 7
