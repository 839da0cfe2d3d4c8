"""stock_lookup."""

import streamlit as st

st.title("stock_lookup")
