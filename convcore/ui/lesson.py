"""Streamlit glue the two lesson pages share: the step kept in the URL, step buttons, the animated chart with click
handling, the arithmetic panel, the output_padding explainer and the overlap panel.

The step lives in st.session_state under `<prefix>_<name>` (read from the link on the session's first run, written
back to the URL on every run), so the step buttons, the slider and a click on the chart all move the same value.
A clicked input cell lives the same way under `<prefix>_focus` ("row,col"). Traces and figures are cached
(st.cache_resource: shared, never mutated), so an unrelated rerun sends the same figure JSON and a paused
animation stays where it is.
"""
from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from _plotly_utils.utils import is_homogeneous_array, is_skipped_key, to_typed_array_spec

from ..shapes import conv2d_output_size, conv_transpose2d_output_size
from ..trace import (CellKind, arithmetic_lines, format_number, matrix_text, overlap_counts, scatter_text, trace_conv2d,
                     trace_conv_transpose2d)
from ..viz import CellRef, clicked_cell, input_cell_for, is_animated, overlap_figure, step_for_cell
from ..viz.conv_animation import conv2d_figure, zero_insertion_figure
from ..viz.concepts import grids_figure
from ..viz.transpose_views import matrix_figure, scatter_figure
from .config import ConvConfig
from .panels import forward
from .formulas import shape_rows
from .url_state import choice, note_bad_url_value, set_url_value, show_url_notes, url_int, widget_key

CHART_CONFIG = {"displaylogo": False, "displayModeBar": False, "scrollZoom": False, "doubleClick": False}
FIGURE_SIZE = {"max_width": 820, "max_height": 430}  # pixels: fits the main column at 1280x720


# --- cached engine calls -----------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=64)
def conv2d_trace(cfg: ConvConfig, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, out_channel: int):
    """trace_conv2d for batch element 0 and one output channel (shared: never mutate it)."""
    return trace_conv2d(x, w, b if cfg.bias else None, cfg.stride, cfg.padding, cfg.dilation, cfg.groups,
                        cfg.padding_mode, out_channel=out_channel)


@st.cache_resource(show_spinner=False, max_entries=64)
def transpose_trace(cfg: ConvConfig, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, out_channel: int):
    """trace_conv_transpose2d (three views) for batch element 0 and one output channel (shared: never mutate it)."""
    return trace_conv_transpose2d(x, w, b if cfg.bias else None, cfg.stride, cfg.padding, cfg.output_padding,
                                  cfg.groups, cfg.dilation, out_channel=out_channel, output_size=cfg.output_size)


# --- the step and the focused input cell, in session state and the URL --------------------------------------------

def current_step(prefix: str, n_steps: int, name: str = "step") -> int:
    """The step (0..n_steps-1): the session's, or the link's on the first run; clamped when the steps shrink."""
    key = widget_key(prefix, name)
    ss = st.session_state
    last = max(n_steps - 1, 0)
    if key not in ss:
        ss[key] = url_int(key, 0, 0, last)
    step = min(max(int(ss[key]), 0), last)
    ss[key] = step
    set_url_value(key, step, 0)
    return step


def set_step(prefix: str, step: int, name: str = "step") -> None:
    """Move the step (use in callbacks; the next current_step() clamps it into range and writes the URL)."""
    st.session_state[widget_key(prefix, name)] = int(step)


def parse_cell(text: str | None, size: tuple[int, int]) -> tuple[int, int] | None:
    """'row,col' inside an H x W grid -> (row, col); ValueError for anything else (None stays None)."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise ValueError(f"expected row,col, got {text!r}")
    r, c = (int(p) for p in parts)
    if not (0 <= r < size[0] and 0 <= c < size[1]):
        raise ValueError(f"cell ({r}, {c}) is outside the {size[0]}x{size[1]} input")
    return r, c


def current_focus(prefix: str, size: tuple[int, int], name: str = "focus") -> tuple[int, int] | None:
    """The clicked input cell (row, col) or None: the session's, or the link's on the first run."""
    key = widget_key(prefix, name)
    ss = st.session_state
    if key not in ss:
        raw = st.query_params.get(key)
        try:
            ss[key] = parse_cell(raw, size)
        except ValueError as err:
            note_bad_url_value(key, raw, f"an input cell row,col ({err})", "no cell")
            ss[key] = None
    cell = ss[key]
    if cell is not None and not (0 <= cell[0] < size[0] and 0 <= cell[1] < size[1]):
        cell = ss[key] = None  # the input shrank under it
    set_url_value(key, None if cell is None else f"{cell[0]},{cell[1]}")
    return cell


def set_focus(prefix: str, cell: tuple[int, int] | None, name: str = "focus") -> None:
    st.session_state[widget_key(prefix, name)] = None if cell is None else (int(cell[0]), int(cell[1]))


# --- step controls -------------------------------------------------------------------------------------------------

PLAY_SECONDS = 1.0  # a server-side Play step (only for figures too big for a browser animation)


def play_key(prefix: str, name: str = "step") -> str:
    return widget_key(prefix, f"{name}_play")


def _move(prefix: str, name: str, delta: int, n_steps: int) -> None:
    key = widget_key(prefix, name)
    st.session_state[key] = min(max(int(st.session_state.get(key, 0)) + delta, 0), max(n_steps - 1, 0))
    st.session_state[play_key(prefix, name)] = False  # a manual step pauses a server-side Play


def _from_slider(prefix: str, name: str) -> None:
    st.session_state[widget_key(prefix, name)] = int(st.session_state[widget_key(prefix, f"{name}_slider")])


def step_controls(prefix: str, n_steps: int, label_of: Callable[[int], str], name: str = "step",
                  noun: str = "step", scrub: bool = False) -> int:
    """First / previous / next / last buttons (← and → press previous / next) and the current step's name; returns
    the current step. scrub=True (a figure without browser frames) adds a slider and a server-side Play toggle.

    Keys: `<prefix>_<name>_first|prev|next|last`, `<prefix>_<name>_slider`, `<prefix>_<name>_play`.
    """
    step = current_step(prefix, n_steps, name)
    last = max(n_steps - 1, 0)
    buttons = (("first", ":material/first_page:", -n_steps, step == 0, f"First {noun}", None),
               ("prev", ":material/chevron_left:", -1, step == 0, f"Previous {noun} (←)", "Left"),
               ("next", ":material/chevron_right:", 1, step == last, f"Next {noun} (→)", "Right"),
               ("last", ":material/last_page:", n_steps, step == last, f"Last {noun}", None))
    cols = st.columns([1, 1, 1, 1, 2, 8] if scrub else [1, 1, 1, 1, 10], vertical_alignment="center", gap="small")
    for col, (what, icon, delta, disabled, help_text, shortcut) in zip(cols, buttons):
        with col:
            st.button("", icon=icon, key=widget_key(prefix, f"{name}_{what}"), help=help_text, disabled=disabled,
                      on_click=_move, args=(prefix, name, delta, n_steps), width="stretch", shortcut=shortcut)
    if scrub:
        with cols[4]:
            st.toggle("Play", key=play_key(prefix, name), disabled=step == last,
                      help=f"Step on the server, one {noun} every {PLAY_SECONDS:g} s")
    with cols[-1]:
        if scrub and n_steps > 1:
            slider_key = widget_key(prefix, f"{name}_slider")
            st.session_state[slider_key] = step  # the slider follows the step, whoever moved it
            st.select_slider(f"{noun.capitalize()}", options=range(n_steps), format_func=label_of, key=slider_key,
                             on_change=_from_slider, args=(prefix, name), label_visibility="collapsed")
        else:
            st.markdown(f"**Step {label_of(step)}** (of {n_steps}): its arithmetic is below; ← → step")
    return step


# --- the chart and its clicks --------------------------------------------------------------------------------------

def _on_chart_click(key: str, handle: Callable[[CellRef], None]) -> None:
    cell = clicked_cell(st.session_state.get(key))
    if cell is not None:
        handle(cell)


def chart(fig, key: str, on_cell: Callable[[CellRef], None] | None = None, alt: str | None = None) -> None:
    """Show a lesson figure at its own pixel size; a click on a cell calls on_cell(CellRef(grid, channel, row, col))."""
    if on_cell is None:
        st.plotly_chart(fig, key=key, width="content", config=CHART_CONFIG, alt=alt)
        return
    st.plotly_chart(fig, key=key, width="content", config=CHART_CONFIG, alt=alt, selection_mode="points",
                    on_select=functools.partial(_on_chart_click, key, on_cell))


# --- the page's header pieces ---------------------------------------------------------------------------------------

def is_valid(cfg: ConvConfig) -> bool:
    """Whether torch accepts this configuration with this input size (the shape panel explains it when not)."""
    try:
        cfg.check()
    except (ValueError, TypeError):
        return False
    return True


def shape_line(cfg: ConvConfig) -> None:
    """One line of shapes under the title, so a change of any argument shows at once."""
    rows = {name: shape for name, shape, _ in shape_rows(cfg)}
    op = "ConvTranspose2d" if cfg.transposed else "Conv2d"
    st.markdown(f"input `{rows['input']}` → **{op}** with weight `{rows['weight']}` → output `{rows['output']}`")


def channel_picker(prefix: str, cfg: ConvConfig) -> int:
    """Which output channel the animation follows (key `<prefix>_oc`, in the URL); 0 without a choice."""
    if cfg.out_channels == 1:
        return 0
    return choice(prefix, "oc", "Output channel shown", list(range(cfg.out_channels)), 0, horizontal=True,
                  help="The animation follows one output channel; with groups it reads only its group's input "
                       "channels.")


def channel_note(cfg: ConvConfig, trace) -> None:
    """Which input channels the traced output channel reads (groups)."""
    if cfg.in_channels == 1 and cfg.out_channels == 1:
        return
    chans = ", ".join(map(str, trace.in_channels))
    per = cfg.out_channels // cfg.groups
    group = trace.out_channel // per
    text = (f"Output channel {trace.out_channel} reads input channel{'s' if len(trace.in_channels) > 1 else ''} "
            f"{chans}")
    text += f" (group {group} of {cfg.groups})." if cfg.groups > 1 else " (groups=1: every input channel)."
    st.caption(text)


# --- the animated views: Conv2d's window; ConvTranspose2d's zero insertion, scatter and matrix ----------------------
#
# Output-cell steps (`<prefix>_step`) drive the window views and the matrix view; the scatter view steps over input
# cells (`<prefix>_stamp`). A click on an output cell anywhere moves the step; a click on an input cell focuses it
# (`<prefix>_focus`: the window views outline the outputs it feeds) and moves the scatter view to its stamp.

VIEWS = ("window", "scatter", "matrix")
VIEW_NOTES = {
    "zero insertion": "stride - 1 zeros go between the input's cells and dilation·(kernel - 1) - padding around them "
                      "(a negative amount crops), output_padding adds rows / columns at the bottom / right; then an "
                      "ordinary stride-1 convolution with the flipped kernel.",
    "scatter": "Each input cell in turn adds value x kernel onto the full output (stride apart); padding then crops "
               "that many rows / columns from every border.",
    "matrix": "C is the matching Conv2d as a matrix (rows: the input's pixels, columns: the output's); the "
              "transposed convolution is y = Cᵀ x + bias. One step = one column of C.",
}


def window_trace(cfg: ConvConfig, x, w, b, out_channel: int):
    """The WindowTrace of the window view: conv2d's, or the transposed conv's zero-insertion view."""
    if cfg.transposed:
        return transpose_trace(cfg, x, w, b, out_channel).zero_insertion
    return conv2d_trace(cfg, x, w, b, out_channel)


@st.cache_resource(show_spinner=False, max_entries=16)
def matrix_view(cfg: ConvConfig, x, w, b, out_channel: int):
    """The transposed conv as C^T (small sizes; ValueError past them)."""
    return transpose_trace(cfg, x, w, b, out_channel).matrix_view()


@st.cache_resource(show_spinner=False, max_entries=48)
def view_figure(view: str, cfg: ConvConfig, x, w, b, out_channel: int, step: int,
                focus: tuple[int, int] | None = None):
    """A view's animated figure opened at `step` (cached: the same arguments give the very same figure, so an
    unrelated rerun sends identical JSON and a paused animation stays put)."""
    if view == "window":
        trace = window_trace(cfg, x, w, b, out_channel)
        draw = zero_insertion_figure if cfg.transposed else conv2d_figure
        fig = draw(trace, step, focus_input=focus, **FIGURE_SIZE)
    elif view == "scatter":
        fig = scatter_figure(transpose_trace(cfg, x, w, b, out_channel), step, **FIGURE_SIZE)
    else:
        fig = matrix_figure(transpose_trace(cfg, x, w, b, out_channel), step,
                            view=matrix_view(cfg, x, w, b, out_channel), **{**FIGURE_SIZE, "max_height": 600})
    return sent_once(clickable_frames(fig))


class _SentFigure(go.Figure):
    """A cached, never-changed figure whose dict form (what st.plotly_chart sends) is built once, without copying.

    st.plotly_chart calls figure.to_dict(), which deep-copies every trace and frame, then base64-encodes numpy
    arrays: about half of a lesson's rerun at 12x12. The same dict, built by one walk that shares the unchanged
    leaves, once per figure (the figure is cached and never changes).
    """

    def to_dict(self) -> dict:
        sent = self.__dict__.get("_sent_dict")
        if sent is None:
            sent = {"data": _typed(self._data), "layout": _typed(self._layout)}
            frames = [_typed(frame._props) for frame in self._frame_objs]
            if frames:
                sent["frames"] = frames
            object.__setattr__(self, "_sent_dict", sent)
        return sent


def _typed(obj):
    """plotly's to_dict() walk (deepcopy, then convert_to_base64) as one copy of the containers, leaves shared."""
    if isinstance(obj, dict):
        return {key: value if is_skipped_key(key) else to_typed_array_spec(value) if is_homogeneous_array(value)
                else _typed(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        if _CONTAINERS.isdisjoint(map(type, obj)):  # numbers or strings only (checked in C): share the list
            return obj
        return type(obj)(_typed(v) if isinstance(v, (dict, list, tuple)) else v for v in obj)
    return obj


_CONTAINERS = frozenset((dict, list, tuple))


def sent_once(fig: go.Figure) -> go.Figure:
    """Mark a figure that will never change again (a cached one) so st.plotly_chart converts it only once."""
    fig.__class__ = _SentFigure
    return fig


def clickable_frames(fig: go.Figure) -> go.Figure:
    """List every trace in every frame, the static ones with an empty update (in place; returns fig).

    Plotly.animate(redraw=False) recomputes every trace but re-plots only those a frame lists; the others lose their
    SVG node, and the next click on the chart (Streamlit's on_select sets clickmode "event+select") throws in
    Plotly's selection styling ("Cannot read properties of undefined (reading 'selectAll')"): after Play, Pause or
    the slider, clicks would never reach the page. An empty update re-plots a trace without changing it.
    """
    if not fig.frames:
        return fig
    everything = range(len(fig.data))
    frames = []
    for frame in fig._frame_objs if hasattr(fig, "_frame_objs") else fig.frames:
        raw = frame._props  # read only: the frame's own dict, not a copy
        moving = list(raw.get("traces") or [])
        still = [i for i in everything if i not in set(moving)]
        frames.append(go.Frame({**raw, "traces": still + moving, "data": [{}] * len(still) + list(raw["data"])},
                               _validate=False))
    if hasattr(fig, "_frame_objs"):
        fig._frame_objs = tuple(frames)  # as convcore.viz.animation stores them: the public setter re-validates
    else:
        fig.frames = frames
    return fig


def out_label(trace, step: int) -> str:
    r, c = trace.cell_of(step)
    return f"{step} · out[{r}, {c}]"


def in_label(scatter, step: int) -> str:
    return f"{step} · input[{scatter.in_rows[step]}, {scatter.in_cols[step]}]"


def _on_cell(prefix: str, view: str, cfg: ConvConfig, x, w, b, out_channel: int, cell: CellRef) -> None:
    """What a click on a cell of a view does (see the comment above VIEWS)."""
    trace = transpose_trace(cfg, x, w, b, out_channel) if cfg.transposed else conv2d_trace(cfg, x, w, b, out_channel)
    source = input_cell_for(trace, cell)
    if source is not None:
        set_focus(prefix, source)
        if cfg.transposed:
            set_step(prefix, trace.scatter.step_of(*source), "stamp")
        return
    step = step_for_cell(trace, cell)
    if step is not None:
        set_step(prefix, step)
        if view == "scatter":
            st.toast(f"Output cell ({cell.row}, {cell.col}): the zero-insertion and matrix views open at its step, "
                     f"{step}.", icon=":material/info:")
    elif cell.grid in ("padded input", "zero-inserted input"):
        st.toast(f"{cell.grid}[{cell.row}, {cell.col}] is a zero that copies no input cell.", icon=":material/info:")
    elif cell.grid == "y":
        st.toast(f"y[{cell.col}] belongs to another output channel than the one shown ({out_channel}).",
                 icon=":material/info:")


def focus_panel(prefix: str, trace, focus: tuple[int, int]) -> None:
    """The output cells a clicked input cell feeds (outlined in the chart), with a button to forget it."""
    r, c = focus
    steps = trace.steps_reading(r, c)
    chans = trace.in_channels
    value = ", ".join(format_number(trace.input[k, r, c]) for k in range(len(chans)))
    name = f"input[0, {chans[0]}, {r}, {c}]" if len(chans) == 1 else f"input[0, {chans[0]}..{chans[-1]}, {r}, {c}]"
    cells = ", ".join(f"({trace.out_rows[s]}, {trace.out_cols[s]})" for s in steps[:24])
    more = f", ... ({len(steps)} in all)" if len(steps) > 24 else ""
    left, right = st.columns([7, 1], vertical_alignment="center")
    with left:
        if len(steps):
            st.info(f"{name} = {value} feeds {len(steps)} output cell{'s' if len(steps) != 1 else ''}, outlined in "
                    f"green: {cells}{more}. Click one to see its arithmetic.", icon=":material/ads_click:")
        else:
            st.info(f"{name} = {value} feeds no output cell: no window position reads it (the stride or the "
                    f"padding skips it).", icon=":material/ads_click:")
    with right:
        st.button("Clear", key=widget_key(prefix, "focus_clear"), on_click=set_focus, args=(prefix, None),
                  icon=":material/close:", help="Forget the clicked input cell")


def animated_view(prefix: str, view: str, cfg: ConvConfig, x, w, b, out_channel: int) -> None:
    """One view in a fragment (stepping reruns only this part of the page): the animated chart (click a cell: see
    above), the step buttons under it, and the arithmetic of the current step with the real numbers. A figure too
    big for browser frames gets a slider and a server-side Play instead (a fragment rerun every PLAY_SECONDS)."""
    playing = bool(st.session_state.get(play_key(prefix, _step_name(view))))
    (_view_playing if playing else _view_fragment)(prefix, view, cfg, x, w, b, out_channel)


def _step_name(view: str) -> str:
    return "stamp" if view == "scatter" else "step"


@st.fragment
def _view_fragment(prefix: str, view: str, cfg: ConvConfig, x, w, b, out_channel: int) -> None:
    _view_body(prefix, view, cfg, x, w, b, out_channel, timer=False)


@st.fragment(run_every=PLAY_SECONDS)
def _view_playing(prefix: str, view: str, cfg: ConvConfig, x, w, b, out_channel: int) -> None:
    _view_body(prefix, view, cfg, x, w, b, out_channel, timer=True)


def _view_body(prefix: str, view: str, cfg: ConvConfig, x, w, b, out_channel: int, timer: bool) -> None:
    ss = st.session_state
    name, playing_key = _step_name(view), play_key(prefix, _step_name(view))
    if bool(ss.get(playing_key)) != timer:  # Play was switched: rerun the page with the other fragment
        st.rerun()
    trace = window_trace(cfg, x, w, b, out_channel)
    scatter = transpose_trace(cfg, x, w, b, out_channel).scatter if view == "scatter" else None
    n_steps = scatter.n_steps if scatter is not None else trace.n_steps
    focus = current_focus(prefix, tuple(trace.input.shape[1:]))
    if view == "scatter":
        current_step(prefix, trace.n_steps)  # keeps the output step (set by a click here) in the URL
    step = current_step(prefix, n_steps, name)
    if timer:  # a tick of the server-side Play
        step = min(step + 1, n_steps - 1)
        set_step(prefix, step, name)
        set_url_value(widget_key(prefix, name), step, 0)
        if step == n_steps - 1:
            ss[playing_key] = False
    show_url_notes()
    try:
        fig = view_figure(view, cfg, x, w, b, out_channel, step, focus if view == "window" else None)
    except ValueError as err:  # only the matrix view has a size limit (C grows as input pixels x output pixels)
        if view != "matrix":
            raise
        st.info(f"{str(err)[:1].upper()}{str(err)[1:]}.", icon=":material/table_chart:")
        return
    scrub = not is_animated(fig)
    if timer and not scrub:  # the figure animates in the browser now: no server-side Play
        ss[playing_key] = False
    chart(fig, widget_key(prefix, f"chart_{view}"), functools.partial(_on_cell, prefix, view, cfg, x, w, b, out_channel),
          alt=f"{cfg.op} {view} animation at step {step}")
    if scatter is not None:
        step_controls(prefix, n_steps, functools.partial(in_label, scatter), name, "input cell", scrub)
    else:
        step_controls(prefix, n_steps, functools.partial(out_label, trace), name, "output cell", scrub)
    if scrub:
        st.caption(f"{n_steps} steps are more than a browser animation holds here: step with the buttons or the "
                   f"slider, Play on the server, or click a cell.")
    if view == "window" and focus is not None:
        focus_panel(prefix, trace, focus)
    if cfg.transposed:
        st.caption(VIEW_NOTES["zero insertion" if view == "window" else view])
    arithmetic_panel(*step_arithmetic(view, cfg, x, w, b, out_channel, step))


def step_arithmetic(view: str, cfg: ConvConfig, x, w, b, out_channel: int, step: int) -> tuple[str, list[str]]:
    """(title, lines) of a view's step: the products and sums with the real numbers, ending in the cell's value."""
    if view == "scatter":
        tt = transpose_trace(cfg, x, w, b, out_channel)
        i, j = int(tt.scatter.in_rows[step]), int(tt.scatter.in_cols[step])
        return f"Input cell ({i}, {j}), step {step} of {tt.scatter.n_steps - 1}", scatter_lines(tt, step)
    trace = window_trace(cfg, x, w, b, out_channel)
    r, c = trace.cell_of(step)
    title = f"Output cell ({r}, {c}), step {step} of {trace.n_steps - 1}"
    if view == "matrix":
        mv = matrix_view(cfg, x, w, b, out_channel)
        return title, [matrix_text(mv, out_channel, r, c, digits=4, times="·")]
    return title, window_arithmetic(trace, step)


def scatter_lines(tt, step: int) -> list[str]:
    """A scatter step: what it adds where, and the values of the cells it touched right after."""
    view = tt.scatter
    rows, cols = view.stamp_rows[step], view.stamp_cols[step]
    adds = ", ".join(format_number(v) for v in view.stamps[step].ravel())
    now = ", ".join(format_number(v) for v in view.totals[step].ravel())
    return [scatter_text(tt, step, digits=4, times="·"),
            f"stamp (row by row): {adds}",
            f"canvas rows {rows[0]}..{rows[-1]}, cols {cols[0]}..{cols[-1]} now hold: {now}"]


# --- the arithmetic ------------------------------------------------------------------------------------------------

def arithmetic_panel(title: str, lines: list[str]) -> None:
    """The arithmetic of the current step, one line per input channel / sum / bias, large enough to project."""
    body = "<br>".join(html.escape(line) for line in lines)
    st.markdown(f"**{html.escape(title)}**\n\n<div class='cs-arithmetic' style='font-family: monospace; "
                f"font-size: 1.15rem; line-height: 1.6; overflow-wrap: anywhere; margin-bottom: 1.5rem'>{body}</div>",
                unsafe_allow_html=True)


def window_arithmetic(trace, step: int) -> list[str]:
    """arithmetic_lines of a WindowTrace step (middle dot for products). The zero-insertion view leaves out the taps
    that read inserted or padding zeros (they add nothing) and says how many."""
    if trace.op == "conv2d":
        return arithmetic_lines(trace, step, digits=4, times="·")
    lines = arithmetic_lines(trace, step, digits=4, times="·", skip_zeros=True)
    kinds = trace.tap_kinds(step)
    zeros = int((kinds != CellKind.REAL).sum()) * len(trace.in_channels)
    if zeros:
        lines.insert(0, f"({zeros} of {kinds.size * len(trace.in_channels)} taps read inserted or padding zeros and "
                        f"are left out)")
    return lines


# --- output_padding ------------------------------------------------------------------------------------------------

AXES = (("height", "rows", "row", "bottom"), ("width", "columns", "column", "right"))


def output_padding_rows(cfg: ConvConfig, axis: int) -> list[tuple[int, int, int | None]]:
    """(output_padding, ConvTranspose2d output size, what the partner Conv2d maps that size back to) along one axis,
    for every output_padding torch allows there (0 .. max(stride, dilation) - 1). Sizes come from the engine."""
    n, k, s, p, d = ((cfg.height, cfg.width)[axis], cfg.kernel_size[axis], cfg.stride[axis], cfg.padding[axis],
                     cfg.dilation[axis])
    rows = []
    for op in range(max(s, d)):
        out = conv_transpose2d_output_size((n, n), (k, k), (s, s), (p, p), (op, op), (d, d))[0]
        back = conv2d_output_size((out, out), (k, k), (s, s), (p, p), (d, d))[0] if out > 0 else None
        rows.append((op, out, back))
    return rows


def _axis_numbers(cfg: ConvConfig, axis: int) -> tuple[int, int, int, int, int]:
    return ((cfg.height, cfg.width)[axis], cfg.kernel_size[axis], cfg.stride[axis], cfg.padding[axis],
            cfg.dilation[axis])


def _sizes_text(sizes: list[int]) -> str:
    return sizes[0].__str__() if len(sizes) == 1 else ", ".join(map(str, sizes[:-1])) + f" and {sizes[-1]}"


def output_padding_story(cfg: ConvConfig, axis: int) -> str:
    """Markdown: which Conv2d input sizes collapse onto this input size, and what output_padding chooses."""
    size, lines, _, side = AXES[axis]
    n, k, s, p, d = _axis_numbers(cfg, axis)
    rows = output_padding_rows(cfg, axis)
    conv = f"`Conv2d(kernel_size={k}, stride={s}, padding={p}, dilation={d})`"
    if len(rows) == 1:
        return (f"**{size.capitalize()}:** with stride {s} (and dilation {d}) every Conv2d input {size} gives a "
                f"different output {size}, so there is nothing to choose: output_padding must be 0 here.")
    same = [out for _, out, back in rows if back == n and out > 0]
    text = (f"**{size.capitalize()}:** {conv} maps inputs of {size} {_sizes_text(same)} all to {size} {n} "
            f"(the division by the stride rounds down). Going back, ConvTranspose2d cannot tell which one you "
            f"started from: it gives {rows[0][1]}, and output_padding adds {lines} at the {side} to reach the others.")
    beyond = [(op, out, back) for op, out, back in rows if back != n]
    if beyond:
        op, out, back = beyond[0]
        text += (f" output_padding={op} is allowed because it is smaller than the dilation {d}, but that {size} "
                 f"({out}) maps back to {back}, not {n}.")
    return text


def output_padding_table(cfg: ConvConfig, axis: int) -> str:
    """A markdown table of output_padding -> output size -> Conv2d back, the current choice marked."""
    size = AXES[axis][0]
    n = (cfg.height, cfg.width)[axis]
    now = cfg.effective_output_padding()[axis]
    head = f"| output_padding ({size}) | ConvTranspose2d output {size} | Conv2d maps it back to |\n|---|---|---|\n"
    body = "\n".join(
        f"| {'**' + str(op) + '** (now)' if op == now else op} | {out} | {back}{'' if back == n else ' (not ' + str(n) + ')'} |"
        for op, out, back in output_padding_rows(cfg, axis))
    return head + body


def extra_cells_text(cfg: ConvConfig, demo: ConvConfig, y_demo: np.ndarray, y_base: np.ndarray,
                     out_channel: int) -> str:
    """Markdown: where demo's output_padding rows / columns go, that the rest equals output_padding 0, and what the
    new cells hold (real values where kernel taps reach them, only the bias where none does)."""
    op = demo.effective_output_padding()
    ho, wo = y_base.shape[-2:]
    same = bool(np.array_equal(y_demo[..., :ho, :wo], y_base))
    counts = overlap_counts((demo.height, demo.width), demo.kernel_size, demo.stride, demo.padding, op, demo.dilation)
    parts = [f"With `output_padding={tuple(op)}` the output grows from {ho}x{wo} to "
             f"{y_demo.shape[-2]}x{y_demo.shape[-1]}: the extra rows go at the **bottom** and the extra columns on "
             f"the **right**, never at the top or left."]
    parts.append("The first rows and columns are exactly the `output_padding=0` output." if same else
                 "The first rows and columns differ from the `output_padding=0` output (unexpected: please report).")
    for axis, count in ((0, op[0]), (1, op[1])):
        _, _, one, _ = AXES[axis]
        for j in range(count):
            index = (ho if axis == 0 else wo) + j
            taps = counts[index, :] if axis == 0 else counts[:, index]
            values = y_demo[0, out_channel, index, :] if axis == 0 else y_demo[0, out_channel, :, index]
            shown = ", ".join(format_number(v, 3) for v in values[:12]) + (", ..." if len(values) > 12 else "")
            if taps.any():
                parts.append(f"New {one} {index} is computed like any other: up to {int(taps.max())} kernel "
                             f"taps reach its cells, so it holds real values: [{shown}].")
            else:
                parts.append(f"New {one} {index} lies past the last row any kernel tap reaches (padding={demo.padding[axis]} "
                             f"cropped nothing there), so it holds only the bias: [{shown}].")
    parts.append("Set output_padding in the sidebar to see these cells outlined in purple in the other views.")
    return " ".join(parts[:2]) + "\n\n" + "\n\n".join(f"- {p}" for p in parts[2:-1]) + "\n\n" + parts[-1]


def demo_output_padding(cfg: ConvConfig) -> ConvConfig | None:
    """The configuration the explainer shows: the current one if it has output_padding, else output_padding 1
    where torch allows it; None when no axis allows any (stride and dilation 1)."""
    op = cfg.effective_output_padding()
    if any(op):
        return replace(cfg, output_padding=tuple(op), output_size=None)
    demo = tuple(1 if max(cfg.stride[a], cfg.dilation[a]) > 1 else 0 for a in (0, 1))
    return replace(cfg, output_padding=demo, output_size=None) if any(demo) else None


def output_padding_panel(cfg: ConvConfig, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                         out_channel: int) -> None:
    """Why output_padding exists (two Conv2d sizes, one ConvTranspose2d input), where it goes, what it holds."""
    square = _axis_numbers(cfg, 0) == _axis_numbers(cfg, 1)
    for axis in (0,) if square else (0, 1):
        story = output_padding_story(cfg, axis)
        if square:
            story = story.replace("**Height:**", "**Height (the width has the same numbers):**", 1)
        st.markdown(story)
        if len(output_padding_rows(cfg, axis)) > 1:
            st.markdown(output_padding_table(cfg, axis))
    demo = demo_output_padding(cfg)
    if demo is None:
        return
    y_demo = forward(demo, x, w, b)
    y_base = forward(replace(cfg, output_padding=(0, 0), output_size=None), x, w, b)
    st.markdown(extra_cells_text(cfg, demo, y_demo, y_base, out_channel))


# --- checkerboards -------------------------------------------------------------------------------------------------

def interior_taps(kernel: int, stride: int, dilation: int) -> list[int]:
    """Along one axis, away from the borders: how many kernel taps reach an output position, per position mod stride.

    Output position r is reached by tap a when r + padding - a*dilation is a multiple of the stride, so only
    a*dilation mod stride matters; equal counts mean an even overlap (no checkerboard along this axis).
    """
    return np.bincount((np.arange(kernel) * dilation) % stride, minlength=stride).tolist()


def overlap_story(counts: np.ndarray, stride, kernel_size, dilation) -> str:
    """Markdown: whether kernel taps land evenly on the output (checkerboard or not), with the numbers."""
    lo, hi = int(counts.min()), int(counts.max())
    parts = [f"Output cells receive between {lo} and {hi} kernel taps."]
    uneven = []
    for a in (0, 1):
        taps = interior_taps(kernel_size[a], stride[a], dilation[a])
        if len(set(taps)) > 1:
            uneven.append(a)
            cycle = ", ".join(map(str, taps))
            parts.append(f"Away from the borders, along the {AXES[a][0]}, consecutive {AXES[a][1]} get {cycle}, "
                         f"{cycle}, ... taps (kernel {kernel_size[a]}, stride {stride[a]}, dilation {dilation[a]}).")
    if uneven:
        parts.append("Cells that get more taps come out stronger even when the input and the kernel are constant: "
                     "that periodic unevenness is the **checkerboard artifact** of transposed convolutions. With "
                     "dilation 1, a kernel size divisible by the stride spreads the taps evenly.")
    elif lo != hi:
        parts.append("Away from the borders every cell gets the same number of taps: only border cells get fewer, "
                     "which weakens the edges but makes no checkerboard.")
    else:
        parts.append("The overlap is even everywhere: no checkerboard.")
    return " ".join(parts)


def overlap_panel(cfg: ConvConfig, x, w, out_channel: int) -> None:
    """The overlap count map (kernel taps per output cell) beside this layer's output for a constant input."""
    op = cfg.effective_output_padding()
    counts = overlap_counts((cfg.height, cfg.width), cfg.kernel_size, cfg.stride, cfg.padding, op, cfg.dilation)
    flat = forward(replace(cfg, bias=False), np.ones(cfg.input_shape, dtype=x.dtype), w, None)[0, out_channel]
    half = FIGURE_SIZE["max_width"] // 2 - 10
    left, right = st.columns(2)
    with left:
        chart(overlap_figure(counts, max_width=half, max_height=400), "ct_overlap_chart",
              alt="kernel taps per output cell")
    with right:
        chart(grids_figure({"constant": flat}, titles={"constant": f"output {out_channel} for an all-ones input"},
                           max_width=half, max_height=366, hover_name="out"), "ct_constant_chart",
              alt="the layer's output for an all-ones input")
    st.markdown(overlap_story(counts, cfg.stride, cfg.kernel_size, cfg.dilation))
