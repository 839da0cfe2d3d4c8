"""Transfers: where the transfers are in their lifecycle, how long they take, which lanes carry
them, and the shipments with exceptions or overdue in transit."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from lib import filters, formats, layout, queries

st.title("Transfers")
chosen = filters.sidebar(category=False, sku=False, dates=True)
st.caption(
    "A facility filter keeps transfers it sends or receives. Dates apply to shipments, volumes "
    "and monthly performance; the lifecycle and lead times cover every transfer."
)
TRANSFER_BASIS = "Transfer (first shipment → last receipt)"
BASES = {TRANSFER_BASIS: "transfer", "Shipment": "shipment"}
GRAINS = {"Day": "day", "Week": "week", "Month": "month"}


def funnel_chart(funnel: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(funnel)
        .mark_bar()
        .encode(
            x=alt.X(
                "transfer_count:Q",
                title="Transfers that reached the stage",
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            y=alt.Y("stage:N", sort=list(queries.TRANSFER_STAGES), title=None),
            tooltip=["stage", "transfer_count"],
        )
    )


def lead_time_chart(buckets: pd.DataFrame) -> alt.Chart:
    drawn = buckets.assign(late_count=buckets["sample_count"] - buckets["on_time_count"]).melt(
        id_vars=["lead_time_bucket_number", "lead_time_bucket"],
        value_vars=["on_time_count", "late_count"], var_name="timeliness", value_name="count",
    )  # fmt: skip
    order = list(buckets.sort_values("lead_time_bucket_number")["lead_time_bucket"])
    return (
        alt.Chart(drawn)
        .mark_bar()
        .encode(
            x=alt.X("lead_time_bucket:N", sort=order, title="Lead time"),
            y=alt.Y("sum(count):Q", title="Count"),
            color=alt.Color("timeliness:N", title=None),
            tooltip=["lead_time_bucket", "timeliness", "sum(count):Q"],
        )
    )


def lane_heatmap(lanes: pd.DataFrame) -> alt.LayerChart:
    base = alt.Chart(lanes).encode(
        x=alt.X("destination_facility_id:N", title="Destination"),
        y=alt.Y("source_facility_id:N", title="Source"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("transfer_count:Q", title="Transfers"),
        tooltip=["source_facility_id", "destination_facility_id", "transfer_count",
                 "open_transfer_count", "completed_transfer_count"],
    )  # fmt: skip
    labels = base.mark_text(baseline="middle").encode(text="transfer_count:Q")
    return (cells + labels).properties(height=60 + 40 * lanes["source_facility_id"].nunique())


def volumes_chart(volumes: pd.DataFrame) -> alt.Chart:
    columns = ["requested_qty", "shipped_qty", "received_qty"]
    drawn = layout.numbers_for_chart(volumes, *columns).melt(
        id_vars=["period_start_date"], value_vars=columns, var_name="measure", value_name="qty"
    )
    return (
        alt.Chart(drawn)
        .mark_bar()
        .encode(
            x=alt.X("period_start_date:T", title="Period"),
            xOffset="measure:N",
            y=alt.Y("qty:Q", title="Quantity"),
            color=alt.Color("measure:N", title=None),
            tooltip=["period_start_date:T", "measure", "qty:Q"],
        )
    )


with layout.section():
    totals = queries.transfer_totals(chosen).iloc[0]
    completed = int(totals["completed_transfer_count"])
    cards = st.columns(5)
    cards[0].metric("Open transfers", int(totals["open_transfer_count"]), border=True)
    cards[1].metric("Awaiting approval", int(totals["pending_approval_count"]), border=True)
    cards[2].metric(
        "Shipments in transit", int(totals["in_transit_shipment_count"]), border=True,
        help=f"{formats.qty(totals['in_transit_qty'])} units in transit.",
    )  # fmt: skip
    cards[3].metric(
        "Overdue in transit", int(totals["overdue_shipment_count"]), border=True,
        help="Shipments in transit longer than the warehouse's overdue threshold.",
    )  # fmt: skip
    cards[4].metric(
        "On time", formats.percent(formats.divide(totals["on_time_transfer_count"], completed)),
        border=True,
        help=f"Of {completed} completed transfer(s), within the lane's expected lead time.",
    )  # fmt: skip

with layout.section("Lifecycle"):
    funnel = queries.transfer_funnel(chosen)
    st.altair_chart(funnel_chart(funnel))
    stages, statuses = st.columns(2)
    with stages:
        layout.table(funnel, "transfer stages")
    with statuses:
        layout.table(queries.transfer_statuses(chosen), "transfer statuses")

with layout.section("Lead times"):
    basis = st.segmented_control(
        "Measured per", list(BASES), default=TRANSFER_BASIS, key="transfers_basis"
    )
    buckets = queries.lead_time_distribution(chosen, BASES[basis or TRANSFER_BASIS])
    if buckets.empty:
        st.caption("No completed transfers yet.")
    else:
        st.altair_chart(lead_time_chart(buckets))
    layout.table(buckets, "lead time distribution")

with layout.section("Source → destination"):
    lanes = queries.lanes(chosen)
    if not lanes.empty:
        st.altair_chart(lane_heatmap(lanes))
    layout.table(lanes, "transfer lanes")

with layout.section("Shipments and their exceptions"):
    shipped = queries.shipments(chosen)
    attention = shipped[(shipped["exception_count"] > 0) | shipped["is_overdue"].fillna(False)]
    if not attention.empty:
        st.warning(
            f"{len(attention)} shipment(s) with exceptions or overdue in transit.",
            icon=":material/local_shipping:",
        )
    layout.table(shipped, "shipments", empty="No shipments in these dates.")

with layout.section("Volumes"):
    grain = st.segmented_control("Per", list(GRAINS), default="Week", key="transfers_grain")
    volumes = queries.transfer_volumes(chosen, GRAINS[grain or "Week"])
    if not volumes.empty:
        st.altair_chart(volumes_chart(volumes))
    layout.table(volumes, "transfer volumes")

with layout.section("Performance by lane and month"):
    layout.table(queries.transfer_performance(chosen), "transfer performance")
