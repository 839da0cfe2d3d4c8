"""Aging and expiry: how long the stock on hand has been in, lots near or past their expiry, and
whether issues took the earliest-expiring lot (FEFO)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from lib import filters, formats, layout, queries

st.title("Aging and expiry")
chosen = filters.sidebar(dates=True)


def aging_chart(aging: pd.DataFrame) -> alt.Chart:
    drawn = layout.numbers_for_chart(aging, "on_hand_qty")
    return (
        alt.Chart(drawn)
        .mark_bar()
        .encode(
            x=alt.X("sum(on_hand_qty):Q", title="On hand"),
            y=alt.Y("facility_id:N", title=None),
            color=alt.Color(
                "age_bucket:N",
                title="Age",
                sort=alt.EncodingSortField("age_bucket_number", order="ascending"),
            ),
            order=alt.Order("age_bucket_number:Q"),
            tooltip=["facility_id", "age_bucket", "sum(on_hand_qty):Q"],
        )
    )


with layout.section("Age of the stock on hand"):
    aging = queries.aging(chosen)
    if aging.empty:
        st.caption("No stock on hand for these filters.")
    else:
        st.caption(
            f"As of {aging['as_of_date'].iloc[0]}, the last business date. FIFO items are aged "
            "by their open cost layers; moving-average items take the latest receipts to be what "
            "is on hand."
        )
        st.altair_chart(aging_chart(aging))
    layout.table(aging, "inventory aging")

with layout.section("Expiry risk"):
    lots = queries.expiry(chosen)
    counts = lots.groupby("expiry_status").size() if not lots.empty else pd.Series(dtype=int)
    cards = st.columns(3)
    cards[0].metric("Expired lots on hand", int(counts.get("expired", 0)), border=True)
    cards[1].metric("Lots at risk", int(counts.get("at_risk", 0)), border=True)
    held = lots.loc[lots["expiry_status"] == "expired", "on_hand_qty"] if not lots.empty else []
    cards[2].metric("Expired quantity", formats.qty(sum(held, formats.decimal(0))), border=True)
    layout.table(lots, "expiry risk", empty="No lot-tracked stock on hand.")

with layout.section("FEFO compliance"):
    layout.table(queries.fefo(chosen), "fefo compliance", empty="No lot issues in these dates.")
    late = queries.lot_issues_out_of_order(chosen)
    if not late.empty:
        st.warning(f"{len(late)} issue(s) took a later-expiring lot while an earlier one was in.")
        layout.table(late, "issues out of fefo order")
