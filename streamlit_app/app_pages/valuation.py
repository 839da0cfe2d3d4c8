"""valuation."""

import streamlit as st

st.title("valuation")
