"""Counts and accuracy: how often the records match the shelves, where counts found variances,
and the count lines waiting for a recount."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from lib import filters, formats, layout, queries

st.title("Counts and accuracy")
chosen = filters.sidebar()
st.caption(
    "Counts are dated by when they were recorded (system time). A position is accurate when its "
    "final count is within the facility's count tolerance."
)


def accuracy_chart(accuracy: pd.DataFrame) -> alt.Chart:
    drawn = layout.numbers_for_chart(accuracy, "stock_accuracy_rate", "exact_match_rate")
    long = drawn.melt(
        id_vars=["month_start_date", "facility_id"],
        value_vars=["stock_accuracy_rate", "exact_match_rate"],
        var_name="measure", value_name="rate",
    )  # fmt: skip
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("facility_id:N", title=None),
            xOffset="measure:N",
            y=alt.Y("rate:Q", title="Share of counted positions", axis=alt.Axis(format="%")),
            color=alt.Color("measure:N", title=None),
            column=alt.Column("yearmonth(month_start_date):O", title=None),
            tooltip=[
                "month_start_date:T",
                "facility_id",
                "measure",
                alt.Tooltip("rate:Q", format=".1%"),
            ],
        )
    )


def variance_chart(variance: pd.DataFrame) -> alt.Chart:
    drawn = layout.numbers_for_chart(variance, "absolute_variance_qty")
    return (
        alt.Chart(drawn)
        .mark_bar()
        .encode(
            x=alt.X("sum(absolute_variance_qty):Q", title="Absolute variance (units)"),
            y=alt.Y("category_name:N", title=None),
            color=alt.Color("facility_id:N", title="Facility"),
            tooltip=["facility_id", "category_name", "sum(absolute_variance_qty):Q"],
        )
    )


with layout.section():
    totals = queries.count_totals(chosen)
    counted = int(totals["counted_position_count"])
    cards = st.columns(4)
    cards[0].metric("Positions counted", counted, border=True)
    cards[1].metric(
        "Stock accuracy",
        formats.percent(formats.divide(totals["within_tolerance_count"], counted)),
        border=True, help="Counted positions whose final count was within tolerance.",
    )  # fmt: skip
    cards[2].metric(
        "Exact matches", formats.percent(formats.divide(totals["exact_match_count"], counted)),
        border=True, help="Counted positions whose final count equalled the system quantity.",
    )  # fmt: skip
    cards[3].metric(
        "Recounts waiting", int(totals["recounts_waiting"]), border=True,
        help="Lines counted beyond tolerance that another counter has yet to recount.",
    )  # fmt: skip

with layout.section("Stock accuracy by facility and month"):
    accuracy = queries.stock_accuracy(chosen)
    if not accuracy.empty:
        st.altair_chart(accuracy_chart(accuracy))
    layout.table(accuracy, "stock accuracy", empty="No finished counts yet.")

with layout.section("Count variance by facility and category"):
    variance = queries.count_variance(chosen)
    if not variance.empty:
        st.altair_chart(variance_chart(variance))
    layout.table(variance, "count variance", empty="No finished counts yet.")

with layout.section("Count lines"):
    lines = queries.count_lines(chosen)
    waiting = lines[lines["line_status"] == "recount_required"]
    if not waiting.empty:
        st.warning(f"{len(waiting)} line(s) wait for a recount by another counter.")
    layout.table(lines, "count lines", empty="No count sessions yet.")
