import streamlit as st

st.title("conv_transpose2d_lesson")
st.info("This page is being built.")
