"""Overview: the period's KPIs against the period before, the actions waiting, and exceptions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import streamlit as st
from lib import filters, formats, layout, queries

st.title("Overview")
chosen = filters.sidebar(channel=True, period=True)
period = chosen.period or queries.choices().periods[-1]
month, _ = queries.period_bounds(period)
before = queries.previous_period(period)
previous = queries.period_bounds(before)[0] if before else None
st.caption(
    f"Period **{period}**"
    + (f", compared with {before}" if before else "")
    + ". Values are owned stock at cost; the channel filter applies to units sold."
)


def at(frame: pd.DataFrame, when: date | None, column: str) -> Decimal | None:
    """The month's total of a column; None when the month has no row (no data, not zero)."""
    if when is None or frame.empty:
        return None
    rows = frame[frame["month_start_date"].map(queries.as_date) == when]
    return None if rows.empty else sum(rows[column].map(formats.decimal), Decimal(0))


def trend(frame: pd.DataFrame, column: str) -> list[float]:
    """The months up to this one, for the card's small chart."""
    if frame.empty:
        return []
    upto = frame[frame["month_start_date"].map(queries.as_date) <= month]
    return [float(value) for value in upto.groupby("month_start_date")[column].sum()]


def currencies(*frames: pd.DataFrame) -> str | None:
    found = {c for frame in frames if not frame.empty for c in frame["currency_code"].dropna()}
    return found.pop() if len(found) == 1 else None


def money_card(label: str, frame: pd.DataFrame, column: str, **options: object) -> None:
    currency = currencies(frame)

    def show(value: Decimal | None) -> str:
        return formats.money(value, currency)

    current, before = at(frame, month, column), at(frame, previous, column)
    layout.kpi(label, current, before, show, show_change=formats.money, **options)


def rate(frame: pd.DataFrame, when: date | None, top: str, bottom: str) -> Decimal | None:
    return formats.divide(at(frame, when, top), at(frame, when, bottom))


with layout.section():
    values = queries.stock_value_by_month(chosen)
    sales = queries.sales_by_month(chosen)
    turnover = queries.turnover_by_month(chosen)
    stockouts = queries.stockouts_by_month(chosen)
    shrink = queries.shrink_by_month(chosen)
    fefo = queries.fefo_by_month(chosen)

    first, second, third = st.columns(3)
    with first:
        money_card(
            "Stock value", values, "value_amount",
            help="Owned stock at cost at the end of the period (at the last business date for "
            "the current one).", trend=trend(values, "value_amount"),
        )  # fmt: skip
        layout.kpi(
            "Units sold", at(sales, month, "sold_qty"), at(sales, previous, "sold_qty"),
            help="Issues and sales of consigned stock, net of reversals, in the chosen channels.",
            trend=trend(sales, "sold_qty"),
        )  # fmt: skip
    with second:
        layout.kpi(
            "Inventory turnover",
            rate(turnover, month, "cost_of_goods_issued_amount", "average_inventory_value_amount"),
            rate(turnover, previous, "cost_of_goods_issued_amount",
                 "average_inventory_value_amount"),
            formats.ratio,
            help="Cost of goods issued ÷ average inventory value in the period (not annualised), "
            "over the stocking facilities.",
        )  # fmt: skip
        layout.kpi(
            "Stockout days", at(stockouts, month, "stockout_days"),
            at(stockouts, previous, "stockout_days"), lower_is_better=True,
            help="Days a facility + SKU closed with nothing available, summed.",
            trend=trend(stockouts, "stockout_days"),
        )  # fmt: skip
    with third:
        money_card(
            "Shrink", shrink, "shrink_value_amount", lower_is_better=True,
            help="Owned value lost to adjustments and count variances, net of stock found.",
            trend=trend(shrink, "shrink_value_amount"),
        )  # fmt: skip
        layout.kpi(
            "FEFO compliance",
            rate(fefo, month, "compliant_issue_count", "lot_issue_count"),
            rate(fefo, previous, "compliant_issue_count", "lot_issue_count"),
            formats.percent,
            help="Lot issues that took the earliest-expiring lot in stock.",
        )  # fmt: skip

with layout.section("Exception alerts"):
    expired = queries.lots_by_expiry(chosen, ["expired"])
    at_risk = queries.lots_by_expiry(chosen, ["at_risk"])
    out = queries.stocked_out(chosen)
    unmatched = queries.unreconciled(chosen)
    if not expired.empty:
        st.error(f"{len(expired)} expired lot(s) still on hand.", icon=":material/block:")
        layout.table(expired, "expired lots")
    if not at_risk.empty:
        st.warning(f"{len(at_risk)} lot(s) expire soon.", icon=":material/schedule:")
        layout.table(at_risk, "lots at risk")
    if not out.empty:
        st.warning(f"{len(out)} SKU(s) out of stock at a facility.", icon=":material/error:")
        layout.table(out, "stocked out")
    if not unmatched.empty:
        st.error(
            f"{len(unmatched)} facility + SKU(s) differ between warehouse and ledger.",
            icon=":material/sync_problem:",
        )
        layout.table(unmatched, "unreconciled")
    if expired.empty and at_risk.empty and out.empty and unmatched.empty:
        st.success("No exceptions for these filters.", icon=":material/check_circle:")
