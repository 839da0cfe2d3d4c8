"""A recall: part way through the calendar the food vendor recalls one lot; quality holds it in
quarantine wherever it is available and releases it four days later, once cleared."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.context import Sim, row

HOLD_SHARE = 0.6  # how far into the calendar the recall comes
HOLD_DAYS = 4
POLICY = "Kontor Feinkost recall notice KF-{year}-017"


@dataclass(slots=True)
class Recall:
    number: str
    s: int
    lot: str
    held: dict[int, int] = field(default_factory=dict)  # facility → qty


def recall_day_index(sim: Sim) -> int:
    return int(sim.world.scale.days * HOLD_SHARE)


def run_recalls(sim: Sim) -> None:
    """04:30: a hold on the recall day, the release four days later."""
    if sim.day_index == recall_day_index(sim):
        recall = hold(sim)
        if recall is not None:
            sim.schedule("recall_release", sim.later(sim.day, HOLD_DAYS), recall)
    for recall in sim.due("recall_release", sim.day):
        release(sim, recall)


def hold(sim: Sim) -> Recall | None:
    candidate = recalled_lot(sim)
    if candidate is None:
        return None
    s, lot = candidate
    recall = Recall(f"RCL-{sim.day:%Y}-{sim.number('recall'):03d}", s, lot)
    when = sim.at(270)
    rows = []
    for f in range(len(sim.world.facilities)):
        qty = held_qty(sim, f, s, lot)
        if qty == 0:
            continue
        recall.held[f] = qty
        sim.stock.take_lot(f, s, lot, qty)
        sim.stock.recalled[(f, s, lot)] = qty
        rows.append(recall_row(sim, recall, f, "hold", when))
    sim.write("recalls", rows, when)
    return recall if recall.held else None


def recalled_lot(sim: Sim) -> tuple[int, str] | None:
    """The lot of a recalled food SKU available at the most facilities."""
    stock, best, spread = sim.stock, None, 0
    lots: dict[tuple[int, str], int] = {}
    for (f, s), held in stock.lots.items():
        if sim.world.catalogue.category[s].route != "dc":
            continue
        for lot in held:
            if held_qty(sim, f, s, lot.code):
                lots[(s, lot.code)] = lots.get((s, lot.code), 0) + 1
    for key, facilities in sorted(lots.items()):
        if facilities > spread:
            best, spread = key, facilities
    return best


def held_qty(sim: Sim, f: int, s: int, code: str) -> int:
    """What a hold would take at a facility: the lot's available stock, unless a distribution
    centre needs it for what it has already promised (then the notice leaves it out)."""
    stock = sim.stock
    qty = sum(lot.qty for lot in stock.lots[(f, s)] if lot.code == code)
    promised = stock.held[f, s] + stock.promised[f, s]
    if qty and not sim.world.facilities[f].is_store and stock.book[f, s] - qty < promised:
        return 0
    return qty


def release(sim: Sim, recall: Recall) -> None:
    when = sim.at(270)
    rows = []
    for f, qty in sorted(recall.held.items()):
        sim.stock.recalled.pop((f, recall.s, recall.lot), None)
        sim.stock.add(f, recall.s, qty, recall.lot)
        rows.append(recall_row(sim, recall, f, "release", when))
    sim.write("recalls", rows, when)


def recall_row(sim: Sim, recall: Recall, f: int, action: str, when):
    return row(
        recall_no=recall.number, action=action, facility=sim.code(f), sku=sim.sku(recall.s),
        lot=recall.lot, policy_reference=POLICY.format(year=sim.day.year), reason_code=None,
        comment="Possible foreign bodies; lot held until cleared" if action == "hold"
        else "Laboratory cleared the lot", at=when,
    )  # fmt: skip
