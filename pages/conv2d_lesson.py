import streamlit as st

st.title("conv2d_lesson")
st.info("This page is being built.")
