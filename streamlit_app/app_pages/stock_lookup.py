"""Stock lookup: a SKU or a barcode alone gives the stock at every facility, now or as of a date."""

from __future__ import annotations

from decimal import Decimal

import altair as alt
import pandas as pd
import streamlit as st
from lib import formats, layout, queries

st.title("Stock lookup")
st.caption("A SKU or a barcode alone gives its stock at every facility (quantities only).")
ready = queries.readiness()
ask, when = st.columns([3, 1])
text = ask.text_input(
    "SKU or barcode", key="lookup", bind="query-params", placeholder="e.g. TEE-M or 4000000000017"
)
as_of = when.date_input(
    "As of the end of", value=ready.last_date, min_value=ready.first_date,
    max_value=ready.last_date, key="lookup_as_of", format="YYYY-MM-DD",
)  # fmt: skip


def chosen_variant(text: str) -> pd.Series | None:
    """The exact match, or the one the user picks among partial matches."""
    found = queries.find_variants(text)
    if found.empty:
        st.warning(f"No SKU, name or barcode matches “{text}”.", icon=":material/search_off:")
        return None
    if bool(found.iloc[0]["is_exact"]):
        return found.iloc[0]
    labels = {
        row.variant_id: f"{row.variant_id} · {row.variant_name}" for row in found.itertuples()
    }
    sku = st.selectbox(
        f"{len(found)} SKU(s) match “{text}”", list(labels), format_func=labels.get,
        key="lookup_pick",
    )  # fmt: skip
    return found[found["variant_id"] == sku].iloc[0]


def chart(positions: pd.DataFrame) -> alt.Chart:
    drawn = layout.numbers_for_chart(positions, "on_hand_qty")
    return (
        alt.Chart(drawn)
        .mark_bar()
        .encode(
            x=alt.X("sum(on_hand_qty):Q", title="On hand"),
            y=alt.Y("facility_id:N", title=None, sort="-x"),
            color=alt.Color("bucket:N", title="Bucket"),
            tooltip=["facility_id", "bucket", "sum(on_hand_qty):Q"],
        )
    )


if not text.strip():
    st.info("Type a SKU or scan a barcode.", icon=":material/barcode_scanner:")
    st.stop()

variant = chosen_variant(text)
if variant is None:
    st.stop()
sku = variant["variant_id"]
st.subheader(f"{sku} · {variant['variant_name']}")
st.caption(
    f"Barcode {variant['barcode'] or '—'} · unit {variant['uom_code']} · "
    f"category {variant['category_name']}"
)
summary = queries.stock_by_facility(sku, as_of)
if summary.empty:
    st.info(f"{sku} has not moved at any facility by {as_of}.")
    st.stop()
positions = queries.positions_as_of(sku, as_of)
total, facilities = st.columns(2)
on_hand = sum(summary["on_hand_qty"], Decimal(0))
total.metric("On hand, every facility", formats.qty(on_hand), border=True)
holding = summary[summary["on_hand_qty"] != 0]
facilities.metric("Facilities holding it", len(holding), border=True)
if not positions.empty:
    st.altair_chart(chart(positions))
layout.table(summary, f"stock {sku} by facility")
with layout.section("Positions"):
    layout.table(positions, f"positions {sku}", empty=f"No stock of {sku} on hand on {as_of}.")
st.caption("Stock card of this SKU at:")
for facility in summary["facility_id"]:
    st.page_link(
        "app_pages/stock_card.py", label=f"{sku} at {facility}", icon=":material/receipt_long:",
        query_params={"sku": sku, "facility": facility},
    )  # fmt: skip
