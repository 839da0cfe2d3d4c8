"""Stock card: one facility + SKU's events in business-time order with the running balance."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from lib import filters, formats, layout, queries

st.title("Stock card")
chosen = filters.sidebar(facility=False, category=False, sku=False, dates=True)
options = queries.choices()
pick_sku, pick_facility = st.columns(2)
# the SKU and facility are in the URL (?sku=…&facility=…), so a stock card can be linked to
sku = pick_sku.selectbox("SKU", options.skus, key="sku", bind="query-params")
moved_at = queries.facilities_of(sku) if sku else ()
if not moved_at:
    st.info(f"{sku} has no stock events yet.")
    st.stop()
facility = pick_facility.selectbox("Facility", moved_at, key="facility", bind="query-params")
st.caption(options.sku_labels.get(sku, sku))


def running_balance_chart(card: pd.DataFrame) -> alt.Chart:
    """The facility's on hand and available after every event, as steps over business time."""
    drawn = layout.numbers_for_chart(
        card, "facility_running_qty", "facility_available_running_qty"
    ).rename(columns={"facility_running_qty": "On hand",
                      "facility_available_running_qty": "Available"})  # fmt: skip
    long = drawn.melt(
        id_vars=["occurred_at", "event_kind"], value_vars=["On hand", "Available"],
        var_name="balance", value_name="qty",
    )  # fmt: skip
    return (
        alt.Chart(long)
        .mark_line(interpolate="step-after", point=True)
        .encode(
            x=alt.X("occurred_at:T", title="Business time"),
            y=alt.Y("qty:Q", title="Quantity"),
            color=alt.Color("balance:N", title=None),
            tooltip=["occurred_at:T", "event_kind", "balance", "qty:Q"],
        )
    )


card = queries.stock_card(sku, facility, chosen)
totals = queries.stock_card_totals(sku, facility, chosen)
columns = st.columns(4)
columns[0].metric(
    f"Opening on {chosen.date_from or options.first_date}", formats.qty(totals["opening_qty"]),
    border=True,
)  # fmt: skip
columns[1].metric("In", formats.qty(totals["in_qty"]), border=True)
columns[2].metric("Out", formats.qty(totals["out_qty"]), border=True)
columns[3].metric("Closing", formats.qty(totals["closing_qty"]), border=True)
if card.empty:
    st.info("No events in these dates.")
else:
    st.altair_chart(running_balance_chart(card))
layout.table(card, f"stock card {sku} {facility}")
st.caption(
    "Running balances are in business-time order (occurred_at, then event id); "
    "position = the bin, lot, bucket and owner of the event; values are on the Valuation page."
)
