"""Conv2d lesson: every constructor argument, the window sliding over the padded input with the real numbers, the
arithmetic of each output cell, the shapes and the PyTorch code. Every setting and the step live in the URL."""
import streamlit as st

from convcore import ui
from convcore.ui import lesson, present

P = "c2"
DEFAULTS = {"height": 5, "width": 5, "kernel_size": (3, 3), "padding": (1, 1)}

INTRO = ("The kernel slides over the padded input; at each stop the products of the cells under it, summed (plus "
         "the bias), give one output cell. Press Play, or click an output cell for its arithmetic, an input cell "
         "for the outputs it feeds.")

presenting = present.page_header(P, "Conv2d", INTRO)  # the title and INTRO, or the presentation bar

cfg, x, w, b, out_channel = lesson.setup(P, DEFAULTS)
lesson.animated_view(P, "window", cfg, x, w, b, out_channel)

if not presenting:  # the slide shows the figure and its controls only
    ui.shape_panel(cfg)
    ui.code_panel(cfg, x, w, b, key=f"{P}_code")  # built when opened
