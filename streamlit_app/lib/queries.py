"""Every query the dashboards run, cached per state of the warehouse file (and for at most a
minute). Pages call these functions and only lay out what they return."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st
from lib import warehouse

if TYPE_CHECKING:
    from lib.filters import Filters

TTL = "60s"
PARAMETER = re.compile(r"\$(\w+)")
STOCK_CARD = "marts.fct_stock_card"
SALES_KINDS = ("issue", "consignment_consumption")
ADJUSTMENT_KINDS = ("adjustment", "count_variance")


@st.cache_data(ttl=TTL, show_spinner=False)
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
    found = fetch(
        "select period_id from marts.dim_periods where starts_on_date < "
        "(select starts_on_date from marts.dim_periods where period_id = $period) "
        "order by starts_on_date desc limit 1",
        {"period": period},
    )
    return None if found.empty else str(found.iloc[0, 0])


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
