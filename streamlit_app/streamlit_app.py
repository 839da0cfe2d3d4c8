"""The stockcard dashboards: navigation over app_pages/, read-only on the DuckDB warehouse.

Start with `stockcard dashboard` (or `streamlit run streamlit_app/streamlit_app.py`); the
warehouse is $STOCKCARD_WAREHOUSE_PATH or data/warehouse.duckdb.
"""

from __future__ import annotations

import streamlit as st
from lib import layout, queries, warehouse

# section → (file in app_pages/ and URL path, title, Material icon)
PAGES = {
    "Stock": [
        ("overview", "Overview", "dashboard"),
        ("stock_lookup", "Stock lookup", "search"),
        ("stock_card", "Stock card", "receipt_long"),
    ],
    "Operations": [
        ("transfers", "Transfers", "local_shipping"),
        ("counts", "Counts and accuracy", "fact_check"),
        ("adjustments", "Adjustments and shrink", "tune"),
        ("aging", "Aging and expiry", "hourglass_bottom"),
    ],
    "Finance": [("valuation", "Valuation", "euro")],
    "Planning": [("replenishment", "Replenishment", "autorenew")],
    "Pipeline": [("data_quality", "Data quality", "rule")],
}
DEFAULT_PAGE = "overview"


def navigation() -> dict[str, list[st.Page]]:
    return {
        section: [
            st.Page(
                f"app_pages/{name}.py",
                title=title,
                icon=f":material/{icon}:",
                url_path=name,
                default=name == DEFAULT_PAGE,
            )
            for name, title, icon in pages
        ]
        for section, pages in PAGES.items()
    }


def show(page: st.Page) -> None:
    """The page, or what to run when the warehouse cannot be read (missing, being written,
    not built, empty): a message, never a traceback."""
    try:
        ready = queries.readiness()
    except warehouse.WarehouseUnavailable as problem:
        st.title(page.title)
        layout.advise(problem)
        return
    with st.sidebar:
        st.caption(
            f"{ready.event_count:,} stock events, business dates {ready.first_date} to "
            f"{ready.last_date}."
        )
    try:
        page.run()
    except warehouse.WarehouseUnavailable as problem:
        layout.advise(problem)


def main() -> None:
    # An emoji favicon is drawn in the page; a Material one would be fetched from Google's servers.
    st.set_page_config(page_title="stockcard", page_icon="📦", layout="wide")
    page = st.navigation(navigation())

    with st.sidebar:
        st.caption(f"Warehouse: `{warehouse.warehouse_path()}`")
        if st.button("Reload data", icon=":material/refresh:", help="Read the warehouse again now"):
            st.cache_data.clear()
    show(page)


# Streamlit runs this file as __main__. A process started with multiprocessing's spawn re-runs
# the parent's main script as __mp_main__ (after AppTest, that is this file): it must not draw
# the app there.
if __name__ == "__main__":
    main()
