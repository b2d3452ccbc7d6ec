import streamlit as st

st.title("matrix_view")
st.info("This page is being built.")
