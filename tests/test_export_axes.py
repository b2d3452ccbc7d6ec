"""Exports of the figures drawn on Plotly axes (the planner's chain, the groups figures, the matrix heatmaps, the
checkerboard images), decoded back: each cell, bar, block and picture pixel has the figure's colour (computed here
from the palette, independently of the exporter) at the place its row and column say; the SVG parses and carries
the figure's titles, tick labels, values and legend."""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from convcore import export
from convcore.teaching.planner import chain_from_text, plan_chain
from convcore.teaching.trace import channel_map, conv2d_matrix
from convcore.viz import palette as P
from convcore.viz.concepts import (chain_figure, channel_figure, counts_figure, group_colour, images_figure,
                                   matrix_figure)

SVG = "{http://www.w3.org/2000/svg}"


def png(fig, scale: float = 1) -> np.ndarray:
    image = Image.open(io.BytesIO(export.still_png(fig, scale=scale)))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB"))


def svg_texts(fig) -> list[str]:
    root = ET.fromstring(export.still_svg(fig, title="figure"))
    return [t.text for t in root.iter(f"{SVG}text")]


def hex_rgb(text: str) -> tuple[int, int, int]:
    return tuple(int(text[i : i + 2], 16) for i in (1, 3, 5))


def over_white(rgb, alpha: float) -> tuple[int, int, int]:
    return tuple(int(round(c * alpha + 255 * (1 - alpha))) for c in rgb)


def scale_colour(value: float, scale, lo: float, hi: float) -> tuple[int, int, int]:
    """A value's colour on a Plotly colorscale (linear between stops), computed without the exporter."""
    t = min(max((value - lo) / (hi - lo), 0.0), 1.0)
    for (t0, c0), (t1, c1) in zip(scale, scale[1:]):
        if t0 <= t <= t1:
            f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            return tuple(int(round(a + f * (b - a))) for a, b in zip(hex_rgb(c0), hex_rgb(c1)))
    raise AssertionError(t)


def where(image: np.ndarray, rgb, tolerance: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pixels of this colour (exactly, or within `tolerance` a channel: a translucent
    colour over white rounds either way)."""
    gap = np.abs(image.astype(int) - np.array(rgb, int))
    return np.nonzero(np.all(gap <= tolerance, axis=-1))


def centre(image: np.ndarray, rgb) -> tuple[float, float]:
    ys, xs = where(image, rgb)
    assert len(xs), f"no pixel of colour {rgb}"
    return float(xs.mean()), float(ys.mean())


# ---- the matrix view's heatmap ---------------------------------------------------------------------------------

def bands(values: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive pixel rows (or columns): the cells a colour fills, one run per cell along that axis."""
    values = np.unique(values)
    cuts = np.nonzero(np.diff(values) > 1)[0]
    starts, ends = np.r_[values[0], values[cuts + 1]], np.r_[values[cuts], values[-1]]
    return list(zip(starts.tolist(), ends.tolist()))


def test_matrix_heatmap_cells_have_the_diverging_colour_of_their_value_in_their_row_and_column():
    w = np.array([[[[1.0, -2], [3, 4]]]])
    C = conv2d_matrix((1, 3, 3), w, 1, 0, 1)  # 4 outputs x 9 inputs: each row the kernel's 4 taps, shifted
    fig = matrix_figure(C, (2, 2), (3, 3), row_symbol="y", col_symbol="x", title="C: 4 x 9", highlight_row=2)
    image = png(fig, scale=2)  # the 1 px gaps between cells are 2 px here: each cell a separate block
    limit = float(np.abs(C).max())
    colour_of = {v: scale_colour(v, P.DIVERGING, -limit, limit) for v in np.unique(C)}
    painted = np.zeros(image.shape[:2], bool)
    for rgb in colour_of.values():
        ys, xs = where(image, rgb)
        painted[ys, xs] = True
    # rows and columns of pixels that cross cells (a stray anti-aliased text pixel of a cell colour does not)
    rows, columns = bands(np.nonzero(painted.sum(1) > 20)[0]), bands(np.nonzero(painted.sum(0) > 20)[0])
    assert (len(rows), len(columns)) == C.shape  # one block per cell: 4 rows, 9 columns
    for r, (y0, y1) in enumerate(rows):
        for j, (x0, x1) in enumerate(columns):
            # a quarter in from the cell's corner: clear of its value printed in the middle and of the outline
            assert tuple(image[y0 + (y1 - y0) // 4, x0 + (x1 - x0) // 4]) == colour_of[C[r, j]], (r, j)
    outline = bands(where(image, (0, 0, 0))[0])  # the highlighted row's outline (ACTIVE, black): around row 2
    assert outline[0][0] < rows[2][0] and outline[-1][1] > rows[2][1] and outline[0][0] > rows[1][0]


def test_matrix_svg_carries_title_tick_labels_and_values():
    C = conv2d_matrix((1, 3, 3), np.array([[[[1.0, -2], [3, 4]]]]), 1, 0, 1)
    texts = svg_texts(matrix_figure(C, (2, 2), (3, 3), row_symbol="y", col_symbol="x", title="C: 4 x 9"))
    assert "C: 4 x 9" in texts
    assert {f"x[{r},{c}]" for r in range(3) for c in range(3)} <= set(texts)
    assert {f"y[{r},{c}]" for r in range(2) for c in range(2)} <= set(texts)
    assert {"1", "-2", "3", "4"} <= set(texts)


# ---- the checkerboard images -----------------------------------------------------------------------------------

def test_images_are_sharp_grey_blocks_in_raster_order_each_panel_at_the_same_size():
    small = (np.arange(16.0).reshape(4, 4) * 16 + 7)  # 16 distinct greys: 7, 23, ..., 247
    big = np.kron(small, np.ones((2, 2)))  # the same picture at twice the pixels
    fig = images_figure({"input": small, "upsampled": big[:, ::-1]}, {"input": 2}, height=300)
    image = png(fig, scale=2)
    for value in small.ravel():
        grey = (int(value),) * 3
        ys, xs = where(image, grey)
        # two panels, the value's block in each: the input's pixel drawn at twice the size, the same block
        # (within a pixel row or column: each panel's edges are rounded to whole pixels)
        left, right = xs < image.shape[1] / 2, xs >= image.shape[1] / 2
        assert left.sum() > 0 and abs(left.sum() / right.sum() - 1) < 0.05, value
    left_half = image[:, : image.shape[1] // 2]
    cells = {(r, c): centre(left_half, (int(small[r, c]),) * 3) for r in range(4) for c in range(4)}
    for r in range(4):
        assert [cells[r, c][0] for c in range(4)] == sorted(cells[r, c][0] for c in range(4))  # left to right
    for c in range(4):
        assert [cells[r, c][1] for r in range(4)] == sorted(cells[r, c][1] for r in range(4))  # top to bottom
    # the right panel is the same picture mirrored: the first input column is its last
    right_half = image[:, image.shape[1] // 2 :]
    assert centre(right_half, (7, 7, 7))[0] > centre(right_half, (55, 55, 55))[0]
    assert {"input", "upsampled"} <= set(svg_texts(fig))
    assert ET.fromstring(export.still_svg(fig)).find(f"{SVG}image") is not None  # kept as pictures in the vector file


# ---- the groups page ---------------------------------------------------------------------------------------------

def test_channel_figure_draws_each_groups_colour_and_fades_the_channels_a_highlight_leaves_out():
    fig = channel_figure(channel_map(8, 8, 4), 4, False, highlight=5)
    image = png(fig)
    lit = hex_rgb(group_colour(2))  # output 5 is in group 2: its inputs 4, 5 and its weight row are lit
    assert len(where(image, lit)[0]) > 500
    for g in (0, 1, 3):  # the other groups' weights: their colour at 20 % over white
        assert len(where(image, over_white(hex_rgb(group_colour(g)), 0.2))[0]) > 200, g
        assert len(where(image, hex_rgb(group_colour(g)))[0]) == 0, g
    texts = svg_texts(fig)
    assert {"which input channels feed which outputs", "weight: (C_out, C_in/groups, kH, kW)",
            "dim 1: C_in/groups = 2", "dim 0: C_out = 8"} <= set(texts)
    assert {str(c) for c in range(8)} <= set(texts)


def test_counts_bars_are_as_tall_as_their_values():
    params, macs = [600, 80, 140, 220], [600_000, 80_000, 1_400_000, 2_200]
    fig = counts_figure(["full", "depthwise", "pointwise", "separable"], params, macs)
    image = png(fig, scale=2)
    half = image.shape[1] // 2
    for values, part in ((params, image[:, :half]), (macs, image[:, half:])):
        heights = [np.ptp(where(part, hex_rgb(c))[0]) + 1 for c in (P.BLUE, P.ORANGE, P.GREEN, P.SKY)]
        tallest = max(values)
        for value, height in zip(values, heights):
            assert abs(height / max(heights) - value / tallest) < 0.02, (value, height)
    texts = svg_texts(fig)
    assert {"parameters", "multiply-adds per image", "600", "1,400,000", "separable"} <= set(texts)
    assert {"1M", "0.5M", "0"} <= set(texts)  # Plotly's tick labels with its M suffix


# ---- the planner ---------------------------------------------------------------------------------------------------

def test_chain_figure_draws_its_tensors_labels_and_legend():
    plan = plan_chain((1, 28, 28), chain_from_text("C16k3s2p1.C32k3s2p1.T16k3s2p1.T1k3s2p1"))
    fig = chain_figure(plan)
    image = png(fig)
    assert image.shape[:2] == (fig.layout.height, export.axes.DEFAULT_WIDTH)
    conv, transposed = over_white(hex_rgb(P.BLUE), 0.85), over_white(hex_rgb(P.GREEN), 0.85)
    conv_at, transposed_at = where(image, conv, 1), where(image, transposed, 1)
    assert len(conv_at[0]) > 1000 and len(transposed_at[0]) > 1000
    assert conv_at[1].max() < transposed_at[1].min()  # the encoder left of the decoder
    assert len(where(image, hex_rgb(P.VERMILLION))[0]) > 100  # the missed mirrors' outlines
    texts = svg_texts(fig)
    assert {"1×28×28", "16×14×14", "32×7×7", "1×25×25", "want 1×28×28", "input", "layer 4", "ConvT2d s=2",
            "Conv2d output", "ConvTranspose2d output", "expected (mirror), missed"} <= set(texts)


def test_unsupported_figures_are_refused_with_what_is_drawn():
    with pytest.raises(ValueError, match="cannot export a figure with a pie trace"):
        export.still_png(go.Figure(go.Pie(values=[1, 2])))
    with pytest.raises(ValueError, match="no steps"):
        export.still_svg(counts_figure(["a"], [1], [1]), 3)


# ---- the pages offer them ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page, keys", [
    ("pages/concepts/planner.py", ["plan_chart_export"]),
    ("pages/concepts/groups-depthwise.py", ["grp_channels_export", "grp_bars_export"]),
    ("pages/concepts/matrix.py", ["mat_C_export", "mat_T_export"]),
    ("pages/concepts/checkerboards.py", ["chk_images_export"]),
])
def test_every_concept_figure_on_axes_offers_png_and_svg(app_test, page, keys):
    at = app_test(page=page)
    assert not at.exception
    offered = {b.key for b in at.get("download_button")}
    assert {f"{key}_{kind}" for key in keys for kind in ("png", "svg")} <= offered, offered
