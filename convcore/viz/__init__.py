"""Plotly figure builders: step records and arrays in, go.Figure out. Plotly only, never streamlit.

Figures have a fixed pixel size (cells are square markers): show them with
st.plotly_chart(fig, width="content", config={"displayModeBar": False}, on_select="rerun", key=...).
"""
from .animation import FRAME_CAP, FRAME_POINT_CAP, SPEEDS_MS, frames_fit, is_animated
from .conv_animation import GRID_KEYS, conv2d_figure, window_figure, zero_insertion_figure
from .grids import CellRef, clicked_cell
from .maps import input_cell_for, overlap_figure, step_for_cell
from .transpose_views import MATRIX_FIGURE_MAX_CELLS, matrix_figure, scatter_figure

__all__ = [
    "conv2d_figure",
    "zero_insertion_figure",
    "scatter_figure",
    "matrix_figure",
    "overlap_figure",
    "window_figure",
    "clicked_cell",
    "CellRef",
    "step_for_cell",
    "input_cell_for",
    "is_animated",
    "frames_fit",
    "FRAME_CAP",
    "FRAME_POINT_CAP",
    "SPEEDS_MS",
    "GRID_KEYS",
    "MATRIX_FIGURE_MAX_CELLS",
]
