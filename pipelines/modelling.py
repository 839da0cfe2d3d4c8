"""Run the replenishment, rebalancing and ABC/XYZ models on the warehouse and write their
suggestions to `marts`; turn a transfer suggestion into a ledger transfer request.

Pure Python, no Dagster import: the pipeline's model assets and the command line call
`run_models`. docs/models.md describes every input, default and output column.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from ledger import transfers
from models import abc_xyz, rebalancing, replenishment
from models.inputs import (
    CHANNEL_PRIORITIES,
    CHANNEL_SALES,
    CONSUMPTION,
    LANES,
    LEAD_TIMES,
    QTY,
    RULES,
    SALES,
    STOCK,
    VENDOR_TERMS,
    ModelInputError,
    ModelSettings,
    check_channel_priorities,
    check_lanes,
    check_rules,
    check_vendor_terms,
    conform,
    empty,
)
from pipelines.extract import warehouse_path

if TYPE_CHECKING:
    from ledger import Ledger

OUTPUT_TABLES = ("replenishment_suggestions", "transfer_suggestions", "abc_xyz")

# Marts every run needs: without them there is nothing to plan on, and the run fails.
CORE_TABLES = (
    "marts.fct_stock_card",
    "marts.dim_facilities",
    "marts.fct_receipts",
    "marts.fct_transfer_shipments",
)
# fct_transfer_shipments has one row per shipment; what each carried, by SKU, is in its lines.
SHIPMENT_LINES = "staging.stg_ledger__transfer_shipment_lines"
VARIANT_KEYS = "staging.stg_ledger__variant_keys"
SALE_KINDS = ("issue", "consignment_consumption")


class ModellingError(RuntimeError):
    """The warehouse cannot be modelled as it is (a core mart is missing)."""


# -- reading the warehouse ---------------------------------------------------------------------


def present_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables"
    ).fetchall()
    return {name for (name,) in rows}


def last_business_date(con: duckdb.DuckDBPyConnection) -> date | None:
    row = con.execute("select max(occurred_date) from marts.fct_stock_card").fetchone()
    return None if row is None else row[0]


def frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> pl.LazyFrame:
    return con.sql(sql, params=params or []).pl().lazy()


SALE_FILTER = f"""
    (
        card.event_kind in {SALE_KINDS}
        or (card.event_kind = 'reversal' and card.reversed_event_kind in {SALE_KINDS})
    )
    and card.occurred_date between ? and ?
"""

# One row per facility + SKU + day, the grain the demand statistics rely on.
SALES_SQL = f"""
select
    card.facility_id,
    card.variant_id,
    card.occurred_date as sale_date,
    sum(-card.movement_qty) as sold_qty,
from marts.fct_stock_card as card
where {SALE_FILTER}
group by all
"""

# One row per facility + SKU + demand bucket (? days ending on the planning date), dated on the
# bucket's last day: what ABC/XYZ reads, summed here rather than by day.
CONSUMPTION_SQL = f"""
with

sales as (

    select
        card.facility_id,
        card.variant_id,
        date_diff('day', card.occurred_date, cast(? as date)) // ? as bucket,
        -card.movement_qty as sold_qty,
        -card.cost_delta_amount as sold_value_amount,
    from marts.fct_stock_card as card
    where {SALE_FILTER}

)

select
    facility_id,
    variant_id,
    cast(? as date) - cast(bucket * ? as integer) as sale_date,
    sum(sold_qty) as sold_qty,
    sum(sold_value_amount) as sold_value_amount,
from sales
group by facility_id, variant_id, bucket
"""

# Per facility + SKU + channel over the planning window, dated on its last sale.
CHANNEL_SALES_SQL = f"""
select
    card.facility_id,
    card.variant_id,
    card.channel_id,
    max(card.occurred_date) as sale_date,
    sum(-card.movement_qty) as sold_qty,
from marts.fct_stock_card as card
where {SALE_FILTER}
group by all
"""

# On hand = the available bucket of the facility + SKU after its last event up to the planning
# date; in-transit nodes hold no stock to plan.
ON_HAND_SQL = """
select
    card.facility_id,
    card.variant_id,
    arg_max(card.facility_available_running_qty, card.facility_sequence) as on_hand_qty,
    min(card.occurred_date) as first_activity_date,
from marts.fct_stock_card as card
inner join marts.dim_facilities as facility
    on facility.facility_id = card.facility_id
where card.occurred_date <= ? and not facility.is_in_transit
group by all
"""


def load_sales(con: duckdb.DuckDBPyConnection, settings: ModelSettings) -> pl.LazyFrame:
    """Daily sales over the longest velocity window."""
    start = settings.as_of - timedelta(days=max(settings.velocity_windows) - 1)
    return conform(frame(con, SALES_SQL, [start, settings.as_of]), SALES, "sales")


def load_consumption(con: duckdb.DuckDBPyConnection, settings: ModelSettings) -> pl.LazyFrame:
    """Consumption by demand bucket over the ABC window."""
    start = settings.as_of - timedelta(days=settings.abc_window_days - 1)
    size, day = settings.xyz_bucket_days, settings.as_of
    sales = frame(con, CONSUMPTION_SQL, [day, size, start, day, day, size])
    return conform(sales, CONSUMPTION, "consumption")


def load_channel_sales(con: duckdb.DuckDBPyConnection, settings: ModelSettings) -> pl.LazyFrame:
    """Sales by channel over the planning window (the channel mix)."""
    start = settings.as_of - timedelta(days=settings.planning_window_days - 1)
    sales = frame(con, CHANNEL_SALES_SQL, [start, settings.as_of])
    return conform(sales, CHANNEL_SALES, "channel_sales")


@dataclass
class Loaded:
    """The models' inputs, and which optional tables were absent (their defaults stood in)."""

    sales: pl.LazyFrame
    channel_sales: pl.LazyFrame
    consumption: pl.LazyFrame
    stock: pl.LazyFrame
    lead_times: pl.LazyFrame
    rules: pl.LazyFrame
    vendor_terms: pl.LazyFrame
    lanes: pl.LazyFrame
    channel_priorities: pl.LazyFrame
    absent: list[str] = field(default_factory=list)


# Configuration delivered by feeds into raw; each may be absent (nothing configured yet).
CONFIG_SQL = {
    "raw.replenishment_rules": (
        RULES,
        check_rules,
        """select facility_code as facility_id, sku as variant_id, min_qty, max_qty,
                  service_level, capacity_qty, review_period_days
           from raw.replenishment_rules""",
    ),
    "raw.vendor_terms": (
        VENDOR_TERMS,
        check_vendor_terms,
        """select vendor_code as vendor_id, sku as variant_id, unit_cost as unit_cost_amount,
                  currency as currency_code, lead_time_days, moq as moq_qty,
                  case_pack as case_pack_qty
           from raw.vendor_terms""",
    ),
    "raw.transfer_lanes": (
        LANES,
        check_lanes,
        """select source_facility_code as source_facility_id,
                  destination_facility_code as destination_facility_id,
                  cost_per_unit as cost_per_unit_amount, currency as currency_code,
                  lead_time_days
           from raw.transfer_lanes""",
    ),
    "raw.channel_priorities": (
        CHANNEL_PRIORITIES,
        check_channel_priorities,
        "select channel as channel_id, priority from raw.channel_priorities",
    ),
}


def load_config(
    con: duckdb.DuckDBPyConnection, present: set[str], table: str, absent: list[str]
) -> pl.LazyFrame:
    """A configuration table, checked (ModelInputError names the rule broken); an absent table
    is an empty one."""
    contract, check, sql = CONFIG_SQL[table]
    if table not in present:
        absent.append(table)
        return empty(contract)
    rows = conform(frame(con, sql), contract, table.removeprefix("raw.")).collect()
    check(rows)
    return rows.lazy()


# Holds still open, and backorders recorded in the backorder window: the ledger records a
# backorder but not its fulfilment, so a recent one stands for one still owed.
RESERVATIONS_SQL = """
select
    facility_id,
    variant_id,
    sum(case when is_open then held_qty else 0 end) as reserved_qty,
    sum(
        case when cast(backordered_at as date) between ? and ? then backordered_qty else 0 end
    ) as backordered_qty,
from marts.fct_reservations
group by all
"""

INBOUND_SQL = """
select facility_id, variant_id, sum(coalesce(outstanding_qty, 0)) as inbound_qty,
from marts.fct_receipts
where receipt_status in ('open', 'partially_received')
group by all
"""

IN_TRANSIT_SQL = f"""
select
    shipment.destination_facility_id as facility_id,
    variant.variant_id,
    sum(
        line.shipped_qty - line.received_qty - line.damaged_qty - line.lost_qty
        - line.misrouted_qty
    ) as in_transit_qty,
from {SHIPMENT_LINES} as line
inner join {VARIANT_KEYS} as variant
    on variant.variant_key = line.variant_key
inner join marts.fct_transfer_shipments as shipment
    on shipment.shipment_id = line.shipment_id
where shipment.is_in_transit
group by all
"""

# Lead-time samples: vendor receipts (order registered -> first goods receipt) and transfer
# shipments (shipped -> its last unit received), one per shipment and SKU it carried.
VENDOR_LEAD_TIMES_SQL = """
select
    facility_id,
    variant_id,
    cast(null as varchar) as source_facility_id,
    cast(first_received_at as date) as received_date,
    cast(order_to_receipt_hours as double) / 24 as lead_time_days,
from marts.fct_receipts
where order_to_receipt_hours is not null
"""

TRANSFER_LEAD_TIMES_SQL = f"""
select distinct
    shipment.destination_facility_id as facility_id,
    variant.variant_id,
    shipment.source_facility_id,
    cast(shipment.received_at as date) as received_date,
    cast(shipment.lead_time_hours as double) / 24 as lead_time_days,
    shipment.shipment_id,
from marts.fct_transfer_shipments as shipment
inner join {SHIPMENT_LINES} as line
    on line.shipment_id = shipment.shipment_id
inner join {VARIANT_KEYS} as variant
    on variant.variant_key = line.variant_key
where shipment.lead_time_hours is not null
"""


def load_pending(
    con: duckdb.DuckDBPyConnection, present: set[str], settings: ModelSettings, absent: list[str]
) -> pl.LazyFrame:
    """Reserved, backordered, inbound and in-transit quantities per facility + SKU, as the
    warehouse knows them now (workflow state is current, not as of a past date). Without
    reservations, nothing is reserved or backordered; without shipment lines, nothing is in
    transit."""
    keys = ["facility_id", "variant_id"]
    parts = [frame(con, INBOUND_SQL)]
    if "marts.fct_reservations" in present:
        start = settings.as_of - timedelta(days=settings.backorder_window_days - 1)
        parts.append(frame(con, RESERVATIONS_SQL, [start, settings.as_of]))
    else:
        absent.append("marts.fct_reservations")
    if {SHIPMENT_LINES, VARIANT_KEYS} <= present:
        parts.append(frame(con, IN_TRANSIT_SQL))
    else:
        absent.append(SHIPMENT_LINES)
    pending = parts[0]
    for part in parts[1:]:
        pending = pending.join(part, on=keys, how="full", coalesce=True)
    return pending


def load_lead_times(
    con: duckdb.DuckDBPyConnection, present: set[str], absent: list[str]
) -> pl.LazyFrame:
    samples = [frame(con, VENDOR_LEAD_TIMES_SQL)]
    if {SHIPMENT_LINES, VARIANT_KEYS} <= present:
        samples.append(frame(con, TRANSFER_LEAD_TIMES_SQL).drop("shipment_id"))
    return pl.concat([conform(part, LEAD_TIMES, "lead_times") for part in samples])


def load_stock(
    con: duckdb.DuckDBPyConnection, present: set[str], settings: ModelSettings, absent: list[str]
) -> pl.LazyFrame:
    """On hand from the stock card, with reservations, backorders, inbound and in transit."""
    on_hand = frame(con, ON_HAND_SQL, [settings.as_of])
    pending = load_pending(con, present, settings, absent)
    keys = ["facility_id", "variant_id"]
    zero = pl.lit(0, QTY)
    stock = on_hand.join(pending, on=keys, how="full", coalesce=True)
    for name in ("reserved_qty", "backordered_qty", "in_transit_qty"):
        if name not in stock.collect_schema().names():
            stock = stock.with_columns(pl.lit(None, QTY).alias(name))
    stock = stock.with_columns(
        pl.col(name).fill_null(zero)
        for name in (
            "on_hand_qty",
            "reserved_qty",
            "backordered_qty",
            "inbound_qty",
            "in_transit_qty",
        )
    )
    return conform(stock, STOCK, "stock")


def load(con: duckdb.DuckDBPyConnection, settings: ModelSettings) -> Loaded:
    present = present_tables(con)
    missing = [table for table in CORE_TABLES if table not in present]
    if missing:
        raise ModellingError(
            f"{missing[0]}: the warehouse has no such table; build it first (dbt build)"
        )
    absent: list[str] = []
    config = {table: load_config(con, present, table, absent) for table in CONFIG_SQL}
    return Loaded(
        sales=load_sales(con, settings),
        channel_sales=load_channel_sales(con, settings),
        consumption=load_consumption(con, settings),
        stock=load_stock(con, present, settings, absent),
        lead_times=load_lead_times(con, present, absent),
        rules=config["raw.replenishment_rules"],
        vendor_terms=config["raw.vendor_terms"],
        lanes=config["raw.transfer_lanes"],
        channel_priorities=config["raw.channel_priorities"],
        absent=absent,
    )


# -- running the models ------------------------------------------------------------------------


def compute(inputs: Loaded, settings: ModelSettings) -> dict[str, pl.DataFrame]:
    """The three outputs. The plan and the segments are collected together (they share the
    stock); the plan and the transfers are each read twice after that, so they are collected
    before the frames that read them."""
    plan, segments = pl.collect_all(
        [
            replenishment.plan_positions(
                inputs.sales,
                inputs.channel_sales,
                inputs.stock,
                inputs.lead_times,
                inputs.rules,
                inputs.vendor_terms,
                inputs.channel_priorities,
                settings,
            ),
            abc_xyz.abc_xyz(inputs.consumption, inputs.stock, settings),
        ]
    )
    transfers = rebalancing.transfer_suggestions(
        plan.lazy(), inputs.lanes, inputs.lead_times, settings
    ).collect()
    suggestions = replenishment.replenishment_suggestions(
        plan.lazy(), transfers.lazy(), settings
    ).collect()
    return {
        "replenishment_suggestions": suggestions,
        "transfer_suggestions": transfers,
        "abc_xyz": segments,
    }


def for_warehouse(result: pl.DataFrame) -> pl.DataFrame:
    """Decimals and statistics as decimal(18, 6) — statistics rounded to 6 places — so the
    warehouse holds no binary floats."""

    def cast(dtype: pl.DataType) -> pl.DataType:
        if dtype == pl.Float64 or isinstance(dtype, pl.Decimal):
            return QTY
        if isinstance(dtype, pl.List):
            return pl.List(cast(dtype.inner))
        if isinstance(dtype, pl.Struct):
            return pl.Struct({item.name: cast(item.dtype) for item in dtype.fields})
        return dtype

    rounded = result.with_columns(pl.col(pl.Float64).round(6))
    return rounded.cast({name: cast(dtype) for name, dtype in rounded.schema.items()})


def write(con: duckdb.DuckDBPyConnection, results: Mapping[str, pl.DataFrame]) -> None:
    """Replace the three output tables in one transaction: all of them or none."""
    tables = {name: for_warehouse(result).to_arrow() for name, result in results.items()}
    con.execute("begin transaction")
    try:
        con.execute("create schema if not exists marts")
        for name, table in tables.items():
            con.register("model_output", table)
            con.execute(f"create or replace table marts.{name} as select * from model_output")
            con.unregister("model_output")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def run_models(
    warehouse: str | os.PathLike[str] | None = None,
    *,
    as_of: date | None = None,
    settings: ModelSettings | None = None,
) -> dict[str, Any]:
    """Read the warehouse, run the models as of `as_of` (default: the last business date of the
    stock card) and replace marts.replenishment_suggestions, marts.transfer_suggestions and
    marts.abc_xyz. Bad configuration raises ModelInputError before anything is written."""
    started = time.perf_counter()
    with duckdb.connect(str(warehouse_path(warehouse))) as con:
        if settings is None:
            day = as_of or last_business_date_or_today(con)
            settings = ModelSettings(as_of=day)
        inputs = load(con, settings)
        results = compute(inputs, settings)
        write(con, results)
    return {
        "as_of": settings.as_of.isoformat(),
        "rows": {name: result.height for name, result in results.items()},
        "orders": results["replenishment_suggestions"].filter(pl.col("order_qty") > 0).height,
        "defaults_for": inputs.absent,
        "seconds": round(time.perf_counter() - started, 3),
    }


def last_business_date_or_today(con: duckdb.DuckDBPyConnection) -> date:
    if "marts.fct_stock_card" not in present_tables(con):
        raise ModellingError(
            "marts.fct_stock_card: the warehouse has no such table; build it first (dbt build)"
        )
    return last_business_date(con) or datetime.now(UTC).date()


# -- from a suggestion to a transfer request ---------------------------------------------------


SUGGESTION_SQL = """
select suggestion_id, source_facility_id, destination_facility_id, variant_id, transfer_qty
from marts.transfer_suggestions
where suggestion_id = ?
"""


def find_suggestion(suggestion_id: str, warehouse: str | os.PathLike[str] | None) -> dict[str, Any]:
    with duckdb.connect(str(warehouse_path(warehouse)), read_only=True) as con:
        cursor = con.execute(SUGGESTION_SQL, [suggestion_id])
        row = cursor.fetchone()
        names = [column[0] for column in cursor.description or []]
    if row is None:
        raise ModelInputError(
            "transfer_suggestions", "suggestion_id", "must name a suggestion", suggestion_id
        )
    return dict(zip(names, row, strict=True))


def adjusted_quantity(suggestion: Mapping[str, Any], quantities: Mapping[str, Any] | None) -> str:
    """The suggested quantity, or the one given for the suggestion's SKU (exact decimal text)."""
    sku = suggestion["variant_id"]
    if quantities:
        unknown = sorted(set(quantities) - {sku})
        if unknown:
            raise ModelInputError("quantities", unknown[0], f"is not the suggestion's SKU ({sku})")
    raw = (quantities or {}).get(sku, suggestion["transfer_qty"])
    if isinstance(raw, float | bool):
        raise ModelInputError("quantities", sku, "must be a decimal string or integer, not a float")
    try:
        qty = Decimal(str(raw))
    except InvalidOperation:
        raise ModelInputError("quantities", sku, "must be a decimal number", str(raw)) from None
    if not qty.is_finite() or qty <= 0:
        raise ModelInputError("quantities", sku, "must be positive", str(raw))
    text = format(qty.normalize(), "f")
    return text


def create_transfer_from_suggestion(
    ledger: Ledger,
    suggestion_row_or_id: Mapping[str, Any] | str,
    *,
    quantities: Mapping[str, Any] | None = None,
    actor: str,
    role: str,
    idempotency_key: str | None = None,
    comment: str | None = None,
    warehouse: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """A draft transfer request in the ledger from a transfer suggestion (a row of
    marts.transfer_suggestions, or its id looked up there), linked by `suggestion_id`, with
    the suggested quantity or the adjusted one in `quantities` ({sku: qty}). The suggestion
    itself moves nothing; the request then follows the ledger's transfer workflow (submit,
    approval, shipping). The idempotency key defaults to one per suggestion, so a suggestion
    becomes at most one transfer request."""
    suggestion = (
        find_suggestion(suggestion_row_or_id, warehouse)
        if isinstance(suggestion_row_or_id, str)
        else dict(suggestion_row_or_id)
    )
    for name in ("suggestion_id", "source_facility_id", "destination_facility_id", "variant_id"):
        if not suggestion.get(name):
            raise ModelInputError("transfer_suggestions", name, "is required")
    request = {
        "idempotency_key": idempotency_key or f"suggestion-{suggestion['suggestion_id']}",
        "actor": actor,
        "role": role,
        "source": suggestion["source_facility_id"],
        "destination": suggestion["destination_facility_id"],
        "suggestion_id": suggestion["suggestion_id"],
        "lines": [
            {"sku": suggestion["variant_id"], "qty": adjusted_quantity(suggestion, quantities)}
        ],
    }
    if comment:
        request["comment"] = comment
    return transfers.request_transfer(ledger, request)
