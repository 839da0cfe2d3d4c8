"""Overview: the period's KPIs against the period before, the actions waiting, and exceptions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st
from lib import filters, formats, layout, queries

st.title("Overview")
chosen = filters.sidebar(channel=True, period=True)
if not chosen.period:
    st.info("The ledger has no period covering the warehouse's business dates yet.")
    st.stop()
period = chosen.period
month, _ = queries.period_bounds(period)
before = queries.previous_period(period)
previous = queries.period_bounds(before)[0] if before else None
st.caption(
    f"Period **{period}**"
    + (f", compared with {before}" if before else "")
    + ". Values are owned stock at cost; the channel filter applies to units sold."
)


def at(frame: pd.DataFrame, when: date | None, column: str) -> Decimal | None:
    """The month's total of a column: a month without rows had none of it (zero)."""
    if when is None:
        return None
    return sum((formats.decimal(value) for value in in_month(frame, when)[column]), Decimal(0))


def rate(frame: pd.DataFrame, when: date | None, top: str, bottom: str) -> Decimal | None:
    """A ratio of the month's totals; None when there is nothing to divide by."""
    return formats.divide(at(frame, when, top), at(frame, when, bottom))


def trend(frame: pd.DataFrame, column: str) -> list[float]:
    """The months up to this one, for the card's small chart."""
    if frame.empty:
        return []
    upto = frame[frame["month_start_date"].map(queries.as_date) <= month]
    return [float(value) for value in upto.groupby("month_start_date")[column].sum()]


def currencies(frame: pd.DataFrame) -> set[str]:
    return set(frame["currency_code"].dropna()) if len(frame) else set()


def in_month(frame: pd.DataFrame, when: date) -> pd.DataFrame:
    return frame[frame["month_start_date"].map(queries.as_date) == when] if len(frame) else frame


def money_card(label: str, frame: pd.DataFrame, column: str, **options: Any) -> None:
    """A money KPI in its currency (the stock's when the frame has none). Amounts in several
    currencies are never added up: each currency's total shows, without a change."""
    found = currencies(frame)
    if len(found) > 1:
        total = layout.money_by_currency(in_month(frame, month), column)
        st.metric(label, total, border=True, help=options.get("help"), height="stretch")
        return
    currency = found.pop() if found else home_currency

    def show(value: Decimal | None) -> str:
        return formats.money(value, currency)

    current, before = at(frame, month, column), at(frame, previous, column)
    layout.kpi(label, current, before, show, show_change=formats.money, **options)


def stock_cards() -> None:
    sales = queries.sales_by_month(chosen)
    turnover = queries.turnover_by_month(chosen)
    cards = st.columns(3)
    with cards[0]:
        money_card(
            "Stock value", values, "value_amount", trend=trend(values, "value_amount"),
            help="Owned stock at cost at the end of the period (at the last business date for "
            "the current one).",
        )  # fmt: skip
    with cards[1]:
        layout.kpi(
            "Units sold", at(sales, month, "sold_qty"), at(sales, previous, "sold_qty"),
            trend=trend(sales, "sold_qty"),
            help="Issues and sales of consigned stock, net of reversals, in the chosen channels.",
        )  # fmt: skip
    with cards[2]:
        layout.kpi(
            "Inventory turnover",
            rate(turnover, month, "cost_of_goods_issued_amount", "average_inventory_value_amount"),
            rate(turnover, previous, "cost_of_goods_issued_amount",
                 "average_inventory_value_amount"),
            formats.ratio, trend=trend(turnover, "cost_of_goods_issued_amount"),
            help="Cost of goods issued ÷ average inventory value in the period (not annualised), "
            "over the stocking facilities. The bars show the cost of goods issued.",
        )  # fmt: skip


def risk_cards() -> None:
    stockouts = queries.stockouts_by_month(chosen)
    shrink = queries.shrink_by_month(chosen)
    fefo = queries.fefo_by_month(chosen)
    cards = st.columns(3)
    with cards[0]:
        layout.kpi(
            "Stockout days", at(stockouts, month, "stockout_days"),
            at(stockouts, previous, "stockout_days"), lower_is_better=True,
            trend=trend(stockouts, "stockout_days"),
            help="Days a facility + SKU closed with nothing available, summed over them.",
        )  # fmt: skip
    with cards[1]:
        money_card(
            "Shrink", shrink, "shrink_value_amount", lower_is_better=True,
            trend=trend(shrink, "shrink_value_amount"),
            help="Owned value lost to adjustments and count variances, net of stock found.",
        )  # fmt: skip
    with cards[2]:
        layout.kpi(
            "FEFO compliance",
            rate(fefo, month, "compliant_issue_count", "lot_issue_count"),
            rate(fefo, previous, "compliant_issue_count", "lot_issue_count"),
            formats.percent, trend=trend(fefo, "lot_issue_count"),
            help="Lot issues that took the earliest-expiring lot in stock. The bars show the "
            "lot issues.",
        )  # fmt: skip


def service_cards() -> None:
    cards = st.columns(3)
    with cards[0], layout.section():
        timeliness = queries.transfer_timeliness_by_month(chosen)
        layout.kpi(
            "Transfers on time",
            rate(timeliness, month, "on_time_transfer_count", "completed_transfer_count"),
            rate(timeliness, previous, "on_time_transfer_count", "completed_transfer_count"),
            formats.percent, trend=trend(timeliness, "completed_transfer_count"),
            help="Transfers completed in the period within their lane's expected lead time. The "
            "bars show the transfers completed.",
        )  # fmt: skip
    with cards[1], layout.section():
        filled = queries.fill_rate_by_month(chosen)
        layout.kpi(
            "Fill rate",
            rate(filled, month, "filled_qty", "demanded_qty"),
            rate(filled, previous, "filled_qty", "demanded_qty"),
            formats.percent, trend=trend(filled, "demanded_qty"),
            help="Quantity consumed ÷ demand that stood (consumed, short-shipped, backordered) "
            "over the reservations made in the period and closed, in the chosen channels.",
        )  # fmt: skip
    with cards[2], layout.section():
        accuracy = queries.accuracy_by_month(chosen)
        layout.kpi(
            "Stock accuracy",
            rate(accuracy, month, "within_tolerance_count", "counted_position_count"),
            rate(accuracy, previous, "within_tolerance_count", "counted_position_count"),
            formats.percent, trend=trend(accuracy, "counted_position_count"),
            help="Positions counted in the period whose final count was within tolerance.",
        )  # fmt: skip


with layout.section():
    values = queries.stock_value_by_month(chosen)
    home_currency = next(iter(currencies(values)), None)
    stock_cards()
    risk_cards()
    service_cards()


def last_run_trouble() -> bool:
    """Warn when the pipeline's last run failed or turned feed rows away; True if it did."""
    if not queries.has_tables("raw.pipeline_runs"):
        return False  # the Data quality page says what to run
    runs = queries.pipeline_runs()
    if runs.empty:
        return False
    run = runs.iloc[0]
    if run["status"] != "success":
        st.error(f"The last pipeline run ({run['run_id']}) failed.", icon=":material/error:")
    elif run["rows_rejected"] or run["refusals"]:
        st.warning(
            f"The last pipeline run ({run['run_id']}) rejected {run['rows_rejected']} feed "
            f"row(s); the ledger refused {run['refusals']}.",
            icon=":material/rule:",
        )
    else:
        return False
    st.page_link(
        "app_pages/data_quality.py", label="See them on Data quality", icon=":material/rule:"
    )
    return True


with layout.section("Pending actions"):
    actions = queries.pending_actions(chosen)
    if actions.empty:
        st.success("Nothing waits for action.", icon=":material/check_circle:")
    else:
        waiting = actions.groupby("action_type").size()
        st.caption(
            f"As of {actions['as_of_at'].iloc[0]:%Y-%m-%d %H:%M} UTC: "
            + ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in waiting.items())
            + "."
        )
        layout.table(actions.drop(columns="as_of_at"), "pending actions")

with layout.section("Exception alerts"):
    out = queries.stocked_out(chosen)
    negative = queries.negative_positions(chosen, queries.readiness().last_date)
    unmatched = queries.unreconciled(chosen)
    if not out.empty:
        st.warning(f"{len(out)} SKU(s) out of stock at a facility.", icon=":material/error:")
        layout.table(out, "stocked out")
    if not negative.empty:
        st.error(f"{len(negative)} position(s) below zero.", icon=":material/remove_circle:")
        layout.table(negative, "negative stock")
    if not unmatched.empty:
        st.error(
            f"{len(unmatched)} facility + SKU(s) differ between warehouse and ledger.",
            icon=":material/sync_problem:",
        )
        layout.table(unmatched, "unreconciled")
    troubled_run = last_run_trouble()
    if out.empty and negative.empty and unmatched.empty and not troubled_run:
        st.success("No exceptions for these filters.", icon=":material/check_circle:")

with st.expander("Fill rate by channel and cycle times"), layout.section():
    st.markdown("**Fill rate by channel and facility**")
    layout.table(queries.fill_rate(chosen), "fill rate", empty="No reservations in this period.")
    st.markdown("**Cycle times** (hours)")
    layout.table(queries.cycle_times(chosen), "cycle times", empty="No timed steps yet.")
