"""The layer-chain lab's Streamlit helpers: the shared prefix cache, the step table, and one step's picture.

Outputs are cached per prefix of the chain (convcore.teaching.chain.PrefixCache, bounded in bytes, shared by all sessions):
editing step k reuses steps 1..k-1 and recomputes k and those after it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from ..images import imaging
from ..teaching.chain import (
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

__all__ = ["CACHE_BYTES", "COLUMN_WIDTHS", "prefix_cache", "Result", "StepSummary", "set_chain", "move", "step_table", "read_rows", "run", "summary",
           "grid", "step_figure", "step_text", "start_b", "compare"]

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


# The table's columns, left to right, with their widths in pixels (each fits its header): the planner's widths, with
# the weights beside the kernel size, so that at 1280x720 every column a Conv2d row needs up to output_padding shows
# without scrolling; the rest (dilation, groups and the scale/offset step's two) scroll into view.
COLUMN_WIDTHS = {"step": 124, "out_channels": 112, "kernel_size": 100, "weights": 136, "stride": 70, "padding": 80,
                 "output_padding": 130, "dilation": 78, "groups": 72, "scale": 70, "offset": 72}


def _column_config():
    text, number, width = st.column_config.TextColumn, st.column_config.NumberColumn, COLUMN_WIDTHS
    return {
        "step": st.column_config.SelectboxColumn("step", options=list(STEP_KINDS), required=True, width=width["step"]),
        "out_channels": number("out_channels", min_value=1, step=1, width=width["out_channels"]),
        "kernel_size": text("kernel_size", width=width["kernel_size"], help="3, or height,width such as 3,5"),
        "weights": text("weights", width=width["weights"],
                        help="a kernel name per output channel ('gaussian@2', 'sobel x,sobel y'), 'b' bilinear, "
                             "'v1,-1' the values, 'r7' seeded random (empty: random, seed = step number - 1)"),
        "stride": text("stride", width=width["stride"], help="1 if empty"),
        "padding": text("padding", width=width["padding"], help="0 if empty; 1, 1,0, or 'same' / 'valid' (Conv2d only)"),
        "output_padding": text("output_padding", width=width["output_padding"], help="ConvTranspose2d only"),
        "dilation": text("dilation", width=width["dilation"], help="1 if empty"),
        "groups": number("groups", min_value=1, step=1, width=width["groups"]),
        "scale": text("scale", width=width["scale"], help="scale/offset only: one number, or one per channel (0.5,1,2)"),
        "offset": text("offset", width=width["offset"], help="scale/offset only: one number, or one per channel"),
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
    base = ss[f"{prefix}_base"]
    rows = st.data_editor(base if base else _empty_table(), num_rows="dynamic", column_config=_column_config(),
                          column_order=list(COLUMN_WIDTHS), key=key, width="stretch", hide_index=True)
    if isinstance(rows, pd.DataFrame):  # from the empty table: rows as dicts, empty cells as None
        rows = [{k: None if pd.isna(v) else v for k, v in row.items()} for row in rows.to_dict("records")]
    ss[f"{prefix}_rows"] = rows
    return rows


def _empty_table() -> pd.DataFrame:
    """No steps yet: the table still needs its columns (an empty list of rows has none) so rows can be added."""
    numbers = ("out_channels", "groups")  # NumberColumns: float (NaN when empty); text columns: object
    return pd.DataFrame({name: pd.Series(dtype="float64" if name in numbers else "object") for name in STEP_FIELDS})


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


@dataclass(frozen=True)
class StepSummary:
    """What the page shows of a step's output: its display copy, shape, range and histogram, without the output.

    The output itself stays in the prefix cache only, which is bounded in bytes: a summary holding it would keep up to
    48 full-size outputs (48 x 144 MB at 12 MP) alive past that bound.
    """

    display: np.ndarray
    scale: float
    shape: tuple
    low: float
    high: float
    histogram: lab.Histogram

    def value_range(self, mode: str) -> tuple[float, float]:
        return lab.value_range(self, mode)


@st.cache_resource(max_entries=48, show_spinner=False)
def summary(input_key: str, prefix_text: str, _out: np.ndarray) -> StepSummary:
    """A step output's display copy, range and histogram (lab.summarise), kept while its prefix is unchanged."""
    full = lab.summarise(_out)
    return StepSummary(full.display, full.scale, tuple(_out.shape), full.low, full.high, full.histogram)


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


def step_figure(result: StepSummary, mode: str, label: str):
    """One step's picture: the image for 1 or 3 channels, else its feature maps in a grid sharing one scale."""
    value_range = result.value_range(mode)
    shown = result.display
    scale = result.scale
    if shown.shape[0] not in (1, 3):
        tiled, cols, rows = grid(shown)
        low = value_range[0]
        shown = np.where(np.isnan(tiled), np.float32(low), tiled)
        extra = f" (first {GRID_MAX})" if result.shape[0] > GRID_MAX else ""
        label = f"{label}: {min(result.shape[0], GRID_MAX)} feature maps{extra}, {cols} x {rows} grid"
    panels = figures.output_panels(shown, mode, value_range, scale, (0, 0), label)
    return figures.compose(panels, figures.aspect_of(shown))


def step_text(step, index: int, in_shape, out: np.ndarray, result: StepSummary) -> str:
    name = f"{step.layer.kind} ({chain_text([step])})" if isinstance(step, LayerStep) else step.name
    return (f"**Step {index + 1}: {name}** · `{tuple(in_shape)} -> {tuple(out.shape)}` · values "
            f"{result.low:.4g} to {result.high:.4g}")


def start_b(prefix: str, a_text: str) -> None:
    """on_change of the A/B toggle: an empty chain B starts as a copy of chain A."""
    if not st.session_state.get(f"{prefix}_b"):
        st.session_state[f"{prefix}_b"] = a_text


def compare(prefix: str, a_steps, a_outputs, x: np.ndarray, input_key: str, mode: str) -> None:
    """A/B: chain B (typed as text, kept in the URL) beside chain A's output with a linked zoom, their difference
    and the numbers that differ."""
    key = f"{prefix}_b"
    text = st.text_input("Chain B (the same text form as the URL; e.g. change one kernel or stride)", "",
                         key=key, bind="query-params")
    if not text.strip():
        st.info("Type chain B above (e.g. copy the URL's chain_steps and change one step).")
        return
    try:
        b_steps = parse_chain(text)
    except ChainError as err:
        st.error(f"Chain B: {err}", icon=":material/block:")
        return
    b = run(b_steps, x, input_key)
    if b.error is not None:
        st.error(f"Chain B: {b.error}", icon=":material/block:")
        return
    if not a_outputs or not b.outputs:
        st.info("Both chains need at least one step to compare.")
        return
    out_a, out_b = a_outputs[-1], b.outputs[-1]
    sum_a = summary(input_key, chain_text(a_steps), out_a)
    sum_b = summary(input_key, chain_text(b.steps), out_b)
    shown = figures.output_panels(_shown(sum_a), mode, sum_a.value_range(mode), sum_a.scale, (0, 0),
                                  f"A {tuple(out_a.shape)}")
    shown_b = figures.output_panels(_shown(sum_b), mode, sum_b.value_range(mode), sum_b.scale, (0, 0),
                                    f"B {tuple(out_b.shape)}")
    fig = figures.compose([shown[0], shown_b[0]], figures.aspect_of(sum_a.display, sum_b.display))
    fig.update_layout(xaxis2=dict(matches="x"), yaxis2=dict(matches="y"))  # zoom or pan one: the other follows
    st.plotly_chart(fig, key=f"{prefix}_abfig", config={"displaylogo": False})
    same_shape = out_a.shape == out_b.shape
    rows = [("shape", str(tuple(out_a.shape)), str(tuple(out_b.shape))),
            ("min", f"{sum_a.low:.4g}", f"{sum_b.low:.4g}"), ("max", f"{sum_a.high:.4g}", f"{sum_b.high:.4g}"),
            ("mean", f"{float(out_a.mean()):.4g}", f"{float(out_b.mean()):.4g}"),
            ("steps", str(len(a_steps)), str(len(b.steps)))]
    differing = [r for r in rows if r[1] != r[2]]
    changed = [f"step {i + 1}: {chain_text([s])} vs {chain_text([t])}"
               for i, (s, t) in enumerate(zip(a_steps, b.steps)) if s != t]
    if same_shape:
        diff = out_b - out_a
        rows.append(("max |B - A|", "", f"{float(np.max(np.abs(diff))):.4g}"))
        rows.append(("PSNR of B against A (peak 255)", "", "identical" if not diff.any() else
                     f"{10 * np.log10(255**2 / float(np.mean(diff.astype(np.float64) ** 2))):.2f} dB"))
        differing += rows[-2:]
        st.plotly_chart(figures.difference_figure(sum_b.display - sum_a.display, scale=sum_a.scale, title="B - A"),
                        key=f"{prefix}_abdiff", config={"displaylogo": False})
    else:
        st.info(f"The outputs differ in shape ({tuple(out_a.shape)} vs {tuple(out_b.shape)}): no pixel difference.")
    st.dataframe([{"": r[0], "A": r[1], "B": r[2]} for r in differing], hide_index=True, key=f"{prefix}_abnums")
    if changed:
        st.caption("Steps that differ: " + "; ".join(changed))


def _shown(result: StepSummary) -> np.ndarray:
    """The display copy, or its feature maps in a grid when it has other than 1 or 3 channels."""
    if result.display.shape[0] in (1, 3):
        return result.display
    tiled, _, _ = grid(result.display)
    return np.where(np.isnan(tiled), np.float32(np.nanmin(tiled)), tiled)
