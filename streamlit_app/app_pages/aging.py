"""aging."""

import streamlit as st

st.title("aging")
