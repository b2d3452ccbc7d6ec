"""Conv2d lesson: every constructor argument, the window sliding over the padded input with the real numbers, the
arithmetic of each output cell, the shapes and the PyTorch code. Every setting and the step live in the URL."""
import streamlit as st

from convcore import ui
from convcore.ui import lesson

P = "c2"
DEFAULTS = {"height": 5, "width": 5, "kernel_size": (3, 3), "padding": (1, 1)}

st.title("Conv2d")
st.caption("The kernel slides over the padded input; at each stop the products of the cells under it, summed (plus "
           "the bias), give one output cell. Press Play, or click an output cell for its arithmetic, an input cell "
           "for the outputs it feeds.")

with st.sidebar:
    st.subheader("nn.Conv2d arguments")
    cfg = ui.conv_params(P, defaults=DEFAULTS)
    st.subheader("Values")
    x = ui.value_picker(P, "x", "Input", cfg.input_shape)
    w = ui.value_picker(P, "w", "Kernel (weight)", cfg.weight_shape, kind="weight")
    b = ui.value_picker(P, "b", "Bias", cfg.bias_shape, kind="weight") if cfg.bias else None

lesson.shape_line(cfg)
if not lesson.is_valid(cfg):
    ui.shape_panel(cfg)  # the error (rule and numbers) and the shapes; the controls keep every setting
    st.stop()

out_channel = lesson.channel_picker(P, cfg)
trace = ui.run_engine(lesson.conv2d_trace, cfg, x, w, b, out_channel)  # None after an st.error
if trace is None:
    st.stop()
lesson.channel_note(cfg, trace)
lesson.animated_view(P, "window", cfg, x, w, b, out_channel)

ui.shape_panel(cfg)
ui.code_panel(cfg, x, w, b)
