"""Adjustments and shrink: stock added or taken out by adjustments and count variances, by
reason over time, and the shrink it amounts to per facility and SKU."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from lib import filters, formats, layout, queries

st.title("Adjustments and shrink")
chosen = filters.sidebar(dates=True)
MEASURES = {"Quantity": "net_qty", "Value": "net_value_amount"}


def by_reason_chart(trend: pd.DataFrame, measure: str) -> alt.Chart:
    drawn = layout.numbers_for_chart(trend, measure)
    return (
        alt.Chart(drawn)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(month_start_date):O", title="Month"),
            y=alt.Y(f"sum({measure}):Q", title="Net change (negative = stock lost)"),
            color=alt.Color("reason_code:N", title="Reason"),
            tooltip=["month_start_date:T", "facility_id", "reason_code", f"sum({measure}):Q"],
        )
    )


def shrink_chart(shrink: pd.DataFrame) -> alt.Chart:
    drawn = layout.numbers_for_chart(shrink, "shrink_value_amount")
    return (
        alt.Chart(drawn)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(month_start_date):O", title="Month"),
            y=alt.Y("sum(shrink_value_amount):Q", title="Shrink value"),
            color=alt.Color("facility_id:N", title="Facility"),
            tooltip=["month_start_date:T", "facility_id", "sum(shrink_value_amount):Q"],
        )
    )


with layout.section("By reason over time"):
    trend = queries.adjustment_trend(chosen)
    shrink = queries.shrinkage(chosen)
    cards = st.columns(3)
    cards[0].metric("Adjustment events", int(trend["event_count"].sum()), border=True)
    cards[1].metric(
        "Shrink quantity", formats.qty(sum(shrink["shrink_qty"], formats.decimal(0))), border=True
    )
    cards[2].metric(
        "Shrink value", layout.money_by_currency(shrink, "shrink_value_amount"), border=True,
        help="Owned value lost to adjustments and count variances, net of stock found.",
    )  # fmt: skip
    measure = st.segmented_control(
        "Measure", list(MEASURES), default="Quantity", key="adjustments_measure"
    )
    if not trend.empty:
        st.altair_chart(by_reason_chart(trend, MEASURES[measure or "Quantity"]))
    layout.table(trend, "adjustments by reason")
    st.caption("By facility, reason and kind: the SKU and category filters do not apply here.")

with layout.section("Shrink by facility and SKU"):
    if not shrink.empty:
        st.altair_chart(shrink_chart(shrink))
    layout.table(shrink, "shrinkage", empty="No shrink in these dates.")

with layout.section("Adjustment events"):
    layout.table(queries.adjustment_events(chosen), "adjustment events")
