"""counts."""

import streamlit as st

st.title("counts")
