"""Master data and configuration feeds of the simulated retailer, and the opening balances
taken over from its previous stock system on the first day."""

from __future__ import annotations

import math
from datetime import timedelta

from simulator.context import Sim, row
from simulator.inbox import Row
from simulator.world import (
    CURRENCY,
    FINANCE_ACTOR,
    ORG,
    PIPELINE_ACTOR,
    TRANSIT,
    VENDORS,
    World,
)

REASON_CODES = (
    ("damage", "Damaged in store or warehouse", "adjustment|reclassification"),
    ("shrink", "Known theft or loss", "adjustment"),
    ("found", "Stock found that the system did not hold", "adjustment"),
    ("expired", "Past its expiry date, written off", "adjustment"),
    ("opening_balance", "Opening balance taken over from the previous system", "adjustment"),
    ("qc_release", "Passed quality inspection", "reclassification"),
    ("lost_in_transit", "Lost between facilities", "adjustment"),
    ("transit_damage", "Damaged between facilities", "transfer_out|transfer_in"),
    ("misrouted", "Delivered to the wrong facility", "transfer_out|transfer_in"),
    ("short_pick", "Could not be picked for a transfer", None),
)
OPENING_MINUTE = 150  # 02:30 local: after midnight in UTC too, so in the calendar's first month
CUSTOMERS = (
    "Hotel Seeblick", "Café Hafenblick", "Büro Nord GmbH", "Kita Sonnenschein", "Restaurant Anker",
    "Pension Düne", "Praxis am Markt", "Werft Kantine",
)  # fmt: skip


def write_master_data(sim: Sim) -> None:
    world, day = sim.world, sim.world.scale.start
    feeds = {
        "parties": parties(),
        "facilities": facility_rows(world),
        "bins": bin_rows(world),
        "items": item_rows(world),
        "variants": variant_rows(world),
        "reason_codes": [
            row(reason_code=code, description=text, kinds=kinds, is_active=True)
            for code, text, kinds in REASON_CODES
        ],
        "grants": grant_rows(world),
        "periods": [
            row(period=world.scale.closed_month, status="closed"),
            row(period=f"{day.year:04d}-{day.month:02d}", status="open"),
        ],
        "count_tolerances": [
            row(
                facility=f.code,
                category=None,
                max_qty=2 if f.is_store else 5,
                max_pct=10 if f.is_store else 2,
            )
            for f in world.facilities
        ],
        "replenishment_rules": replenishment_rules(sim),
        "vendor_terms": vendor_terms(world),
        "transfer_lanes": transfer_lanes(sim),
        "channel_priorities": [
            row(channel=channel, priority=rank)
            for rank, channel in enumerate(("pos", "ecommerce", "wholesale", "marketplace"), 1)
        ],
    }
    for feed, rows in feeds.items():
        sim.inbox.master(feed, rows, day)


def parties() -> list[Row]:
    rows = [row(party=ORG, kind="org", name="Nord Retail GmbH", currency=CURRENCY)]
    for code, (name, _lead, _sd) in VENDORS.items():
        rows.append(row(party=code, kind="vendor", name=name, currency=CURRENCY))
    return rows


def facility_rows(world: World) -> list[Row]:
    rows = [
        row(facility=f.code, name=f.name, facility_type=f.kind, org=ORG, currency=CURRENCY,
            default_bin=f.default_bin)
        for f in world.facilities
    ]  # fmt: skip
    rows.append(
        row(
            facility=TRANSIT,
            name="Goods in transit",
            facility_type="in_transit",
            org=ORG,
            currency=CURRENCY,
            default_bin=None,
        )
    )
    return rows


def bin_rows(world: World) -> list[Row]:
    return [
        row(facility=f.code, bin=code, kind=kind, zone=zone)
        for f in world.facilities
        for code, kind, zone in f.bins
    ]


def item_rows(world: World) -> list[Row]:
    cat = world.catalogue
    seen: dict[str, Row] = {}
    for s, item in enumerate(cat.items):
        if item in seen:
            continue
        category = cat.category[s]
        base_name = cat.names[s].rsplit(" ", 1)[0] if len(category.sizes) > 1 else cat.names[s]
        seen[item] = row(
            item=item, name=base_name, category=category.code,
            costing_method=category.costing_method, lot_tracked=category.lot_tracked,
            serial_tracked=False, shelf_life_days=category.shelf_life_days,
            consignment_vendor=category.vendor if category.route == "consignment" else None,
        )  # fmt: skip
    return list(seen.values())


def variant_rows(world: World) -> list[Row]:
    cat = world.catalogue
    return [
        row(sku=sku, item=cat.items[s], barcode=cat.barcodes[s],
            uom="each", name=cat.names[s])
        for s, sku in enumerate(cat.skus)
    ]  # fmt: skip


def grant_rows(world: World) -> list[Row]:
    rows = [
        row(actor=PIPELINE_ACTOR, role="sysadmin", facility=None, permissions=None),
        row(actor=PIPELINE_ACTOR, role="inventory_controller", facility=None,
            permissions="cost_view"),
        row(actor=PIPELINE_ACTOR, role="store_keeper", facility=None, permissions=None),
        row(actor=PIPELINE_ACTOR, role="finance", facility=None, permissions="finance_audit"),
        row(actor=FINANCE_ACTOR, role="finance", facility=None, permissions="finance_audit"),
    ]  # fmt: skip
    for f in world.facilities:
        rows.extend(
            row(actor=clerk, role="store_keeper", facility=f.code, permissions=None)
            for clerk in f.staff
        )
        rows.append(
            row(
                actor=f.manager,
                role="inventory_controller",
                facility=f.code,
                permissions="cost_view",
            )
        )
    return rows


def replenishment_rules(sim: Sim) -> list[Row]:
    world, units = sim.world, sim.daily_units
    rows = []
    for f, facility in enumerate(world.facilities):
        for s, category in enumerate(world.catalogue.category):
            if category.route == "consignment" or (
                not facility.is_store and category.route != "dc"
            ):
                continue
            mu = float(units[f, s])
            if mu <= 0:
                continue
            low, high, review = targets(mu, facility.is_store, category.route)
            rows.append(
                row(
                    facility_code=facility.code,
                    sku=world.catalogue.skus[s],
                    min_qty=low,
                    max_qty=high,
                    service_level="0.95" if facility.is_store else "0.98",
                    capacity_qty=high * 2,
                    review_period_days=review,
                )
            )
    return rows


def targets(mu: float, is_store: bool, route: str) -> tuple[int, int, int]:
    """(reorder point, order-up-to level, review days) the simulated planners work with."""
    if route == "dsd":
        return math.ceil(mu * 1.5), math.ceil(mu * 3.5) + 2, 2
    if is_store:
        return math.ceil(mu * 4), math.ceil(mu * 8) + 2, 4
    return math.ceil(mu * 16), math.ceil(mu * 30) + 6, 7


def vendor_terms(world: World) -> list[Row]:
    cat = world.catalogue
    return [
        row(vendor_code=cat.category[s].vendor, sku=sku, unit_cost=cat.cost[s], currency=CURRENCY,
            lead_time_days=VENDORS[cat.category[s].vendor][1],
            moq=cat.category[s].case_pack * 2, case_pack=cat.category[s].case_pack)
        for s, sku in enumerate(cat.skus)
    ]  # fmt: skip


def transfer_lanes(sim: Sim) -> list[Row]:
    world, rng = sim.world, sim.rng
    rows = [
        row(source_facility_code=a, destination_facility_code=b, cost_per_unit="0.10",
            currency=CURRENCY, lead_time_days=2)
        for a, b in (("DC-N", "DC-S"), ("DC-S", "DC-N"))
    ]  # fmt: skip
    for store in world.stores:
        for dc in world.dcs:
            near = dc.code == store.dc
            cost = f"{rng.uniform(0.12, 0.25) if near else rng.uniform(0.3, 0.5):.2f}"
            rows.append(
                row(
                    source_facility_code=dc.code,
                    destination_facility_code=store.code,
                    cost_per_unit=cost,
                    currency=CURRENCY,
                    lead_time_days=1 if near else 2,
                )
            )
    return rows


def write_opening_balances(sim: Sim) -> None:
    """Day one, just after midnight: what every facility held when the ledger took over."""
    world, stock, day = sim.world, sim.stock, sim.world.scale.start
    when = sim.at(OPENING_MINUTE)
    for f, facility in enumerate(world.facilities):
        rows: list[Row] = []
        for s, category in enumerate(world.catalogue.category):
            qty = opening_qty(sim, f, s)
            if qty <= 0:
                continue
            lot = expires = None
            if category.lot_tracked:
                lot = f"OPEN-{world.catalogue.skus[s]}"
                expires = day + timedelta(days=max(3, (category.shelf_life_days or 10) // 2))
                stock.expiry[(s, lot)] = expires
            consigned = category.route == "consignment"
            rows.append(
                row(
                    adjustment_no=f"OPEN-{facility.code}",
                    line=len(rows) + 1,
                    facility=facility.code,
                    bin=facility.default_bin,
                    sku=world.catalogue.skus[s],
                    lot=lot,
                    owner=category.vendor if consigned else None,
                    bucket=None,
                    qty=qty,
                    reason_code="opening_balance",
                    comment="Opening balance taken over from the previous stock system",
                    adjusted_at=when,
                    user=facility.manager,
                    unit_cost=None if consigned else world.catalogue.cost[s],
                    currency=None if consigned else CURRENCY,
                    lot_expires_on=expires,
                )
            )
            stock.add(f, s, qty, lot)
        sim.write("adjustments", rows, when)


def opening_qty(sim: Sim, f: int, s: int) -> int:
    facility, category = sim.world.facilities[f], sim.world.catalogue.category[s]
    mu = float(sim.daily_units[f, s])
    if category.route == "consignment":
        return int(sim.rng.integers(4, 9)) if facility.is_store else 0
    if mu <= 0 or (not facility.is_store and category.route != "dc"):
        return 0
    _low, high, _review = targets(mu, facility.is_store, category.route)
    return high if facility.is_store else int(high * 0.8)
