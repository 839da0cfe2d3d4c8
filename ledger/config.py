"""Master data and configuration as the posting path sees it: an in-memory view, reloaded
whenever another writer has changed it (the `config_version` in `ledger_meta`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ledger.access import Grant
from ledger.numbers import from_units
from ledger.storage import Tx
from ledger.vocabulary import BinKind, CostingMethod, FacilityType, PartyKind, PeriodStatus, Role


@dataclass(frozen=True, slots=True)
class Party:
    party_id: int
    code: str
    kind: PartyKind
    name: str
    currency: str


@dataclass(frozen=True, slots=True)
class Facility:
    facility_id: int
    code: str
    name: str
    facility_type: FacilityType
    org_id: int
    currency: str
    default_location_id: int | None


@dataclass(frozen=True, slots=True)
class Location:
    location_id: int
    facility_id: int
    code: str
    zone: str | None
    kind: BinKind


@dataclass(frozen=True, slots=True)
class Item:
    item_id: int
    code: str
    name: str
    category: str | None
    costing_method: CostingMethod
    lot_tracked: bool
    serial_tracked: bool
    shelf_life_days: int | None


@dataclass(frozen=True, slots=True)
class Variant:
    variant_id: int
    sku: str
    item_id: int
    barcode: str | None
    uom: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    description: str
    kinds: frozenset[str]
    is_active: bool


@dataclass(frozen=True, slots=True)
class Period:
    code: str
    starts_at: str
    ends_at: str
    status: PeriodStatus
    close_version: int


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    adjustment_value_threshold: Decimal | None
    transfer_value_threshold: Decimal | None
    transfer_pct_threshold: Decimal | None
    no_self_approval: bool


NO_APPROVALS = ApprovalPolicy(None, None, None, False)


@dataclass(frozen=True, slots=True)
class Lot:
    lot_id: int
    variant_id: int
    lot_number: str
    expires_on: date | None


@dataclass(slots=True)
class Config:
    version: int
    parties: dict[str, Party] = field(default_factory=dict)
    parties_by_id: dict[int, Party] = field(default_factory=dict)
    facilities: dict[str, Facility] = field(default_factory=dict)
    facilities_by_id: dict[int, Facility] = field(default_factory=dict)
    locations: dict[tuple[int, str], Location] = field(default_factory=dict)
    locations_by_id: dict[int, Location] = field(default_factory=dict)
    items_by_id: dict[int, Item] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    variants: dict[str, Variant] = field(default_factory=dict)
    variants_by_barcode: dict[str, Variant] = field(default_factory=dict)
    variants_by_id: dict[int, Variant] = field(default_factory=dict)
    reasons: dict[str, Reason] = field(default_factory=dict)
    policies: dict[tuple[int, int], bool] = field(default_factory=dict)
    periods: list[Period] = field(default_factory=list)
    grants: dict[str, list[Grant]] = field(default_factory=dict)
    approvals: dict[int | None, ApprovalPolicy] = field(default_factory=dict)

    def approval_policy(self, facility_id: int) -> ApprovalPolicy:
        """The facility's own approval thresholds, else the organisation's, else none."""
        return self.approvals.get(facility_id) or self.approvals.get(None) or NO_APPROVALS

    def allows_negative(self, facility_id: int, variant_id: int) -> bool:
        rule = self.policies.get((facility_id, variant_id))
        if rule is None:
            rule = self.policies.get((facility_id, 0), False)
        return rule

    def period_at(self, moment: str) -> Period | None:
        for period in self.periods:
            if period.starts_at <= moment < period.ends_at:
                return period
        return None

    def variant(self, sku_or_barcode: str) -> Variant | None:
        return self.variants.get(sku_or_barcode) or self.variants_by_barcode.get(sku_or_barcode)


def config_version(tx: Tx) -> int:
    row = tx.one("select value from ledger_meta where key = 'config_version'")
    return int(row[0]) if row else 0


def bump_config_version(tx: Tx) -> None:
    tx.run(
        "insert into ledger_meta (key, value) values ('config_version', '1') "
        "on conflict (key) do update set value = "
        "cast(cast(ledger_meta.value as integer) + 1 as text)"
    )


def load_config(tx: Tx) -> Config:
    config = Config(version=config_version(tx))
    for row in tx.all("select party_id, code, kind, name, currency from party"):
        party = Party(row[0], row[1], PartyKind(row[2]), row[3], row[4])
        config.parties[party.code] = party
        config.parties_by_id[party.party_id] = party
    for row in tx.all(
        "select facility_id, code, name, facility_type, org_id, currency, default_location_id "
        "from facility"
    ):
        facility = Facility(row[0], row[1], row[2], FacilityType(row[3]), row[4], row[5], row[6])
        config.facilities[facility.code] = facility
        config.facilities_by_id[facility.facility_id] = facility
    for row in tx.all("select location_id, facility_id, code, zone, kind from location"):
        location = Location(row[0], row[1], row[2], row[3], BinKind(row[4]))
        config.locations[(location.facility_id, location.code)] = location
        config.locations_by_id[location.location_id] = location
    for row in tx.all(
        "select item_id, code, name, category, costing_method, lot_tracked, serial_tracked, "
        "shelf_life_days from item"
    ):
        item = Item(
            row[0], row[1], row[2], row[3], CostingMethod(row[4]), bool(row[5]), bool(row[6]),
            row[7],
        )  # fmt: skip
        config.items_by_id[item.item_id] = item
        config.items[item.code] = item
    for row in tx.all("select variant_id, sku, item_id, barcode, uom, name from variant"):
        variant = Variant(*row)
        config.variants[variant.sku] = variant
        config.variants_by_id[variant.variant_id] = variant
        if variant.barcode:
            config.variants_by_barcode[variant.barcode] = variant
    for row in tx.all("select code, description, kinds, is_active from reason_code"):
        kinds = frozenset(kind for kind in row[2].split(",") if kind)
        config.reasons[row[0]] = Reason(row[0], row[1], kinds, bool(row[3]))
    for row in tx.all("select facility_id, variant_id, allow_negative from negative_stock_policy"):
        config.policies[(row[0], row[1])] = bool(row[2])
    for row in tx.all(
        "select actor, role, facility_id, valid_from, valid_to, permissions from role_grant"
    ):
        permissions = frozenset(item for item in row[5].split(",") if item)
        grant = Grant(row[0], Role(row[1]), row[2], row[3], row[4], permissions)
        config.grants.setdefault(grant.actor, []).append(grant)
    for row in tx.all(
        "select facility_id, adjustment_value_threshold_e6, transfer_value_threshold_e6, "
        "transfer_pct_threshold_e6, no_self_approval from approval_policy"
    ):
        config.approvals[row[0]] = ApprovalPolicy(
            from_units(row[1]), from_units(row[2]), from_units(row[3]), bool(row[4])
        )
    for row in tx.all(
        "select code, starts_at, ends_at, status, close_version from period order by starts_at"
    ):
        config.periods.append(Period(row[0], row[1], row[2], PeriodStatus(row[3]), row[4]))
    return config
