"""The simulator's own view of stock, kept in step with what the ledger will hold, so the feeds
it writes are plausible: sales from stock that is there, transfers from stock not promised."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np


@dataclass(slots=True)
class Lot:
    code: str
    expires: date
    qty: int


class Stock:
    """Per (facility, SKU): `book` is the available stock in the default bin as the ledger has
    it; `physical` what is really on the shelf (unrecorded shrink makes it less); `held` what
    reservations promise; `promised` what transfer orders will take; `inbound` what is on its way
    (ordered from a vendor or a distribution centre and not arrived). Lot-tracked SKUs keep
    their lots, by expiry, in `lots`."""

    def __init__(self, facilities: int, skus: int, lot_tracked: np.ndarray):
        shape = (facilities, skus)
        self.book = np.zeros(shape, dtype=np.int64)
        self.physical = np.zeros(shape, dtype=np.int64)
        self.held = np.zeros(shape, dtype=np.int64)
        self.promised = np.zeros(shape, dtype=np.int64)
        self.inbound = np.zeros(shape, dtype=np.int64)
        self.lot_tracked = lot_tracked
        self.lots: dict[tuple[int, int], list[Lot]] = defaultdict(list)
        self.recalled: dict[tuple[int, int, str], int] = {}
        self.damaged: dict[tuple[int, int, str, str | None], int] = defaultdict(int)
        self.expiry: dict[tuple[int, str], date] = {}  # (SKU, lot) → expiry: lots are global

    # -- reading --------------------------------------------------------------------------------

    def unexpired(self, f: int, s: int, today: date) -> int:
        if not self.lot_tracked[s]:
            return int(self.book[f, s])
        return sum(lot.qty for lot in self.lots[(f, s)] if lot.expires >= today)

    def sellable(self, f: int, s: int, today: date) -> int:
        """What can be sold or shipped without touching promises or expired lots."""
        on_shelf = self.unexpired(f, s, today)
        if not self.lot_tracked[s]:
            on_shelf = min(on_shelf, int(self.physical[f, s]))
        return max(0, on_shelf - int(self.held[f, s]) - int(self.promised[f, s]))

    def sellable_row(self, f: int, today: date) -> np.ndarray:
        """`sellable` for every SKU of a facility (stores: nothing is held or promised there)."""
        row = np.minimum(self.book[f], self.physical[f])
        for s in np.flatnonzero(self.lot_tracked):
            row[s] = self.unexpired(f, int(s), today)
        return np.maximum(row - self.held[f] - self.promised[f], 0)

    # -- changing -------------------------------------------------------------------------------

    def add(self, f: int, s: int, qty: int, lot: str | None = None) -> None:
        self.book[f, s] += qty
        self.physical[f, s] += qty
        if lot is not None:
            self._add_lot(f, s, lot, qty)

    def _add_lot(self, f: int, s: int, code: str, qty: int) -> None:
        lots = self.lots[(f, s)]
        for lot in lots:
            if lot.code == code:
                lot.qty += qty
                return
        lots.append(Lot(code, self.expiry[(s, code)], qty))
        lots.sort(key=lambda lot: (lot.expires, lot.code))

    def take(self, f: int, s: int, qty: int, today: date | None) -> list[tuple[str | None, int]]:
        """Take `qty` out (earliest expiry first for lots, skipping lots expired by `today` when
        it is given — a sale). Returns the lots and quantities taken."""
        self.book[f, s] -= qty
        self.physical[f, s] = max(0, int(self.physical[f, s]) - qty)
        if not self.lot_tracked[s]:
            return [(None, qty)]
        return self._take_lots(f, s, qty, today)

    def _take_lots(
        self, f: int, s: int, qty: int, today: date | None
    ) -> list[tuple[str | None, int]]:
        taken: list[tuple[str | None, int]] = []
        left = qty
        for lot in self.lots[(f, s)]:
            if left == 0:
                break
            if lot.qty == 0 or (today is not None and lot.expires < today):
                continue
            step = min(left, lot.qty)
            lot.qty -= step
            left -= step
            taken.append((lot.code, step))
        if left:
            raise AssertionError(f"simulator stock out of step at {f}/{s}: {left} short")
        self.lots[(f, s)] = [lot for lot in self.lots[(f, s)] if lot.qty > 0]
        return taken

    def take_lot(self, f: int, s: int, code: str, qty: int) -> None:
        """Take from one named lot (a write-off, a recall hold)."""
        self.book[f, s] -= qty
        self.physical[f, s] = max(0, int(self.physical[f, s]) - qty)
        for lot in self.lots[(f, s)]:
            if lot.code == code:
                lot.qty -= qty
        self.lots[(f, s)] = [lot for lot in self.lots[(f, s)] if lot.qty > 0]

    def expired(self, f: int, s: int, today: date) -> list[Lot]:
        return [lot for lot in self.lots[(f, s)] if lot.expires < today and lot.qty > 0]
