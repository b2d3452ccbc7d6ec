"""Exports of the figures as files, rendered on the server from the figures' own trace dicts (no browser, no
streamlit): an animated GIF or an MP4 of every step, the current step as PNG or SVG.

    fig = lesson_figure("window", trace, step)        # a lesson view with a frame for every step
    gif = animation_gif(fig, fps=2); mp4 = animation_mp4(fig, fps=2, progress=print)
    png = still_png(fig, step); svg = still_svg(fig, step)

Any figure of convcore.viz made on a pixel board (the lesson views, the padding, grids, overlap and matrix-view
figures) exports; see scene.py for how the figure is read, raster.py / svg.py / encode.py for the formats.
"""
from __future__ import annotations

import plotly.graph_objects as go

from ..viz.conv_animation import window_figure
from ..viz.transpose_views import matrix_figure, scatter_figure
from . import raster
from .encode import FPS_CHOICES, gif_bytes, mp4_bytes, png_bytes
from .scene import Board, is_board
from .svg import to_svg

__all__ = ["lesson_figure", "animation_gif", "animation_mp4", "still_png", "still_svg", "is_board", "Board",
           "FPS_CHOICES", "GIF_SCALE", "MP4_SCALE", "STILL_SCALE"]

GIF_SCALE = 1  # GIFs at the chart's size: small files for a web page or a slide
MP4_SCALE = 2  # videos at twice the chart's pixels: sharp when a projector scales them up
STILL_SCALE = 2  # PNGs likewise (a slide or a document scales them down)


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


def animation_gif(fig, fps: float = 2, *, scale: float = GIF_SCALE, progress=None) -> bytes:
    """Every step of the figure (one frame for a still figure) as a looping GIF."""
    board = Board(fig)
    return gif_bytes(raster.frames(board, scale), fps, _colours(board), progress)


def animation_mp4(fig, fps: int = 2, *, scale: float = MP4_SCALE, progress=None) -> bytes:
    """Every step of the figure as an H.264 MP4 (yuv420p: plays in PowerPoint, Keynote, Google Slides)."""
    return mp4_bytes(raster.frames(Board(fig), scale), fps, progress)


def still_png(fig, step: int | None = None, *, scale: float = STILL_SCALE) -> bytes:
    """One step (default: the one the figure opens at) as a PNG."""
    board = Board(fig)
    return png_bytes(raster.render(board.scene(_step(board, step)), scale))


def still_svg(fig, step: int | None = None, title: str = "") -> str:
    """One step (default: the one the figure opens at) as an SVG document."""
    board = Board(fig)
    return to_svg(board.scene(_step(board, step)), title)


def _step(board: Board, step: int | None) -> int | None:
    if not board.frames:
        return None
    return board.step if step is None else step
