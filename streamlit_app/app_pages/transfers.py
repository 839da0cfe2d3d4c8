"""transfers."""

import streamlit as st

st.title("transfers")
