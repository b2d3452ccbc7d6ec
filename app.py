"""Convolution Studio: page setup and navigation. Every page lives in pages/<section>/."""
import streamlit as st

st.set_page_config(page_title="Convolution Studio", page_icon="assets/icon.png", layout="wide")

# The pages live in a folder per sidebar section, each file named after its url_path. Until a session has run this
# script, Streamlit 1.67 serves the files at the top of pages/ by their names, without this navigation, and a URL
# naming no file there shows a "Page not found" dialog (streamlit/streamlit#9992). So the top of pages/ holds an
# entry file pages/<url_path>.py per non-default url_path that only runs this script: the first visit to a shared
# link gets this navigation like any later one (pages/README.md; checked by tests/test_home.py and browser tests).
PAGES = {
    "Start": [
        st.Page("pages/start/home.py", title="Home", icon=":material/home:", url_path="start", default=True),
    ],
    "Lessons": [
        st.Page("pages/lessons/conv2d.py", title="Conv2d", icon=":material/grid_on:", url_path="conv2d"),
        st.Page("pages/lessons/conv_transpose2d.py", title="ConvTranspose2d", icon=":material/open_in_full:",
                url_path="conv_transpose2d"),
    ],
    "Concepts": [
        st.Page("pages/concepts/groups-depthwise.py", title="Groups and depthwise", icon=":material/view_module:",
                url_path="groups-depthwise"),
        st.Page("pages/concepts/padding.py", title="Padding modes", icon=":material/border_outer:", url_path="padding"),
        st.Page("pages/concepts/matrix.py", title="Matrix view and gradient", icon=":material/table_chart:",
                url_path="matrix"),
        st.Page("pages/concepts/checkerboards.py", title="Checkerboard artifacts", icon=":material/grid_4x4:",
                url_path="checkerboards"),
        st.Page("pages/concepts/planner.py", title="Shape planner", icon=":material/account_tree:", url_path="planner"),
    ],
    "Practice": [
        st.Page("pages/practice/practice.py", title="Practice", icon=":material/quiz:", url_path="practice"),
    ],
    "Lab": [
        st.Page("pages/lab/lab.py", title="Image lab", icon=":material/image:", url_path="lab"),
        st.Page("pages/lab/chain.py", title="Layer chains", icon=":material/linear_scale:", url_path="chain"),
    ],
    "Gallery": [
        st.Page("pages/gallery/gallery.py", title="Classic figures", icon=":material/photo_library:", url_path="gallery"),
    ],
}

st.navigation(PAGES).run()
