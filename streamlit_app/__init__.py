"""The stockcard dashboards: a Streamlit app over the DuckDB warehouse (docs/dashboards.md)."""
