"""The gallery of the classic figures: every animation of Dumoulin & Visin's "A guide to convolution arithmetic for
deep learning" (its conv_arithmetic GIFs), from our engine, with the guide's input and kernel sizes, and each
convolution's transposed counterpart (the ConvTranspose2d that maps the output size back to the input size).

ITEMS lists the pairs (pure data, tested against torch); show_pair(pair) draws one in Streamlit: the live
animation, the layer in PyTorch terms, a link that opens the lesson at that configuration, and the downloads.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import streamlit as st

from .. import export
from ..teaching.codegen import layer_expr
from ..teaching.trace import trace_conv2d, trace_conv_transpose2d
from ..viz.conv_animation import window_figure
from .config import CACHE_HASH_FUNCS, ConvConfig
from .export import animation_downloads
from .lesson_chart import CHART_CONFIG
from .present import Screen
from .values import named_values

__all__ = ["Pair", "PAIRS", "lesson_query", "pair_trace", "show_pair", "LESSON_PAGES"]

P = "gal"
LESSON_PAGES = {"conv2d": "pages/lessons/conv2d.py", "conv_transpose2d": "pages/lessons/conv_transpose2d.py"}
LESSON_PREFIX = {"conv2d": "c2", "conv_transpose2d": "ct"}
PREVIEW = {"max_width": 820, "max_height": 400}  # the lessons' width: fits the main column at 1280x720
PRESENT_ABOVE = 112  # presentation mode: page pixels above the figure (the tabs; the pick and the layer's code)
SIDES = {"Conv2d": "conv", "ConvTranspose2d": "transposed"}  # presentation mode shows one of the pair at a time
VALUES = "small integers"  # the lessons' default values: the link opens on the very same numbers


@dataclass(frozen=True)
class Pair:
    """One figure of the guide (its file name `guide`) and its transposed counterpart."""

    guide: str
    title: str
    conv: ConvConfig
    transposed: ConvConfig
    note: str = ""  # where our picture differs from the guide's, and why ours is right

    @property
    def slug(self) -> str:
        return self.guide


def _conv(size: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> ConvConfig:
    return ConvConfig(height=size, width=size, kernel_size=k, stride=stride, padding=padding, dilation=dilation,
                      bias=False)


def _pair(guide: str, title: str, conv: ConvConfig, note: str = "") -> Pair:
    """The conv and the ConvTranspose2d with the same arguments on its output, back to the conv's input size."""
    ho, wo = conv.output_hw()
    transposed = replace(conv, op="conv_transpose2d", height=ho, width=wo)
    # output_padding: the rows / columns the conv's floor division dropped, so the size comes back exactly
    back = transposed.output_hw()
    extra = (conv.height - back[0], conv.width - back[1])
    if extra != (0, 0):
        transposed = replace(transposed, output_padding=extra)
    return Pair(guide, title, conv, transposed, note)


PAIRS = (
    _pair("no_padding_no_strides", "No padding, no strides", _conv(4, 3)),
    _pair("arbitrary_padding_no_strides", "Arbitrary padding, no strides", _conv(5, 4, padding=2)),
    _pair("same_padding_no_strides", "Half ('same') padding, no strides", _conv(5, 3, padding=1)),
    _pair("full_padding_no_strides", "Full padding, no strides", _conv(5, 3, padding=2)),
    _pair("no_padding_strides", "No padding, strides", _conv(5, 3, stride=2)),
    _pair("padding_strides", "Padding, strides", _conv(5, 3, stride=2, padding=1)),
    _pair("padding_strides_odd", "Padding, strides (odd)", _conv(6, 3, stride=2, padding=1),
          note="6x6 and 5x5 inputs both give a 3x3 output here, so the transposed layer needs output_padding=1 to "
               "return to 6x6. PyTorch adds that row and column on the bottom and right (outlined in purple), and "
               "they hold real values: the kernel still reaches them. The guide's padding_strides_odd_transposed "
               "draws the extra padding on the other side."),
    _pair("dilation", "Dilation", _conv(7, 3, dilation=2),
          note="The guide animates only the dilated convolution; its transposed counterpart (same dilation) is ours."),
)

LABELLED = ("Input and output are labelled on every picture (the guide's animations are not: blue is the input, cyan "
            "the output), every cell shows its value, padding is outlined in orange and inserted zeros are grey.")


def module_code(cfg: ConvConfig) -> str:
    """The layer in PyTorch terms, e.g. `nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=1, bias=False)`."""
    kw = cfg.layer_kwargs()
    return layer_expr(cfg.op, kw["in_channels"], kw["out_channels"], kw["kernel_size"], kw["stride"], kw["padding"],
                      kw["dilation"], kw["groups"], kw["bias"], kw["padding_mode"], kw.get("output_padding", 0))


def values(cfg: ConvConfig) -> tuple[np.ndarray, np.ndarray]:
    """The input and weight the lesson shows by default for this configuration."""
    return named_values(VALUES, cfg.input_shape), named_values(VALUES, cfg.weight_shape, kind="weight")


def pair_trace(cfg: ConvConfig):
    """The WindowTrace of the animation: conv2d's window, or the transposed conv's zero-insertion view."""
    x, w = values(cfg)
    if cfg.transposed:
        return trace_conv_transpose2d(x, w, None, cfg.stride, cfg.padding, cfg.output_padding, cfg.groups,
                                      cfg.dilation).zero_insertion
    return trace_conv2d(x, w, None, cfg.stride, cfg.padding, cfg.dilation, cfg.groups, cfg.padding_mode)


def lesson_query(cfg: ConvConfig) -> dict[str, str]:
    """The lesson's URL query parameters for this configuration (keys as convcore.ui.params writes them)."""
    p = LESSON_PREFIX[cfg.op]
    query = {}
    for name, pair in (("in", (cfg.height, cfg.width)), ("k", cfg.kernel_size), ("s", cfg.stride),
                       ("p", cfg.padding), ("d", cfg.dilation)):
        query[f"{p}_{name}_h"], query[f"{p}_{name}_w"] = str(pair[0]), str(pair[1])
    if cfg.transposed:
        query[f"{p}_op_h"], query[f"{p}_op_w"] = (str(v) for v in cfg.output_padding)
    else:
        query[f"{p}_pkind"] = "numbers"
    query[f"{p}_bias"] = "false"
    return query


def _size(cfg: ConvConfig) -> str:
    ho, wo = cfg.output_hw()
    return f"{cfg.height}×{cfg.width} input → {ho}×{wo} output"


# ---- Streamlit ---------------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=32, hash_funcs=CACHE_HASH_FUNCS)
def _trace(cfg: ConvConfig):
    return pair_trace(cfg)


@st.cache_resource(show_spinner=False, max_entries=32, hash_funcs=CACHE_HASH_FUNCS)
def _preview(cfg: ConvConfig, screen: Screen | None = None):
    """The live animation (small, cached: the page sends the same figure on every rerun); on a projector's screen
    in presentation mode."""
    return window_figure(_trace(cfg), 0, **(PREVIEW if screen is None else screen.figure_size(PRESENT_ABOVE, step_buttons=False)))


def show_pair(pair: Pair, screen: Screen | None = None) -> None:
    """The convolution, then its transposed counterpart (one above the other: each figure needs the full width).
    In presentation mode one of them fills the `screen`, picked beside its layer's code; no notes, no downloads."""
    if screen is not None:
        pick, code = st.columns([2, 5], vertical_alignment="center")
        with pick:
            side = st.segmented_control("Layer", list(SIDES), default="Conv2d", required=True, key=f"{P}_side",
                                        bind="query-params", label_visibility="collapsed")
        cfg = getattr(pair, SIDES[side])
        with code:
            st.markdown(f"`{module_code(cfg)}`: {_size(cfg)}")
        st.plotly_chart(_preview(cfg, screen), key=f"{P}_{pair.guide}_{SIDES[side]}_chart", width="content",
                        config=CHART_CONFIG, alt=f"{side} animation, {_size(cfg)}")
        return
    if pair.note:
        st.caption(pair.note)
    _show_item(pair.conv, pair.guide)
    st.divider()
    _show_item(pair.transposed, f"{pair.guide}_transposed")


def _show_item(cfg: ConvConfig, guide: str) -> None:
    op = "ConvTranspose2d" if cfg.transposed else "Conv2d"
    st.markdown(f"#### {op}: {_size(cfg)}\n`{module_code(cfg)}` · the guide's `{guide}.gif`")
    st.plotly_chart(_preview(cfg), key=f"{P}_{guide}_chart", width="content", config=CHART_CONFIG,
                    alt=f"{op} animation, {_size(cfg)}")
    st.page_link(LESSON_PAGES[cfg.op], label=f"Open in the {op} lesson at this configuration", icon=":material/school:",
                 query_params=lesson_query(cfg))
    trace = _trace(cfg)
    animation_downloads(f"{P}_{guide}", guide, ("gallery", cfg), lambda: export.lesson_figure("window", trace, 0),
                        0, trace.n_steps)
