"""Convolution Studio: page setup and navigation. Every page lives in pages/."""
import streamlit as st

st.set_page_config(page_title="Convolution Studio", page_icon="assets/icon.png", layout="wide")

# Until a session has run this script, Streamlit 1.67 serves the files in pages/ by their names, without this
# navigation (it chose old-style routing because pages/ exists): a URL naming a page's file would open that page bare,
# and a URL naming no file shows a "Page not found" dialog (streamlit/streamlit#9992). So no url_path names a page's
# file, and each non-default url_path has an entry file pages/<url_path>.py that only runs this script: the first
# visit to a shared link runs this navigation like any later one (checked by tests/test_home.py and the browser tests).
PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="start", default=True),
    ],
    "Lessons": [
        st.Page("pages/conv2d_lesson.py", title="Conv2d", icon=":material/grid_on:", url_path="conv2d"),
        st.Page("pages/conv_transpose2d_lesson.py", title="ConvTranspose2d", icon=":material/open_in_full:",
                url_path="conv_transpose2d"),
    ],
    "Concepts": [
        st.Page("pages/groups.py", title="Groups and depthwise", icon=":material/view_module:",
                url_path="groups-depthwise"),
        st.Page("pages/padding_modes.py", title="Padding modes", icon=":material/border_outer:", url_path="padding"),
        st.Page("pages/matrix_view.py", title="Matrix view and gradient", icon=":material/table_chart:",
                url_path="matrix"),
        st.Page("pages/checkerboard.py", title="Checkerboard artifacts", icon=":material/grid_4x4:",
                url_path="checkerboards"),
        st.Page("pages/shape_planner.py", title="Shape planner", icon=":material/account_tree:", url_path="planner"),
    ],
    "Lab": [
        st.Page("pages/image_lab.py", title="Image lab", icon=":material/image:", url_path="lab"),
    ],
}

st.navigation(PAGES).run()
