"""Data quality: the pipeline's last run, what it refused from the source feeds (rejected rows
by feed and rule, ledger refusals), the files it read, and the warehouse against the ledger."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from lib import filters, layout, queries

st.title("Data quality")
chosen = filters.sidebar(category=False)
ALL_RUNS = "All runs"


def rejects_chart(by_rule: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(by_rule)
        .mark_bar()
        .encode(
            x=alt.X("sum(rejected_count):Q", title="Rejected rows"),
            y=alt.Y("feed:N", title=None),
            color=alt.Color("rule:N", title="Rule"),
            tooltip=["feed", "rule", "field", "sum(rejected_count):Q"],
        )
    )


def last_run(runs: pd.DataFrame) -> None:
    run = runs.iloc[0]
    st.caption(
        f"Run `{run['run_id']}` ({run['job']}) finished {run['finished_at']:%Y-%m-%d %H:%M} UTC."
    )
    cards = st.columns(5)
    cards[0].metric("Status", run["status"], border=True)
    cards[1].metric("Files read", int(run["files"]), border=True)
    cards[2].metric("Rows rejected", int(run["rows_rejected"]), border=True)
    cards[3].metric("Ledger refusals", int(run["refusals"]), border=True)
    quality = run["quality_passed"]
    cards[4].metric(
        "Quality checks", "—" if pd.isna(quality) else "passed" if quality else "failed",
        border=True, help="Great Expectations: the marts against the ledger.",
    )  # fmt: skip
    if run["status"] != "success":
        st.error("The last run failed: the warehouse may be behind the ledger.")
    if run["failed_checks"]:
        st.error(f"Failed checks: {run['failed_checks']}")


run_id: str | None = None
with layout.section("Last pipeline run"):
    runs = queries.pipeline_runs()
    if runs.empty:
        st.caption("No pipeline run recorded yet.")
    else:
        last_run(runs)
        picked = st.selectbox(
            "Feed results of", [ALL_RUNS, *runs["run_id"]], index=1, key="quality_run",
            help="The run whose rejects, refusals and files are shown below.",
        )  # fmt: skip
        run_id = None if picked == ALL_RUNS else picked
        with st.expander("Every run"):
            layout.table(runs, "pipeline runs")

with layout.section("Rejected feed rows"):
    by_rule = queries.rejects_by_rule(run_id)
    if by_rule.empty:
        st.success("No feed row was rejected.", icon=":material/check_circle:")
    else:
        st.altair_chart(rejects_chart(by_rule))
        layout.table(by_rule, "rejects by rule")
        layout.table(queries.rejects(run_id), "rejected rows")

with layout.section("Ledger refusals"):
    st.caption("Valid feed rows the ledger refused (a control, not the format, said no).")
    layout.table(queries.refusals(run_id), "ledger refusals", empty="No refusals.")

with layout.section("Feed files"):
    layout.table(queries.feed_files(run_id), "feed files", empty="No feed files processed.")

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
