"""Valuation: owned stock at cost by facility and category, the moving-average history and the
FIFO cost layers of a facility + SKU. The one page that shows unit costs."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from lib import filters, layout, queries

st.title("Valuation")
chosen = filters.sidebar(period=True)
if not chosen.period:
    st.info("The ledger has no period covering the warehouse's business dates yet.")
    st.stop()
st.caption(
    f"Owned stock at cost at the end of period **{chosen.period}** (at the last business date "
    "for the current period); consigned stock is never valued. Unit costs appear on this page "
    "only: the warehouse is the analysts' copy, and who may see costs is decided at the ledger."
)


def value_chart(values: pd.DataFrame) -> alt.Chart:
    drawn = layout.numbers_for_chart(values, "closing_value_amount")
    return (
        alt.Chart(drawn)
        .mark_bar()
        .encode(
            x=alt.X("sum(closing_value_amount):Q", title="Value at cost"),
            y=alt.Y("facility_id:N", title=None),
            color=alt.Color("category_name:N", title="Category"),
            tooltip=["facility_id", "category_name", "sum(closing_value_amount):Q"],
        )
    )


def average_cost_chart(history: pd.DataFrame) -> alt.Chart:
    drawn = layout.numbers_for_chart(history, "avg_cost_after_amount")
    return (
        alt.Chart(drawn)
        .mark_line(interpolate="step-after", point=True)
        .encode(
            x=alt.X("occurred_at:T", title="Business time"),
            y=alt.Y("avg_cost_after_amount:Q", title="Average cost after the event"),
            tooltip=["occurred_at:T", "event_kind", "avg_cost_after_amount:Q"],
        )
    )


with layout.section("Stock value by facility and category"):
    values = queries.value_by_category(chosen)
    st.metric("Stock value", layout.money_by_currency(values, "closing_value_amount"), border=True)
    if not values.empty:
        st.altair_chart(value_chart(values))
    layout.table(values, f"stock value {chosen.period}")

with layout.section("Per facility and SKU"):
    layout.table(queries.valuation_positions(chosen), f"valuation {chosen.period}")

with layout.section("Cost history and layers"):
    valued = queries.valued_positions()
    if valued.empty:
        st.caption("No owned stock has moved yet.")
        st.stop()
    pick_facility, pick_sku = st.columns(2)
    facility = pick_facility.selectbox(
        "Facility", sorted(set(valued["facility_id"])), key="valuation_facility"
    )
    here = valued[valued["facility_id"] == facility]
    sku = pick_sku.selectbox("SKU", list(here["variant_id"]), key="valuation_sku")
    method = here.loc[here["variant_id"] == sku, "costing_method"].iloc[0]
    history = queries.cost_history(sku, facility)
    st.markdown(f"**Average cost of {sku} at {facility}** ({method.replace('_', ' ')})")
    if not history.empty:
        st.altair_chart(average_cost_chart(history))
    layout.table(history, f"cost history {sku} {facility}")
    if method == "fifo":
        st.markdown(f"**FIFO layers of {sku} at {facility}**")
        layout.table(queries.cost_layers(sku, facility), f"cost layers {sku} {facility}")
        st.markdown("**What each outflow took from each layer**")
        layout.table(
            queries.layer_consumptions(sku, facility), f"layer consumptions {sku} {facility}"
        )
