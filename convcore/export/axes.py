"""A Plotly figure drawn on cartesian axes (the planner's chain, the groups figures, the matrix heatmaps, the
checkerboard images), read back as plain shapes from its own traces and layout.

The board figures (scene.py) place everything in pixels; these figures place data on axes, so this module does the
part of Plotly's layout they rely on: the plot area inside the margins, each axis's domain and range (given, or
from the data: heatmap cells, bar categories, points; reversed; shared by `matches`), square cells by
`scaleanchor` with constrain="domain", categories, tick labels (every category, or Plotly's 1-2-5 steps with its
k / M suffixes, turned by tickangle), grid lines, axis titles, rectangle shapes, annotations (subplot titles too),
and a horizontal legend. Traces: heatmaps (cells with their gaps and texts, or one sharp picture when gapless and
without text), bars with their texts, and scatter lines, markers and texts.

Sizes follow the figure: its height, and its width when it has one (else DEFAULT_WIDTH: these figures take their
page column's width in the browser). Fonts and colours are the figure's own (Plotly's defaults where it sets none);
Streamlit's theme, applied in the browser, is not.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np

from ..viz import palette as P
from ..viz.animation import spec_of
from .scene import Label, Line, Picture, Scene, _label_lines, _legend_items, _marker_items, colour

__all__ = ["axes_scene", "DEFAULT_WIDTH"]

DEFAULT_WIDTH = 900  # a figure without a width: about the app's main column
_MARGIN = {"l": 80, "r": 80, "t": 100, "b": 80}  # Plotly's defaults
_AXIS = re.compile(r"^([xy])axis(\d*)$")
_TRACES = ("scatter", "heatmap", "bar")


def _short(name: str) -> str:
    """'xaxis2' -> 'x2' (how traces, anchors and scaleanchor name an axis)."""
    m = _AXIS.match(name)
    return m.group(1) + m.group(2)


class _Axis:
    """One axis: its pixel span and data range; px(value) maps a value (a category's index) to a pixel."""

    def __init__(self, short: str, spec: dict):
        self.short, self.spec, self.vertical = short, spec, short.startswith("y")
        self.domain = list(spec.get("domain") or (0.0, 1.0))
        self.categories: list = []
        self.extent: list[float] = []  # data the range must hold (when the figure gives none)
        self.range: tuple[float, float] = (0.0, 1.0)
        self.p0 = self.p1 = 0.0  # pixels of range[0] and range[1]

    @property
    def category(self) -> bool:
        return bool(self.categories)

    def index(self, value) -> float:
        """A value's place on the axis: a category's index (numbers on a category axis are indices, as in Plotly)."""
        if isinstance(value, str) or (self.category and value in self.categories):
            if value not in self.categories:
                self.categories.append(value)
            return float(self.categories.index(value))
        return float(value)

    def px(self, value: float) -> float:
        r0, r1 = self.range
        return self.p0 + (value - r0) / ((r1 - r0) or 1.0) * (self.p1 - self.p0)

    @property
    def length(self) -> float:
        return abs(self.p1 - self.p0)

    @property
    def span(self) -> float:
        return abs(self.range[1] - self.range[0]) or 1.0


class _Figure:
    def __init__(self, fig, width: int | None):
        d = spec_of(fig)  # the figure's own dicts (to_dict would encode arrays as base64 and merge in the template)
        self.traces = [t for t in d.get("data", ()) if t.get("visible", True) is not False]
        self.layout = layout = d.get("layout", {})
        for t in self.traces:
            if t.get("type", "scatter") not in _TRACES:
                raise ValueError(f"cannot export a figure with a {t.get('type')} trace (drawn: {', '.join(_TRACES)})")
        if d.get("frames"):
            raise ValueError("an animated figure on axes cannot be exported (only its still state would be drawn)")
        self.width = int(layout.get("width") or width or DEFAULT_WIDTH)
        self.height = int(layout.get("height") or 450)
        font = layout.get("font") or {}
        self.font_size = float(font.get("size", 12))
        self.font_colour = colour(font.get("color", "#444"))
        self.margin = {k: float(v) for k, v in {**_MARGIN, **(layout.get("margin") or {})}.items() if k in _MARGIN}
        self._place_axes()

    def _place_axes(self) -> None:
        m = self.margin
        self.left, self.top = m["l"], m["t"]
        self.plot_w = max(1.0, self.width - m["l"] - m["r"])
        self.plot_h = max(1.0, self.height - m["t"] - m["b"])
        self.axes = self._axes()

    # ---- paper coordinates ---------------------------------------------------------------------------------------

    def paper_x(self, fraction: float) -> float:
        return self.left + fraction * self.plot_w

    def paper_y(self, fraction: float) -> float:
        return self.top + (1 - fraction) * self.plot_h

    def place(self, ref: str, value, vertical: bool) -> float:
        """A coordinate in `ref` ("paper", "x2", "y domain", ...) as a pixel."""
        ref = ref or ("y" if vertical else "x")
        if ref == "paper":
            return self.paper_y(value) if vertical else self.paper_x(value)
        name, _, domain = ref.partition(" ")
        axis = self.axes[name]
        if domain:  # "x domain": a fraction of the axis's own span
            return axis.p0 + float(value) * (axis.p1 - axis.p0)
        return axis.px(axis.index(value))

    # ---- axes ----------------------------------------------------------------------------------------------------

    def _axes(self) -> dict[str, _Axis]:
        axes = {_short(k): _Axis(_short(k), v or {}) for k, v in self.layout.items() if _AXIS.match(k)}
        for t in self.traces:
            for letter in "xy":
                axes.setdefault(t.get(f"{letter}axis", letter), _Axis(t.get(f"{letter}axis", letter), {}))
        for t in self.traces:
            self._extent(t, axes[t.get("xaxis", "x")], axes[t.get("yaxis", "y")])
        for axis in axes.values():
            self._range(axis)
        for axis in axes.values():  # shared ranges (make_subplots' shared axes)
            other = axes.get(axis.spec.get("matches"))
            if other is not None and "range" not in axis.spec:
                axis.range = other.range
        for axis in axes.values():
            self._pixels(axis)
        self._constrain(axes)
        return axes

    def _extent(self, t: dict, xa: _Axis, ya: _Axis) -> None:
        kind = t.get("type", "scatter")
        if kind == "heatmap":
            z = np.asarray(t["z"], dtype=float)
            for axis, n, key in ((xa, z.shape[1], "x"), (ya, z.shape[0], "y")):
                centres = self._positions(t, axis, key, n)
                step = centres[1] - centres[0] if n > 1 else float(t.get(f"d{key}", 1))
                axis.extent += [centres[0] - step / 2, centres[-1] + step / 2]
        elif kind == "bar":
            xs = [xa.index(v) for v in t.get("x", ())]
            xa.extent += [min(xs) - 0.5, max(xs) + 0.5] if xs else []
            ys = [float(v) for v in t.get("y", ())]
            ya.extent += [0.0, *ys]
        else:
            for axis, key in ((xa, "x"), (ya, "y")):
                values = [axis.index(v) for v in t.get(key, ()) if v is not None]
                axis.extent += values

    def _positions(self, t: dict, axis: _Axis, key: str, n: int) -> list[float]:
        """A heatmap's cell centres along one axis: its x / y labels, or x0 + k dx."""
        labels = t.get(key)
        if labels is not None and len(labels):
            return [axis.index(v) for v in labels]
        start, step = float(t.get(f"{key}0", 0)), float(t.get(f"d{key}", 1))
        return [start + k * step for k in range(n)]

    def _range(self, axis: _Axis) -> None:
        given = axis.spec.get("range")
        if given is not None and axis.spec.get("autorange") in (None, False):
            axis.range = (float(given[0]), float(given[1]))
            return
        if axis.extent:
            lo, hi = min(axis.extent), max(axis.extent)
        else:
            lo, hi = -1.0, 6.0 if not axis.vertical else 4.0  # Plotly's empty axes
        if axis.category and not axis.extent:
            lo, hi = -0.5, len(axis.categories) - 0.5
        axis.range = (hi, lo) if axis.spec.get("autorange") == "reversed" else (lo, hi)

    def _pixels(self, axis: _Axis) -> None:
        d0, d1 = axis.domain
        if axis.vertical:
            axis.p0, axis.p1 = self.paper_y(d0), self.paper_y(d1)
        else:
            axis.p0, axis.p1 = self.paper_x(d0), self.paper_x(d1)

    def _constrain(self, axes: dict[str, _Axis]) -> None:
        """scaleanchor with constrain="domain": every axis of a group gets the group's smallest pixels per unit,
        the others shrinking their domain toward constraintoward (Plotly's rule: the whole data stays visible)."""
        links: dict[str, set] = {name: {name} for name in axes}
        for name, axis in axes.items():
            for key in ("scaleanchor", "matches"):
                other = axis.spec.get(key)
                if other in axes:
                    group = links[name] | links[other]
                    for member in group:
                        links[member] = group
        done = set()
        for group in links.values():
            if len(group) < 2 or id(group) in done or not any(axes[m].spec.get("scaleanchor") for m in group):
                continue
            done.add(id(group))
            scale = min(axes[m].length / axes[m].span for m in group)
            for m in group:
                axis = axes[m]
                new = axis.span * scale
                toward = axis.spec.get("constraintoward", "middle" if axis.vertical else "center")
                lo, hi = sorted((axis.p0, axis.p1))
                start = {"left": lo, "top": lo, "right": hi - new, "bottom": hi - new}.get(toward, (lo + hi - new) / 2)
                if axis.vertical:  # range[0] at the bottom
                    axis.p0, axis.p1 = start + new, start
                else:
                    axis.p0, axis.p1 = start, start + new

    # ---- the picture ---------------------------------------------------------------------------------------------

    def scene(self) -> Scene:
        """The picture; margins grown where tick labels, axis titles or the legend would leave the figure (Plotly's
        automargin, on in its default template)."""
        for _ in range(3):
            scene, outside = self._draw()
            grow = {k: v for k, v in outside.items() if v > 0.5}
            if not grow:
                break
            for side, amount in grow.items():
                self.margin[side] += amount + 2
            self._place_axes()
        return scene

    def _draw(self) -> tuple[Scene, dict]:
        scene = Scene(self.width, self.height)
        items = scene.items
        background = colour(self.layout.get("plot_bgcolor", "white"))
        for x, y in self._subplots():
            items.append(_rect(x.p0, y.p1, x.p1, y.p0, background, None, 0))
        for axis in self.axes.values():
            items += self._grid(axis)
        for t in self.traces:
            xa, ya = self.axes[t.get("xaxis", "x")], self.axes[t.get("yaxis", "y")]
            kind = t.get("type", "scatter")
            items += (self._heatmap if kind == "heatmap" else self._bar if kind == "bar" else self._scatter)(t, xa, ya)
        for shape in self.layout.get("shapes") or ():
            items += self._shape(shape)
        for a in self.layout.get("annotations") or ():
            items += self._annotation(a)
        outer = []  # what the margins must hold
        for axis in self.axes.values():
            outer += self._ticks(axis)
        outer += self._legend()
        items += outer + self._title()
        boxes = [_extent(item) for item in outer if isinstance(item, Label)]
        outside = {"l": -min((b[0] for b in boxes), default=0), "t": -min((b[1] for b in boxes), default=0),
                   "r": max((b[2] for b in boxes), default=0) - self.width,
                   "b": max((b[3] for b in boxes), default=0) - self.height}
        return scene, outside

    def _title(self) -> list:
        title = self.layout.get("title") or {}
        text = title.get("text") if isinstance(title, dict) else title
        if not text:
            return []
        font = title.get("font") or {} if isinstance(title, dict) else {}
        size = float(font.get("size", self.font_size * 1.4))
        rgba = colour(font.get("color")) or self.font_colour
        x = float(title.get("x", 0.5)) * self.width
        y_given = title.get("y", "auto")
        y = self.top / 2 if y_given in (None, "auto") else (1 - float(y_given)) * self.height
        block = size * 1.3 * len(re.split(r"<br\s*/?>", text))
        y += {"top": block / 2, "bottom": -block / 2}.get(title.get("yanchor"), 0.0)
        h = {"left": "left", "right": "right"}.get(title.get("xanchor"), "middle")
        return _label_lines(x, y, str(text), size, rgba, h)

    def _subplots(self):
        pairs = {(t.get("xaxis", "x"), t.get("yaxis", "y")) for t in self.traces}
        return [(self.axes[x], self.axes[y]) for x, y in sorted(pairs)]

    def _heatmap(self, t: dict, xa: _Axis, ya: _Axis) -> list:
        z = np.asarray(t["z"], dtype=float)
        rows, cols = z.shape
        xs = self._positions(t, xa, "x", cols)
        ys = self._positions(t, ya, "y", rows)
        lo = float(t["zmin"]) if t.get("zmin") is not None else float(np.nanmin(z))
        hi = float(t["zmax"]) if t.get("zmax") is not None else float(np.nanmax(z))
        rgb = _heat_colours(z, t["colorscale"], lo, hi, colour(self.layout.get("plot_bgcolor", "white")))
        dx = (xs[1] - xs[0]) if cols > 1 else float(t.get("dx", 1))
        dy = (ys[1] - ys[0]) if rows > 1 else float(t.get("dy", 1))
        gx, gy = float(t.get("xgap", 0)) / 2, float(t.get("ygap", 0)) / 2
        texts = t.get("text") if t.get("texttemplate") else None
        if not (gx or gy) and texts is None:  # an image: one sharp picture (rows top to bottom on screen)
            x0, x1 = xa.px(xs[0] - dx / 2), xa.px(xs[-1] + dx / 2)
            y0, y1 = ya.px(ys[0] - dy / 2), ya.px(ys[-1] + dy / 2)
            pixels = rgb[:, ::-1] if x0 > x1 else rgb
            pixels = pixels[::-1] if y0 > y1 else pixels
            return [Picture(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1), np.ascontiguousarray(pixels))]
        items = []
        size = float((t.get("textfont") or {}).get("size", self.font_size))
        for r in range(rows):
            ya0, ya1 = sorted((ya.px(ys[r] - dy / 2), ya.px(ys[r] + dy / 2)))
            for c in range(cols):
                xa0, xa1 = sorted((xa.px(xs[c] - dx / 2), xa.px(xs[c] + dx / 2)))
                fill = (*(int(v) for v in rgb[r, c]), 1.0)
                items.append(_rect(xa0 + gx, ya0 + gy, xa1 - gx, ya1 - gy, fill, None, 0))
                text = str(texts[r][c]) if texts is not None else ""
                if text:
                    items.append(Label((xa0 + xa1) / 2, (ya0 + ya1) / 2, text, size, _contrast(fill)))
        return items

    def _bar(self, t: dict, xa: _Axis, ya: _Axis) -> list:
        xs, ys = list(t.get("x", ())), [float(v) for v in t.get("y", ())]
        fills = (t.get("marker") or {}).get("color")
        fills = list(fills) if isinstance(fills, (list, tuple, np.ndarray)) else [fills or P.BLUE] * len(xs)
        texts = t.get("text") or [""] * len(xs)
        size = float((t.get("textfont") or {}).get("size", self.font_size))
        half = (1 - float(self.layout.get("bargap", 0.2))) / 2
        items = []
        for x, y, fill, text in zip(xs, ys, fills, texts):
            at = xa.index(x)
            x0, x1 = sorted((xa.px(at - half), xa.px(at + half)))
            top, base = ya.px(y), ya.px(0.0)
            items.append(_rect(x0, min(top, base), x1, max(top, base), colour(fill), None, 0))
            if text and t.get("textposition", "auto") == "outside":
                items.append(Label((x0 + x1) / 2, min(top, base) - 3 - size * 0.6, str(text), size, self.font_colour))
            elif text:
                items.append(Label((x0 + x1) / 2, min(top, base) + 4 + size * 0.6, str(text), size,
                                   _contrast(colour(fill))))
        return items

    def _scatter(self, t: dict, xa: _Axis, ya: _Axis) -> list:
        xs = [None if v is None else xa.px(xa.index(v)) for v in t.get("x", ())]
        ys = [None if v is None else ya.px(ya.index(v)) for v in t.get("y", ())]
        mode = t.get("mode", "markers")
        items = []
        if "lines" in mode:
            line = t.get("line") or {}
            stroke = colour(line.get("color", P.BLUE))
            piece = []
            for x, y in [*zip(xs, ys), (None, None)]:
                if x is None or y is None:
                    if len(piece) > 1:
                        items.append(Line(tuple(piece), False, None, stroke, float(line.get("width", 2)),
                                          line.get("dash", "solid")))
                    piece = []
                else:
                    piece.append((x, y))
        marker = t.get("marker") or {}
        size = float(marker.get("size", 6)) if not isinstance(marker.get("size"), list) else 6.0
        if "markers" in mode:
            items += [m for m in _marker_items(t, xs, ys) if any(c and c[3] > 0 for c in (m.fill, m.stroke))]
        if "text" in mode and t.get("text") is not None:
            items += self._point_texts(t, xs, ys, size if "markers" in mode else 0.0)
        return items

    def _point_texts(self, t: dict, xs, ys, marker: float) -> list:
        font = t.get("textfont") or {}
        size = float(font.get("size", self.font_size))
        rgba = colour(font.get("color")) or self.font_colour
        texts = t["text"] if isinstance(t["text"], (list, tuple)) else [t["text"]] * len(xs)
        position = str(t.get("textposition", "middle center")).split()
        gap = marker / 2 + 3 if marker else 0.0
        items = []
        for x, y, text in zip(xs, ys, texts):
            if x is None or y is None or not text:
                continue
            dx = {"left": -gap, "right": gap}.get(position[-1], 0.0)
            dy = {"top": -gap - size / 2, "bottom": gap + size / 2}.get(position[0], 0.0)
            h = {"left": "right", "right": "left"}.get(position[-1], "middle")
            items += _label_lines(x + dx, y + dy, str(text), size, rgba, h)
        return items

    def _shape(self, s: dict) -> list:
        if s.get("type", "rect") not in ("rect", "line"):
            return []
        x0, x1 = (self.place(s.get("xref", "x"), s[k], False) for k in ("x0", "x1"))
        y0, y1 = (self.place(s.get("yref", "y"), s[k], True) for k in ("y0", "y1"))
        opacity = float(s.get("opacity", 1))
        line = s.get("line") or {}
        width = float(line.get("width", 2))
        stroke = _faded(colour(line.get("color", "#444")), opacity) if width > 0 else None
        if s.get("type", "rect") == "line":
            return [Line(((x0, y0), (x1, y1)), False, None, stroke, width, line.get("dash", "solid"))]
        fill = _faded(colour(s.get("fillcolor")), opacity)
        return [_rect(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1), fill, stroke, width,
                      line.get("dash", "solid"))]

    def _annotation(self, a: dict) -> list:
        if not a.get("text") or a.get("visible") is False:
            return []
        x = self.place(a.get("xref", "x"), a.get("x", 0), False)
        y = self.place(a.get("yref", "y"), a.get("y", 0), True)
        font = a.get("font") or {}
        size = float(font.get("size", self.font_size))
        rgba = colour(font.get("color")) or self.font_colour
        lines = len(re.split(r"<br\s*/?>", a["text"]))
        block = size * 1.3 * lines
        y += {"bottom": -block / 2, "top": block / 2}.get(a.get("yanchor"), 0.0)
        h = {"left": "left", "right": "right"}.get(a.get("xanchor"), "middle")
        return _label_lines(x, y, a["text"], size, rgba, h)

    # ---- ticks, grid, titles, legend -----------------------------------------------------------------------------

    def _tick_values(self, axis: _Axis) -> list[tuple[float, str]]:
        lo, hi = sorted(axis.range)
        dtick = axis.spec.get("dtick")
        if axis.category:
            step = int(dtick or max(1, math.ceil(len(axis.categories) * 1.2 * self._tick_font(axis) / axis.length)))
            return [(float(i), str(c)) for i, c in enumerate(axis.categories) if i % step == 0 and lo <= i <= hi]
        if not dtick:
            n = min(max(axis.length / (40 if axis.vertical else 80), 4), 9) + 1
            rough = (hi - lo) / n
            unit = 10 ** math.floor(math.log10(rough)) if rough > 0 else 1
            dtick = unit * next(m for m in (2, 5, 10) if rough / unit <= m)
        dtick = float(dtick)
        first = math.ceil(lo / dtick - 1e-9) * dtick
        values = [first + k * dtick for k in range(int((hi - first) / dtick + 1e-9) + 1)]
        biggest = max(abs(lo), abs(hi)) or 1.0
        power = math.floor(math.log10(biggest) + 0.01)
        exponent = 3 * round((power - 1) / 3) if abs(power) > 3 else 0
        suffix = {3: "k", 6: "M", 9: "B", 12: "T"}.get(exponent, f"e{exponent}" if exponent else "")
        return [(v, f"{round(v / 10 ** exponent, 6):g}{suffix}" if abs(v) > 1e-12 * biggest else "0") for v in values]

    def _tick_font(self, axis: _Axis) -> float:
        return float((axis.spec.get("tickfont") or {}).get("size", self.font_size))

    def _other(self, axis: _Axis) -> _Axis | None:
        """The axis this one is drawn against (its anchor), for where its line and labels go."""
        anchor = axis.spec.get("anchor")
        if anchor in self.axes:
            return self.axes[anchor]
        letter = "x" if axis.vertical else "y"
        return self.axes.get(letter + axis.short[1:]) or self.axes.get(letter)

    def _grid(self, axis: _Axis) -> list:
        other = self._other(axis)
        if not axis.spec.get("showgrid") or axis.spec.get("visible") is False or other is None:
            return []
        stroke = colour(axis.spec.get("gridcolor", "#EEEEEE"))
        width = float(axis.spec.get("gridwidth", 1))
        items = []
        for value, _ in self._tick_values(axis):
            at = axis.px(value)
            a, b = other.p0, other.p1
            items.append(Line(((a, at), (b, at)) if axis.vertical else ((at, a), (at, b)), False, None, stroke, width))
        return items

    def _ticks(self, axis: _Axis) -> list:
        spec, other = axis.spec, self._other(axis)
        if spec.get("visible") is False or other is None:
            return []
        size, items = self._tick_font(axis), []
        angle = float(spec.get("tickangle") or 0) if spec.get("tickangle") not in (None, "auto") else 0.0
        rgba = colour((spec.get("tickfont") or {}).get("color")) or self.font_colour
        side = spec.get("side", "left" if axis.vertical else "bottom")
        edge = {"left": min, "right": max, "bottom": max, "top": min}[side](other.p0, other.p1)
        widest = 0.0
        if spec.get("showticklabels", True):
            for value, text in self._tick_values(axis):
                at = axis.px(value)
                widest = max(widest, P.text_width(text, size))
                if axis.vertical:
                    x = edge - 5 if side == "left" else edge + 5
                    items.append(Label(x, at, text, size, rgba, "right" if side == "left" else "left"))
                elif angle:  # turned labels start at the axis and run away from it
                    y = edge - 5 if side == "top" else edge + 5
                    h = "left" if (side == "top") == (angle < 0) else "right"
                    items.append(Label(at, y, text, size, rgba, h, angle=angle))
                else:
                    y = edge - 5 - size / 2 if side == "top" else edge + 5 + size / 2
                    items.append(Label(at, y, text, size, rgba))
        title = spec.get("title") or {}
        text = title.get("text") if isinstance(title, dict) else title
        if text:
            tsize = float((title.get("font") or {}).get("size", self.font_size + 2)) if isinstance(title, dict) \
                else self.font_size + 2
            middle = (axis.p0 + axis.p1) / 2
            if axis.vertical:
                x = edge - 10 - widest - tsize / 2 if side == "left" else edge + 10 + widest + tsize / 2
                items.append(Label(x, middle, str(text), tsize, self.font_colour, angle=-90))
            else:
                depth = (widest if angle else size) + 10 + tsize / 2
                items.append(Label(middle, edge + depth if side == "bottom" else edge - depth, str(text), tsize,
                                   self.font_colour))
        return items

    def _legend(self) -> list:
        if self.layout.get("showlegend") is False:
            return []
        entries = [t for t in self.traces if t.get("showlegend", t.get("type", "scatter") != "heatmap") is not False
                   and t.get("name")]
        if len(entries) < 2 and self.layout.get("showlegend") is not True:
            return []
        legend = self.layout.get("legend") or {}
        y = self.paper_y(float(legend.get("y", 1)))
        bottom = y if legend.get("yanchor", "bottom" if legend.get("y", 1) < 0 else "top") == "bottom" else y + 28
        items = _legend_items(entries, bottom)
        dx = self.paper_x(float(legend.get("x", 0))) - 8 + 2
        return [_moved(item, dx) for item in items]


def _extent(label: Label) -> tuple[float, float, float, float]:
    """A label's box (left, top, right, bottom), near enough for margins (turned labels by a quarter turn)."""
    along, across = P.text_width(label.text, label.size), label.size * 1.2
    start = {"left": 0.0, "middle": -along / 2, "right": -along}[label.h]
    if abs(label.angle) % 180 == 90:
        sign = 1 if label.angle > 0 else -1  # +90: the text runs down from its anchor, -90: up
        y0, y1 = sorted((label.y + sign * start, label.y + sign * (start + along)))
        return label.x - across / 2, y0, label.x + across / 2, y1
    return label.x + start, label.y - across / 2, label.x + start + along, label.y + across / 2


def _moved(item, dx: float):
    if isinstance(item, Line):
        return replace(item, points=tuple((x + dx, y) for x, y in item.points))
    return replace(item, x=item.x + dx)


def _rect(x0: float, y0: float, x1: float, y1: float, fill, stroke, width: float, dash: str = "solid") -> Line:
    return Line(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), True, fill, stroke if width > 0 else None, width, dash)


def _heat_colours(z: np.ndarray, scale, lo: float, hi: float, background) -> np.ndarray:
    """A heatmap's cell colours (rows x columns x 3, uint8): the colorscale's stops interpolated linearly in RGBA,
    as Plotly does, and a translucent colour laid over the plot's background as the browser's canvas does."""
    stops = np.array([float(t) for t, _ in scale])
    rgba = np.array([colour(c) or (255, 255, 255, 0.0) for _, c in scale], dtype=float)
    t = np.clip((z - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
    channels = np.stack([np.interp(t, stops, rgba[:, k]) for k in range(4)], axis=-1)
    under = np.array((background or (255, 255, 255, 1.0))[:3], dtype=float)
    alpha = channels[..., 3:]
    return np.round(channels[..., :3] * alpha + under * (1 - alpha)).astype(np.uint8)


def _faded(rgba, opacity: float):
    return None if rgba is None else (*rgba[:3], rgba[3] * opacity)


def _contrast(fill) -> tuple:
    """Plotly's text colour on a coloured cell: white on dark fills, its dark grey on light ones."""
    if fill is None:
        return colour("#444")
    r, g, b = fill[:3]
    return colour("#FFFFFF") if 0.299 * r + 0.587 * g + 0.114 * b < 128 else colour("#444444")


def axes_scene(fig, width: int | None = None) -> Scene:
    """The figure's picture as a Scene (width: for a figure without its own, default DEFAULT_WIDTH)."""
    return _Figure(fig, width).scene()
