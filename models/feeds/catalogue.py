"""Every feed the pipeline reads: master data, replenishment configuration and movements."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from models.feeds.contracts import (
    BIN_KINDS,
    BUCKETS,
    CHANNELS,
    COSTING_METHODS,
    ECOMMERCE_EVENTS,
    FACILITY_TYPES,
    MOVEMENT_KINDS,
    PERMISSIONS,
    RECEIPT_SHORT_REASONS,
    RELEASE_REASONS,
    ROLES,
    WHOLESALE_EVENTS,
    Column,
    FeedContract,
    code,
    contract,
    currency,
    differs,
    ident,
    lot_required,
    on_day,
    qty,
    ref,
    required_when,
    text,
    when,
    whole,
    yes_no,
)
from models.feeds.rules import RowRule

HUNDRED = Decimal(100)

# -- master data (applied to the ledger) ---------------------------------------------------------

PARTIES = contract(
    "parties", "jsonl", "mdm", "master",
    "The organisation and its vendors (a vendor can own consigned stock).",
    [ident("party"), code("kind", ("org", "vendor")), text("name"), currency()],
    key=("party",),
)  # fmt: skip

FACILITIES = contract(
    "facilities", "jsonl", "mdm", "master",
    "Warehouses, stores and the in-transit node; bins come from the bins feed.",
    [
        ident("facility"), text("name"), code("facility_type", FACILITY_TYPES), ref("org", "org"),
        currency(required=False), Column("default_bin", required=False, refers="bin"),
    ],
    key=("facility",),
)  # fmt: skip

BINS = contract(
    "bins", "csv", "mdm", "master", "The bins of each facility: receiving, quarantine, storage.",
    [ref("facility", "facility"), ident("bin"), code("kind", BIN_KINDS), text("zone", False)],
    key=("facility", "bin"),
)  # fmt: skip

ITEMS = contract(
    "items", "jsonl", "mdm", "master",
    "Items with their category, costing method, lot tracking and shelf life; a consignment "
    "vendor's items name that vendor.",
    [
        ident("item"), text("name"), ident("category"), code("costing_method", COSTING_METHODS),
        yes_no("lot_tracked"), yes_no("serial_tracked"), whole("shelf_life_days", 1, 3650, False),
        ref("consignment_vendor", "vendor", False),
    ],
    key=("item",),
)  # fmt: skip

VARIANTS = contract(
    "variants", "csv", "mdm", "master", "Sellable variants (SKUs) of items, with their barcodes.",
    [
        ident("sku"), ref("item", "item"),
        Column("barcode", required=False, pattern=r"^\d{8,14}$",
               pattern_text="must be 8 to 14 digits (EAN/GTIN)"),
        text("uom", False), text("name", False),
    ],
    key=("sku",),
)  # fmt: skip

REASON_CODES = contract(
    "reason_codes", "csv", "mdm", "master",
    "Reason codes of adjustments, write-offs, QC and transfer exceptions; `kinds` lists the "
    "movement kinds each may be used for.",
    [
        ident("reason_code"), text("description"),
        Column("kinds", "list", required=False, allowed=MOVEMENT_KINDS), yes_no("is_active"),
    ],
    key=("reason_code",),
)  # fmt: skip

GRANTS = contract(
    "grants", "jsonl", "mdm", "master",
    "Who may act in which role where: store staff, controllers, finance, and the pipeline's "
    "service actor.",
    [
        text("actor"), code("role", ROLES), ref("facility", "facility", False),
        Column("permissions", "list", required=False, allowed=PERMISSIONS),
        when("valid_from", False, period=False), when("valid_to", False, period=False),
    ],
    key=("actor", "role", "facility"),
)  # fmt: skip

PERIODS = contract(
    "periods", "csv", "erp", "master",
    "Accounting months and their status; a closed month takes no postings.",
    [
        Column("period", pattern=r"^\d{4}-(0[1-9]|1[0-2])$", pattern_text="must be YYYY-MM"),
        code("status", ("open", "closed")),
    ],
    key=("period",),
)  # fmt: skip

COUNT_TOLERANCES = contract(
    "count_tolerances", "csv", "mdm", "master",
    "How far a first count may differ from the system before a recount is required.",
    [
        ref("facility", "facility"), ref("category", "category", False),
        qty("max_qty", "non_negative", False), qty("max_pct", "non_negative", False, HUNDRED),
    ],
    key=("facility", "category"),
    rules=(
        RowRule("max_qty", "limit_required", "or max_pct is required",
                lambda _ref: pl.col("max_qty").is_not_null() | pl.col("max_pct").is_not_null()),
    ),
)  # fmt: skip

# -- replenishment configuration (to the warehouse) ----------------------------------------------

REPLENISHMENT_RULES = contract(
    "replenishment_rules", "csv", "planning", "config",
    "Min/max, service level, capacity and review period per facility and SKU.",
    [
        ref("facility_code", "facility"), ref("sku", "sku"), qty("min_qty", "non_negative", False),
        qty("max_qty", "non_negative", False), Column(
            "service_level", "decimal", required=False, sign="positive", maximum=Decimal("0.9999"),
        ),
        qty("capacity_qty", "non_negative", False), whole("review_period_days", 1, 365, False),
    ],
    key=("facility_code", "sku"),
    rules=(
        RowRule("max_qty", "max_below_min", "must not be below min_qty",
                lambda _ref: pl.col("max_qty").is_null() | pl.col("min_qty").is_null()
                | (pl.col("max_qty").cast(pl.Decimal(38, 6), strict=False)
                   >= pl.col("min_qty").cast(pl.Decimal(38, 6), strict=False))),
    ),
)  # fmt: skip

VENDOR_TERMS = contract(
    "vendor_terms", "csv", "purchasing", "config",
    "What each vendor charges for a SKU, its lead time, minimum order and case pack.",
    [
        ref("vendor_code", "vendor"), ref("sku", "sku"), qty("unit_cost", "non_negative"),
        currency(), whole("lead_time_days", 0, 365), qty("moq", "non_negative"), qty("case_pack"),
    ],
    key=("vendor_code", "sku"),
)  # fmt: skip

TRANSFER_LANES = contract(
    "transfer_lanes", "csv", "logistics", "config",
    "Which facility can supply which, at what cost per unit and lead time.",
    [
        ref("source_facility_code", "facility"), ref("destination_facility_code", "facility"),
        qty("cost_per_unit", "non_negative"), currency(), whole("lead_time_days", 0, 365),
    ],
    key=("source_facility_code", "destination_facility_code"),
    rules=(differs("destination_facility_code", "source_facility_code"),),
)  # fmt: skip

CHANNEL_PRIORITIES = contract(
    "channel_priorities", "csv", "planning", "config",
    "Which sales channel is served first when stock is short (1 = first).",
    [code("channel", CHANNELS), whole("priority", 1, 99)],
    key=("channel",),
)  # fmt: skip

# -- movements (posted through the ledger) -------------------------------------------------------

PURCHASE_ORDERS = contract(
    "purchase_orders", "jsonl", "erp", "movement",
    "Purchase order lines sent to vendors: registered as expected receipts.",
    [
        ident("po_number"), whole("line", 1, 9999), ref("vendor", "vendor"),
        ref("facility", "facility"), ref("sku", "sku"), qty("qty"),
        qty("unit_cost", "non_negative"), currency(), when("ordered_at"),
        when("expected_at", False, period=False), yes_no("qc_required"),
        qty("over_tolerance_pct", "non_negative", False, HUNDRED),
    ],
    key=("po_number", "line"), time="ordered_at",
)  # fmt: skip

GOODS_RECEIPTS = contract(
    "goods_receipts", "jsonl", "erp", "movement",
    "Goods receipt lines (GRN): against a purchase order, or unplanned and consignment "
    "deliveries without one.",
    [
        ident("grn_number"), whole("line", 1, 9999), ident("po_number", False),
        whole("po_line", 1, 9999, False), ref("vendor", "vendor"), ref("facility", "facility"),
        ref("sku", "sku"), qty("qty"), Column("bin", required=False, refers="bin"),
        text("lot", False), on_day("lot_expires_on", False),
        qty("unit_cost", "non_negative", False), currency(required=False),
        code("stock_type", ("own", "consignment")), when("received_at"),
        yes_no("delivery_completed"), code("short_reason", RECEIPT_SHORT_REASONS, False),
    ],
    key=("grn_number", "line"), time="received_at",
    rules=(
        lot_required(),
        required_when("po_line", "po_line_required", "is required with a po_number",
                      pl.col("po_number").is_not_null()),
        required_when("unit_cost", "cost_required",
                      "is required for owned stock received without a purchase order",
                      pl.col("po_number").is_null() & (pl.col("stock_type") == "own")),
    ),
)  # fmt: skip

QC_DECISIONS = contract(
    "qc_decisions", "csv", "qc_app", "movement",
    "Quality inspections of quarantined receipts: release to available or reject as damaged.",
    [
        ident("decision_no"), ref("facility", "facility"),
        Column("bin", required=False, refers="bin"),
        ref("sku", "sku"), text("lot", False), qty("qty"), code("decision", ("release", "reject")),
        ref("reason_code", "reason_code"), ident("po_number", False), when("decided_at"),
        text("inspector", False),
    ],
    key=("decision_no",), time="decided_at", rules=(lot_required(),),
)  # fmt: skip

PUTAWAYS = contract(
    "putaways", "parquet", "wms", "movement",
    "Putaway and replenishment tasks: stock moved from one bin to another in a facility.",
    [
        ident("task_no"), ref("facility", "facility"), ref("sku", "sku"), text("lot", False),
        ref("owner", "party", False), qty("qty"), Column("from_bin", refers="bin"),
        Column("to_bin", refers="bin"), when("moved_at"),
    ],
    key=("task_no",), time="moved_at",
    rules=(lot_required(), differs("to_bin", "from_bin")),
)  # fmt: skip

POS_SALES = contract(
    "pos_sales", "csv", "pos", "movement",
    "Till receipts, one file per store and day: sales and returns, scanned by barcode.",
    [
        ref("store", "facility"), ident("receipt_no"), whole("line", 1, 999),
        ref("barcode", "barcode"), qty("qty"), qty("unit_price", "non_negative"), currency(),
        code("type", ("sale", "return")), when("sold_at"), text("cashier", False),
    ],
    key=("receipt_no", "line"), time="sold_at",
)  # fmt: skip

ECOMMERCE_ORDERS = contract(
    "ecommerce_orders", "jsonl", "webshop", "movement",
    "Web shop order-line events: placed, paid, picked, shipped, cancelled, returned.",
    [
        ident("order_id"), whole("line", 1, 999), code("event", ECOMMERCE_EVENTS),
        ref("sku", "sku"), qty("qty"), ref("facility", "facility"), when("event_at"),
        code("reason", RELEASE_REASONS, False),
    ],
    key=("order_id", "line", "event"), time="event_at",
    rules=(required_when("reason", "reason_required", "is required when an order is cancelled",
                         pl.col("event") == "cancelled"),),
)  # fmt: skip

WHOLESALE_ORDERS = contract(
    "wholesale_orders", "csv", "erp", "movement",
    "Wholesale sales-order-line events: ordered, allocated, committed, shipped, cancelled.",
    [
        ident("order_no"), whole("line", 1, 999), text("customer"),
        code("event", WHOLESALE_EVENTS), ref("sku", "sku"), qty("qty"),
        ref("facility", "facility"), when("event_at"), code("reason", RELEASE_REASONS, False),
    ],
    key=("order_no", "line", "event"), time="event_at",
    rules=(required_when("reason", "reason_required", "is required when an order is cancelled",
                         pl.col("event") == "cancelled"),),
)  # fmt: skip

TRANSFER_ORDERS = contract(
    "transfer_orders", "parquet", "wms", "movement",
    "Store replenishment transfer orders: what a store asks its distribution centre for.",
    [
        ident("transfer_no"), whole("line", 1, 9999), ref("source", "facility"),
        ref("destination", "facility"), ref("sku", "sku"), qty("qty"), when("requested_at"),
    ],
    key=("transfer_no", "line"), time="requested_at",
    rules=(differs("destination", "source"),),
)  # fmt: skip

SHIPMENTS = contract(
    "shipments", "parquet", "wms", "movement",
    "Transfer shipments leaving the source and their receipts at the destination, with "
    "exceptions (lost, damaged, misrouted).",
    [
        ident("shipment_no"), ident("transfer_no"), code("event", ("shipped", "received")),
        ident("receipt_no", False), whole("line", 1, 9999), ref("sku", "sku"),
        text("lot", False), qty("qty"), code("exception", ("lost", "damaged", "misrouted"), False),
        ref("exception_facility", "facility", False), ref("reason_code", "reason_code", False),
        yes_no("final"), ref("short_reason", "reason_code", False), when("event_at"),
    ],
    key=("shipment_no", "event", "receipt_no", "line"), time="event_at",
    rules=(
        required_when("receipt_no", "receipt_required", "is required for a received line",
                      pl.col("event") == "received"),
        required_when("reason_code", "reason_required", "is required for an exception",
                      pl.col("exception").is_not_null()),
        required_when("exception_facility", "facility_required",
                      "is required for misrouted units", pl.col("exception") == "misrouted"),
    ),
)  # fmt: skip

COUNT_RESULTS = contract(
    "count_results", "csv", "count_app", "movement",
    "Cycle counts: every count and recount of a session, with who counted and who approved.",
    [
        ident("count_no"), ref("facility", "facility"), Column("bin", refers="bin"),
        ref("sku", "sku"), text("lot", False), ref("owner", "party", False),
        whole("attempt", 1, 2), qty("counted_qty", "non_negative"), text("counter"),
        when("counted_at"), when("started_at"), text("approved_by"), when("approved_at"),
    ],
    key=("count_no", "attempt", "bin", "sku", "lot", "owner"), time="counted_at",
    rules=(lot_required(),),
)  # fmt: skip

ADJUSTMENTS = contract(
    "adjustments", "csv", "store_ops", "movement",
    "Stock adjustments with a reason: shrink, damage, found stock, expired write-offs.",
    [
        ident("adjustment_no"), whole("line", 1, 9999), ref("facility", "facility"),
        Column("bin", required=False, refers="bin"), ref("sku", "sku"), text("lot", False),
        ref("owner", "party", False), code("bucket", BUCKETS, False), qty("qty", "non_zero"),
        ref("reason_code", "reason_code"), text("comment"), when("adjusted_at"),
        text("user", False), qty("unit_cost", "non_negative", False), currency(required=False),
        on_day("lot_expires_on", False),
    ],
    key=("adjustment_no", "line"), time="adjusted_at", rules=(lot_required(),),
)  # fmt: skip

CONSIGNMENT_SETTLEMENTS = contract(
    "consignment_settlements", "csv", "finance", "movement",
    "Settlement runs with a consignment vendor: every sale of their stock up to a cut-off.",
    [
        ident("settlement_no"), ref("vendor", "vendor"), when("up_to", period=False),
        when("settled_at"),
    ],
    key=("settlement_no",), time="settled_at",
)  # fmt: skip

RECALLS = contract(
    "recalls", "jsonl", "quality", "movement",
    "Recall notices: hold a lot in quarantine at a facility, and release it again.",
    [
        ident("recall_no"), code("action", ("hold", "release")), ref("facility", "facility"),
        ref("sku", "sku"), text("lot"), text("policy_reference"),
        ref("reason_code", "reason_code", False), text("comment", False), when("at"),
    ],
    key=("recall_no", "facility", "action"), time="at",
)  # fmt: skip

MASTER_ORDER = (
    "parties", "facilities", "bins", "items", "variants", "reason_codes", "grants", "periods",
    "count_tolerances",
)  # fmt: skip
CONFIG_FEEDS = ("replenishment_rules", "vendor_terms", "transfer_lanes", "channel_priorities")

FEEDS: dict[str, FeedContract] = {
    feed.name: feed
    for feed in (
        PARTIES, FACILITIES, BINS, ITEMS, VARIANTS, REASON_CODES, GRANTS, PERIODS,
        COUNT_TOLERANCES, REPLENISHMENT_RULES, VENDOR_TERMS, TRANSFER_LANES, CHANNEL_PRIORITIES,
        PURCHASE_ORDERS, GOODS_RECEIPTS, QC_DECISIONS, PUTAWAYS, POS_SALES, ECOMMERCE_ORDERS,
        WHOLESALE_ORDERS, TRANSFER_ORDERS, SHIPMENTS, COUNT_RESULTS, ADJUSTMENTS,
        CONSIGNMENT_SETTLEMENTS, RECALLS,
    )
}  # fmt: skip
MOVEMENT_FEEDS = tuple(name for name, feed in FEEDS.items() if feed.role == "movement")
