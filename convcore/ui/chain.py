"""The layer-chain lab's Streamlit helpers: the shared prefix cache, the step table, and one step's picture.

Outputs are cached per prefix of the chain (convcore.chain.PrefixCache, bounded in bytes, shared by all sessions):
editing step k reuses steps 1..k-1 and recomputes k and those after it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from .. import imaging
from ..chain import (
    STEP_FIELDS,
    STEP_KINDS,
    ChainError,
    LayerStep,
    PrefixCache,
    cells_from_step,
    chain_shapes,
    chain_text,
    parse_chain,
    run_chain,
    step_from_cells,
)
from ..viz import images as figures
from . import lab
from .url_state import note_bad_url_value, set_url_value

__all__ = ["CACHE_BYTES", "prefix_cache", "Result", "step_table", "run", "step_view", "grid"]

CACHE_BYTES = 640 * 2**20  # four 12 MP RGB float32 outputs (144 MB each) fit; peak memory stays under 1 GB
GRID_MAX = 16  # feature maps shown per step


@st.cache_resource(show_spinner=False)
def prefix_cache() -> PrefixCache:
    """One byte-bounded cache for every session (its arrays are read-only)."""
    return PrefixCache(CACHE_BYTES)


@dataclass
class Result:
    """What the page shows: the steps that ran (with outputs), and the first error (its step keeps the others)."""

    steps: list
    outputs: list
    error: ChainError | None


def _column_config():
    text = st.column_config.TextColumn
    return {
        "step": st.column_config.SelectboxColumn("step", options=list(STEP_KINDS), required=True, width=130),
        "out_channels": st.column_config.NumberColumn("out_channels", min_value=1, step=1, width=100),
        "kernel_size": text("kernel_size", width=90, help="3, or height,width such as 3,5"),
        "stride": text("stride", width=60, help="1 if empty"),
        "padding": text("padding", width=70, help="0 if empty; 1, 1,0, or 'same' / 'valid' (Conv2d only)"),
        "output_padding": text("output_padding", width=110, help="ConvTranspose2d only"),
        "dilation": text("dilation", width=65, help="1 if empty"),
        "groups": st.column_config.NumberColumn("groups", min_value=1, step=1, width=60),
        "weights": text("weights", width=170,
                        help="a kernel name per output channel ('gaussian@2', 'sobel x,sobel y'), 'b' bilinear, "
                             "'v1,-1' the values, 'r7' seeded random (empty: random, seed = step number - 1)"),
        "scale": text("scale", width=80, help="scale/offset only: one number, or one per channel (0.5,1,2)"),
        "offset": text("offset", width=80, help="scale/offset only: one number, or one per channel"),
    }


def set_chain(prefix: str, text: str, default: str) -> None:
    """Replace the table (a fresh editor) with a chain; used by presets, reordering and links."""
    ss = st.session_state
    ss[f"{prefix}_rows"] = [cells_from_step(s) for s in parse_chain(text)]
    ss[f"{prefix}_version"] = ss.get(f"{prefix}_version", 0) + 1
    set_url_value(f"{prefix}_steps", text, default)


def move(prefix: str, delta: int) -> None:
    """Button callback: move the chosen row up (-1) or down (+1), keeping every cell as typed."""
    ss = st.session_state
    rows = list(ss.get(f"{prefix}_rows") or [])
    i = int(ss.get(f"{prefix}_pick", 1)) - 1
    j = i + delta
    if 0 <= i < len(rows) and 0 <= j < len(rows):
        rows[i], rows[j] = rows[j], rows[i]
        ss[f"{prefix}_rows"] = rows
        ss[f"{prefix}_base"] = rows
        ss[f"{prefix}_version"] = ss.get(f"{prefix}_version", 0) + 1
        ss[f"{prefix}_pick"] = j + 1


def step_table(prefix: str, default: str) -> list[dict]:
    """The editable table of steps (add and delete rows in it); returns its rows as the user left them."""
    ss = st.session_state
    key = f"{prefix}_editor_{ss.get(f'{prefix}_version', 0)}"
    if key not in ss:
        if f"{prefix}_base" not in ss or ss.get(f"{prefix}_rows") is None:
            raw = st.query_params.get(f"{prefix}_steps")
            try:
                steps = parse_chain(raw if raw is not None else default)
            except ChainError as err:
                note_bad_url_value(f"{prefix}_steps", raw, f"a chain such as {default} ({err})", "the default chain")
                steps = parse_chain(default)
            ss[f"{prefix}_rows"] = [cells_from_step(s) for s in steps]
        ss[f"{prefix}_base"] = ss[f"{prefix}_rows"]
    rows = st.data_editor(ss[f"{prefix}_base"], num_rows="dynamic", column_config=_column_config(),
                          column_order=STEP_FIELDS, key=key, width="stretch", hide_index=False)
    ss[f"{prefix}_rows"] = rows
    return rows


def read_rows(rows: list[dict], limit: int) -> tuple[list, ChainError | None]:
    """The steps up to the first row that cannot be read (or the limit), and why it stopped."""
    steps = []
    for number, cells in enumerate(rows, start=1):
        if number > limit:
            return steps, ChainError(f"step {number}: a chain has at most {limit} steps, the table has {len(rows)}; "
                                     f"steps {limit + 1} to {len(rows)} are not run (delete or merge some)", number - 1)
        try:
            steps.append(step_from_cells(cells, number))
        except ChainError as err:
            return steps, err
    return steps, None


def run(steps, x: np.ndarray, input_key: str) -> Result:
    """The chain up to its first invalid step, through the shared prefix cache."""
    shapes, error = chain_shapes(steps, x.shape, imaging.MAX_OUTPUT_PIXELS)
    good = list(steps[: len(shapes)])
    outputs = run_chain(good, x, input_key, prefix_cache())
    return Result(good, outputs, error)


@st.cache_resource(max_entries=48, show_spinner=False)
def summary(input_key: str, prefix_text: str, _out: np.ndarray) -> lab.LabResult:
    """A step output's display copy, range and histogram (lab.summarise), kept while its prefix is unchanged."""
    display, scale = imaging.display_copy(_out)
    return lab.LabResult(_out, display, scale)


def grid(values: np.ndarray, limit: int = GRID_MAX) -> tuple[np.ndarray, int, int]:
    """Up to `limit` channels of a (C, h, w) array tiled into one (1, H, W) picture with 2-px gaps (NaN: shown as
    the panel's lowest value); returns (tiled, columns, rows)."""
    c, h, w = values.shape
    n = min(c, limit)
    cols = int(np.ceil(np.sqrt(n)))
    rows = -(-n // cols)
    gap = 2
    tiled = np.full((1, rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan, np.float32)
    for i in range(n):
        r, q = divmod(i, cols)
        tiled[0, r * (h + gap) : r * (h + gap) + h, q * (w + gap) : q * (w + gap) + w] = values[i]
    return tiled, cols, rows


def step_figure(result: lab.LabResult, mode: str, label: str):
    """One step's picture: the image for 1 or 3 channels, else its feature maps in a grid sharing one scale."""
    value_range = result.value_range(mode)
    shown = result.display
    scale = result.scale
    if shown.shape[0] not in (1, 3):
        tiled, cols, rows = grid(shown)
        low = value_range[0]
        shown = np.where(np.isnan(tiled), np.float32(low), tiled)
        extra = f" (first {GRID_MAX})" if result.output.shape[0] > GRID_MAX else ""
        label = f"{label}: {min(result.output.shape[0], GRID_MAX)} feature maps{extra}, {cols} x {rows} grid"
    panels = figures.output_panels(shown, mode, value_range, scale, (0, 0), label)
    return figures.compose(panels, figures.aspect_of(shown))


def step_text(step, index: int, in_shape, out: np.ndarray, result: lab.LabResult) -> str:
    name = f"{step.layer.kind} ({chain_text([step])})" if isinstance(step, LayerStep) else step.name
    return (f"**Step {index + 1}: {name}** · `{tuple(in_shape)} -> {tuple(out.shape)}` · values "
            f"{result.low:.4g} to {result.high:.4g}")
