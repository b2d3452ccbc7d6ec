"""Exports of the figures as files, rendered on the server from the figures' own trace dicts (no browser, no
streamlit): an animated GIF or an MP4 of every step, the current step as PNG or SVG.

    fig = lesson_figure("window", trace, step)        # a lesson view with a frame for every step
    gif = animation_gif(fig, fps=2); mp4 = animation_mp4(fig, fps=2, progress=print)
    png = still_png(fig, step); svg = still_svg(fig, step)

Any figure of convcore.viz exports: those made on a pixel board (the lesson views, the padding, grids, overlap and
matrix-view figures) as animations and stills (scene.py reads them), those drawn on Plotly axes (the planner's chain,
the groups figures, the matrix heatmaps, the checkerboard images) as stills (axes.py); raster.py / svg.py /
encode.py write the formats.
"""
from __future__ import annotations

import plotly.graph_objects as go

from ..viz.conv_animation import window_figure
from ..viz.transpose_views import matrix_figure, scatter_figure
from . import raster
from .axes import axes_scene
from .encode import FPS_CHOICES, gif_bytes, mp4_bytes, png_bytes
from .scene import Board, is_board
from .svg import to_svg

__all__ = ["lesson_figure", "animation_gif", "animation_mp4", "still_png", "still_svg", "is_board", "Board",
           "check_length", "mp4_scale", "FPS_CHOICES", "GIF_SCALE", "MP4_SCALE", "MP4_FRAME", "STILL_SCALE", "MAX_STEPS"]

GIF_SCALE = 1  # GIFs at the chart's size: small files for a web page or a slide
MP4_SCALE = 2  # videos at up to twice the chart's pixels (sharp on a projector), within MP4_FRAME
MP4_FRAME = (1920, 1080)  # Full HD: what a slide shows; larger videos only cost time and size
STILL_SCALE = 2  # PNGs at twice the chart's pixels (a slide or a document scales them down)
# The longest animations a file holds: a GIF keeps every frame in memory while it is written (~0.35 MB a frame at
# the lessons' size), an MP4 streams its frames (about 15 ms a frame at twice the size, so ~40 s at the cap)
MAX_STEPS = {"gif": 625, "mp4": 2500}


def lesson_figure(view: str, trace, step: int = 0, *, max_width: int = 820, max_height: int = 430) -> go.Figure:
    """A lesson view ("window", "scatter" or "matrix") of a trace with a frame for every step, whatever the
    browser's frame cap (frames are drawn here, not sent to a browser)."""
    size = {"max_width": max_width, "max_height": max_height, "max_frames": None}
    if view == "window":
        return window_figure(getattr(trace, "zero_insertion", trace), step, **size)
    if view == "scatter":
        return scatter_figure(trace, step, **size)
    if view == "matrix":
        return matrix_figure(trace, step, **size)
    raise ValueError(f"unknown view {view!r}: one of 'window', 'scatter', 'matrix'")


def _colours(board: Board) -> list[tuple]:
    """The exact colours a figure draws (first and last step), for the GIF palette."""
    found = {}
    for step in {0, board.n_steps - 1} if board.frames else {None}:
        for item in board.scene(step).items:
            for attr in ("fill", "stroke", "colour"):
                c = getattr(item, attr, None)
                if c is not None and c[3] >= 1:
                    found[c[:3]] = None
    return list(found)


def check_length(kind: str, n_steps: int) -> None:
    """ValueError naming the limit when an animation has more steps than a `kind` file holds (MAX_STEPS)."""
    if n_steps > MAX_STEPS[kind]:
        raise ValueError(f"a{'n' if kind == 'mp4' else ''} {kind.upper()} holds at most {MAX_STEPS[kind]} steps; this "
                         f"animation has {n_steps}")


def mp4_scale(board: Board) -> float:
    """Twice the chart's pixels, less if that would pass MP4_FRAME (never below the chart's own size)."""
    return max(1.0, min(MP4_SCALE, MP4_FRAME[0] / board.width, MP4_FRAME[1] / board.height))


def animation_gif(fig, fps: float = 2, *, scale: float = GIF_SCALE, progress=None) -> bytes:
    """Every step of the figure (one frame for a still figure) as a looping GIF."""
    board = Board(fig)
    check_length("gif", board.n_steps)
    return gif_bytes(raster.frames(board, scale), fps, _colours(board), progress)


def animation_mp4(fig, fps: int = 2, *, scale: float | None = None, progress=None) -> bytes:
    """Every step of the figure as an H.264 MP4 (yuv420p: plays in PowerPoint, Keynote, Google Slides), at
    `scale` times the chart's pixels (default mp4_scale: up to twice, within Full HD)."""
    board = Board(fig)
    check_length("mp4", board.n_steps)
    return mp4_bytes(raster.frames(board, mp4_scale(board) if scale is None else scale), fps, progress)


def still_png(fig, step: int | None = None, *, scale: float = STILL_SCALE) -> bytes:
    """One step (default: the one the figure opens at) as a PNG."""
    return png_bytes(raster.render(_still(fig, step), scale))


def still_svg(fig, step: int | None = None, title: str = "") -> str:
    """One step (default: the one the figure opens at) as an SVG document."""
    return to_svg(_still(fig, step), title)


def _still(fig, step: int | None):
    """The figure's picture at `step`: a board's step, or a figure on axes as it is (it has no steps)."""
    if is_board(fig):
        board = Board(fig)
        return board.scene(_step(board, step))
    if step is not None:
        raise ValueError(f"this figure has no steps (asked for step {step})")
    return axes_scene(fig)


def _step(board: Board, step: int | None) -> int | None:
    if not board.frames:
        return None
    return board.step if step is None else step
