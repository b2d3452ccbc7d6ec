"""Streamlit pieces the two lesson pages share: cached traces, the step and the clicked input cell kept in the URL,
step buttons, the animated views in a fragment with the arithmetic under them, the output_padding and overlap panels.

The step lives in st.session_state under `<prefix>_<name>` (read from the link on the session's first run, written
back to the URL on every run), so the step buttons, the slider and a click on the chart all move the same value.
A clicked input cell lives the same way under `<prefix>_focus` ("row,col"). Traces and figures are cached
(st.cache_resource: shared, never mutated), so an unrelated rerun sends the same figure JSON and a paused
animation stays where it is.

    cfg, x, w, b, oc = lesson.setup(P, DEFAULTS)          # sidebar, shape line, traced channel (or st.stop())
    lesson.animated_view(P, "window", cfg, x, w, b, oc)      # or "scatter" / "matrix" for ConvTranspose2d
    lesson.output_padding_panel(cfg, x, w, b, oc); lesson.overlap_panel(cfg, x, w, oc)
"""
from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import streamlit as st

from ..teaching.trace import format_number, matrix_text, overlap_counts, trace_conv2d, trace_conv_transpose2d
from ..viz import CellRef, input_cell_for, is_animated, overlap_figure, step_for_cell
from ..viz.concepts import grids_figure
from ..viz.conv_animation import conv2d_figure, zero_insertion_figure
from ..viz.transpose_views import matrix_figure, scatter_figure
from .config import CACHE_HASH_FUNCS, ConvConfig
from .export import figure_downloads, view_downloads
from .formulas import shape_rows
from .lesson_chart import at_step, chart, clickable_frames
from .lesson_text import (VIEW_NOTES, axis_numbers, demo_output_padding, extra_cells_text, in_label, out_label,
                          output_padding_rows, output_padding_story, output_padding_table, overlap_story, parse_cell,
                          scatter_lines, window_arithmetic)
from .panels import forward, run_engine, shape_panel
from . import predict, present
from .params import conv_params
from .url_state import choice, note_bad_url_value, set_url_value, show_url_notes, url_int, widget_key
from .values import value_picker

FIGURE_SIZE = {"max_width": 820, "max_height": 430}  # pixels: fits the main column at 1280x720
TABS_HEIGHT = 56  # pixels the ConvTranspose2d lesson's tabs take above its figures (presentation mode)


# --- cached engine calls ------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=64, hash_funcs=CACHE_HASH_FUNCS)
def conv2d_trace(cfg: ConvConfig, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, out_channel: int):
    """trace_conv2d for batch element 0 and one output channel (shared: never mutate it)."""
    return trace_conv2d(x, w, b if cfg.bias else None, cfg.stride, cfg.padding, cfg.dilation, cfg.groups,
                        cfg.padding_mode, out_channel=out_channel)


@st.cache_resource(show_spinner=False, max_entries=64, hash_funcs=CACHE_HASH_FUNCS)
def transpose_trace(cfg: ConvConfig, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, out_channel: int):
    """trace_conv_transpose2d (three views) for batch element 0 and one output channel (shared: never mutate it)."""
    return trace_conv_transpose2d(x, w, b if cfg.bias else None, cfg.stride, cfg.padding, cfg.output_padding,
                                  cfg.groups, cfg.dilation, out_channel=out_channel, output_size=cfg.output_size)


# --- the step and the clicked input cell, in session state and the URL --------------------------------------------

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


# --- step controls ------------------------------------------------------------------------------------------------

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
    buttons = (("first", ":material/first_page:", -n_steps, step == 0, f"First {noun} (Home)", "Home"),
               ("prev", ":material/chevron_left:", -1, step == 0, f"Previous {noun} (←)", "Left"),
               ("next", ":material/chevron_right:", 1, step == last, f"Next {noun} (→)", "Right"),
               ("last", ":material/last_page:", n_steps, step == last, f"Last {noun} (End)", "End"))
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
            where = "in the figure" if present.active() else "below"
            st.markdown(f"**Step {label_of(step)}** (of {last}): its arithmetic is {where}; space plays, ← → step")
    return step


# --- the page's header pieces -------------------------------------------------------------------------------------

def setup(prefix: str, defaults: dict, transposed: bool = False):
    """The top of a lesson page: the sidebar (module arguments, then input, weight and bias values), the shape line
    and the traced output channel: (cfg, x, w, b, out_channel), or st.stop() after the rule that was broken."""
    with st.sidebar:
        st.subheader(f"nn.{'ConvTranspose2d' if transposed else 'Conv2d'} arguments")
        cfg = conv_params(prefix, transposed=transposed, defaults=defaults)
        st.subheader("Values")
        x = value_picker(prefix, "x", "Input", cfg.input_shape)
        w = value_picker(prefix, "w", "Kernel (weight)", cfg.weight_shape, kind="weight")
        b = value_picker(prefix, "b", "Bias", cfg.bias_shape, kind="weight") if cfg.bias else None
    if not present.active():
        shape_line(cfg)
    if not is_valid(cfg):
        shape_panel(cfg)  # the error (rule and numbers) and the shapes; the controls keep every setting
        st.stop()
    out_channel = channel_picker(prefix, cfg)
    trace = run_engine(transpose_trace if transposed else conv2d_trace, cfg, x, w, b, out_channel)
    if trace is None:  # run_engine showed the engine's message
        st.stop()
    channel_note(cfg, trace)
    return cfg, x, w, b, out_channel


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


# --- the animated views: Conv2d's window; ConvTranspose2d's zero insertion, scatter and matrix --------------------

# Output-cell steps (`<prefix>_step`) drive the window views and the matrix view; the scatter view steps over input
# cells (`<prefix>_stamp`). A click on an output cell anywhere moves the step; a click on an input cell focuses it
# (`<prefix>_focus`: the window views outline the outputs it feeds) and moves the scatter view to its stamp.

def window_trace(cfg: ConvConfig, x, w, b, out_channel: int):
    """The WindowTrace of the window view: conv2d's, or the transposed conv's zero-insertion view."""
    if cfg.transposed:
        return transpose_trace(cfg, x, w, b, out_channel).zero_insertion
    return conv2d_trace(cfg, x, w, b, out_channel)


@st.cache_resource(show_spinner=False, max_entries=16, hash_funcs=CACHE_HASH_FUNCS)
def matrix_view(cfg: ConvConfig, x, w, b, out_channel: int):
    """The transposed conv as C^T (small sizes; ValueError past them)."""
    return transpose_trace(cfg, x, w, b, out_channel).matrix_view()


def view_figure(view: str, cfg: ConvConfig, x, w, b, out_channel: int, step: int,
                focus: tuple[int, int] | None = None, screen: present.Screen | None = None):
    """A view's animated figure opened at `step`: the configuration's figure, built once, moved to the step
    (at_step: the same JSON as building it there, in a fraction of a millisecond instead of 10-70 ms). The same
    arguments give the very same figure, so an unrelated rerun sends identical JSON and a paused animation stays
    put. A figure without browser frames (too many steps) is built at its step. In presentation mode the figure
    is built for the projector's `screen`."""
    base = _view_figure(view, cfg, x, w, b, out_channel, 0, focus, screen)
    if is_animated(base):
        return at_step(base, step)
    return _view_figure(view, cfg, x, w, b, out_channel, step, focus, screen)


@st.cache_resource(show_spinner=False, max_entries=48, hash_funcs=CACHE_HASH_FUNCS)
def _view_figure(view: str, cfg: ConvConfig, x, w, b, out_channel: int, step: int,
                 focus: tuple[int, int] | None = None, screen: present.Screen | None = None):
    """A view's figure built at `step` (cached)."""
    size = FIGURE_SIZE if screen is None else screen.figure_size(TABS_HEIGHT if cfg.transposed else 0)
    if view == "window":
        trace = window_trace(cfg, x, w, b, out_channel)
        draw = zero_insertion_figure if cfg.transposed else conv2d_figure
        fig = draw(trace, step, focus_input=focus, **size)
    elif view == "scatter":
        fig = scatter_figure(transpose_trace(cfg, x, w, b, out_channel), step, **size)
    else:
        fig = matrix_figure(transpose_trace(cfg, x, w, b, out_channel), step,
                            view=matrix_view(cfg, x, w, b, out_channel),
                            **({**size, "max_height": 600} if screen is None else size))
    return clickable_frames(fig)


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
    # predict mode (ui/predict.py); not on a projected slide, which has no room for the guess box
    hidden = predict.hidden_from(prefix, step) if view == "window" and not present.active() else None
    show_url_notes()
    try:
        fig = (predict.figure(trace, step, hidden, focus, **FIGURE_SIZE) if hidden is not None else
               view_figure(view, cfg, x, w, b, out_channel, step, focus if view == "window" else None,
                           present.screen()))
    except ValueError as err:  # only the matrix view has a size limit (C grows as input pixels x output pixels)
        if view != "matrix":
            raise
        st.info(f"{str(err)[:1].upper()}{str(err)[1:]}.", icon=":material/table_chart:")
        return
    scrub = not is_animated(fig)
    if timer and not scrub:  # the figure animates in the browser now: no server-side Play
        ss[playing_key] = False
    on_cell = functools.partial(_on_cell, prefix, view, cfg, x, w, b, out_channel)
    chart(fig, widget_key(prefix, f"chart_{view}"), on_cell,
          alt=f"{cfg.op} {view} animation at step {step}")
    if scatter is not None:
        step_controls(prefix, n_steps, functools.partial(in_label, scatter), name, "input cell", scrub)
    else:
        step_controls(prefix, n_steps, functools.partial(out_label, trace), name, "output cell", scrub)
    if scrub and hidden is None:
        st.caption(f"{n_steps} steps are more than a browser animation holds here: step with the buttons or the "
                   f"slider, Play on the server, or click a cell.")
    if view == "window" and focus is not None:
        focus_panel(prefix, trace, focus)
    if present.active():  # the figure's own arithmetic line is all a projected slide has room for
        return
    if cfg.transposed:
        st.caption(VIEW_NOTES["zero insertion" if view == "window" else view])
    if view == "window" and predict.panel(prefix, trace, step):  # the arithmetic waits for the student's guess
        return
    arithmetic_panel(*step_arithmetic(view, cfg, x, w, b, out_channel, step))
    view_downloads(prefix, view, cfg, x, w, b, out_channel,
                   transpose_trace(cfg, x, w, b, out_channel) if cfg.transposed else trace, step)


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


# --- the arithmetic -----------------------------------------------------------------------------------------------

def arithmetic_panel(title: str, lines: list[str]) -> None:
    """The arithmetic of the current step, one line per input channel / sum / bias, large enough to project."""
    body = "<br>".join(html.escape(line) for line in lines)
    st.markdown(f"**{html.escape(title)}**\n\n<div class='cs-arithmetic' style='font-family: monospace; "
                f"font-size: 1.15rem; line-height: 1.6; overflow-wrap: anywhere; margin-bottom: 1.5rem'>{body}</div>",
                unsafe_allow_html=True)


# --- output_padding and checkerboards -----------------------------------------------------------------------------

def output_padding_panel(cfg: ConvConfig, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                         out_channel: int) -> None:
    """Why output_padding exists (two Conv2d sizes, one ConvTranspose2d input), where it goes, what it holds."""
    square = axis_numbers(cfg, 0) == axis_numbers(cfg, 1)
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


def overlap_panel(cfg: ConvConfig, x, w, out_channel: int) -> None:
    """The overlap count map (kernel taps per output cell) beside this layer's output for a constant input."""
    op = cfg.effective_output_padding()
    counts = overlap_counts((cfg.height, cfg.width), cfg.kernel_size, cfg.stride, cfg.padding, op, cfg.dilation)
    flat = forward(replace(cfg, bias=False), np.ones(cfg.input_shape, dtype=x.dtype), w, None)[0, out_channel]
    half = FIGURE_SIZE["max_width"] // 2 - 10
    left, right = st.columns(2)
    name = f"k{cfg.kernel_size[0]}x{cfg.kernel_size[1]}-s{cfg.stride[0]}x{cfg.stride[1]}"
    with left:
        figure = overlap_figure(counts, max_width=half, max_height=400)
        chart(figure, "ct_overlap_chart", alt="kernel taps per output cell")
        figure_downloads(figure, "ct_overlap_export", f"overlap-{name}", columns=(1, 1, 1))
    with right:
        figure = grids_figure({"constant": flat}, titles={"constant": f"output {out_channel} for an all-ones input"},
                              max_width=half, max_height=366, hover_name="out")
        chart(figure, "ct_constant_chart", alt="the layer's output for an all-ones input")
        figure_downloads(figure, "ct_constant_export", f"all-ones-output-{name}", columns=(1, 1, 1))
    st.markdown(overlap_story(counts, cfg.stride, cfg.kernel_size, cfg.dilation))
