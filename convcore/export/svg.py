"""Scenes as SVG text: squares, paths and text elements, so the picture stays sharp in a paper at any size.

Hand-built with the standard library: a scene is only rectangles, paths, text and pictures, which SVG says
directly; a drawing library would add a dependency and nothing this needs. Text stays text (searchable, editable);
a picture (an image on the checkerboard page) stays pixels, embedded as a PNG and drawn without smoothing.
"""
from __future__ import annotations

import base64
import io
import math
from xml.sax.saxutils import escape, quoteattr

from PIL import Image

from ..viz import palette as P
from .raster import _DASHES
from .scene import Arrow, Box, Label, Line, Picture, Scene

__all__ = ["to_svg"]


def _paint(c, kind: str) -> str:
    """fill= / stroke= attributes of a colour (with its opacity)."""
    if c is None:
        return f' {kind}="none"'
    out = f' {kind}="#{c[0]:02X}{c[1]:02X}{c[2]:02X}"'
    if c[3] < 1:
        out += f' {kind}-opacity="{c[3]:.3g}"'
    return out


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _box(b: Box) -> str:
    h = b.size / 2
    stroke = _paint(b.stroke, "stroke") + (f' stroke-width="{_n(b.width)}"' if b.stroke is not None else "")
    return (f'<rect x="{_n(b.x - h)}" y="{_n(b.y - h)}" width="{_n(b.size)}" height="{_n(b.size)}"'
            f'{_paint(b.fill, "fill")}{stroke}/>')


def _line(line: Line) -> str:
    d = "M" + " L".join(f"{_n(x)} {_n(y)}" for x, y in line.points) + (" Z" if line.closed else "")
    attrs = _paint(line.fill, "fill") + _paint(line.stroke, "stroke")
    if line.stroke is not None:
        attrs += f' stroke-width="{_n(line.width)}" stroke-linejoin="round"'
        if line.dash not in ("solid", None):
            on, off = _DASHES.get(line.dash, (3, 3))
            attrs += f' stroke-dasharray="{_n(on * line.width)} {_n(off * line.width)}"'
    return f'<path d="{d}"{attrs}/>'


_ANCHOR = {"left": "start", "middle": "middle", "right": "end"}


def _label(label: Label) -> str:
    weight = ' font-weight="bold"' if label.bold else ""
    if label.angle:
        weight += f' transform="rotate({_n(label.angle)} {_n(label.x)} {_n(label.y)})"'
    return (f'<text x="{_n(label.x)}" y="{_n(label.y)}" font-size="{_n(label.size)}" text-anchor="{_ANCHOR[label.h]}"'
            f' dominant-baseline="central"{weight}{_paint(label.colour, "fill")}>{escape(label.text)}</text>')


def _picture(p: Picture) -> str:
    """The pixels as an embedded PNG, stretched with sharp edges (a vector file keeps images as images)."""
    data = io.BytesIO()
    Image.fromarray(p.pixels, "RGB").save(data, format="PNG", optimize=True)
    href = "data:image/png;base64," + base64.b64encode(data.getvalue()).decode("ascii")
    return (f'<image x="{_n(p.x0)}" y="{_n(p.y0)}" width="{_n(p.x1 - p.x0)}" height="{_n(p.y1 - p.y0)}" '
            f'preserveAspectRatio="none" style="image-rendering:pixelated" href="{href}"/>')


def _arrow(a: Arrow) -> str:
    angle = math.atan2(a.y1 - a.y0, a.x1 - a.x0)
    head = 5 * a.width
    bx, by = a.x1 - head * math.cos(angle), a.y1 - head * math.sin(angle)
    wings = [(bx + head * 0.5 * math.cos(angle + k * math.pi / 2), by + head * 0.5 * math.sin(angle + k * math.pi / 2))
             for k in (1, -1)]
    colour = _paint(a.colour, "stroke")
    return (f'<path d="M{_n(a.x0)} {_n(a.y0)} L{_n(bx)} {_n(by)}"{colour} stroke-width="{_n(a.width)}" fill="none"/>'
            f'<path d="M{_n(a.x1)} {_n(a.y1)} L{_n(wings[0][0])} {_n(wings[0][1])} L{_n(wings[1][0])} {_n(wings[1][1])} Z"'
            f'{_paint(a.colour, "fill")}/>')


_WRITE = {Box: _box, Line: _line, Label: _label, Arrow: _arrow, Picture: _picture}


def to_svg(scene: Scene, title: str = "") -> str:
    """The scene as a standalone SVG document (pixel units, white background)."""
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{scene.width}" height="{scene.height}" '
            f'viewBox="0 0 {scene.width} {scene.height}" font-family={quoteattr(P.FONT_FAMILY)}>')
    parts = [head]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    parts.append(f'<rect width="{scene.width}" height="{scene.height}" fill="#FFFFFF"/>')
    parts += [_WRITE[type(item)](item) for item in scene.items]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
