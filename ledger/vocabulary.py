"""The ledger's words: movement kinds, buckets, roles and the other closed lists."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    CUSTOMER_RETURN = "customer_return"
    VENDOR_RETURN = "vendor_return"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    ADJUSTMENT = "adjustment"
    COUNT_VARIANCE = "count_variance"
    RECLASSIFICATION = "reclassification"
    BIN_MOVE = "bin_move"
    CONSIGNMENT_CONSUMPTION = "consignment_consumption"
    REVERSAL = "reversal"
    COST_ADJUSTMENT = "cost_adjustment"


# Kinds a source system may post directly through `post`; the others are written by the
# workflows that own them (transfers, counts, consignment) or by the ledger itself.
POSTABLE_KINDS = frozenset(
    {
        Kind.RECEIPT,
        Kind.ISSUE,
        Kind.CUSTOMER_RETURN,
        Kind.VENDOR_RETURN,
        Kind.ADJUSTMENT,
        Kind.RECLASSIFICATION,
        Kind.BIN_MOVE,
        Kind.REVERSAL,
        Kind.COST_ADJUSTMENT,
    }
)

# Kinds that must carry a reason code from the configured list (L2.3).
REASON_REQUIRED = frozenset(
    {Kind.ADJUSTMENT, Kind.COUNT_VARIANCE, Kind.RECLASSIFICATION, Kind.COST_ADJUSTMENT}
)

# How each kind counts in a period snapshot; internal moves count by their sign.
INBOUND_KINDS = frozenset({Kind.RECEIPT, Kind.CUSTOMER_RETURN, Kind.TRANSFER_IN})
OUTBOUND_KINDS = frozenset(
    {Kind.ISSUE, Kind.VENDOR_RETURN, Kind.TRANSFER_OUT, Kind.CONSIGNMENT_CONSUMPTION}
)
ADJUSTMENT_KINDS = frozenset({Kind.ADJUSTMENT, Kind.COUNT_VARIANCE, Kind.COST_ADJUSTMENT})


class Bucket(StrEnum):
    AVAILABLE = "available"
    QUARANTINE = "quarantine"
    DAMAGED = "damaged"
    IN_TRANSIT = "in_transit"


class CostingMethod(StrEnum):
    MOVING_AVERAGE = "moving_average"
    FIFO = "fifo"


class FacilityType(StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"
    THIRD_PARTY = "3pl"
    PARTNER = "partner"
    VENDOR_SITE = "vendor_site"
    IN_TRANSIT = "in_transit"


class BinKind(StrEnum):
    STORAGE = "storage"
    PICK_FACE = "pick_face"
    RECEIVING = "receiving"
    STAGING = "staging"
    SHIPPING = "shipping"
    QUARANTINE = "quarantine"
    IN_TRANSIT = "in_transit"


class Role(StrEnum):
    STORE_KEEPER = "store_keeper"
    INVENTORY_CONTROLLER = "inventory_controller"
    FINANCE = "finance"
    FINANCE_MANAGER = "finance_manager"
    AUDITOR = "auditor"
    SYSADMIN = "sysadmin"


class Channel(StrEnum):
    POS = "pos"
    ECOMMERCE = "ecommerce"
    WHOLESALE = "wholesale"
    MARKETPLACE = "marketplace"


class PeriodStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    LOCKED = "locked"


class PartyKind(StrEnum):
    ORG = "org"
    VENDOR = "vendor"


# Which roles may do what. Facility grants narrow this further where they are configured.
STOCK_WRITERS = frozenset(
    {Role.STORE_KEEPER, Role.INVENTORY_CONTROLLER, Role.FINANCE, Role.FINANCE_MANAGER}
)
COST_WRITERS = frozenset({Role.FINANCE, Role.FINANCE_MANAGER})
PERIOD_CLOSERS = frozenset({Role.FINANCE, Role.FINANCE_MANAGER})
PERIOD_ELEVATED = frozenset({Role.FINANCE_MANAGER})
CONFIG_WRITERS = frozenset({Role.SYSADMIN})

# Reason codes the ledger and its workflows write themselves: `ledger init` seeds them, with
# the kinds each may be used for, so a new ledger can recall, count and settle at once.
SYSTEM_REASON_CODES = {
    "negative_stock_settlement": (
        "Receipt filled a hole issued at the last known cost",
        ("cost_adjustment",),
    ),
    "zero_stock_revaluation": (
        "Value left on a position with no stock is cleared",
        ("cost_adjustment",),
    ),
    "count_variance": ("Cycle count variance", ("count_variance",)),
    "recall_hold": ("Recall: stock held in quarantine", ("reclassification",)),
    "recall_release": ("Recall released", ("reclassification",)),
}
