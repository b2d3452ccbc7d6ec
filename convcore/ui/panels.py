"""Panels every page shares: engine errors as st.error, the live shape panel, the PyTorch code panel."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

from .config import CACHE_HASH_FUNCS, ConvConfig
from .formulas import output_size_latex, shape_rows


def run_engine(fn: Callable[..., Any], *args, **kwargs) -> Any | None:
    """fn(*args, **kwargs), or None after showing its ValueError/TypeError as an st.error (never a traceback).

    The engine's messages name the rule and the numbers, so they are shown as they are.
    """
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as err:
        st.error(f"PyTorch would reject this configuration: {err}", icon=":material/block:")
        return None


@st.cache_data(show_spinner=False, max_entries=256, hash_funcs=CACHE_HASH_FUNCS)
def forward(cfg: ConvConfig, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """cfg.forward, cached per configuration and values (a rerun that changes nothing else costs nothing)."""
    return cfg.forward(x, weight, bias)


def shape_panel(cfg: ConvConfig) -> bool:
    """The output-size formula with the numbers substituted, and the tensors' shapes; False if invalid (error shown)."""
    lines = run_engine(output_size_latex, cfg)
    st.markdown("**Shapes** (torch layout)")
    table = "| tensor | shape | layout |\n|---|---|---|\n" + "\n".join(
        f"| {name} | `{shape}` | `{layout}` |" for name, shape, layout in shape_rows(cfg))
    st.markdown(table)
    if lines is None:
        return False
    st.markdown("**Output size**" + (" (output_padding from output_size)" if cfg.output_size else ""))
    for line in lines:
        st.latex(line)
    return True


def code_panel(cfg: ConvConfig, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None,
               expanded: bool = False, input_expr: str | None = None, key: str | None = None) -> None:
    """An expander with PyTorch code that reproduces these numbers (weights and input as literals).

    With a key the code is built only while the expander is open (opening it reruns the page; True in
    st.session_state[key] opens it): a page's first load then skips the browser's syntax highlighter (1.5 MB, about
    0.6 s of a fresh browser's main thread before the lesson's first chart).
    """
    lazy = {} if key is None else {"key": key, "on_change": "rerun"}
    with st.expander("PyTorch code", expanded=expanded, icon=":material/code:", **lazy) as box:
        if key is None or box.open:
            st.code(cfg.code(x, weight, bias, input_expr=input_expr), language="python")
            st.caption("Runs as is with `pip install torch`; `y` is the output shown on this page.")
