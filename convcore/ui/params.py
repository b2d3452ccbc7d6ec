"""The Conv2d / ConvTranspose2d constructor controls, every one keyed `<prefix>_<name>` and bound to the URL."""
from __future__ import annotations

import math
from collections.abc import Collection

import streamlit as st

from ..params import PADDING_MODES
from ..shapes import transpose_output_range
from .config import ConvConfig
from .url_state import choice, flag, int_input, show_url_notes

FIELDS = ("channels", "input_size", "kernel_size", "stride", "padding", "dilation", "groups", "bias", "padding_mode",
          "output_padding", "output_size")

# Upper bounds at teaching sizes: big enough to show every effect, small enough to read every number.
LIMITS = {"channels": 6, "input_size": 12, "kernel_size": 7, "stride": 4, "padding": 4, "dilation": 4}

PAIR_HELP = {
    "input_size": "The input's height and width (torch layout N, C, H, W).",
    "kernel_size": "kernel_size=(kH, kW): the window's height and width.",
    "stride": "stride=(sH, sW): how far the window moves per output row / column.",
    "padding": "padding=(pH, pW): rows added at the top and bottom, columns at the left and right.",
    "dilation": "dilation=(dH, dW): spacing between kernel taps; the window spans d*(k-1)+1 cells.",
    "output_padding": "output_padding: extra rows/columns on the bottom/right of a ConvTranspose2d's output; must be "
                      "smaller than stride or dilation in that dimension.",
}


def divisors(n: int) -> list[int]:
    """Positive divisors of n, ascending."""
    return [d for d in range(1, n + 1) if n % d == 0]


def _as_pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def pair_input(prefix: str, name: str, label: str, min_value, max_value, default, help: str | None = None,
               placeholder: tuple | None = None) -> tuple:
    """Height and width side by side (keys `<prefix>_<name>_h`, `_w`); bounds and default may be ints or pairs.

    A default of None leaves the box empty (the value is then None; `placeholder` shows what that means).
    """
    lows, highs, dflts = _as_pair(min_value), _as_pair(max_value), _as_pair(default)
    holders = _as_pair(placeholder)
    out = []
    for column, axis, i in zip(st.columns(2), ("h", "w"), (0, 1)):
        with column:
            out.append(int_input(prefix, f"{name}_{axis}", f"{label} {axis.upper()}", lows[i], highs[i], dflts[i],
                                 help=help, placeholder=None if holders[i] is None else str(holders[i])))
    return tuple(out)


def conv_params(prefix: str, transposed: bool = False, defaults: ConvConfig | dict | None = None,
                show: Collection[str] = FIELDS, limits: dict | None = None, notes: bool = True) -> ConvConfig:
    """Draw the controls (in the current container) and return the ConvConfig they describe.

    defaults: a ConvConfig or a dict of its fields (values when the URL says nothing). show: the FIELDS to draw;
    hidden ones keep their default. limits: overrides for LIMITS (upper bounds of the number inputs).
    notes=False leaves the warning about unusable link values to a later show_url_notes() call.
    """
    base = defaults if isinstance(defaults, ConvConfig) else ConvConfig(**(defaults or {}))
    base = ConvConfig(**{**base.as_dict(), "op": "conv_transpose2d" if transposed else "conv2d"})
    lim = {**LIMITS, **(limits or {})}
    values = base.as_dict()

    if "channels" in show:
        left, right = st.columns(2)
        with left:
            values["in_channels"] = int_input(prefix, "cin", "in_channels", 1, lim["channels"], base.in_channels,
                                              help="Input channels C_in.")
        with right:
            values["out_channels"] = int_input(prefix, "cout", "out_channels", 1, lim["channels"], base.out_channels,
                                               help="Output channels C_out (the number of filters).")
    if "input_size" in show:
        values["height"], values["width"] = pair_input(prefix, "in", "input", 1, lim["input_size"],
                                                       (base.height, base.width), PAIR_HELP["input_size"])
    if "kernel_size" in show:
        values["kernel_size"] = pair_input(prefix, "k", "kernel", 1, lim["kernel_size"], tuple(base.kernel_size),
                                           PAIR_HELP["kernel_size"])
    stride_box = st.container()  # drawn above padding, decided after it ('same' needs stride 1)
    if "padding" in show:
        values["padding"] = _padding(prefix, transposed, base, lim["padding"])
    with stride_box:
        if values["padding"] == "same":
            values["stride"] = (1, 1)
            st.caption("stride is 1: padding='same' is only defined for stride 1.")
        elif "stride" in show:
            values["stride"] = pair_input(prefix, "s", "stride", 1, lim["stride"], tuple(base.stride), PAIR_HELP["stride"])
    if "dilation" in show:
        values["dilation"] = pair_input(prefix, "d", "dilation", 1, lim["dilation"], tuple(base.dilation),
                                        PAIR_HELP["dilation"])
    if "groups" in show:
        options = divisors(math.gcd(values["in_channels"], values["out_channels"]))
        values["groups"] = choice(prefix, "groups", "groups", options, base.groups if base.groups in options else 1,
                                  help="groups must divide in_channels and out_channels; offered: the common divisors.",
                                  horizontal=True)
    if "bias" in show:
        values["bias"] = flag(prefix, "bias", "bias", base.bias, help="Add a learned bias per output channel.")
    if "padding_mode" in show and not transposed:
        values["padding_mode"] = choice(prefix, "pmode", "padding_mode", PADDING_MODES, base.padding_mode,
                                        help="What the padded cells hold: zeros, a mirror image (reflect), the edge "
                                             "value (replicate) or the opposite edge (circular).")
    if transposed:
        _transposed_extras(prefix, values, base, show)
    if notes:
        show_url_notes()
    return ConvConfig(**values)


def _padding(prefix: str, transposed: bool, base: ConvConfig, max_pad: int):
    if transposed:
        return pair_input(prefix, "p", "padding", 0, max_pad, tuple(base.padding), PAIR_HELP["padding"])
    default_kind = base.padding if isinstance(base.padding, str) else "numbers"
    kind = choice(prefix, "pkind", "padding", ["numbers", "same", "valid"], default_kind, horizontal=True,
                  help="A number of rows/columns per side, 'same' (output size = input size, stride 1 only) or "
                       "'valid' (no padding).")
    if kind != "numbers":
        return kind
    default = (0, 0) if isinstance(base.padding, str) else tuple(base.padding)
    return pair_input(prefix, "p", "padding", 0, max_pad, default, PAIR_HELP["padding"])


def _transposed_extras(prefix: str, values: dict, base: ConvConfig, show: Collection[str]) -> None:
    """output_size (optional) and output_padding, ranged by the rules torch enforces."""
    values["padding_mode"] = "zeros"
    stride, dilation = values["stride"], values["dilation"]
    values["output_size"] = None
    if "output_size" in show and flag(prefix, "osz", "set output_size", base.output_size is not None,
                                      help="forward(x, output_size=(H, W)) picks output_padding for you; valid "
                                           "sizes range from the size with output_padding 0 up to stride-1 more."):
        low, high = transpose_output_range((values["height"], values["width"]), values["kernel_size"], stride,
                                           values["padding"], dilation)
        if min(low) < 1:
            st.caption("No output size is reachable: the output would be empty.")
            return
        # Empty boxes mean the smallest size: a fixed default keeps the URL exact when the range moves.
        size = pair_input(prefix, "os", "output_size", low, high, base.output_size, placeholder=low,
                          help="Each size may range from the output_padding=0 size to stride-1 more.")
        values["output_size"] = tuple(low[i] if v is None else v for i, v in enumerate(size))
        values["output_padding"] = (0, 0)
        return
    if "output_padding" in show:
        top = (max(stride[0], dilation[0]) - 1, max(stride[1], dilation[1]) - 1)
        values["output_padding"] = pair_input(prefix, "op", "output_padding", 0, top,
                                              tuple(min(v, t) for v, t in zip(base.output_padding, top)),
                                              PAIR_HELP["output_padding"])
