"""Practice: questions generated and graded by the engine, ten to a round; the seed in the URL gives a class the
same questions in the same order."""
import streamlit as st

from convcore.ui.practice import practice_page

st.title("Practice")
st.caption("Predict, then check: every question is generated from the seed and answered by the same engine as the "
           "lessons, so the answer is PyTorch's. Type answers as you would write them (3x3, (3, 3), [1, 8, 3, 3], "
           "-2.5, impossible), or click cells.")
practice_page()
