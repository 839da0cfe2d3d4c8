"""What a feed row may refer to: the codes known to the ledger and to this run's master data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import polars as pl

CLOSED_STATUSES = frozenset({"closed", "locked"})
PERIOD_CODE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True, slots=True)
class Period:
    """An accounting period; rows dated in a closed or locked one are refused."""

    code: str
    status: str
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def month(cls, code: str, status: str) -> Period:
        year, month = (int(part) for part in code.split("-"))
        following = (year + month // 12, month % 12 + 1)
        return cls(
            code,
            status,
            datetime(year, month, 1, tzinfo=UTC),
            datetime(following[0], following[1], 1, tzinfo=UTC),
        )

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES


@dataclass(frozen=True, slots=True)
class ReferenceData:
    """Sets of known codes. Built from the ledger's master data plus the master-data feeds of the
    same run (`with_master_frames`), and the source references already seen in the run."""

    skus: frozenset[str] = frozenset()
    barcodes: Mapping[str, str] = field(default_factory=dict)  # barcode → SKU
    lot_tracked: frozenset[str] = frozenset()  # SKUs whose every inbound names a lot
    items: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    facilities: frozenset[str] = frozenset()
    bins: frozenset[tuple[str, str]] = frozenset()  # (facility, bin)
    reason_codes: frozenset[str] = frozenset()  # active codes only
    vendors: frozenset[str] = frozenset()
    orgs: frozenset[str] = frozenset()
    consigned: Mapping[str, str] = field(default_factory=dict)  # SKU → consignment vendor
    periods: tuple[Period, ...] = ()
    seen_refs: Mapping[str, frozenset[str]] = field(default_factory=dict)  # feed → refs

    @property
    def closed_periods(self) -> tuple[Period, ...]:
        return tuple(period for period in self.periods if period.is_closed)

    @property
    def parties(self) -> frozenset[str]:
        return self.orgs | self.vendors

    def with_seen(self, feed: str, refs: Iterable[str]) -> ReferenceData:
        seen = dict(self.seen_refs)
        seen[feed] = seen.get(feed, frozenset()) | frozenset(refs)
        return replace(self, seen_refs=seen)

    def with_periods(self, periods: Iterable[Period]) -> ReferenceData:
        """Later statuses win: a period the run's master data closes is closed."""
        by_code = {period.code: period for period in self.periods}
        by_code.update((period.code, period) for period in periods)
        ordered = sorted(by_code.values(), key=lambda period: period.starts_at)
        return replace(self, periods=tuple(ordered))

    def with_master_frames(self, frames: Mapping[str, pl.DataFrame]) -> ReferenceData:
        """Add the codes of master-data feed rows to what is known."""
        known = self
        for feed, frame in frames.items():
            extend = MASTER_EXTENSIONS.get(feed)
            if extend is not None and frame.height:
                known = extend(known, frame)
        if "items" in frames and "variants" in frames:
            known = with_item_facts(known, frames["items"], frames["variants"])
        return known


def _column(frame: pl.DataFrame, name: str) -> list[str | None]:
    """A column as text, one value per row (None where empty or missing)."""
    if name not in frame.columns:
        return [None] * frame.height
    return frame[name].cast(pl.String).to_list()


def _codes(frame: pl.DataFrame, name: str) -> set[str]:
    return {value for value in _column(frame, name) if value}


def _parties(known: ReferenceData, frame: pl.DataFrame) -> ReferenceData:
    pairs = list(zip(_column(frame, "party"), _column(frame, "kind"), strict=True))
    orgs = {code for code, kind in pairs if code and kind == "org"}
    vendors = {code for code, kind in pairs if code and kind == "vendor"}
    return replace(known, orgs=known.orgs | orgs, vendors=known.vendors | vendors)


def _facilities(known: ReferenceData, frame: pl.DataFrame) -> ReferenceData:
    return replace(known, facilities=known.facilities | _codes(frame, "facility"))


def _bins(known: ReferenceData, frame: pl.DataFrame) -> ReferenceData:
    pairs = zip(_column(frame, "facility"), _column(frame, "bin"), strict=True)
    return replace(known, bins=known.bins | {(f, b) for f, b in pairs if f and b})


def _items(known: ReferenceData, frame: pl.DataFrame) -> ReferenceData:
    return replace(
        known,
        items=known.items | _codes(frame, "item"),
        categories=known.categories | _codes(frame, "category"),
    )


def _variants(known: ReferenceData, frame: pl.DataFrame) -> ReferenceData:
    skus = _column(frame, "sku")
    barcodes = dict(known.barcodes)
    for sku, barcode in zip(skus, _column(frame, "barcode"), strict=True):
        if sku and barcode:
            barcodes[barcode] = sku
    return replace(known, skus=known.skus | {sku for sku in skus if sku}, barcodes=barcodes)


def _reason_codes(known: ReferenceData, frame: pl.DataFrame) -> ReferenceData:
    codes = _column(frame, "reason_code")
    flags = _column(frame, "is_active")
    active = {c for c, flag in zip(codes, flags, strict=True) if c and is_true(flag, True)}
    inactive = {c for c in codes if c} - active
    return replace(known, reason_codes=(known.reason_codes | active) - inactive)


def _periods(known: ReferenceData, frame: pl.DataFrame) -> ReferenceData:
    periods = [
        Period.month(code, status or "open")
        for code, status in zip(_column(frame, "period"), _column(frame, "status"), strict=True)
        if code and PERIOD_CODE.fullmatch(code)
    ]
    return known.with_periods(periods)


MASTER_EXTENSIONS = {
    "parties": _parties,
    "facilities": _facilities,
    "bins": _bins,
    "items": _items,
    "variants": _variants,
    "reason_codes": _reason_codes,
    "periods": _periods,
}


def is_true(value: object, default: bool = False) -> bool:
    if value is None:
        return default
    return str(value).lower() in ("true", "1", "yes")


def with_item_facts(
    known: ReferenceData, items: pl.DataFrame, variants: pl.DataFrame
) -> ReferenceData:
    """Lot tracking and consignment are item facts; variants carry them to the SKU."""
    facts = {
        item: (is_true(tracked), vendor)
        for item, tracked, vendor in zip(
            _column(items, "item"), _column(items, "lot_tracked"),
            _column(items, "consignment_vendor"), strict=True,
        )
        if item
    }  # fmt: skip
    lot_tracked = set(known.lot_tracked)
    consigned = dict(known.consigned)
    for sku, item in zip(_column(variants, "sku"), _column(variants, "item"), strict=True):
        if not sku or item not in facts:
            continue
        tracked, vendor = facts[item]
        if tracked:
            lot_tracked.add(sku)
        if vendor:
            consigned[sku] = vendor
    return replace(known, lot_tracked=frozenset(lot_tracked), consigned=consigned)
