"""Plotly figures for the image lab: input and output side by side, a difference view and a histogram.

Builders take display-sized float copies (C, h, w) plus their scale back to full resolution; nothing here sees a
full-resolution array. Each panel is two traces on the same axes:
- the picture, as an image file in a go.Image `source` (the browser decodes it natively; a 512 x 512 go.Image with
  `z` takes seconds to draw in plotly.js), coloured as the display mode says: a PNG when it shows real pixels
  (scale 1: small images, crops; every pixel exact, no blur when enlarged), a JPEG when it is a downscaled average
  (4:4:4, quality 92: a fifth of the PNG's bytes, a tenth of its encoding time; the hover layer has the values);
- an invisible go.Heatmap over it, at most HOVER_MAX_SIDE cells a side (HOVER_FIT_SIDE over a downscaled copy),
  whose hover shows the real signed values (block means when the panel is shown scaled) and whose colour bar
  explains the display mapping.
Coordinates are full-resolution pixel indices, so hover positions match the downloaded .npy.
"""
from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from ..images.imaging import DIVERGING_COLORSCALE, display_copy, diverging_rgb, to_uint8

__all__ = ["side_by_side", "difference_figure", "histogram_figure", "panels", "output_panels", "compose",
           "aspect_of", "png_data_uri", "jpeg_data_uri", "picture_data_uri", "CHANNEL_NAMES", "HOVER_MAX_SIDE", "HOVER_FIT_SIDE"]

CHANNEL_NAMES = {1: ("gray",), 3: ("R", "G", "B")}
CHANNEL_COLOURS = {"gray": "#555555", "R": "#d62728", "G": "#2ca02c", "B": "#1f77b4"}
GRAY = [[0.0, "rgb(0,0,0)"], [1.0, "rgb(255,255,255)"]]
HOVER_MAX_SIDE = 160  # hover cells per side: hover data stays small (plotly.js is slow with big per-pixel arrays)
# Fewer cells over a downscaled panel (each already a block mean): Streamlit's frontend rewrites a Plotly spec as one
# string several dozen times (theme colours), so every byte of hover data costs on each new figure.
HOVER_FIT_SIDE = 96
PANEL_HEIGHT = 430  # px; legible at 1280x720
JPEG_QUALITY = 92


def png_data_uri(pixels: np.ndarray) -> str:
    """A uint8 (h, w) or (h, w, 3) array as a data: URI holding a PNG."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, format="PNG", compress_level=1)  # speed over size
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def jpeg_data_uri(pixels: np.ndarray) -> str:
    """A uint8 (h, w) or (h, w, 3) array as a data: URI holding a JPEG without chroma subsampling."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def picture_data_uri(pixels: np.ndarray, scale: float) -> str:
    """PNG for real pixels (scale <= 1), JPEG for a downscaled copy (scale > 1: a photo-like average)."""
    return png_data_uri(pixels) if scale <= 1 else jpeg_data_uri(pixels)


def _rendered(values: np.ndarray, mode: str, value_range) -> np.ndarray:
    """What the screen shows for one panel: (h, w, 3) RGB from 3 channels, gray or the diverging map from 1."""
    if values.shape[0] == 3:
        return np.moveaxis(to_uint8(values, mode, value_range), 0, -1)
    if mode == "diverging":
        return diverging_rgb(values[0], value_range)
    return to_uint8(values[0], mode, value_range)


def _hover_text(channels: int, scale: float) -> str:
    where = "x=%{x:.0f}, y=%{y:.0f}" if scale <= 1 else f"x≈%{{x:.0f}}, y≈%{{y:.0f}} (mean of ~{scale:.3g}x{scale:.3g} px)"
    if channels == 3:
        return where + "<br>R=%{customdata[0]:.4g}  G=%{customdata[1]:.4g}  B=%{customdata[2]:.4g}"
    return where + "<br>value=%{z:.4g}"


def _panel(values: np.ndarray, mode: str, value_range, scale: float, offset, label: str, colorbar: bool) -> list[dict]:
    """[picture, hover layer] for one (C, h, w) display copy; scale = full-resolution pixels per shown pixel.

    Plain dicts: plotly's validated objects cost ~0.2 s per figure, more than everything else on a rerun.
    """
    top, left = offset
    centre = (scale - 1) / 2  # a shown pixel covers full-resolution pixels offset + scale*j ... + scale - 1
    picture = dict(type="image", source=picture_data_uri(_rendered(values, mode, value_range), scale), x0=left + centre,
                   y0=top + centre, dx=scale, dy=scale, hoverinfo="skip", name=label)
    hover, hover_scale = display_copy(values, HOVER_MAX_SIDE if scale <= 1 else HOVER_FIT_SIDE)
    cell = scale * hover_scale
    lo, hi = value_range
    # 3 channels hover their values from customdata; z only gives the layer its cells (the layer is invisible and the
    # colour bar follows zmin / zmax), so it is sent as bytes of zeros instead of floats.
    z = np.zeros(hover.shape[1:], np.uint8) if hover.shape[0] == 3 else np.round(hover[0], 4).astype(np.float32)
    layer = dict(
        type="heatmap",
        z=z,
        x0=left + (cell - 1) / 2, y0=top + (cell - 1) / 2, dx=cell, dy=cell,
        opacity=0, name=label, hovertemplate=_hover_text(values.shape[0], cell) + f"<extra>{label}</extra>",
        colorscale=DIVERGING_COLORSCALE if mode == "diverging" else GRAY, zmin=lo, zmax=hi, showscale=colorbar,
        colorbar=dict(thickness=12, len=0.85, title=dict(text="|value|" if mode == "absolute" else "value",
                                                         side="right")),
    )
    if hover.shape[0] == 3:
        layer["customdata"] = np.round(np.moveaxis(hover, 0, -1), 4).astype(np.float32)
    return [picture, layer]


def panels(values: np.ndarray, mode: str, value_range, scale: float, offset, label: str, colorbar: bool) -> list:
    """(title, traces) per panel: one for gray or colour, one per channel for signed colour data (diverging).

    Plain data (strings, dicts, small arrays): callers may cache it, e.g. the input's panel across reruns.
    """
    if values.shape[0] == 3 and mode == "diverging":
        return [(f"{label} {n}", _panel(values[i : i + 1], mode, value_range, scale, offset, f"{label} {n}",
                                        colorbar and i == 2))
                for i, n in enumerate(CHANNEL_NAMES[3])]
    one_channel_colorbar = colorbar and values.shape[0] == 1
    return [(label, _panel(values, mode, value_range, scale, offset, label, one_channel_colorbar))]


def compose(shown: list, aspect: float, title: str | None = None) -> go.Figure:
    """Panels in one row, or a 2 x 2 grid for four (input + R, G, B) so each stays large enough to read."""
    cols = 2 if len(shown) == 4 else len(shown)
    rows = -(-len(shown) // cols)
    gap_x, gap_y = 0.04, 0.08
    width, height = (1 - gap_x * (cols - 1)) / cols, (1 - gap_y * (rows - 1)) / rows
    data, layout = [], {}
    annotations = []
    for i, (label, traces) in enumerate(shown):
        r, c = divmod(i, cols)
        n = "" if i == 0 else str(i + 1)
        x0, y1 = c * (width + gap_x), 1 - r * (height + gap_y)
        for trace in traces:
            data.append({**trace, "xaxis": f"x{n}", "yaxis": f"y{n}"})
        xd = [round(max(0.0, x0), 6), round(min(1.0, x0 + width), 6)]
        yd = [round(max(0.0, y1 - height), 6), round(min(1.0, y1), 6)]
        layout[f"xaxis{n}"] = dict(domain=xd, anchor=f"y{n}", constrain="domain", showgrid=False,
                                   zeroline=False, tickfont_size=10)
        layout[f"yaxis{n}"] = dict(domain=yd, anchor=f"x{n}", autorange="reversed",
                                   scaleanchor=f"x{n}", constrain="domain", constraintoward="top", showgrid=False,
                                   zeroline=False, tickfont_size=10)  # top: the picture sits under its title
        annotations.append(dict(text=label, x=x0 + width / 2, y=y1, xref="paper", yref="paper", xanchor="center",
                                yanchor="bottom", showarrow=False, font=dict(size=15)))
    panel_px = 1150 / cols
    px = rows * int(min(PANEL_HEIGHT, max(150, panel_px * aspect)) + 50) + 10
    layout.update(height=px, margin=dict(l=10, r=10, t=40 if not title else 70, b=10), annotations=annotations,
                  hoverlabel=dict(font_size=13), uirevision="image-lab")
    if title:
        layout["title"] = dict(text=title)
    return go.Figure(data=data, layout=layout, _validate=False)


def side_by_side(inp: np.ndarray, out: np.ndarray, *, input_scale: float, output_scale: float, mode: str,
                 value_range: tuple[float, float], input_title: str = "input", output_title: str = "output",
                 offsets=((0, 0), (0, 0)), title: str | None = None) -> go.Figure:
    """Input (0..255 as loaded) beside the output shown by display mode; one panel per channel when signed colour.

    *_scale: full-resolution pixels per shown pixel; offsets: (row, column) of the first shown pixel (crops).
    """
    shown = panels(inp, "clip", (0.0, 255.0), input_scale, offsets[0], input_title, False)
    shown += output_panels(out, mode, value_range, output_scale, offsets[1], output_title)
    return compose(shown, aspect_of(inp, out), title)


def output_panels(out: np.ndarray, mode: str, value_range, scale: float, offset, title: str = "output") -> list:
    """The output's panels, with a colour bar wherever the colours encode a single value."""
    return panels(out, mode, value_range, scale, offset, title, mode != "clip" or out.shape[0] == 1)


def aspect_of(*arrays: np.ndarray) -> float:
    """The tallest height / width among (C, H, W) arrays: sets the figure's height."""
    return max(a.shape[1] / a.shape[2] for a in arrays)


def difference_figure(diff: np.ndarray, *, scale: float, offset=(0, 0), title: str = "output - input") -> go.Figure:
    """output - input per channel on the diverging scale (white = unchanged), symmetric about zero.

    The scale ends at the 99.5th percentile of |difference| so a few extreme pixels do not wash out the rest.
    """
    m = float(np.percentile(np.abs(diff), 99.5)) if diff.size else 0.0
    m = m or float(np.max(np.abs(diff), initial=0.0)) or 1.0
    return compose(panels(diff, "diverging", (-m, m), scale, offset, title, True), aspect_of(diff))


def histogram_figure(counts: np.ndarray, edges: np.ndarray, *, sampled: int | None = None,
                     clip_range: tuple[float, float] = (0.0, 255.0)) -> go.Figure:
    """Counts per channel (C, bins) over shared bin edges, with the 0..255 display range marked."""
    centres = (edges[:-1] + edges[1:]) / 2
    names = CHANNEL_NAMES.get(counts.shape[0], tuple(str(i) for i in range(counts.shape[0])))
    data = [dict(type="scatter", x=centres, y=c, mode="lines", line_shape="hvh", name=name,
                 line=dict(color=CHANNEL_COLOURS.get(name), width=1.5),
                 hovertemplate="value %{x:.4g}: %{y} pixels<extra>" + name + "</extra>")
            for name, c in zip(names, counts)]
    shapes = [dict(type="line", x0=v, x1=v, y0=0, y1=1, xref="x", yref="paper", line=dict(color="#888", dash="dot",
                                                                                       width=1))
              for v in clip_range if edges[0] <= v <= edges[-1]]
    note = f" (a sample of {sampled:,} values per channel)" if sampled else ""
    layout = dict(height=230, margin=dict(l=10, r=10, t=40, b=10), shapes=shapes,
                  title=dict(text="Histogram of output values" + note, font=dict(size=14)),
                  yaxis=dict(title=dict(text="pixels")), showlegend=counts.shape[0] > 1,
                  legend=dict(orientation="h", y=1.15, x=1, xanchor="right"), uirevision="image-lab-hist")
    return go.Figure(data=data, layout=layout, _validate=False)
