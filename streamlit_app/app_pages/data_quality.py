"""Data quality: the warehouse against the ledger, the extract's runs, and what the pipeline
refused from the source feeds."""

from __future__ import annotations

import streamlit as st
from lib import filters, layout, queries

st.title("Data quality")
chosen = filters.sidebar(category=False)

with layout.section("Warehouse against ledger"):
    matched = queries.reconciliation(chosen)
    reconciled = int(matched["is_reconciled"].sum())
    cards = st.columns(3)
    cards[0].metric(
        "Facility + SKUs reconciled", f"{reconciled} of {len(matched)}", border=True,
        help="Owned quantity and value per the warehouse's stock card equal the ledger's.",
    )  # fmt: skip
    consistent = bool(matched["is_extract_consistent"].all()) if not matched.empty else True
    cards[1].metric("Extract consistent", "yes" if consistent else "no", border=True)
    high_water = matched["high_water_event_id"].max() if not matched.empty else None
    cards[2].metric("High-water event", "—" if high_water is None else int(high_water), border=True)
    if reconciled < len(matched):
        st.error(
            f"{len(matched) - reconciled} facility + SKU(s) differ from the ledger: rebuild the "
            "warehouse with `stockcard pipeline run` (a full refresh if they persist).",
            icon=":material/sync_problem:",
        )
    layout.table(matched, "reconciliation")

with layout.section("Extract runs"):
    layout.table(queries.extract_runs(), "extract runs")
