"""Replenishment: what to order and what to move between facilities, each suggestion with its
rationale, filterable by ABC/XYZ segment. Suggestions never move stock."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from lib import filters, formats, layout, queries

st.title("Replenishment")
chosen = filters.sidebar()
pick_abc, pick_xyz = st.columns(2)
abc = pick_abc.multiselect(
    "ABC class (value)", queries.ABC_CLASSES, key="abc_classes", placeholder="All",
    help="A: the SKUs making most of a facility's consumption value; C: the least.",
)  # fmt: skip
xyz = pick_xyz.multiselect(
    "XYZ class (demand variability)", queries.XYZ_CLASSES, key="xyz_classes", placeholder="All",
    help="X: steady demand; Z: erratic or none.",
)  # fmt: skip


def segment_matrix(segments: pd.DataFrame) -> alt.LayerChart:
    counted = segments.groupby(["abc_class", "xyz_class"]).size().reset_index(name="skus")
    base = alt.Chart(counted).encode(
        x=alt.X("xyz_class:N", title="XYZ (variability)", sort=list(queries.XYZ_CLASSES)),
        y=alt.Y("abc_class:N", title="ABC (value)", sort=list(queries.ABC_CLASSES)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("skus:Q", title="Facility + SKUs"),
        tooltip=["abc_class", "xyz_class", "skus"],
    )
    labels = base.mark_text(baseline="middle").encode(text="skus:Q")
    return (cells + labels).properties(height=240)


with layout.section("Orders to place"):
    suggestions = queries.replenishment_suggestions(chosen, abc, xyz)
    totals = queries.order_totals(chosen, abc, xyz)
    as_of = f"As of {suggestions['as_of_date'].iloc[0]}. " if not suggestions.empty else ""
    st.caption(
        f"{as_of}Each suggestion explains itself in its rationale; orders and transfers are "
        "placed in the source systems and the ledger."
    )
    cards = st.columns(3)
    cards[0].metric("Orders suggested", int(totals["order_count"].sum()), border=True)
    cards[1].metric("Units to order", formats.qty(sum(totals["order_qty"], formats.decimal(0))),
                    border=True)  # fmt: skip
    cards[2].metric(
        "Order value", layout.money_by_currency(totals, "order_value_amount"), border=True,
        help="At the vendors' unit costs, summed.",
    )  # fmt: skip
    layout.table(
        suggestions, "replenishment suggestions", empty="No suggestions for these filters."
    )

with layout.section("Transfers between facilities"):
    layout.table(
        queries.transfer_suggestions(chosen, abc, xyz), "transfer suggestions",
        empty="No facility has stock to spare for another that needs it.",
    )  # fmt: skip

with layout.section("ABC/XYZ segments"):
    segments = queries.segments(chosen, abc, xyz)
    if not segments.empty:
        st.altair_chart(segment_matrix(segments))
    layout.table(segments, "abc xyz segments")
