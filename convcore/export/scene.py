"""A board figure's picture at one step, as plain shapes: the Plotly figure's own trace dicts, read back.

The figures of convcore.viz place every grid on a pixel canvas (one data unit is one pixel, y down; see
viz/grids.py) and animate by frames that update a few traces. Reading those dicts, with a frame's updates merged in,
gives the exact grids, titles, values, colours and highlights the chart draws, with no second layout to keep in
step. The shapes are drawn by raster.py (Pillow) and svg.py (vector).

Only what the board figures use is read: scatter traces of square / square-open markers (one colour, colours per
point, or values on a colorscale), lines and filled polygons (None separates pieces; dash), text with a position,
legend entries and arrow annotations.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from PIL import ImageColor

from ..viz.animation import spec_of

__all__ = ["Box", "Line", "Label", "Arrow", "Picture", "Scene", "Board", "board_of", "is_board"]

RGBA = tuple[int, int, int, float]


@dataclass(frozen=True)
class Box:
    """A square marker: centre (x, y), side `size`; stroke centred on the edge, like SVG and Plotly."""

    x: float
    y: float
    size: float
    fill: RGBA | None
    stroke: RGBA | None
    width: float


@dataclass(frozen=True)
class Line:
    """A polyline (closed: a polygon, filled when `fill`)."""

    points: tuple[tuple[float, float], ...]
    closed: bool
    fill: RGBA | None
    stroke: RGBA | None
    width: float
    dash: str = "solid"


@dataclass(frozen=True)
class Label:
    """Text at (x, y); h is where the point sits on the text ("left", "middle", "right"), the text centred on y."""

    x: float
    y: float
    text: str
    size: float
    colour: RGBA
    h: str = "middle"
    bold: bool = False
    angle: float = 0.0  # degrees clockwise about (x, y), as Plotly's tickangle and SVG's rotate()


@dataclass(frozen=True)
class Arrow:
    """A line from (x0, y0) to (x1, y1) with a head at (x1, y1)."""

    x0: float
    y0: float
    x1: float
    y1: float
    colour: RGBA
    width: float


@dataclass(frozen=True)
class Picture:
    """An RGB pixel array (uint8, rows x columns x 3) stretched over the box (x0, y0)-(x1, y1), pixels kept sharp."""

    x0: float
    y0: float
    x1: float
    y1: float
    pixels: np.ndarray = field(compare=False)


@dataclass
class Scene:
    width: int
    height: int
    items: list = field(default_factory=list)


# ---- colours -------------------------------------------------------------------------------------------------

_RGBA_RE = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)")


def colour(value) -> RGBA | None:
    """A Plotly colour string as (r, g, b, alpha); None for no colour or a fully transparent one."""
    if value is None:
        return None
    text = str(value).strip()
    m = _RGBA_RE.fullmatch(text)
    if m:
        r, g, b, a = m.groups()
        rgba = (int(float(r)), int(float(g)), int(float(b)), 1.0 if a is None else float(a))
    else:
        rgb = ImageColor.getrgb(text)
        rgba = (*rgb[:3], rgb[3] / 255 if len(rgb) == 4 else 1.0)
    return None if rgba[3] <= 0 else rgba


def _scale_colours(values, scale, cmin: float, cmax: float) -> list[RGBA]:
    """Numbers on a Plotly colorscale (stops [[t, colour], ...], linear RGB between them)."""
    stops = np.array([float(t) for t, _ in scale])
    rgb = np.array([colour(c)[:3] for _, c in scale], dtype=float)
    v = np.asarray(values, dtype=float)
    t = np.clip((v - cmin) / ((cmax - cmin) or 1.0), 0.0, 1.0)
    channels = [np.interp(t, stops, rgb[:, k]) for k in range(3)]
    return [(int(round(r)), int(round(g)), int(round(b)), 1.0) for r, g, b in zip(*channels)]


def _per_point(value, n: int) -> list:
    """A scalar or per-point attribute as a list of n values."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return [value] * n


# ---- the figure's parts --------------------------------------------------------------------------------------

def is_board(fig) -> bool:
    """Whether a figure is a pixel board from convcore.viz (made by viz.animation.build_figure)."""
    meta = spec_of(fig)["layout"].get("meta")
    return isinstance(meta, dict) and "animated" in meta


def _merge(base: dict, update: dict) -> dict:
    """A frame's update merged into a trace (nested dicts merged, the rest replaced), as a new dict."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class Board:
    """A board figure read once: its traces, the frames by step and which traces the frames move."""

    def __init__(self, fig):
        if not is_board(fig):
            raise ValueError("only convcore's grid figures (made by viz.animation.build_figure) can be exported")
        spec = spec_of(fig)  # the figure's own dicts, not plotly's objects (never built for a BoardFigure)
        layout = spec["layout"]
        self.traces: list[dict] = list(spec["data"])
        self.layout = layout
        frames = list(spec.get("frames") or ())
        self.frames = {int(f["name"]): f for f in frames}
        self.meta = dict(layout["meta"])
        margin = layout.get("margin", {})
        self.top = int(margin.get("t", 0))  # the legend's strip
        self.width = int(layout["width"])
        self.plot_height = int(layout["yaxis"]["range"][0])
        self.height = self.top + self.plot_height  # the animation controls' strip is left out
        moving = {i for f in frames for i, d in zip(f.get("traces", ()), f["data"]) if d}
        self.first_moving = min(moving, default=len(self.traces))

    @property
    def n_steps(self) -> int:
        """Steps of the animation (1 for a still figure)."""
        return max(len(self.frames), 1)

    @property
    def step(self) -> int:
        """The step the figure opens at."""
        return int(self.meta.get("step", 0))

    def traces_at(self, step: int | None) -> list[dict]:
        """Every trace as it is at `step` (None: as the figure opens)."""
        if step is None or not self.frames:
            return self.traces
        if step not in self.frames:
            raise ValueError(f"step {step} is outside 0..{self.n_steps - 1}")
        frame = self.frames[step]
        out = list(self.traces)
        for i, update in zip(frame.get("traces", ()), frame["data"]):
            if update:
                out[i] = _merge(out[i], update)
        return out

    def scene(self, step: int | None = None, *, start: int = 0, stop: int | None = None, legend: bool = True) -> Scene:
        """The shapes of traces start..stop (all by default) at `step`, the legend when legend=True."""
        traces = self.traces_at(step)
        scene = Scene(self.width, self.height)
        for trace in traces[start:stop]:
            scene.items += _trace_items(trace, self.top)
        if start == 0:  # annotations (arrows) never move: they belong to the first layer
            scene.items += _annotation_items(self.layout.get("annotations") or (), self.top)
        if legend and self.top:
            scene.items += _legend_items([t for t in traces if t.get("showlegend")], self.top)
        return scene


def board_of(fig) -> Board:
    return Board(fig)


# ---- traces to shapes ----------------------------------------------------------------------------------------

def _points(trace: dict, top: int):
    xs, ys = trace.get("x"), trace.get("y")
    if xs is None or ys is None:
        return [], []
    return list(xs), [None if y is None else y + top for y in ys]


def _trace_items(trace: dict, top: int) -> list:
    if trace.get("visible") is False or trace.get("type", "scatter") != "scatter":
        return []
    xs, ys = _points(trace, top)
    mode = trace.get("mode", "markers")
    items = []
    if "lines" in mode:
        items += _line_items(trace, xs, ys)
    if "markers" in mode:
        items += _marker_items(trace, xs, ys)
    if "text" in mode:
        items += _text_items(trace, xs, ys)
    return items


def _pieces(xs, ys):
    piece = []
    for x, y in zip(xs, ys):
        if x is None or y is None:
            if piece:
                yield piece
            piece = []
        else:
            piece.append((float(x), float(y)))
    if piece:
        yield piece


def _line_items(trace: dict, xs, ys) -> list[Line]:
    line = trace.get("line") or {}
    width = float(line.get("width", 2))
    stroke = colour(line.get("color", "#444")) if width > 0 else None
    fill = colour(trace.get("fillcolor")) if trace.get("fill") == "toself" else None
    dash = line.get("dash", "solid")
    return [Line(tuple(p), fill is not None, fill, stroke, width, dash) for p in _pieces(xs, ys) if len(p) > 1]


def _marker_items(trace: dict, xs, ys) -> list[Box]:
    n = len(xs)
    marker = trace.get("marker") or {}
    symbol = marker.get("symbol", "circle")
    sizes = _per_point(marker.get("size", 6), n)
    line = marker.get("line") or {}
    edges = _per_point(line.get("color"), n)
    widths = _per_point(line.get("width", 0), n)
    opacity = _per_point(marker.get("opacity", 1.0), n)
    raw = marker.get("color")
    if marker.get("colorscale") is not None and isinstance(raw, (list, tuple, np.ndarray)):
        fills = _scale_colours(raw, marker["colorscale"], float(marker.get("cmin", 0)), float(marker.get("cmax", 1)))
    else:
        fills = [colour(c) for c in _per_point(raw, n)]
    items = []
    for i, (x, y) in enumerate(zip(xs, ys)):
        if x is None or y is None:
            continue
        alpha = float(opacity[i])
        fill = fills[i]
        if symbol.endswith("-open"):  # an open marker is its colour's outline
            stroke, fill, width = fill, None, float(widths[i] or 1)
        else:
            stroke, width = colour(edges[i]), float(widths[i] or 0)
        if alpha < 1:
            fill = fill and (*fill[:3], fill[3] * alpha)
            stroke = stroke and (*stroke[:3], stroke[3] * alpha)
        items.append(Box(float(x), float(y), float(sizes[i]), fill, stroke if width > 0 else None, width))
    return items


_H = {"left": "right", "center": "middle", "right": "left"}  # Plotly's position of the text -> where the point sits


def _text_items(trace: dict, xs, ys) -> list[Label]:
    texts = trace.get("text")
    if texts is None:
        return []
    n = len(xs)
    texts = _per_point(texts, n)
    font = trace.get("textfont") or {}
    sizes = _per_point(font.get("size", 12), n)
    colours = _per_point(font.get("color", "#444"), n)
    positions = _per_point(trace.get("textposition", "middle center"), n)
    items = []
    for i, (x, y) in enumerate(zip(xs, ys)):
        if x is None or y is None or not texts[i]:
            continue
        h = _H[str(positions[i]).split()[-1]]
        items += _label_lines(float(x), float(y), str(texts[i]), float(sizes[i]), colour(colours[i]), h)
    return items


_TAG = re.compile(r"</?(b|i|sub|sup|span)[^>]*>")


def _label_lines(x: float, y: float, text: str, size: float, rgba: RGBA, h: str) -> list[Label]:
    """Plotly's text markup (<br>, <b>) as one Label per line, the block centred on y."""
    lines = re.split(r"<br\s*/?>", text)
    bold = "<b>" in text
    step = size * 1.3
    y0 = y - step * (len(lines) - 1) / 2
    return [Label(x, y0 + k * step, _TAG.sub("", line), size, rgba, h, bold) for k, line in enumerate(lines)]


def _annotation_items(annotations, top: int) -> list:
    items = []
    for a in annotations:
        x, y = float(a["x"]), float(a["y"]) + top
        c = colour(a.get("arrowcolor", "#444"))
        if a.get("showarrow"):
            x0, y0 = float(a["ax"]), float(a["ay"]) + top
            length = float(np.hypot(x - x0, y - y0)) or 1.0
            ux, uy = (x - x0) / length, (y - y0) / length
            s0, s1 = float(a.get("startstandoff", 0)), float(a.get("standoff", 0))
            items.append(Arrow(x0 + ux * s0, y0 + uy * s0, x - ux * s1, y - uy * s1, c, float(a.get("arrowwidth", 1))))
        if a.get("text"):
            font = a.get("font") or {}
            items += _label_lines(x, y, a["text"], float(font.get("size", 14)), colour(font.get("color", "#1A1A1A")),
                                  "middle")
    return items


LEGEND_SYMBOL = 16


def _legend_items(entries: list[dict], top: int) -> list:
    """Plotly's horizontal legend in the strip above the plot: a symbol, then the name, left to right."""
    from ..viz import palette as P

    items, x, y = [], 8.0, top - 9.0  # where Plotly puts the items (a row at the strip's bottom)
    for trace in entries:
        marker = dict(trace.get("marker") or {})
        marker["size"] = LEGEND_SYMBOL
        if "lines" in trace.get("mode", "") and "markers" not in trace.get("mode", ""):
            line = trace.get("line") or {}
            items.append(Line(((x + 8, y), (x + 32, y)), False, None, colour(line.get("color", "#444")),
                              float(line.get("width", 2)), line.get("dash", "solid")))
        else:
            items += _marker_items({"marker": marker}, [x + 20], [y])
        name = str(trace.get("name", ""))
        items.append(Label(x + 40, y, name, P.LABEL_FONT, colour(P.TEXT), "left"))
        x += 40 + P.text_width(name, P.LABEL_FONT) + 10
    return items
