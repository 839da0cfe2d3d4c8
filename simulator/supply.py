"""Buying: purchase orders, direct store deliveries, consignment deliveries; goods receipts
(partial, damaged, over-delivered), quality inspection, putaway and consignment settlement."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from simulator.context import Sim, row
from simulator.inbox import Row
from simulator.master import targets
from simulator.world import CURRENCY, VENDORS

OVER_DELIVERY = 0.03  # POs delivered beyond tolerance: the ledger refuses the goods receipt
PARTIAL = 0.08
DAMAGED = 0.04
QC_REJECT = 0.08
TOLERANCE_PCT = 5
SETTLEMENT_DAYS = (1, 16)


@dataclass(slots=True)
class OrderLine:
    line: int
    s: int
    qty: int
    received: int = 0


@dataclass(slots=True)
class PurchaseOrder:
    number: str
    vendor: str
    f: int
    lines: list[OrderLine]
    qc: bool
    rest_of: dict[int, int] = field(default_factory=dict)  # line → qty still to come


# -- ordering ------------------------------------------------------------------------------------


def order_for_dcs(sim: Sim) -> None:
    """Monday morning: each distribution centre orders what fell below its reorder point."""
    if sim.day.weekday() != 0:
        return
    cat = sim.world.catalogue
    for dc in sim.world.dcs:
        f = sim.world.index(dc.code)
        for vendor in sorted({c.vendor for c in cat.category if c.route == "dc"}):
            lines = []
            for s, category in enumerate(cat.category):
                if category.vendor != vendor or category.route != "dc":
                    continue
                qty = reorder_qty(sim, f, s, is_store=False)
                if qty > 0:
                    lines.append(OrderLine(len(lines) + 1, s, qty))
            if lines:
                qc = cat.category[lines[0].s].qc_required
                place_order(
                    sim,
                    PurchaseOrder(f"PO-{sim.number('po'):06d}", vendor, f, lines, qc),
                    minute=sim.minute(240, 280),
                )


def reorder_qty(sim: Sim, f: int, s: int, *, is_store: bool, route: str = "dc") -> int:
    stock = sim.stock
    mu = float(sim.daily_units[f, s])
    if mu <= 0:
        return 0
    low, high, _review = targets(mu, is_store, route)
    position = int(stock.book[f, s] + stock.inbound[f, s] - stock.held[f, s] - stock.promised[f, s])
    if position >= low:
        return 0
    pack = sim.world.catalogue.category[s].case_pack
    return math.ceil((high - position) / pack) * pack


def place_order(sim: Sim, po: PurchaseOrder, minute: float) -> None:
    vendor_lead, spread = VENDORS[po.vendor][1], VENDORS[po.vendor][2]
    ordered = sim.at(minute)
    expected_day = sim.day + timedelta(days=vendor_lead)
    rows = [
        row(po_number=po.number, line=line.line, vendor=po.vendor, facility=sim.code(po.f),
            sku=sim.sku(line.s), qty=line.qty, unit_cost=sim.unit_cost(line.s), currency=CURRENCY,
            ordered_at=ordered, expected_at=sim.at(480, expected_day), qc_required=po.qc,
            over_tolerance_pct=TOLERANCE_PCT)
        for line in po.lines
    ]  # fmt: skip
    sim.write("purchase_orders", rows, ordered)
    for line in po.lines:
        sim.stock.inbound[po.f, line.s] += line.qty
    lead = max(1, round(float(sim.rng.normal(vendor_lead, spread))))
    sim.schedule("dc_deliveries", sim.later(sim.day, lead), (po, "first"))


def order_dairy(sim: Sim) -> None:
    """Monday, Wednesday and Friday at three: each store orders dairy for the next morning."""
    if sim.day.weekday() not in (0, 2, 4):
        return
    cat = sim.world.catalogue
    for store in sim.world.stores:
        f = sim.world.index(store.code)
        lines = []
        for s, category in enumerate(cat.category):
            if category.route == "dsd":
                qty = reorder_qty(sim, f, s, is_store=True, route="dsd")
                if qty > 0:
                    lines.append(OrderLine(len(lines) + 1, s, qty))
        if lines:
            po = PurchaseOrder(f"PO-{sim.number('po'):06d}", "V-DAIRY", f, lines, qc=False)
            ordered = sim.at(sim.minute(180, 200))
            rows = [
                row(po_number=po.number, line=line.line, vendor=po.vendor, facility=store.code,
                    sku=sim.sku(line.s), qty=line.qty, unit_cost=sim.unit_cost(line.s),
                    currency=CURRENCY, ordered_at=ordered,
                    expected_at=sim.at(360, sim.day + timedelta(days=1)), qc_required=False,
                    over_tolerance_pct=TOLERANCE_PCT)
                for line in po.lines
            ]  # fmt: skip
            sim.write("purchase_orders", rows, ordered)
            for line in po.lines:
                sim.stock.inbound[f, line.s] += line.qty
            sim.schedule("store_deliveries", sim.day + timedelta(days=1), po)


# -- receiving -----------------------------------------------------------------------------------


def receive_at_stores(sim: Sim) -> None:
    """06:00-06:50: dairy straight from the vendor, unpacked onto the floor before opening."""
    for po in sim.due("store_deliveries", sim.day):
        deliver_to_store(sim, po)


def receive_at_dcs(sim: Sim) -> None:
    """Vendor deliveries at the distribution centres (06:00-09:00), inspected and put away by
    11:00; the simulation counts them as sellable from 11:00."""
    for po, kind in sim.due("dc_deliveries", sim.day):
        if kind == "first" and sim.rng.random() < OVER_DELIVERY:
            refused_over_delivery(sim, po)
        else:
            deliver_to_dc(sim, po, kind)


def refused_over_delivery(sim: Sim, po: PurchaseOrder) -> None:
    """The vendor delivered a quarter more of a line than ordered; the ERP books it anyway and
    the ledger refuses the receipt (over_receipt). A corrected receipt follows the next day."""
    grn = f"GRN-{sim.number('grn'):06d}"
    when = sim.at(sim.minute(360, 540))
    bin_ = "QC" if po.qc else "RECV"
    rows = [
        grn_row(sim, po, grn, n, line, line.qty + (math.ceil(line.qty / 4) if n == 1 else 0),
                bin_, new_lot(sim, line.s, "L"), when, completed=False)
        for n, line in enumerate(po.lines, 1)
    ]  # fmt: skip
    sim.write("goods_receipts", rows, when)
    for _ in rows:
        sim.refusal_expected("goods_receipts", "over_receipt")
    sim.schedule("dc_deliveries", sim.later(sim.day, 1), (po, "corrected"))


def deliver_to_dc(sim: Sim, po: PurchaseOrder, kind: str) -> None:
    arrivals = arriving(sim, po, kind)
    for line, good, damaged in arrivals:
        line.received += good + damaged
        sim.stock.inbound[po.f, line.s] -= good + damaged
    completed = not po.rest_of
    short = completed and any(line.received < line.qty for line in po.lines)
    if short:
        for line in po.lines:
            sim.stock.inbound[po.f, line.s] -= line.qty - line.received
    grn, when = f"GRN-{sim.number('grn'):06d}", sim.at(sim.minute(360, 540))
    reason = "supplier_short" if short else None
    rows: list[Row] = []
    for line, good, damaged in arrivals:
        lot = new_lot(sim, line.s, "L")
        for qty, bin_ in ((good, "QC" if po.qc else "RECV"), (damaged, "QC")):
            if qty:
                rows.append(
                    grn_row(
                        sim, po, grn, len(rows) + 1, line, qty, bin_, lot, when, completed, reason
                    )
                )
        inspect_and_put_away(sim, po, line.s, lot, good, damaged)
    sim.write("goods_receipts", rows, when)
    if po.rest_of:
        sim.schedule("dc_deliveries", sim.later(sim.day, int(sim.rng.integers(2, 6))), (po, "rest"))


def arriving(sim: Sim, po: PurchaseOrder, kind: str) -> list[tuple[OrderLine, int, int]]:
    """What arrives of each line: (line, good units, damaged units). A first delivery may be
    partial (the rest follows later, or never) or bring a damaged carton."""
    arrivals = []
    for line in po.lines:
        due = po.rest_of.pop(line.line, 0) if kind == "rest" else line.qty - line.received
        if due <= 0:
            continue
        good, damaged = due, 0
        roll = sim.rng.random()
        if kind == "first" and roll < PARTIAL and due > 1:
            good = max(1, round(due * float(sim.rng.uniform(0.5, 0.9))))
            if sim.rng.random() < 0.6:
                po.rest_of[line.line] = due - good
        elif kind == "first" and roll < PARTIAL + DAMAGED and due > 1:
            damaged = int(sim.rng.integers(1, min(3, due - 1) + 1))
            good = due - damaged
        arrivals.append((line, good, damaged))
    return arrivals


def grn_row(
    sim: Sim,
    po: PurchaseOrder,
    grn: str,
    n: int,
    line: OrderLine,
    qty: int,
    bin_: str,
    lot: str | None,
    when,
    completed: bool,
    short_reason: str | None = None,
) -> Row:
    s = line.s
    expires = sim.stock.expiry.get((s, lot)) if lot else None
    return row(
        grn_number=grn, line=n, po_number=po.number, po_line=line.line, vendor=po.vendor,
        facility=sim.code(po.f), sku=sim.sku(s), qty=qty, bin=bin_, lot=lot,
        lot_expires_on=expires, unit_cost=None, currency=None, stock_type="own",
        received_at=when, delivery_completed=completed, short_reason=short_reason,
    )  # fmt: skip


def new_lot(sim: Sim, s: int, prefix: str) -> str | None:
    category = sim.world.catalogue.category[s]
    if not category.lot_tracked:
        return None
    code = f"{prefix}{sim.day:%y%m%d}"
    age = 0 if prefix == "D" else 20  # dry goods spend a while at the vendor first
    sim.stock.expiry.setdefault((s, code), sim.day + timedelta(days=category.shelf_life_days - age))
    return code


def inspect_and_put_away(
    sim: Sim, po: PurchaseOrder, s: int, lot: str | None, good: int, damaged: int
) -> None:
    """QC for inspected vendors and damaged cartons, then putaway of what is sellable."""
    f, facility = po.f, sim.world.facilities[po.f]
    rejected = damaged
    released = good
    if po.qc:
        extra = int(sim.rng.integers(1, 3)) if sim.rng.random() < QC_REJECT and good > 2 else 0
        released, rejected = good - extra, damaged + extra
    inspected = po.qc or damaged > 0
    if inspected:
        decided = sim.at(sim.minute(540, 600))
        rows = []
        if po.qc and released:
            rows.append(qc_row(sim, f, s, lot, released, "release", "qc_release", po, decided))
        if rejected:
            rows.append(qc_row(sim, f, s, lot, rejected, "reject", "damage", po, decided))
        sim.write("qc_decisions", rows, decided)
        if rejected:
            sim.stock.damaged[(f, s, "QC", lot)] += rejected
    put_away(
        sim,
        f,
        s,
        lot,
        released,
        "QC" if po.qc else "RECV",
        facility.default_bin,
        sim.minute(600, 660),
    )


def qc_row(
    sim: Sim,
    f: int,
    s: int,
    lot: str | None,
    qty: int,
    decision: str,
    reason: str,
    po: PurchaseOrder,
    when,
) -> Row:
    return row(
        decision_no=f"QC-{sim.number('qc'):06d}", facility=sim.code(f), bin="QC", sku=sim.sku(s),
        lot=lot, qty=qty, decision=decision, reason_code=reason, po_number=po.number,
        decided_at=when, inspector=sim.world.facilities[f].manager,
    )  # fmt: skip


def put_away(
    sim: Sim,
    f: int,
    s: int,
    lot: str | None,
    qty: int,
    from_bin: str,
    to_bin: str,
    minute: float,
    owner: str | None = None,
) -> None:
    if qty <= 0:
        return
    when = sim.at(minute)
    sim.write(
        "putaways",
        [
            row(
                task_no=f"PA-{sim.number('putaway'):07d}",
                facility=sim.code(f),
                sku=sim.sku(s),
                lot=lot,
                owner=owner,
                qty=qty,
                from_bin=from_bin,
                to_bin=to_bin,
                moved_at=when,
            )
        ],
        when,
    )
    sim.stock.add(f, s, qty, lot)


def deliver_to_store(sim: Sim, po: PurchaseOrder) -> None:
    """Dairy straight to the store before it opens, into the back room, then onto the floor;
    now and then the dairy is short and the order is closed as it is."""
    short = sim.rng.random() < 0.05
    delivered = [
        line.qty - (int(sim.rng.integers(1, line.qty)) if short and line.qty > 1 else 0)
        for line in po.lines
    ]
    reason = (
        "supplier_short"
        if any(q < line.qty for q, line in zip(delivered, po.lines, strict=True))
        else None
    )
    grn, when = f"GRN-{sim.number('grn'):06d}", sim.at(sim.minute(360, 400))
    rows = []
    for line, qty in zip(po.lines, delivered, strict=True):
        lot = new_lot(sim, line.s, "D")
        rows.append(grn_row(sim, po, grn, line.line, line, qty, "RECV", lot, when, True, reason))
        sim.stock.inbound[po.f, line.s] -= line.qty
        put_away(sim, po.f, line.s, lot, qty, "RECV", "FLOOR", sim.minute(405, 415))
    sim.write("goods_receipts", rows, when)


def deliver_books(sim: Sim) -> None:
    """Every other Tuesday the consignment vendor tops up the book shelves: its own stock."""
    if sim.day.weekday() != 1 or sim.day.isocalendar().week % 2:
        return
    cat = sim.world.catalogue
    for store in sim.world.stores:
        f = sim.world.index(store.code)
        when = sim.at(sim.minute(360, 400))
        grn, rows = f"GRN-{sim.number('grn'):06d}", []
        for s, category in enumerate(cat.category):
            if category.route != "consignment" or sim.stock.book[f, s] > 6:
                continue
            qty = 8 - int(sim.stock.book[f, s])
            rows.append(
                row(
                    grn_number=grn,
                    line=len(rows) + 1,
                    po_number=None,
                    po_line=None,
                    vendor=category.vendor,
                    facility=store.code,
                    sku=cat.skus[s],
                    qty=qty,
                    bin="RECV",
                    lot=None,
                    lot_expires_on=None,
                    unit_cost=None,
                    currency=None,
                    stock_type="consignment",
                    received_at=when,
                    delivery_completed=None,
                    short_reason=None,
                )
            )
            put_away(sim, f, s, None, qty, "RECV", "FLOOR", sim.minute(405, 415), category.vendor)
        sim.write("goods_receipts", rows, when)


def settle_consignment(sim: Sim) -> None:
    """On the 1st and the 16th finance settles the book sales up to the evening before with the
    consignment vendor (nothing to settle, no settlement)."""
    if sim.day.day not in SETTLEMENT_DAYS or sim.consignment_unsettled == 0:
        return
    before = sim.day - timedelta(days=1)
    when = sim.at(sim.minute(600, 660))
    settlement = row(
        settlement_no=f"SET-V-BOOK-{sim.day:%Y%m%d}", vendor="V-BOOK",
        up_to=sim.at(24 * 60 - 1 / 60, before), settled_at=when,
    )  # fmt: skip
    sim.write("consignment_settlements", [settlement], when)
    sim.consignment_unsettled = 0
