import streamlit as st

st.title("checkerboard")
st.info("This page is being built.")
