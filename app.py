"""Convolution Studio: page setup and navigation. Every page lives in pages/."""
import streamlit as st

st.set_page_config(page_title="Convolution Studio", page_icon="assets/icon.png", layout="wide")

# url_path must never equal a file name in pages/: until the first session runs this script, Streamlit serves a
# URL that names a file in pages/ as an old-style page, without this navigation (see the review of streamlit/streamlit#10276).
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
