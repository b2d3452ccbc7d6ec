"""ConvTranspose2d lesson: every constructor argument (and forward's output_size), the transposed convolution seen
three ways with the real numbers (zero insertion, scatter, matrix), why output_padding exists, and the overlap that
makes checkerboards. Every setting, the open tab and the step live in the URL."""
import streamlit as st

from convcore import ui
from convcore.ui import lesson, present

P = "ct"
DEFAULTS = {"height": 3, "width": 3, "kernel_size": (3, 3), "stride": (2, 2), "padding": (1, 1)}
TABS = {
    "Zero insertion": "window",
    "Scatter": "scatter",
    "Matrix": "matrix",
    "output_padding": None,
    "Overlap and checkerboards": None,
}

INTRO = ("Three ways to the same numbers, to the last bit (each adds the terms in conv_transpose2d's own order): a"
         " convolution over the zero-inserted input with the flipped kernel; each input cell stamping value x "
         "kernel onto the output; the matching Conv2d's matrix, transposed. Click an output cell for its "
         "arithmetic, an input cell for the outputs it feeds.")

presenting = present.page_header(P, "ConvTranspose2d", INTRO)  # the title and INTRO, or the presentation bar

cfg, x, w, b, out_channel = lesson.setup(P, DEFAULTS, transposed=True)

tabs = st.tabs(list(TABS), key=f"{P}_view", bind="query-params", on_change="rerun")
for tab, (label, view) in zip(tabs, TABS.items()):
    if not tab.open:  # only the open tab is built and sent
        continue
    with tab:
        if view is not None:
            lesson.animated_view(P, view, cfg, x, w, b, out_channel)
        elif label == "output_padding":
            lesson.output_padding_panel(cfg, x, w, b, out_channel)
        else:
            lesson.overlap_panel(cfg, x, w, out_channel)

if not presenting:  # the slide shows the figure and its controls only
    ui.shape_panel(cfg)
    ui.code_panel(cfg, x, w, b, key=f"{P}_code")  # built when opened
