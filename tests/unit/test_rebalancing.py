"""Rebalancing (SPEC M2) on frames built by hand: transfer-first against a vendor buy, a source
capped at what it can spare above its own min or safety stock, destinations served in channel
priority order within their capacity, and the trade-off told in the rationale (scenario 6)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.test_replenishment import World

D = Decimal


def network(
    *, dc_on_hand: str = "100", dc_channel: str | None = None, dc_daily: float = 1.0
) -> World:
    """ST1 sells 2 a day through pos (lead time 5 days: reorder point 10, order up to 24) and
    holds 5, so it needs 19; DC1 holds `dc_on_hand` and sells `dc_daily` a day through
    `dc_channel` (none: it only stocks). ACME sells TEE-M at 4.00, 7 days."""
    world = World()
    world.hold("ST1", "TEE-M", "5")
    world.hold("DC1", "TEE-M", dc_on_hand)
    for day in range(91):
        world.sell("ST1", "TEE-M", day, 2.0, channel="pos")
        if dc_channel:
            world.sell("DC1", "TEE-M", day, dc_daily, channel=dc_channel)
    world.lead_time("ST1", "TEE-M", 5.0)
    world.vendor("TEE-M", cost="4.00", lead_time=7)
    return world


def only(world: World) -> dict:
    transfers = world.transfers()
    assert transfers.height == 1, transfers
    return transfers.row(0, named=True)


def test_a_faster_and_cheaper_transfer_is_suggested_instead_of_a_buy():
    world = network()
    world.lane("DC1", "ST1", cost="0.50", lead_time=2)
    row = only(world)
    assert (row["source_facility_id"], row["destination_facility_id"]) == ("DC1", "ST1")
    assert (row["transfer_qty"], row["destination_need_qty"]) == (D(19), D(19))
    assert (row["transfer_cost_amount"], row["vendor_cost_amount"]) == (D("9.50"), D("76.00"))
    assert (row["is_faster"], row["is_cheaper"]) == (True, True)
    assert row["constraints"] == []
    assert row["suggestion_id"].startswith("TS-20261031-DC1-ST1-TEE-M-")
    assert (
        "Transfer 19 from DC1: 2 days at 0.50/unit (9.50 EUR), against buying from ACME: 7 days "
        "at 4.00/unit, 19 units (MOQ 0) for 76.00 EUR — faster and cheaper."
    ) in row["rationale"]
    store = world.suggestion("ST1", with_transfers=True)
    assert (store["decision"], store["order_qty"], store["transfer_in_qty"]) == (
        "covered_by_transfer", D(0), D(19),
    )  # fmt: skip
    assert "transfer" in store["constraints"]
    dc = world.suggestion("DC1", with_transfers=True)
    assert (dc["transfer_out_qty"], dc["position_after_transfers_qty"]) == (D(19), D(81))


def test_a_slower_and_dearer_transfer_loses_to_the_vendor():
    world = network()
    world.lane("DC1", "ST1", cost="5.00", lead_time=9)
    assert world.transfers().is_empty()
    store = world.suggestion("ST1", with_transfers=True)
    assert (store["decision"], store["order_qty"], store["vendor_id"]) == ("order", D(19), "ACME")


def test_a_cheaper_but_slower_transfer_still_wins_and_says_so():
    world = network()
    world.lane("DC1", "ST1", cost="1.00", lead_time=9)
    row = only(world)
    assert (row["is_faster"], row["is_cheaper"]) == (False, True)
    assert "— cheaper, though slower." in row["rationale"]


def test_costs_in_different_currencies_are_not_compared():
    world = network()
    world.lane("DC1", "ST1", cost="0.01", lead_time=9, currency="USD")
    assert world.transfers().is_empty()  # slower, and the cost cannot be compared
    world.lanes.clear()
    world.lane("DC1", "ST1", cost="9.99", lead_time=2, currency="USD")
    assert only(world)["is_faster"]


def test_without_vendor_terms_any_lane_with_spare_stock_is_used():
    world = network()
    world.terms.clear()
    world.lane("DC1", "ST1", cost="3.00", lead_time=30)
    row = only(world)
    assert row["transfer_qty"] == D(19)
    assert "no_vendor_terms" in row["constraints"]
    assert "there are no vendor terms to buy it from" in row["rationale"]


def test_a_source_gives_only_what_it_has_available_above_its_min():
    """DC1: 30 on hand, 5 reserved, min 20 → 25 available, 5 to spare. ST1 gets 5 and buys the
    rest: after the transfer its position is 10, at its reorder point, so it orders 24 - 10."""
    world = network(dc_on_hand="30")
    world.stock[1]["reserved_qty"] = D(5)
    world.rule("DC1", "TEE-M", min_qty="20")
    world.lane("DC1", "ST1")
    row = only(world)
    assert (row["transfer_qty"], row["pair_spare_qty"], row["source_kept_qty"]) == (
        D(5),
        D(5),
        D(20),
    )
    assert row["source_floor_basis"] == "min"
    assert row["constraints"] == ["source_availability", "partial"]
    assert "DC1 has 25 available and keeps 20 (its min)" in row["rationale"]
    assert "14 more is left to buy" in row["rationale"]
    store = world.suggestion("ST1", with_transfers=True)
    assert (store["transfer_in_qty"], store["order_qty"], store["decision"]) == (
        D(5),
        D(14),
        "order",
    )


def test_a_source_without_stock_to_spare_suggests_nothing():
    world = network(dc_on_hand="20")
    world.rule("DC1", "TEE-M", min_qty="20")  # at its min
    world.lane("DC1", "ST1")
    assert world.transfers().is_empty()
    world = network(dc_on_hand="3", dc_channel="wholesale")  # at or below its own reorder point
    world.lane("DC1", "ST1")
    assert world.transfers().is_empty()


def test_a_source_above_its_safety_stock_gives_down_to_it():
    """DC1 sells 1 a day (sd 0): safety stock 0, reorder point 7; with 12 on hand it gives 12."""
    world = network(dc_on_hand="12", dc_channel="wholesale")
    world.lane("DC1", "ST1")
    row = only(world)
    assert (row["transfer_qty"], row["source_kept_qty"], row["source_floor_basis"]) == (
        D(12), D(0), "safety stock",
    )  # fmt: skip


def test_a_source_keeps_its_reorder_point_for_a_channel_ranked_above_the_destinations():
    """DC1 sells 2 a day through ecommerce (priority 1), ST1 through pos (priority 2): DC1 keeps
    its reorder point 14 (2 a day over 7 days) and spares 30 - 14 = 16 of ST1's 19."""
    world = network(dc_on_hand="30", dc_channel="ecommerce", dc_daily=2.0)
    world.priorities = {"ecommerce": 1, "pos": 2}
    world.lane("DC1", "ST1")
    row = only(world)
    assert (row["transfer_qty"], row["source_kept_qty"], row["is_source_protected"]) == (
        D(16), D(14), True,
    )  # fmt: skip
    assert row["constraints"] == ["source_availability", "channel_priority", "partial"]
    assert (
        "DC1 has 30 available and keeps 14 (its reorder point: its ecommerce (priority 1) ranks "
        "above pos (priority 2))"
    ) in row["rationale"]
    world.priorities = {"ecommerce": 2, "pos": 1}  # the store's channel first: DC1 gives more
    row = only(world)
    assert (row["transfer_qty"], row["is_source_protected"]) == (D(19), False)


def test_destinations_are_served_in_channel_priority_order():
    """ST1 (pos, priority 2) and ST2 (ecommerce, priority 1) both need 19; DC1 has 25 to spare:
    ST2 gets its 19 first, ST1 the 6 left."""
    world = network(dc_on_hand="25")
    world.hold("ST2", "TEE-M", "5")
    for day in range(91):
        world.sell("ST2", "TEE-M", day, 2.0, channel="ecommerce")
    world.lead_time("ST2", "TEE-M", 5.0)
    world.priorities = {"ecommerce": 1, "pos": 2}
    world.lane("DC1", "ST1")
    world.lane("DC1", "ST2")
    rows = {r["destination_facility_id"]: r for r in world.transfers().iter_rows(named=True)}
    assert (rows["ST2"]["transfer_qty"], rows["ST1"]["transfer_qty"]) == (D(19), D(6))
    assert rows["ST2"]["constraints"] == []
    assert rows["ST1"]["constraints"] == ["source_availability", "channel_priority", "partial"]
    assert (
        "19 of it goes to other destinations, served in channel-priority order"
        in rows["ST1"]["rationale"]
    )
    world.priorities = {"ecommerce": 2, "pos": 1}
    rows = {r["destination_facility_id"]: r for r in world.transfers().iter_rows(named=True)}
    assert (rows["ST1"]["transfer_qty"], rows["ST2"]["transfer_qty"]) == (D(19), D(6))


def test_a_destination_takes_no_more_than_its_capacity_leaves_room_for():
    """ST1: capacity 15, 5 on hand of which 4 reserved: position 1, order up to 15 → wants 14,
    but only 10 fit on the shelf."""
    world = network()
    world.stock[0]["reserved_qty"] = D(4)
    world.rule("ST1", "TEE-M", capacity_qty="15")
    world.lane("DC1", "ST1")
    row = only(world)
    assert (row["destination_wanted_qty"], row["transfer_qty"]) == (D(14), D(10))
    assert row["constraints"] == ["capacity"]
    assert (
        "ST1 needs 14 (position 1 at or below its reorder point 10, up to 15, cut to 10 by its "
        "capacity 15"
    ) in row["rationale"]


def test_a_destination_draws_on_a_second_source_when_the_first_runs_dry():
    """DC1 (2 days) spares 10, DC2 (4 days) 50: ST1 takes 10 from DC1 and 9 from DC2."""
    world = network(dc_on_hand="10")
    world.hold("DC2", "TEE-M", "50")
    world.lane("DC1", "ST1", lead_time=2)
    world.lane("DC2", "ST1", lead_time=4)
    rows = {r["source_facility_id"]: r for r in world.transfers().iter_rows(named=True)}
    assert (rows["DC1"]["transfer_qty"], rows["DC2"]["transfer_qty"]) == (D(10), D(9))
    assert rows["DC2"]["destination_transfer_qty"] == D(19)
    store = world.suggestion("ST1", with_transfers=True)
    assert (store["transfer_in_qty"], store["transfer_sources"]) == (D(19), "DC1, DC2")


def test_observed_lane_lead_times_replace_the_configured_one():
    world = network()
    world.lane("DC1", "ST1", lead_time=2)
    world.lead_time("ST1", "TEE-M", 8.0, source="DC1")
    world.lead_time("ST2", "TEE-L", 10.0, source="DC1")
    row = only(world)
    assert (row["lane_lead_time_days"], row["lane_lead_time_source"]) == (8.0, "samples")


def test_no_lanes_no_transfers():
    world = network()
    assert world.transfers().is_empty()
    store = world.suggestion("ST1", with_transfers=True)
    assert store["order_qty"] == D(19)


@pytest.mark.parametrize("capacity", ["22", None])
def test_scenario_6_the_suggestion_explains_the_trade_off_and_respects_priorities_and_capacity(
    capacity: str | None,
):
    """Scenario 6: DC1 serves ecommerce (priority 1) and can spare little; two stores on pos
    (priority 3) and marketplace (priority 2) are short. The marketplace store is served
    first, DC1 keeps its reorder point for its ecommerce demand, the pos store's capacity limits
    it, and each suggestion says why — against buying from the vendor, from which the shortfall
    is bought."""
    world = network(dc_on_hand="40", dc_channel="ecommerce", dc_daily=2.0)  # keeps 14: spares 26
    world.priorities = {"ecommerce": 1, "marketplace": 2, "pos": 3}
    world.hold("ST2", "TEE-M", "5")
    for day in range(91):
        world.sell("ST2", "TEE-M", day, 2.0, channel="marketplace")
    world.lead_time("ST2", "TEE-M", 5.0)
    if capacity:
        world.rule("ST1", "TEE-M", capacity_qty=capacity)  # order up to 22: wants 17
    world.lane("DC1", "ST1")
    world.lane("DC1", "ST2")
    rows = {r["destination_facility_id"]: r for r in world.transfers().iter_rows(named=True)}
    assert rows["ST2"]["transfer_qty"] == D(19)
    assert rows["ST1"]["transfer_qty"] == D(7)
    assert rows["ST1"]["source_transfer_qty"] == D(26)
    assert "channel_priority" in rows["ST1"]["constraints"]
    for row in rows.values():
        assert "against buying from ACME" in row["rationale"]
        assert (
            "keeps 14 (its reorder point: its ecommerce (priority 1) ranks above"
            in row["rationale"]
        )
    wanted = 17 if capacity else 19
    assert rows["ST1"]["destination_wanted_qty"] == D(wanted)
    store = world.suggestion("ST1", with_transfers=True)
    assert (store["transfer_in_qty"], store["order_qty"]) == (D(7), D(wanted - 7))
