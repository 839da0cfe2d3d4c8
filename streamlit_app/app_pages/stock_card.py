"""stock_card."""

import streamlit as st

st.title("stock_card")
