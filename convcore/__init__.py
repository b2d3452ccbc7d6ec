"""convcore: PyTorch's Conv2d and ConvTranspose2d in numpy, exact, vectorised, and traceable step by step.

Layers, each importing only those below it (tests/test_import_layers.py): ui/ (Streamlit), export/ (files), viz/
(Plotly figures), then the engine, numpy/scipy/Pillow only: teaching/ (traces, concepts, planner, practice),
images/ (the lab's photos and kernels), the torch-facing modules here (functional, modules, shapes, padding,
params) and algorithms/ (the fast paths under functional).
"""
from .functional import conv2d, conv_transpose2d
from .modules import Conv2d, ConvTranspose2d
from .padding import insert_zeros, pad2d, pad_source_index
from .shapes import (
    conv2d_output_size,
    conv_transpose2d_output_size,
    output_padding_for,
    same_padding,
    transpose_output_range,
)

__all__ = [
    "conv2d",
    "conv_transpose2d",
    "Conv2d",
    "ConvTranspose2d",
    "conv2d_output_size",
    "conv_transpose2d_output_size",
    "same_padding",
    "transpose_output_range",
    "output_padding_for",
    "pad2d",
    "pad_source_index",
    "insert_zeros",
]
