"""Download buttons for the figures: an animated GIF and an MP4 of every step (prepared on request, with a progress
bar, cached per configuration and frame rate), the current step as PNG and SVG (built when clicked).

    view_downloads(P, view, cfg, x, w, b, out_channel, trace, step)   # a lesson view
    animation_downloads(key, name, config, make_figure, step)          # any animated board figure (the gallery)
    figure_downloads(fig, key, name)                                   # a still concept figure: PNG and SVG

`config` is a hashable description of what the figure shows (the cache key); `make_figure()` builds the figure with
a frame for every step and is called only when a file is built. Keys: `<key>_fps` (in the URL), `<key>_gif_prepare`,
`<key>_gif`, `<key>_mp4_prepare`, `<key>_mp4`, `<key>_png`, `<key>_svg`; a lesson's key is `<prefix>_<view>_export`,
its expander `<prefix>_<view>_export_open` (True while open; AppTest: set it in session_state first).
"""
from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Hashable

import streamlit as st

from .. import export
from .config import ConvConfig
from .url_state import choice

MIME = {"gif": "image/gif", "mp4": "video/mp4", "png": "image/png", "svg": "image/svg+xml"}
DEFAULT_FPS = 2  # the chart's default speed (500 ms a step)


# ---- cached builds -------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=16)
def _figure(config: Hashable, _make: Callable):
    """The export figure of a configuration (shared, never mutated)."""
    return _make()


def _with_progress(label: str, encode: Callable, n_steps: int) -> bytes:
    """encode(progress) with a progress bar that is removed when done."""
    bar = st.progress(0.0, text=f"{label}: frame 0 of {n_steps}")

    def progress(done: int) -> None:
        if done == n_steps or done % max(1, n_steps // 50) == 0:  # ~50 updates, whatever the length
            bar.progress(min(done / n_steps, 1.0), text=f"{label}: frame {done} of {n_steps}")

    data = encode(progress)
    bar.empty()
    return data


@st.cache_data(show_spinner=False, max_entries=24)
def _gif(config: Hashable, fps: int, _make: Callable) -> bytes:
    fig = _figure(config, _make)
    return _with_progress("GIF", lambda p: export.animation_gif(fig, fps, progress=p), export.Board(fig).n_steps)


@st.cache_data(show_spinner=False, max_entries=24)
def _mp4(config: Hashable, fps: int, _make: Callable) -> bytes:
    fig = _figure(config, _make)
    return _with_progress("MP4", lambda p: export.animation_mp4(fig, fps, progress=p), export.Board(fig).n_steps)


_ENCODE = {"gif": _gif, "mp4": _mp4}


def _token(config: Hashable, fps: int) -> str:
    """A short fingerprint of a configuration: which prepared file the session's buttons stand for."""
    return hashlib.sha1(pickle.dumps((config, fps))).hexdigest()


# ---- the buttons ---------------------------------------------------------------------------------------------

def fps_choice(key: str) -> int:
    """The frame rate of the GIF and the MP4 (key `<key>_fps`, in the URL)."""
    return choice(key, "fps", "Frame rate (steps per second)", list(export.FPS_CHOICES), DEFAULT_FPS, horizontal=True,
                  help="Steps per second in the GIF and the MP4 (the chart's speeds). The GIF holds its last "
                       "frame 2 s before it loops.")


def _animation_button(kind: str, key: str, name: str, config: Hashable, fps: int, make: Callable,
                      n_steps: int) -> None:
    """'Prepare GIF' (or MP4) until this configuration's file exists; then its download button."""
    label = kind.upper()
    try:
        export.check_length(kind, n_steps)
    except ValueError as err:  # too long for this format: say so on the button, with the numbers
        st.button(f"{label}: too long", key=f"{key}_{kind}_prepare", icon=":material/block:", width="stretch",
                  disabled=True, help=f"{str(err)[:1].upper()}{str(err)[1:]}. Use "
                                      f"{'the MP4' if kind == 'gif' else 'a smaller input, kernel or stride'}.")
        return
    token = _token(config, fps)
    if st.session_state.get(f"{key}_ready", {}).get(kind) != token:  # not asked for at these settings yet
        st.button(f"Prepare {label}", key=f"{key}_{kind}_prepare", icon=":material/movie:", width="stretch",
                  on_click=_ask_for, args=(key, kind, token),
                  help=f"Render the {n_steps} steps as {'an' if kind == 'mp4' else 'a'} {label} "
                       f"({'H.264, plays in PowerPoint, Keynote and Google Slides' if kind == 'mp4' else 'loops'})")
        return
    data = _ENCODE[kind](config, fps, make)  # a progress bar here while it renders (then cached)
    file_name = f"{name}-{fps}fps.{kind}"
    st.download_button(f"{label} ({len(data) / 1e6:.2f} MB)", data, file_name=file_name, mime=MIME[kind],
                       key=f"{key}_{kind}", on_click="ignore", icon=":material/download:", width="stretch",
                       type="primary")


def _ask_for(key: str, kind: str, token: str) -> None:
    """The Prepare button's callback: this session wants the file of these settings (the run then builds it in the
    button's place, so the button is gone before the progress bar shows)."""
    st.session_state.setdefault(f"{key}_ready", {})[kind] = token


def animation_downloads(key: str, name: str, config: Hashable, make_figure: Callable, step: int | None,
                        n_steps: int) -> None:
    """GIF and MP4 of every step at a chosen frame rate, PNG and SVG of `step`, in one row."""
    def make():  # the shared export figure (the encoders call _figure themselves, with make_figure)
        return _figure(config, make_figure)

    fps = fps_choice(key)
    gif, mp4, png, svg = st.columns(4, vertical_alignment="bottom")
    with gif:
        _animation_button("gif", key, name, config, fps, make_figure, n_steps)
    with mp4:
        _animation_button("mp4", key, name, config, fps, make_figure, n_steps)
    with png:
        _still_button("png", key, name, make, step)
    with svg:
        _still_button("svg", key, name, make, step)


def _still_button(kind: str, key: str, name: str, make: Callable, step: int | None) -> None:
    """PNG or SVG of one step, rendered when clicked (the callable data runs only then)."""
    suffix = "" if step is None else f"-step{step}"
    if kind == "png":
        data, icon, help_text = (lambda: export.still_png(make(), step)), ":material/image:", \
            "This step as a picture (twice the chart's pixels)"
    else:
        data, icon, help_text = (lambda: export.still_svg(make(), step, title=name)), ":material/draw:", \
            "This step as a vector drawing for papers (text stays text)"
    st.download_button(kind.upper(), data, file_name=f"{name}{suffix}.{kind}", mime=MIME[kind], key=f"{key}_{kind}",
                       on_click="ignore", icon=icon, width="stretch", help=help_text)


def view_downloads(prefix: str, view: str, cfg: ConvConfig, x, w, b, out_channel: int, trace, step: int) -> None:
    """The downloads of a lesson view (`trace`: the WindowTrace, or the TransposeTrace of a transposed lesson)."""
    n_steps = trace.scatter.n_steps if view == "scatter" else getattr(trace, "zero_insertion", trace).n_steps
    config = ("lesson", view, cfg, x, w, b if cfg.bias else None, out_channel)
    name = (f"conv_transpose2d-{'zero-insertion' if view == 'window' else view}" if cfg.transposed
            else "conv2d-window")
    key = f"{prefix}_{view}_export"
    with st.expander("Download this animation: GIF, MP4, PNG, SVG", icon=":material/download:", key=f"{key}_open",
                     on_change="rerun") as box:
        if box.open:  # the buttons exist only while it is open: a step or a control change stays light
            animation_downloads(key, name, config, lambda: export.lesson_figure(view, trace, 0), step, n_steps)


def figure_downloads(fig, key: str, name: str, columns=(1, 1, 4)) -> None:
    """PNG and SVG of a still figure, built when clicked (`columns`: the widths of the PNG, the SVG and the space
    after them: narrower layouts give the buttons more of the row)."""
    png, svg, _ = st.columns(list(columns), vertical_alignment="bottom")
    with png:
        _still_button("png", key, name, lambda: fig, None)
    with svg:
        _still_button("svg", key, name, lambda: fig, None)
