"""Scenes to pixels with Pillow: the board's unchanging traces drawn once, each step's moving traces over a copy."""
from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .scene import Arrow, Board, Box, Label, Line, Picture, Scene

__all__ = ["render", "frames", "font"]

WHITE = (255, 255, 255)
# DejaVu Sans is the charts' font (palette.FONT_FAMILY; Debian's fonts-dejavu-core, which tests/run.sh installs);
# Pillow's bundled font stands in where it is missing
_DEJAVU = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf")
_DEJAVU_BOLD = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "DejaVuSans-Bold.ttf")


# what Pillow's bundled font lacks, spelled with what it has
_PLAIN = str.maketrans({"×": "x", "ᵀ": "^T", "→": "->", "…": "..."})


@functools.lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at `size` pixels, else Pillow's bundled font (check with has_dejavu)."""
    for name in _DEJAVU_BOLD if bold else _DEJAVU:
        if name.startswith("/") and not Path(name).exists():
            continue
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def has_dejavu(f) -> bool:
    return "DejaVu" in (getattr(f, "getname", lambda: ("",))()[0] or "")


def render(scene: Scene, scale: float = 1.0, base: Image.Image | None = None) -> Image.Image:
    """The scene as an RGB image `scale` times its pixel size (over a copy of `base` when given)."""
    size = (round(scene.width * scale), round(scene.height * scale))
    image = base.copy() if base is not None else Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image, "RGBA")  # RGBA: translucent fills (the mask over uncomputed cells) blend
    for item in scene.items:
        if isinstance(item, Picture):
            _picture(image, item, scale)
        elif isinstance(item, Label) and item.angle:
            _turned_label(image, item, scale)
        else:
            _DRAW[type(item)](draw, item, scale)
    return image


def _picture(image: Image.Image, p: Picture, s: float) -> None:
    """The pixels scaled to their box by nearest neighbour: every source pixel a sharp block, as the chart draws."""
    x0, y0, x1, y1 = (round(v * s) for v in (p.x0, p.y0, p.x1, p.y1))
    if x1 > x0 and y1 > y0:
        image.paste(Image.fromarray(p.pixels, "RGB").resize((x1 - x0, y1 - y0), Image.Resampling.NEAREST), (x0, y0))


def _turned_label(image: Image.Image, label: Label, s: float) -> None:
    """Rotated text: drawn on a transparent square centred on the anchor, turned about that centre, pasted."""
    f = font(max(1, round(label.size * s)), label.bold)
    text = label.text if has_dejavu(f) else label.text.translate(_PLAIN)
    half = int(f.getlength(text) + f.size) + 2
    sheet = Image.new("RGBA", (2 * half, 2 * half), (0, 0, 0, 0))
    anchor = {"left": "lm", "middle": "mm", "right": "rm"}[label.h]
    ImageDraw.Draw(sheet).text((half, half), text, font=f, fill=_rgba(label.colour), anchor=anchor)
    sheet = sheet.rotate(-label.angle, resample=Image.Resampling.BICUBIC, center=(half, half))
    image.paste(sheet, (round(label.x * s) - half, round(label.y * s) - half), sheet)


def frames(board: Board, scale: float = 1.0, steps=None) -> Iterator[Image.Image]:
    """One image per step (all steps by default), the traces no frame moves drawn only once."""
    base = render(board.scene(None, stop=board.first_moving, legend=True), scale)
    for step in range(board.n_steps) if steps is None else steps:
        moving = board.scene(step if board.frames else None, start=board.first_moving, legend=False)
        yield render(moving, scale, base)


def _rgba(c) -> tuple[int, int, int, int] | None:
    return None if c is None else (c[0], c[1], c[2], round(255 * c[3]))


def _box(draw: ImageDraw.ImageDraw, b: Box, s: float) -> None:
    half = b.size * s / 2
    x, y = b.x * s, b.y * s
    if b.fill is not None:
        draw.rectangle(_snap(x - half, y - half, x + half, y + half), fill=_rgba(b.fill))
    if b.stroke is not None and b.width > 0:
        w = max(1, round(b.width * s))
        out = half + w / 2  # the stroke is centred on the square's edge; Pillow draws outlines inward
        draw.rectangle(_snap(x - out, y - out, x + out, y + out), outline=_rgba(b.stroke), width=w)


def _snap(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    """A box's pixel rectangle (Pillow's corners are inclusive)."""
    return round(x0), round(y0), max(round(x0), round(x1) - 1), max(round(y0), round(y1) - 1)


def _line(draw: ImageDraw.ImageDraw, line: Line, s: float) -> None:
    points = [(x * s, y * s) for x, y in line.points]
    if line.fill is not None:
        draw.polygon(points, fill=_rgba(line.fill))
    if line.stroke is None or line.width <= 0:
        return
    w = max(1, round(line.width * s))
    path = points + [points[0]] if line.closed and points[0] != points[-1] else points
    if line.dash in ("solid", None):
        draw.line(path, fill=_rgba(line.stroke), width=w, joint="curve")
        return
    on, off = _DASHES.get(line.dash, (3, 3))
    for a, b in zip(path, path[1:]):
        for p, q in _dashes(a, b, on * w, off * w):
            draw.line([p, q], fill=_rgba(line.stroke), width=w)


# Plotly's dash patterns in multiples of the line width
_DASHES = {"dot": (1.5, 1.5), "dash": (4.5, 4.5), "longdash": (8, 4.5), "dashdot": (4.5, 2)}


def _dashes(a, b, on: float, off: float):
    length = math.dist(a, b)
    if length == 0:
        return
    ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
    t = 0.0
    while t < length:
        end = min(t + on, length)
        yield (a[0] + ux * t, a[1] + uy * t), (a[0] + ux * end, a[1] + uy * end)
        t = end + off


def _label(draw: ImageDraw.ImageDraw, label: Label, s: float) -> None:
    anchor = {"left": "lm", "middle": "mm", "right": "rm"}[label.h]
    f = font(max(1, round(label.size * s)), label.bold)
    text = label.text if has_dejavu(f) else label.text.translate(_PLAIN)
    draw.text((label.x * s, label.y * s), text, font=f, fill=_rgba(label.colour), anchor=anchor)


def _arrow(draw: ImageDraw.ImageDraw, a: Arrow, s: float) -> None:
    w = max(1, round(a.width * s))
    x0, y0, x1, y1 = a.x0 * s, a.y0 * s, a.x1 * s, a.y1 * s
    angle = math.atan2(y1 - y0, x1 - x0)
    head = 5 * w
    back = (x1 - head * math.cos(angle), y1 - head * math.sin(angle))
    draw.line([(x0, y0), back], fill=_rgba(a.colour), width=w)
    wing = [(back[0] + head * 0.5 * math.cos(angle + k * math.pi / 2), back[1] + head * 0.5 * math.sin(angle + k * math.pi / 2))
            for k in (1, -1)]
    draw.polygon([(x1, y1), wing[0], wing[1]], fill=_rgba(a.colour))


_DRAW = {Box: _box, Line: _line, Label: _label, Arrow: _arrow}
