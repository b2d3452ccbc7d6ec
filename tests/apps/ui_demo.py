"""A page built only from convcore.ui, for the shared layer's own tests (AppTest and browser)."""
import streamlit as st

from convcore import ui

transposed = st.query_params.get("demo_op") == "t"
prefix = "dt" if transposed else "dc"
with st.sidebar:
    cfg = ui.conv_params(prefix, transposed=transposed)
ok = ui.shape_panel(cfg)
x = ui.value_picker(prefix, "x", "Input", cfg.input_shape)
w = ui.value_picker(prefix, "w", "Kernel", cfg.weight_shape, kind="weight")
b = ui.value_picker(prefix, "b", "Bias", cfg.bias_shape, kind="weight") if cfg.bias else None
y = ui.run_engine(ui.forward, cfg, x, w, b) if ok else None
if y is not None:
    st.dataframe(y.reshape(-1, y.shape[-1]), key=f"{prefix}_out")
    st.session_state["demo_result"] = (cfg, x, w, b, y)
ui.code_panel(cfg, x, w, b)
