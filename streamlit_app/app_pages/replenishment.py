"""replenishment."""

import streamlit as st

st.title("replenishment")
