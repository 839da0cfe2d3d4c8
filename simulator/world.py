"""The simulated retailer: one organisation in EUR, two distribution centres, stores, vendors,
an assortment in five categories, the people who work there, and its master data."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from simulator.scale import Scale

ORG = "NORD"
CURRENCY = "EUR"
TRANSIT = "TRANSIT"
PIPELINE_ACTOR = "svc-stockcard"  # the pipeline's service account (pipelines.posting uses it)
FINANCE_ACTOR = "fin.kaya"

STORE_NAMES = (
    "Hamburg Altona", "Bremen Viertel", "Hannover Linden", "Kiel Holtenau", "Lübeck Altstadt",
    "Berlin Mitte", "Leipzig Süd", "Dresden Neustadt", "Rostock Hafen", "Münster Kreuzviertel",
)  # fmt: skip
COLOURS = (
    "Navy", "Sand", "Olive", "Rust", "Stone", "Berry", "Sky", "Moss", "Coal", "Clay", "Mint",
    "Plum",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Category:
    """How the items of a category are bought, stored, sold and costed."""

    code: str
    prefix: str
    vendor: str
    costing_method: str
    route: str  # "dc": vendor → DC → stores; "dsd": vendor → stores; "consignment": vendor-owned
    bases: tuple[str, ...]
    sizes: tuple[str, ...] = ("",)
    lot_tracked: bool = False
    shelf_life_days: int | None = None
    qc_required: bool = False
    price: tuple[float, float] = (5.0, 30.0)
    margin: float = 0.45  # cost = price x margin
    rate: float = 1.0  # relative demand of one SKU
    returns: float = 0.0  # share of POS sales returned
    case_pack: int = 6
    wholesale: bool = False
    online: bool = True


CATEGORIES = (
    Category("apparel", "APP", "V-TEX", "moving_average", "dc",
             ("Organic T-shirt", "Linen shirt", "Wool jumper", "Rain jacket", "Chinos", "Hoodie"),
             sizes=("S", "M", "L"), price=(19.0, 89.0), margin=0.38, rate=0.55, returns=0.06,
             case_pack=6, wholesale=True),
    Category("homeware", "HOM", "V-HOME", "fifo", "dc",
             ("Stoneware mug", "Linen tea towel", "Glass carafe", "Oak board", "Enamel pot"),
             price=(6.0, 45.0), margin=0.42, rate=0.45, returns=0.02, case_pack=4,
             wholesale=True),
    Category("grocery", "GRO", "V-FOOD", "moving_average", "dc",
             ("Coffee beans 500 g", "Green tea 100 g", "Olive oil 0.5 l", "Dark chocolate"),
             lot_tracked=True, shelf_life_days=240, qc_required=True, price=(3.5, 14.0),
             margin=0.55, rate=0.8, case_pack=12, wholesale=True),
    Category("dairy", "DAI", "V-DAIRY", "fifo", "dsd",
             ("Whole milk 1 l", "Natural yoghurt 500 g", "Butter 250 g", "Quark 250 g"),
             lot_tracked=True, shelf_life_days=10, price=(1.2, 3.5), margin=0.6, rate=1.6,
             case_pack=10, online=False),
    Category("books", "BOK", "V-BOOK", "moving_average", "consignment",
             ("Harbour stories", "North sea cookbook", "Birds of the coast", "City walks"),
             price=(12.0, 32.0), margin=0.7, rate=0.3, returns=0.02, case_pack=1,
             online=False),
)  # fmt: skip
VENDORS = {
    "V-TEX": ("Hanse Textil GmbH", 6, 2.0),
    "V-HOME": ("Nordhaus Wohnen KG", 8, 3.0),
    "V-FOOD": ("Kontor Feinkost AG", 4, 1.0),
    "V-DAIRY": ("Marschhof Molkerei eG", 1, 0.0),
    "V-BOOK": ("Küstenbuch Verlag (consignment)", 7, 0.0),
}  # vendor → (name, lead time in days, its standard deviation)


@dataclass(frozen=True, slots=True)
class Facility:
    code: str
    name: str
    kind: str  # "warehouse" or "store"
    dc: str  # the distribution centre that supplies it (itself for a DC)
    bins: tuple[tuple[str, str, str], ...]  # (bin, kind, zone)
    default_bin: str
    staff: tuple[str, ...]  # counters
    manager: str  # inventory controller: approves counts

    @property
    def is_store(self) -> bool:
        return self.kind == "store"


@dataclass(slots=True)
class Catalogue:
    """The assortment as parallel arrays indexed by SKU number."""

    skus: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)
    category: list[Category] = field(default_factory=list)
    price: list[Decimal] = field(default_factory=list)
    cost: list[Decimal] = field(default_factory=list)
    rate: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.skus)

    def indexes(self, predicate) -> np.ndarray:
        return np.array([i for i, c in enumerate(self.category) if predicate(c)], dtype=np.int64)


@dataclass(slots=True)
class World:
    scale: Scale
    facilities: list[Facility]
    catalogue: Catalogue

    @property
    def dcs(self) -> list[Facility]:
        return [f for f in self.facilities if not f.is_store]

    @property
    def stores(self) -> list[Facility]:
        return [f for f in self.facilities if f.is_store]

    def index(self, code: str) -> int:
        return next(i for i, f in enumerate(self.facilities) if f.code == code)


def ean13(number: int) -> str:
    """A valid EAN-13 in the retailer's in-house prefix range."""
    body = f"200{number:09d}"
    total = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(body))
    return body + str((10 - total % 10) % 10)


def money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def build_world(scale: Scale, rng: np.random.Generator) -> World:
    return World(scale, facilities(scale), catalogue(scale, rng))


def facilities(scale: Scale) -> list[Facility]:
    dc_bins = (
        ("RECV", "receiving", "IN"),
        ("QC", "quarantine", "IN"),
        ("A-01", "storage", "A"),
        ("A-02", "storage", "A"),
        ("SHIP", "shipping", "OUT"),
    )
    store_bins = (
        ("RECV", "receiving", "BACK"),
        ("FLOOR", "storage", "SHOP"),
        ("BACK", "storage", "BACK"),
    )
    result = [
        Facility(code, name, "warehouse", code, dc_bins, "A-01",
                 (f"{code.lower()}.picker1", f"{code.lower()}.picker2"), f"{code.lower()}.lead")
        for code, name in (("DC-N", "Distribution centre North"),
                           ("DC-S", "Distribution centre South"))
    ]  # fmt: skip
    for number in range(1, scale.stores + 1):
        code = f"ST-{number:02d}"
        town = STORE_NAMES[(number - 1) % len(STORE_NAMES)]
        name = f"Store {town}" + (f" {number}" if number > len(STORE_NAMES) else "")
        dc = "DC-N" if number % 2 else "DC-S"
        staff = (f"{code.lower()}.clerk1", f"{code.lower()}.clerk2")
        result.append(
            Facility(code, name, "store", dc, store_bins, "FLOOR", staff, f"{code.lower()}.manager")
        )
    return result


def catalogue(scale: Scale, rng: np.random.Generator) -> Catalogue:
    cat = Catalogue()
    rates = []
    for category in CATEGORIES:
        per_unit = 2 if category.code == "homeware" else 1
        for number in range(1, scale.units * per_unit + 1):
            base = category.bases[(number - 1) % len(category.bases)]
            round_ = (number - 1) // len(category.bases)
            colour = COLOURS[round_ % len(COLOURS)] if round_ else ""
            name = f"{colour} {base}".strip() + (
                f" {round_ // len(COLOURS) + 1}" if round_ >= len(COLOURS) else ""
            )
            item = f"{category.prefix}-{number:03d}"
            price = money(rng.uniform(*category.price))
            popularity = float(rng.lognormal(0.0, 0.5))
            for size in category.sizes:
                cat.skus.append(f"{item}-{size}" if size else item)
                cat.items.append(item)
                cat.names.append(f"{name} {size}".strip())
                cat.barcodes.append(ean13(len(cat.skus)))
                cat.category.append(category)
                cat.price.append(price)
                cat.cost.append(money(float(price) * category.margin))
                size_share = {"S": 0.8, "M": 1.2, "L": 1.0}.get(size, 1.0)
                rates.append(category.rate * popularity * size_share)
    cat.rate = np.array(rates, dtype=np.float64)
    return cat
