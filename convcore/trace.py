"""The teaching model: step records for the animations, built from the engine's own pieces (numpy only).

- trace_conv2d: every output position of one conv2d output channel, with the window, the taps (dilation), what
  each tap reads (padding and the real cell a reflect/replicate/circular pad copies), products, sums, result.
- trace_conv_transpose2d: conv_transpose2d three ways (zero insertion, scatter, matrix), each with its own numbers.
- Index maps both ways, channel maps for groups, overlap counts, the conv as a matrix.
- The arithmetic of a step as text.

The records live in trace_window.py, trace_transpose.py, trace_maps.py and trace_text.py; import them from here.
"""
from .trace_maps import (
    MATRIX_MAX_PIXELS,
    AxisMap,
    IndexMap,
    channel_map,
    conv2d_index_map,
    conv2d_matrix,
    conv_transpose2d_index_map,
    conv_transpose2d_matrix,
    input_channels_of,
    overlap_counts,
)
from .trace_text import StepText, arithmetic_lines, arithmetic_terms, arithmetic_text, format_number, matrix_text, scatter_text
from .trace_transpose import MatrixView, ScatterView, TransposeTrace, trace_conv_transpose2d
from .trace_window import CellKind, WindowTrace, trace_conv2d, window_steps

__all__ = [
    "CellKind",
    "WindowTrace",
    "TransposeTrace",
    "ScatterView",
    "MatrixView",
    "IndexMap",
    "AxisMap",
    "trace_conv2d",
    "trace_conv_transpose2d",
    "window_steps",
    "conv2d_index_map",
    "conv_transpose2d_index_map",
    "channel_map",
    "input_channels_of",
    "overlap_counts",
    "conv2d_matrix",
    "conv_transpose2d_matrix",
    "MATRIX_MAX_PIXELS",
    "format_number",
    "StepText",
    "arithmetic_terms",
    "arithmetic_text",
    "arithmetic_lines",
    "scatter_text",
    "matrix_text",
]
