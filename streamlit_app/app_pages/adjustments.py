"""adjustments."""

import streamlit as st

st.title("adjustments")
