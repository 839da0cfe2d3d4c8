"""Every query the dashboards run, cached per state of the warehouse file (and for at most a
minute). Pages call these functions and only lay out what they return."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st
from lib import warehouse

if TYPE_CHECKING:
    from lib.filters import Filters

TTL = "60s"
# Results of older states of the file are never asked for again; the bound keeps them few.
MAX_CACHED = 500
PARAMETER = re.compile(r"\$(\w+)")
STOCK_CARD = "marts.fct_stock_card"
SALES_KINDS = ("issue", "consignment_consumption")
ADJUSTMENT_KINDS = ("adjustment", "count_variance")


@st.cache_data(ttl=TTL, max_entries=MAX_CACHED, show_spinner=False)
def _read(stamp: warehouse.Stamp, sql: str, params: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    # DuckDB binds a tuple as a struct, so the lists frozen for the cache key go back to lists
    bound = {name: list(value) if isinstance(value, tuple) else value for name, value in params}
    return warehouse.read(stamp.path, sql, bound)


@st.cache_data(ttl=TTL, show_spinner=False)
def _tables(stamp: warehouse.Stamp) -> frozenset[str]:
    return warehouse.tables(stamp.path)


def fetch(
    sql: str, params: Mapping[str, Any] | None = None, needs: Sequence[str] = ()
) -> pd.DataFrame:
    """Rows of `sql` with the named parameters it uses (`$name`), after checking that the
    tables it needs are built; raises `WarehouseUnavailable` with what to run otherwise."""
    stamp = warehouse.stamp()
    if needs:
        warehouse.require(_tables(stamp), needs)
    used = set(PARAMETER.findall(sql))
    bound = tuple(
        sorted((name, freeze(value)) for name, value in (params or {}).items() if name in used)
    )
    return _read(stamp, sql, bound).copy()


def freeze(value: Any) -> Any:
    # lists are passed to DuckDB as lists; tuples keep the cache key hashable
    return tuple(value) if isinstance(value, list) else value


def has_tables(*names: str) -> bool:
    return all(name in _tables(warehouse.stamp()) for name in names)


# -- the warehouse as a whole -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Readiness:
    """A warehouse with stock events in its marts: their span and the extract's high-water mark."""

    first_date: date
    last_date: date
    event_count: int
    high_water_event_id: int | None


def readiness() -> Readiness:
    """The warehouse is ready to show, or `WarehouseUnavailable` says why not (missing, busy,
    unreadable, not built yet, or built without a single stock event)."""
    stamp = warehouse.stamp()
    if STOCK_CARD not in _tables(stamp):
        raise warehouse.WarehouseUnavailable(
            "unbuilt", f"The warehouse at `{stamp.path}` has no marts yet."
        )
    found = fetch(
        "select min(occurred_date) as first_date, max(occurred_date) as last_date, "
        "count(*) as event_count, max(event_id) as high_water_event_id from marts.fct_stock_card"
    ).iloc[0]
    if found["event_count"] == 0:
        raise warehouse.WarehouseUnavailable(
            "empty", f"The warehouse at `{stamp.path}` holds no stock events yet."
        )
    return Readiness(
        first_date=as_date(found["first_date"]),
        last_date=as_date(found["last_date"]),
        event_count=int(found["event_count"]),
        high_water_event_id=int(found["high_water_event_id"]),
    )


def as_date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else pd.Timestamp(value).date()


def end_of(day: date) -> datetime:
    return datetime.combine(day, time.max)


@dataclass(frozen=True, slots=True)
class Choices:
    """The values the filters offer."""

    facilities: tuple[str, ...]
    categories: tuple[str, ...]
    skus: tuple[str, ...]
    sku_labels: dict[str, str]
    channels: tuple[str, ...]
    periods: tuple[str, ...]
    first_date: date | None
    last_date: date | None


def choices() -> Choices:
    ready = readiness()
    variants = fetch(
        "select variant_id, coalesce(variant_name, variant_id) as variant_name, category_name "
        "from marts.dim_variants order by variant_id"
    )
    periods = fetch(
        "select period_id from marts.dim_periods where starts_on_date <= $last_date "
        "and ends_on_date >= $first_date order by starts_on_date",
        {"first_date": ready.first_date, "last_date": ready.last_date},
    )
    return Choices(
        facilities=column(fetch("select facility_id from marts.dim_facilities order by 1")),
        categories=tuple(sorted(set(variants["category_name"].dropna()))),
        skus=tuple(variants["variant_id"]),
        sku_labels={
            row.variant_id: f"{row.variant_id} · {row.variant_name}"
            for row in variants.itertuples()
        },
        channels=column(fetch("select channel_id from marts.dim_channels order by 1")),
        periods=column(periods),
        first_date=ready.first_date,
        last_date=ready.last_date,
    )


def column(frame: pd.DataFrame) -> tuple[str, ...]:
    return tuple(frame.iloc[:, 0].astype(str))


def period_bounds(period: str) -> tuple[date, date]:
    found = fetch(
        "select starts_on_date, ends_on_date from marts.dim_periods where period_id = $period",
        {"period": period},
    )
    return as_date(found.iloc[0, 0]), as_date(found.iloc[0, 1])


def previous_period(period: str) -> str | None:
    """The period before, when the warehouse has data in it (else nothing to compare with)."""
    periods = choices().periods
    place = periods.index(period) if period in periods else 0
    return periods[place - 1] if place > 0 else None


# -- overview -----------------------------------------------------------------------------------

STOCKING = "facility_id in (select facility_id from marts.dim_facilities where not is_in_transit)"


def stock_value_by_month(f: Filters) -> pd.DataFrame:
    """Owned stock at cost at the end of every period (or at the last business date)."""
    return fetch(
        f"""
        select p.starts_on_date as month_start_date, p.period_id, s.currency_code,
               sum(s.closing_value_amount) as value_amount, sum(s.closing_qty) as on_hand_qty
        from marts.fct_period_snapshots s
        join marts.dim_periods p using (period_id)
        where s.is_owned and {f.condition()}
        group by all
        order by 1
        """,
        f.params(),
    )


def turnover_by_month(f: Filters) -> pd.DataFrame:
    """Cost of goods issued and average inventory per month (in-transit node left out: it is
    not a stocking location)."""
    return fetch(
        f"""
        select month_start_date, currency_code,
               sum(cost_of_goods_issued_amount) as cost_of_goods_issued_amount,
               sum(average_inventory_value_amount) as average_inventory_value_amount
        from marts.rpt_inventory_turnover
        where {STOCKING} and {f.condition()}
        group by all
        order by 1
        """,
        f.params(),
    )


def stockouts_by_month(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select month_start_date, sum(stockout_days) as stockout_days,
               sum(stockout_count) as stockout_count, sum(tracked_days) as tracked_days
        from marts.rpt_stockout_frequency
        where {STOCKING} and {f.condition()}
        group by all
        order by 1
        """,
        f.params(),
    )


def shrink_by_month(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select month_start_date, currency_code, sum(shrink_qty) as shrink_qty,
               sum(shrink_value_amount) as shrink_value_amount
        from marts.rpt_shrinkage
        where {f.condition()}
        group by all
        order by 1
        """,
        f.params(),
    )


def fefo_by_month(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select month_start_date, sum(lot_issue_count) as lot_issue_count,
               sum(compliant_issue_count) as compliant_issue_count
        from marts.rpt_fefo_compliance
        where {f.condition()}
        group by all
        order by 1
        """,
        f.params(),
    )


def sales_by_month(f: Filters) -> pd.DataFrame:
    """Units sold (issues and sales of consigned stock, net of their reversals) by channel."""
    return fetch(
        f"""
        select date_trunc('month', occurred_date)::date as month_start_date, channel_id,
               -sum(movement_qty) as sold_qty
        from marts.fct_stock_card
        where (event_kind in {SALES_KINDS} or reversed_event_kind in {SALES_KINDS})
          and {f.condition(channel="channel_id")}
        group by all
        order by 1
        """,
        f.params(),
    )


def lots_by_expiry(f: Filters, statuses: Sequence[str]) -> pd.DataFrame:
    return fetch(
        f"""
        select facility_id, variant_id, lot_number, expires_on_date, days_to_expiry,
               expiry_status, on_hand_qty, available_qty
        from marts.rpt_expiry_risk
        where on_hand_qty > 0 and list_contains($statuses, expiry_status) and {f.condition()}
        order by expires_on_date, facility_id, variant_id
        """,
        {**f.params(), "statuses": list(statuses)},
    )


def stocked_out(f: Filters) -> pd.DataFrame:
    """Facility + SKUs whose available stock is at or below zero after their last movement."""
    return fetch(
        f"""
        select facility_id, variant_id, facility_available_running_qty as available_qty,
               occurred_at as since_at
        from marts.fct_stock_card
        where {STOCKING} and {f.condition()}
        qualify row_number() over (
            partition by facility_id, variant_id order by facility_sequence desc
        ) = 1 and facility_available_running_qty <= 0
        order by facility_id, variant_id
        """,
        f.params(),
    )


def unreconciled(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select facility_id, variant_id, warehouse_qty, ledger_qty, difference_qty,
               is_extract_consistent
        from marts.rpt_ledger_reconciliation
        where not is_reconciled and {f.condition()}
        order by facility_id, variant_id
        """,
        f.params(),
    )


# -- stock lookup and stock card ----------------------------------------------------------------


def find_variants(text: str) -> pd.DataFrame:
    """The variant whose SKU or barcode is exactly `text` (any case), else those whose SKU, name
    or barcode contains it."""
    return fetch(
        """
        select variant_id, variant_name, barcode, uom_code, category_name,
               (lower(variant_id) = lower($text) or barcode = $text) as is_exact
        from marts.dim_variants
        where lower(variant_id) = lower($text) or barcode = $text
           or contains(lower(variant_id), lower($text))
           or contains(lower(coalesce(variant_name, '')), lower($text))
           or contains(coalesce(barcode, ''), $text)
        order by is_exact desc, variant_id
        limit 50
        """,
        {"text": text.strip()},
    )


# Every position of a SKU as it stood at the end of a business date, zero balances included
# (a facility that sold out still shows, at 0), in the stock card's business-time order.
POSITIONS_AS_OF = """
    select c.position_id, c.facility_id, c.bucket, c.owner_id, c.is_owned,
           max_by(c.running_qty, c.position_sequence) as on_hand_qty,
           max(c.occurred_at) as last_movement_at
    from marts.fct_stock_card c
    where c.variant_id = $sku and c.occurred_at <= $as_of
    group by all
"""


def positions_as_of(sku: str, as_of: date) -> pd.DataFrame:
    """Every position of the SKU holding stock at the end of a business date; quantities only."""
    return fetch(
        f"""
        with positions as ({POSITIONS_AS_OF})
        select s.facility_id, f.facility_name, f.facility_type, p.bin_code, p.lot_number,
               s.bucket, s.owner_id, s.is_owned, s.on_hand_qty, s.last_movement_at
        from positions s
        join marts.dim_facilities f using (facility_id)
        join marts.dim_positions p using (position_id)
        where s.on_hand_qty <> 0
        order by f.is_in_transit, s.facility_id, p.bin_code, p.lot_number, s.bucket
        """,
        {"sku": sku, "as_of": end_of(as_of)},
    )


def facilities_of(sku: str) -> tuple[str, ...]:
    return column(
        fetch(
            "select distinct facility_id from marts.fct_stock_card where variant_id = $sku "
            "order by 1",
            {"sku": sku},
        )
    )


def stock_card(sku: str, facility: str, f: Filters) -> pd.DataFrame:
    """The stock card of a facility + SKU in business-time order with its running balances
    (quantities; values are on the valuation page)."""
    return fetch(
        f"""
        select c.occurred_at, c.event_kind, c.reason_code, c.channel_id, c.movement_qty,
               c.facility_running_qty, c.facility_available_running_qty, p.bin_code,
               p.lot_number, c.bucket, c.owner_id, c.running_qty as position_running_qty,
               c.event_id, c.reversed_event_kind, c.reverses_event_id, c.period_id
        from marts.fct_stock_card c
        join marts.dim_positions p using (position_id)
        where c.variant_id = $sku and c.facility_id = $facility
          and {f.condition(facility=None, sku=None, day="c.occurred_date")}
        order by c.facility_sequence
        """,
        {**f.params(), "sku": sku, "facility": facility},
    )


def stock_card_totals(sku: str, facility: str, f: Filters) -> dict[str, Decimal]:
    """Opening (before the first date), in, out and closing (at the last date) of a facility +
    SKU over the chosen dates."""
    within = f.condition(facility=None, sku=None, day="occurred_date")
    before = "occurred_date < $date_from" if f.date_from else "false"
    found = fetch(
        f"""
        select coalesce(sum(movement_qty) filter (where {before}), 0) as opening_qty,
               coalesce(sum(movement_qty) filter (where {within} and movement_qty > 0), 0)
                   as in_qty,
               coalesce(-sum(movement_qty) filter (where {within} and movement_qty < 0), 0)
                   as out_qty,
               coalesce(sum(movement_qty) filter (where {before} or ({within})), 0)
                   as closing_qty
        from marts.fct_stock_card
        where variant_id = $sku and facility_id = $facility
        """,
        {**f.params(), "sku": sku, "facility": facility},
    )
    return {name: Decimal(value) for name, value in found.iloc[0].items()}


def stock_by_facility(sku: str, as_of: date) -> pd.DataFrame:
    """Per facility where the SKU has moved: on hand (every bin, lot, bucket and owner), each
    bucket, and how much of it is consigned (vendor-owned), at the end of a business date."""
    return fetch(
        f"""
        with positions as ({POSITIONS_AS_OF})
        select s.facility_id, f.facility_name,
               sum(s.on_hand_qty) as on_hand_qty,
               coalesce(sum(s.on_hand_qty) filter (where s.bucket = 'available'), 0)
                   as available_qty,
               coalesce(sum(s.on_hand_qty) filter (where s.bucket = 'quarantine'), 0)
                   as quarantine_qty,
               coalesce(sum(s.on_hand_qty) filter (where s.bucket = 'damaged'), 0)
                   as damaged_qty,
               coalesce(sum(s.on_hand_qty) filter (where s.bucket = 'in_transit'), 0)
                   as in_transit_qty,
               coalesce(sum(s.on_hand_qty) filter (where not s.is_owned), 0) as consigned_qty
        from positions s
        join marts.dim_facilities f using (facility_id)
        group by all
        order by any_value(f.is_in_transit), s.facility_id
        """,
        {"sku": sku, "as_of": end_of(as_of)},
    )


# -- adjustments and shrink ---------------------------------------------------------------------


def adjustment_trend(f: Filters) -> pd.DataFrame:
    """Adjustments and count variances by reason and month (a reversal with what it reverses)."""
    return fetch(
        f"""
        select month_start_date, facility_id, reason_code, reason_description, event_kind,
               event_count, increase_qty, decrease_qty, net_qty, net_value_amount, currency_code
        from marts.rpt_adjustment_trend
        where {f.condition(sku=None, month="month_start_date")}
        order by month_start_date, facility_id, reason_code
        """,
        f.params(),
    )


def shrinkage(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select month_start_date, facility_id, variant_id, adjustment_count, shrink_qty,
               shrink_value_amount, shrink_rate, currency_code
        from marts.rpt_shrinkage
        where {f.condition(month="month_start_date")}
        order by month_start_date, facility_id, variant_id
        """,
        f.params(),
    )


def adjustment_events(f: Filters) -> pd.DataFrame:
    """Every adjustment and count variance (and their reversals), quantities only."""
    return fetch(
        f"""
        select c.occurred_at, c.event_id, c.facility_id, c.variant_id, p.bin_code,
               p.lot_number, c.bucket, c.event_kind, c.reversed_event_kind,
               coalesce(c.reason_code, r.reason_code) as reason_code, c.movement_qty
        from marts.fct_stock_card c
        join marts.dim_positions p using (position_id)
        left join marts.fct_stock_card r on r.event_id = c.reverses_event_id
        where (c.event_kind in {ADJUSTMENT_KINDS} or c.reversed_event_kind in {ADJUSTMENT_KINDS})
          and {f.condition(facility="c.facility_id", sku="c.variant_id", day="c.occurred_date")}
        order by c.occurred_at desc, c.event_id desc
        """,
        f.params(),
    )


# -- aging and expiry ---------------------------------------------------------------------------


def aging(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select as_of_date, facility_id, variant_id, age_bucket_number, age_bucket, aging_method,
               on_hand_qty, oldest_received_date
        from marts.rpt_inventory_aging
        where {f.condition()}
        order by facility_id, variant_id, age_bucket_number
        """,
        f.params(),
    )


def expiry(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select as_of_date, facility_id, variant_id, lot_number, expires_on_date, days_to_expiry,
               expiry_status, on_hand_qty, available_qty
        from marts.rpt_expiry_risk
        where {f.condition()}
        order by expires_on_date, facility_id, variant_id
        """,
        f.params(),
    )


def fefo(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select month_start_date, facility_id, variant_id, lot_issue_count,
               compliant_issue_count, non_compliant_qty, fefo_compliance_rate
        from marts.rpt_fefo_compliance
        where {f.condition(month="month_start_date")}
        order by month_start_date, facility_id, variant_id
        """,
        f.params(),
    )


def lot_issues_out_of_order(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select occurred_at, event_id, facility_id, variant_id, lot_id, expires_on_date,
               issued_qty, fefo_lot_id, fefo_expires_on_date
        from marts.fct_lot_issues
        where not is_fefo_compliant and {f.condition(day="occurred_date")}
        order by occurred_at desc
        """,
        f.params(),
    )


# -- valuation ----------------------------------------------------------------------------------


def value_by_category(f: Filters) -> pd.DataFrame:
    """Owned stock at cost at the end of the chosen period, per facility and category."""
    return fetch(
        f"""
        select s.facility_id, v.category_name, s.currency_code,
               sum(s.closing_qty) as closing_qty,
               sum(s.closing_value_amount) as closing_value_amount
        from marts.fct_period_snapshots s
        join marts.dim_variants v using (variant_id)
        where s.is_owned and s.period_id = $period
          and {f.condition(facility="s.facility_id", sku="s.variant_id")}
        group by all
        having sum(s.closing_qty) <> 0 or sum(s.closing_value_amount) <> 0
        order by s.facility_id, v.category_name
        """,
        f.params(),
    )


def valuation_positions(f: Filters) -> pd.DataFrame:
    """Per facility + SKU at the end of the chosen period: owned quantity, value, unit cost
    (value ÷ quantity to six places, half away from zero, as the ledger rounds costs)."""
    found = fetch(
        f"""
        select s.facility_id, s.variant_id, v.costing_method, s.currency_code,
               sum(s.closing_qty) as closing_qty,
               sum(s.closing_value_amount) as closing_value_amount
        from marts.fct_period_snapshots s
        join marts.dim_variants v using (variant_id)
        where s.is_owned and s.period_id = $period
          and {f.condition(facility="s.facility_id", sku="s.variant_id")}
        group by all
        having sum(s.closing_qty) <> 0 or sum(s.closing_value_amount) <> 0
        order by s.facility_id, s.variant_id
        """,
        f.params(),
    )
    # DuckDB divides decimals in binary floating point, so the division is done here
    found["unit_cost_amount"] = [
        cost_per_unit(value, qty)
        for value, qty in zip(found["closing_value_amount"], found["closing_qty"], strict=True)
    ]
    return found


def cost_per_unit(value: Decimal, qty: Decimal) -> Decimal | None:
    if not qty:
        return None
    return (value / qty).quantize(Decimal("0.000001"), ROUND_HALF_UP)


def cost_history(sku: str, facility: str) -> pd.DataFrame:
    return fetch(
        """
        select occurred_at, event_id, event_kind, reason_code, movement_qty, cost_delta_amount,
               cost_qty_after, cost_value_after_amount, avg_cost_after_amount, currency_code
        from marts.fct_average_cost_history
        where variant_id = $sku and facility_id = $facility
        order by event_id
        """,
        {"sku": sku, "facility": facility},
    )


def cost_layers(sku: str, facility: str) -> pd.DataFrame:
    return fetch(
        """
        select layer_id, layer_kind, opened_at, opened_event_kind, unit_cost_amount, opened_qty,
               issued_qty, reversed_qty, remaining_qty, remaining_value_amount,
               revaluation_amount, is_open, currency_code
        from marts.fct_cost_layers
        where variant_id = $sku and facility_id = $facility
        order by opened_at, layer_id
        """,
        {"sku": sku, "facility": facility},
    )


def layer_consumptions(sku: str, facility: str) -> pd.DataFrame:
    return fetch(
        """
        select occurred_at, event_id, event_kind, layer_id, layer_opened_at,
               layer_unit_cost_amount, consumed_qty, consumed_value_amount, currency_code
        from marts.fct_cost_layer_consumptions
        where variant_id = $sku and facility_id = $facility
        order by occurred_at, event_id, layer_id
        """,
        {"sku": sku, "facility": facility},
    )


def valued_positions() -> pd.DataFrame:
    """Facility + SKUs with owned cost history, for the valuation drill-down."""
    return fetch(
        """
        select distinct facility_id, variant_id, costing_method
        from marts.fct_average_cost_history
        order by facility_id, variant_id
        """
    )


# -- data quality -------------------------------------------------------------------------------


def reconciliation(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select facility_id, variant_id, warehouse_qty, ledger_qty, difference_qty,
               warehouse_value_amount, ledger_value_amount, difference_value_amount,
               currency_code, is_reconciled, is_extract_consistent, high_water_event_id
        from marts.rpt_ledger_reconciliation
        where {f.condition()}
        order by is_reconciled, facility_id, variant_id
        """,
        f.params(),
    )


def extract_runs() -> pd.DataFrame:
    return fetch(
        """
        select extracted_at, is_full_refresh, events_extracted, high_water_event_id,
               is_state_consistent
        from raw.extract_runs
        order by extracted_at desc
        limit 50
        """,
        needs=("raw.extract_runs",),
    )


# -- transfers ----------------------------------------------------------------------------------

# The lifecycle's stages in order; a transfer's status tells the furthest stage it reached.
TRANSFER_STAGES = ("requested", "submitted", "shipped", "receipt started", "completed")
STATUS_RANK = {
    "draft": 1, "pending_approval": 1, "cancelled": 1, "submitted": 2, "shipping": 3,
    "receiving": 4, "received": 5, "received_with_exceptions": 5,
}  # fmt: skip


def on_lane(f: Filters, source: str = "source_facility_id") -> str:
    """A transfer belongs to a facility that is its source or its destination."""
    if not f.facilities:
        return "true"
    destination = source.replace("source", "destination")
    return f"(list_contains($facilities, {source}) or list_contains($facilities, {destination}))"


def transfer_totals(f: Filters) -> pd.DataFrame:
    """Open transfers, shipments in transit and overdue, on-time and short-ship counts."""
    return fetch(
        f"""
        select count(*) as transfer_count,
               count(*) filter (where is_open) as open_transfer_count,
               count(*) filter (where transfer_status = 'pending_approval')
                   as pending_approval_count,
               count(*) filter (where is_completed) as completed_transfer_count,
               count(*) filter (where is_on_time) as on_time_transfer_count,
               count(*) filter (where is_completed and is_short_shipped)
                   as short_shipped_transfer_count,
               coalesce(sum(in_transit_shipment_count), 0) as in_transit_shipment_count,
               coalesce(sum(overdue_shipment_count), 0) as overdue_shipment_count,
               coalesce(sum(in_transit_qty), 0) as in_transit_qty
        from marts.fct_transfers
        where {on_lane(f)}
        """,
        f.params(),
        needs=("marts.fct_transfers",),
    )


def transfer_funnel(f: Filters) -> pd.DataFrame:
    """How many transfers reached each stage of the lifecycle (a received transfer has been
    requested, submitted, shipped and received); cancelled ones stop at requested."""
    ranks = " ".join(f"when '{status}' then {rank}" for status, rank in STATUS_RANK.items())
    stages = ", ".join(
        f"({number}, '{stage}')" for number, stage in enumerate(TRANSFER_STAGES, start=1)
    )
    return fetch(
        f"""
        with ranked as (
            select case transfer_status {ranks} end as status_rank
            from marts.fct_transfers
            where {on_lane(f)}
        ),
        stages(stage_number, stage) as (values {stages})
        select s.stage_number, s.stage,
               count(r.status_rank) as transfer_count
        from stages s
        left join ranked r on r.status_rank >= s.stage_number
        group by all
        order by s.stage_number
        """,
        f.params(),
        needs=("marts.fct_transfers",),
    )


def transfer_statuses(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select transfer_status, count(*) as transfer_count, sum(requested_qty) as requested_qty,
               sum(shipped_qty) as shipped_qty, sum(received_qty) as received_qty
        from marts.fct_transfers
        where {on_lane(f)}
        group by all
        order by transfer_count desc, transfer_status
        """,
        f.params(),
        needs=("marts.fct_transfers",),
    )


def lead_time_distribution(f: Filters, basis: str) -> pd.DataFrame:
    return fetch(
        f"""
        select lead_time_bucket_number, lead_time_bucket, sum(sample_count) as sample_count,
               sum(on_time_count) as on_time_count
        from marts.rpt_transfer_lead_times
        where lead_time_basis = $basis and {on_lane(f)}
        group by all
        order by lead_time_bucket_number
        """,
        {**f.params(), "basis": basis},
        needs=("marts.rpt_transfer_lead_times",),
    )


def lanes(f: Filters) -> pd.DataFrame:
    """Per source → destination pair: transfers, quantities and exceptions."""
    return fetch(
        f"""
        select source_facility_id, destination_facility_id, transfer_count,
               open_transfer_count, completed_transfer_count, on_time_transfer_count,
               avg_lead_time_hours, shipped_qty, received_qty, exception_qty, in_transit_qty
        from marts.rpt_transfer_summary
        where summary_level = 'lane' and {on_lane(f)}
        order by source_facility_id, destination_facility_id
        """,
        f.params(),
        needs=("marts.rpt_transfer_summary",),
    )


def shipments(f: Filters) -> pd.DataFrame:
    """Every shipment with its status and exceptions, those needing attention first."""
    return fetch(
        f"""
        select shipment_id, transfer_id, shipment_no, source_facility_id,
               destination_facility_id, shipment_status, carrier, shipped_at, received_at,
               shipped_qty, received_qty, short_qty, damaged_qty, lost_qty, misrouted_qty,
               in_transit_qty, exception_count, short_exception_count, damaged_exception_count,
               lost_exception_count, misrouted_exception_count, lead_time_hours,
               expected_lead_time_hours, is_on_time, in_transit_hours, is_overdue
        from marts.fct_transfer_shipments
        where {on_lane(f)} and {f.condition(facility=None, sku=None, day="shipped_at::date")}
        order by is_overdue desc, exception_count desc, shipped_at desc
        """,
        f.params(),
        needs=("marts.fct_transfer_shipments",),
    )


def transfer_volumes(f: Filters, grain: str) -> pd.DataFrame:
    return fetch(
        f"""
        select period_start_date, sum(requested_qty) as requested_qty,
               sum(shipped_qty) as shipped_qty, sum(received_qty) as received_qty
        from marts.rpt_transfer_volumes
        where date_grain = $grain and {on_lane(f)}
          and {f.condition(facility=None, sku=None, month="period_start_date")}
        group by all
        order by period_start_date
        """,
        {**f.params(), "grain": grain},
        needs=("marts.rpt_transfer_volumes",),
    )


def transfer_performance(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select month_start_date, source_facility_id, destination_facility_id,
               completed_transfer_count, on_time_transfer_count, on_time_rate,
               short_shipped_transfer_count, short_ship_rate, avg_lead_time_hours,
               expected_lead_time_hours, lead_time_source, approved_qty, received_qty, fill_rate
        from marts.rpt_transfer_performance
        where {on_lane(f)} and {f.condition(facility=None, sku=None, month="month_start_date")}
        order by month_start_date, source_facility_id, destination_facility_id
        """,
        f.params(),
        needs=("marts.rpt_transfer_performance",),
    )


def transfer_timeliness_by_month(f: Filters) -> pd.DataFrame:
    """Completed transfers and those on time, per month of completion."""
    return fetch(
        f"""
        select month_start_date, sum(completed_transfer_count) as completed_transfer_count,
               sum(on_time_transfer_count) as on_time_transfer_count
        from marts.rpt_transfer_performance
        where {on_lane(f)}
        group by all
        order by 1
        """,
        f.params(),
        needs=("marts.rpt_transfer_performance",),
    )


# -- workflows: pending actions, fill rate, counts, cycle times --------------------------------


def pending_actions(f: Filters) -> pd.DataFrame:
    """The queue of actions waiting for a person, oldest first."""
    return fetch(
        f"""
        select action_type, facility_code, reference, detail, since_at, as_of_at
        from marts.rpt_pending_actions
        where {f.condition(facility="facility_code", sku=None)}
        order by since_at, action_type, reference
        """,
        f.params(),
        needs=("marts.rpt_pending_actions",),
    )


def fill_rate_by_month(f: Filters) -> pd.DataFrame:
    """Demand that stood and what was filled, per month the reservations were made in."""
    return fetch(
        f"""
        select month_start_date, sum(demanded_qty) as demanded_qty, sum(filled_qty) as filled_qty
        from marts.rpt_fill_rate
        where {f.condition(sku=None, channel="channel_id")}
        group by all
        order by 1
        """,
        f.params(),
        needs=("marts.rpt_fill_rate",),
    )


def fill_rate(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select month_start_date, channel_id, facility_id, reservation_count,
               open_reservation_count, demanded_qty, filled_qty, short_qty, backordered_qty,
               cancelled_qty, expired_qty, open_held_qty, fill_rate, line_fill_rate,
               backorder_rate
        from marts.rpt_fill_rate
        where {f.condition(sku=None, channel="channel_id", month="month_start_date")}
        order by month_start_date, channel_id, facility_id
        """,
        f.params(),
        needs=("marts.rpt_fill_rate",),
    )


def cycle_times(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select month_start_date, facility_id, process, step, sample_count, avg_hours,
               p50_hours, p90_hours, min_hours, max_hours
        from marts.rpt_cycle_times
        where {f.condition(sku=None, month="month_start_date")}
        order by month_start_date, process, step_order, facility_id
        """,
        f.params(),
        needs=("marts.rpt_cycle_times",),
    )


def accuracy_by_month(f: Filters) -> pd.DataFrame:
    """Counted positions and those within tolerance, per month of the counts."""
    return fetch(
        f"""
        select month_start_date, sum(counted_position_count) as counted_position_count,
               sum(within_tolerance_count) as within_tolerance_count
        from marts.rpt_stock_accuracy
        where {f.condition(sku=None)}
        group by all
        order by 1
        """,
        f.params(),
        needs=("marts.rpt_stock_accuracy",),
    )


def count_totals(f: Filters) -> dict[str, Any]:
    """Over every count line in the filters: positions counted, within tolerance, matching
    exactly, recounts waiting, and the absolute variance."""
    found = fetch(
        f"""
        select count(*) filter (where is_counted) as counted_position_count,
               count(*) filter (where is_counted and is_within_tolerance)
                   as within_tolerance_count,
               count(*) filter (where is_counted and variance_qty = 0) as exact_match_count,
               count(*) filter (where is_recount_required and not is_recount_done
                                and not is_final) as recounts_waiting,
               coalesce(sum(absolute_variance_qty) filter (where is_counted), 0)
                   as absolute_variance_qty
        from marts.fct_count_lines
        where {f.condition()}
        """,
        f.params(),
        needs=("marts.fct_count_lines",),
    )
    return dict(found.iloc[0])


def stock_accuracy(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select month_start_date, facility_id, counted_position_count, within_tolerance_count,
               exact_match_count, stock_accuracy_rate, exact_match_rate, absolute_variance_qty
        from marts.rpt_stock_accuracy
        where {f.condition(sku=None)}
        order by month_start_date, facility_id
        """,
        f.params(),
        needs=("marts.rpt_stock_accuracy",),
    )


def count_variance(f: Filters) -> pd.DataFrame:
    return fetch(
        f"""
        select month_start_date, facility_id, category_name, counted_line_count,
               variance_line_count, recount_required_count, beyond_tolerance_count,
               system_qty, counted_qty, net_variance_qty, absolute_variance_qty,
               absolute_variance_rate, net_variance_value_amount, currency_code
        from marts.rpt_count_variance
        where {f.condition(sku=None, category="category_name")}
        order by month_start_date, facility_id, category_name
        """,
        f.params(),
        needs=("marts.rpt_count_variance",),
    )


def count_lines(f: Filters) -> pd.DataFrame:
    """Every count line (quantities only), those waiting for a recount first."""
    return fetch(
        f"""
        select session_id, line_no, facility_id, bin_id, variant_id, lot_id, bucket,
               session_status, line_status, snapshot_qty, system_qty, first_counted_qty,
               counted_qty, variance_qty, is_within_tolerance, is_recount_required,
               is_recount_done, first_counter, recount_counter, counted_at, finalised_at,
               finalised_by
        from marts.fct_count_lines
        where {f.condition()}
        order by (line_status = 'recount_required') desc, session_id desc, line_no
        """,
        f.params(),
        needs=("marts.fct_count_lines",),
    )


def negative_positions(f: Filters, as_of: date) -> pd.DataFrame:
    """Positions below zero at the end of a business date (allowed only by policy)."""
    return fetch(
        f"""
        select facility_id, variant_id, bin_id, lot_id, bucket, owner_id, on_hand_qty,
               last_movement_at
        from marts.stock_as_of($as_of::timestamp)
        where on_hand_qty < 0 and {f.condition()}
        order by facility_id, variant_id
        """,
        {**f.params(), "as_of": end_of(as_of)},
    )


# -- feeds and pipeline runs --------------------------------------------------------------------


def pipeline_runs() -> pd.DataFrame:
    """The pipeline's runs, latest first."""
    return fetch(
        """
        select run_id, job, status, started_at, finished_at, files, rows_rejected,
               events_posted, refusals, events_extracted, models_built, quality_passed,
               failed_checks, quality_report
        from raw.pipeline_runs
        order by started_at desc
        limit 100
        """,
        needs=("raw.pipeline_runs",),
    )


def in_run(run_id: str | None) -> str:
    return "run_id = $run_id" if run_id else "true"


def rejects_by_rule(run_id: str | None) -> pd.DataFrame:
    return fetch(
        f"""
        select feed, rule, field, count(*) as rejected_count,
               count(distinct file || '#' || row_number) as row_count
        from raw.rejects
        where {in_run(run_id)}
        group by all
        order by rejected_count desc, feed, rule
        """,
        {"run_id": run_id},
        needs=("raw.rejects",),
    )


def rejects(run_id: str | None) -> pd.DataFrame:
    return fetch(
        f"""
        select rejected_at, feed, file, row_number, source_ref, field, rule, message, run_id
        from raw.rejects
        where {in_run(run_id)}
        order by rejected_at desc, feed, file, row_number
        limit 5000
        """,
        {"run_id": run_id},
        needs=("raw.rejects",),
    )


def refusals(run_id: str | None) -> pd.DataFrame:
    return fetch(
        f"""
        select refused_at, feed, file, row_number, source_ref, idempotency_key, code, field,
               message, run_id
        from raw.posting_refusals
        where {in_run(run_id)}
        order by refused_at desc, feed, file, row_number
        limit 5000
        """,
        {"run_id": run_id},
        needs=("raw.posting_refusals",),
    )


def feed_files(run_id: str | None) -> pd.DataFrame:
    return fetch(
        f"""
        select processed_at, feed, file, format, rows, valid_rows, rejected_rows, posted_rows,
               refused_rows, replayed_rows, run_id
        from raw.feed_files
        where {in_run(run_id)}
        order by processed_at desc, feed, file
        limit 5000
        """,
        {"run_id": run_id},
        needs=("raw.feed_files",),
    )


# -- replenishment and rebalancing suggestions -------------------------------------------------

ABC_CLASSES = ("A", "B", "C")
XYZ_CLASSES = ("X", "Y", "Z")
SUGGESTION_TABLES = (
    "marts.replenishment_suggestions",
    "marts.transfer_suggestions",
    "marts.abc_xyz",
)


def in_segments(abc: Sequence[str], xyz: Sequence[str]) -> str:
    """A condition on the ABC and XYZ classes of marts.abc_xyz joined in as `seg`."""
    parts = ["true"]
    if abc:
        parts.append("list_contains($abc, seg.abc_class)")
    if xyz:
        parts.append("list_contains($xyz, seg.xyz_class)")
    return " and ".join(parts)


def replenishment_suggestions(f: Filters, abc: Sequence[str], xyz: Sequence[str]) -> pd.DataFrame:
    """One suggestion per facility + SKU with its segment, quantities, levels, expected impact
    and rationale (no unit costs: those are on the valuation page)."""
    return fetch(
        f"""
        select s.as_of_date, s.facility_id, s.variant_id, seg.segment, s.decision,
               s.order_qty, s.vendor_id, s.need_qty, s.transfer_in_qty, s.transfer_out_qty,
               s.transfer_sources, s.on_hand_qty, s.reserved_qty, s.backordered_qty,
               s.inbound_qty, s.in_transit_qty, s.inventory_position_qty,
               s.position_after_qty, s.demand_qty_per_day, s.lead_time_days,
               s.safety_stock_qty, s.reorder_point_qty, s.order_up_to_qty, s.level_source,
               s.days_of_cover_before, s.days_of_cover_after, s.stockout_risk_before,
               s.stockout_risk_after, array_to_string(s.constraints, ', ') as constraints,
               s.rationale
        from marts.replenishment_suggestions s
        left join marts.abc_xyz seg using (facility_id, variant_id)
        where {f.condition(facility="s.facility_id", sku="s.variant_id")}
          and {in_segments(abc, xyz)}
        order by (s.order_qty > 0) desc, s.facility_id, s.variant_id
        """,
        {**f.params(), "abc": list(abc), "xyz": list(xyz)},
        needs=SUGGESTION_TABLES,
    )


def order_totals(f: Filters, abc: Sequence[str], xyz: Sequence[str]) -> pd.DataFrame:
    """Orders suggested per currency: how many, how much, and their value at the vendors' cost."""
    return fetch(
        f"""
        select s.currency_code, count(*) as order_count, sum(s.order_qty) as order_qty,
               sum(s.order_value_amount) as order_value_amount
        from marts.replenishment_suggestions s
        left join marts.abc_xyz seg using (facility_id, variant_id)
        where s.order_qty > 0
          and {f.condition(facility="s.facility_id", sku="s.variant_id")}
          and {in_segments(abc, xyz)}
        group by all
        """,
        {**f.params(), "abc": list(abc), "xyz": list(xyz)},
        needs=SUGGESTION_TABLES,
    )


def transfer_suggestions(f: Filters, abc: Sequence[str], xyz: Sequence[str]) -> pd.DataFrame:
    """Rebalancing suggestions, segmented by the destination's ABC/XYZ class."""
    return fetch(
        f"""
        select s.as_of_date, s.variant_id, s.source_facility_id, s.destination_facility_id,
               seg.segment, s.transfer_qty, s.destination_need_qty, s.destination_position_qty,
               s.destination_reorder_point_qty, s.destination_order_up_to_qty,
               s.source_available_qty, s.source_kept_qty, s.is_source_protected,
               s.lane_lead_time_days, s.vendor_id, s.vendor_lead_time_days, s.is_faster,
               s.is_cheaper, s.destination_cover_before_days, s.destination_cover_after_days,
               array_to_string(s.constraints, ', ') as constraints, s.rationale
        from marts.transfer_suggestions s
        left join marts.abc_xyz seg
          on seg.facility_id = s.destination_facility_id and seg.variant_id = s.variant_id
        where {on_lane(f, "s.source_facility_id")}
          and {f.condition(facility=None, sku="s.variant_id")}
          and {in_segments(abc, xyz)}
        order by s.variant_id, s.destination_facility_id, s.source_facility_id
        """,
        {**f.params(), "abc": list(abc), "xyz": list(xyz)},
        needs=SUGGESTION_TABLES,
    )


def segments(f: Filters, abc: Sequence[str], xyz: Sequence[str]) -> pd.DataFrame:
    return fetch(
        f"""
        select seg.as_of_date, seg.facility_id, seg.variant_id, seg.segment, seg.abc_class,
               seg.xyz_class, seg.consumption_qty, seg.value_share, seg.cumulative_value_share,
               seg.demand_cv, seg.count_interval_days, seg.rationale
        from marts.abc_xyz seg
        where {f.condition(facility="seg.facility_id", sku="seg.variant_id")}
          and {in_segments(abc, xyz)}
        order by seg.facility_id, seg.segment, seg.variant_id
        """,
        {**f.params(), "abc": list(abc), "xyz": list(xyz)},
        needs=SUGGESTION_TABLES,
    )
