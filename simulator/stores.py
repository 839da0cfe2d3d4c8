"""The shop floor: till receipts (sales and returns), the evening's damage, shrink and found
stock, write-offs of damaged and expired stock, and the theft nobody records."""

from __future__ import annotations

import numpy as np
import polars as pl

from simulator.context import Sim, row
from simulator.inbox import Row
from simulator.scale import local_offset
from simulator.world import CURRENCY

LINE_QTY, LINE_P = np.array([1, 2, 3]), np.array([0.8, 0.15, 0.05])
PHANTOM = 0.08  # store-days with a scan of an article the store does not list: refused
DAMAGE, SHRINK, FOUND = 0.25, 0.15, 0.05  # reported per store and day
HIDDEN_SHRINK = 0.4  # units that walk out unrecorded, per store and day
OPEN, CLOSE = 480, 1200  # tills from 08:00 to 20:00


def sell_at_stores(sim: Sim) -> None:
    """08:00-20:00 at the tills, closed on Sundays."""
    if sim.day.weekday() == 6:
        return
    expected = sim.demand.pos_lines(sim.day_index, sim.day.weekday())
    for number, store in enumerate(sim.world.stores):
        sell_at(sim, sim.world.index(store.code), expected[number])


def sell_at(sim: Sim, f: int, expected: np.ndarray) -> None:
    stock, rng, cat = sim.stock, sim.rng, sim.world.catalogue
    sellable = stock.sellable_row(f, sim.day)
    counts = rng.poisson(expected)
    skus = rng.permutation(np.repeat(np.arange(len(cat)), counts))
    qty = rng.choice(LINE_QTY, size=len(skus), p=LINE_P)
    keep = running_total(skus, qty) <= sellable[skus]
    skus, qty = skus[keep], qty[keep]
    sold = np.bincount(skus, weights=qty, minlength=len(cat)).astype(np.int64)
    for s in np.flatnonzero(sold):
        stock.take(f, int(s), int(sold[s]), sim.day)
    consigned = np.array([c.route == "consignment" for c in cat.category])
    sim.consignment_unsettled += int(sold[consigned].sum())
    lines = [(int(s), int(q), "sale") for s, q in zip(skus, qty, strict=True)]
    lines += phantom_scan(sim, f, expected)
    returns = customer_returns(sim, f, expected)
    write_receipts(sim, f, lines, returns)
    for s in returns:
        stock.add(f, s, 1)


def running_total(skus: np.ndarray, qty: np.ndarray) -> np.ndarray:
    """For each line, the units of its SKU sold up to and including it, in till order."""
    if len(skus) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(skus, kind="stable")
    sorted_skus, sorted_qty = skus[order], qty[order]
    cumulative = np.cumsum(sorted_qty)
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_skus)) + 1]
    offsets = np.repeat(cumulative[starts] - sorted_qty[starts], np.diff(np.r_[starts, len(skus)]))
    result = np.empty_like(cumulative)
    result[order] = cumulative - offsets
    return result


def phantom_scan(sim: Sim, f: int, expected: np.ndarray) -> list:
    """A cashier scans a price sticker from another branch, for an article this store does not
    list and never holds: the ledger refuses the sale (insufficient_stock), now and on any
    retry."""
    unlisted = np.flatnonzero(expected == 0)
    if len(unlisted) == 0 or sim.rng.random() >= PHANTOM:
        return []
    sim.refusal_expected("pos_sales", "insufficient_stock")
    return [(int(sim.rng.choice(unlisted)), 1, "sale")]


def customer_returns(sim: Sim, f: int, expected: np.ndarray) -> list[int]:
    """Customers bring back a share of what they bought (never food: it has no lot to return to)."""
    rate = expected * np.array([c.returns for c in sim.world.catalogue.category])
    count = int(sim.rng.poisson(rate.sum()))
    if count == 0:
        return []
    return [int(s) for s in sim.rng.choice(len(rate), size=count, p=rate / rate.sum())]


def write_receipts(sim: Sim, f: int, lines: list, returns: list[int]) -> None:
    """Group lines into till receipts at random times of the day and write the store's file."""
    rng, store = sim.rng, sim.world.facilities[f]
    receipts: list[list[tuple[int, int, str]]] = []
    at = 0
    while at < len(lines):
        size = int(rng.geometric(0.55))
        receipts.append(lines[at : at + size])
        at += size
    receipts += [[(s, 1, "return")] for s in returns]
    seconds = np.sort(rng.integers(OPEN * 60, CLOSE * 60, size=len(receipts)))
    order = rng.permutation(len(receipts))
    columns: dict[str, list] = {name: [] for name in POS_COLUMNS}
    offset = local_offset(sim.day)
    suffix = f"+{int(offset.total_seconds()) // 3600:02d}:00"
    cashiers = store.staff
    cat = sim.world.catalogue
    for number, (second, index) in enumerate(zip(seconds, order, strict=True), 1):
        receipt = f"{store.code}-{sim.day:%Y%m%d}-{number:04d}"
        stamp = (
            f"{sim.day.isoformat()}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        )
        cashier = cashiers[number % len(cashiers)]
        for line_no, (s, qty, kind) in enumerate(receipts[index], 1):
            values = (
                store.code,
                receipt,
                str(line_no),
                cat.barcodes[s],
                str(qty),
                str(cat.price[s]),
                CURRENCY,
                kind,
                stamp + suffix,
                cashier,
            )
            for name, value in zip(POS_COLUMNS, values, strict=True):
                columns[name].append(value)
    frame = pl.DataFrame(columns, schema=dict.fromkeys(POS_COLUMNS, pl.String))
    sim.inbox.add_frame("pos_sales", frame, sim.day, part=store.code)


POS_COLUMNS = (
    "store",
    "receipt_no",
    "line",
    "barcode",
    "qty",
    "unit_price",
    "currency",
    "type",
    "sold_at",
    "cashier",
)


# -- the evening ---------------------------------------------------------------------------------


def report_incidents(sim: Sim) -> None:
    """21:15: damaged goods, known theft and found stock, as the shift leader reports them."""
    if sim.day.weekday() == 6:
        return
    stock, cat = sim.stock, sim.world.catalogue
    owned = np.array([c.route != "consignment" and not c.lot_tracked for c in cat.category])
    for store in sim.world.stores:
        f = sim.world.index(store.code)
        when = sim.at(sim.minute(1275, 1305))
        rows = []
        for reason, chance, sign in (
            ("damage", DAMAGE, -1),
            ("shrink", SHRINK, -1),
            ("found", FOUND, 1),
        ):
            candidates = np.flatnonzero(owned & (stock.book[f] > 0) & (stock.physical[f] > 0))
            if len(candidates) == 0 or sim.rng.random() >= chance:
                continue
            s = int(sim.rng.choice(candidates))
            rows.append(
                adjustment(
                    sim,
                    f,
                    s,
                    sign,
                    reason,
                    INCIDENT_TEXT[reason],
                    when,
                    store.default_bin,
                    None,
                    None,
                )
            )
            if sign < 0:
                stock.take(f, s, 1, None)
            else:
                stock.add(f, s, 1)
        if rows:
            sim.write("adjustments", numbered(rows, "INC"), when)


INCIDENT_TEXT = {
    "damage": "Dropped and broken on the shop floor",
    "shrink": "Shoplifting seen on camera",
    "found": "Found behind the shelf during tidying",
}


def adjustment(
    sim: Sim,
    f: int,
    s: int,
    qty: int,
    reason: str,
    comment: str,
    when,
    bin_: str,
    lot: str | None,
    bucket: str | None,
) -> Row:
    facility = sim.world.facilities[f]
    return row(
        adjustment_no=None, line=None, facility=facility.code, bin=bin_, sku=sim.sku(s), lot=lot,
        owner=None, bucket=bucket, qty=qty, reason_code=reason, comment=comment,
        adjusted_at=when, user=facility.manager, unit_cost=None, currency=None,
        lot_expires_on=None,
    )  # fmt: skip


def numbered(rows: list[Row], kind: str) -> list[Row]:
    """One adjustment document per facility, day and kind, its lines numbered."""
    first = rows[0]
    day = str(first["adjusted_at"])[:10].replace("-", "")
    document = f"ADJ-{first['facility']}-{day}-{kind}"
    return [
        {**values, "adjustment_no": document, "line": str(n)} for n, values in enumerate(rows, 1)
    ]


def write_off_damaged(sim: Sim) -> None:
    """22:00: damaged stock (QC rejects, transit damage) is written off and disposed of."""
    by_facility: dict[int, list] = {}
    for (f, s, bin_, lot), qty in sorted(sim.stock.damaged.items(), key=lambda kv: str(kv[0])):
        if qty > 0:
            by_facility.setdefault(f, []).append((s, bin_, lot, qty))
    sim.stock.damaged.clear()
    for f, entries in sorted(by_facility.items()):
        when = sim.at(sim.minute(1320, 1335))
        rows = [
            adjustment(
                sim, f, s, -qty, "damage", "Damaged stock disposed of", when, bin_, lot, "damaged"
            )
            for s, bin_, lot, qty in entries
        ]
        sim.write("adjustments", numbered(rows, "DSP"), when)


def write_off_expired(sim: Sim) -> None:
    """05:55: lots past their expiry date come off the shelves."""
    stock = sim.stock
    lot_skus = np.flatnonzero(stock.lot_tracked)
    for f, facility in enumerate(sim.world.facilities):
        rows = []
        when = sim.at(sim.minute(355, 359))
        for s in lot_skus:
            for lot in stock.expired(f, int(s), sim.day):
                rows.append(
                    adjustment(
                        sim,
                        f,
                        int(s),
                        -lot.qty,
                        "expired",
                        f"Lot {lot.code} expired on {lot.expires}",
                        when,
                        facility.default_bin,
                        lot.code,
                        None,
                    )
                )
                stock.take_lot(f, int(s), lot.code, lot.qty)
        if rows:
            sim.write("adjustments", numbered(rows, "EXP"), when)


def hidden_shrink(sim: Sim) -> None:
    """Units that disappear without anyone noticing: only a count will find out."""
    stock, cat = sim.stock, sim.world.catalogue
    owned = np.array([c.route != "consignment" and not c.lot_tracked for c in cat.category])
    for store in sim.world.stores:
        f = sim.world.index(store.code)
        candidates = np.flatnonzero(owned & (stock.physical[f] > 0))
        if len(candidates) and sim.rng.random() < HIDDEN_SHRINK:
            stock.physical[f, int(sim.rng.choice(candidates))] -= 1
