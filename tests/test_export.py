"""Exports decoded back: GIF (Pillow), MP4 (PyAV), PNG and SVG; a frame per step, each highlighting its step's cell in
the palette's colour at the place the chart draws it, the SVG carrying the grids' labels and values."""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import av
import numpy as np
import pytest
from PIL import Image

from convcore import export
from convcore.export import Board
from convcore.teaching.trace import format_number, overlap_counts, trace_conv2d, trace_conv_transpose2d
from convcore.viz import overlap_figure
from convcore.viz import palette as P
from convcore.viz.concepts import grids_figure

ACTIVE = tuple(int(P.ACTIVE[i : i + 2], 16) for i in (1, 3, 5))
SVG = "{http://www.w3.org/2000/svg}"


def conv_trace(size=5, k=3, **kw):
    x = ((np.arange(size * size) * 7) % 11 - 5.0).reshape(1, 1, size, size)
    w = np.array([[[[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]]]) if k == 3 else np.ones((1, 1, k, k))
    return trace_conv2d(x, w, None, **{"padding": 1, **kw})


def transpose_trace():
    x = np.array([[[[1.0, 2, -1], [0, 3, 1], [-2, 1, 2]]]])
    w = np.array([[[[1.0, 0, -1], [1, 2, 1], [0, 1, 0]]]])
    return trace_conv_transpose2d(x, w, None, stride=2, padding=1, output_padding=1)


def named(fig, name: str) -> dict:
    hits = [t for t in fig._data if t.get("name") == name]
    assert len(hits) == 1, name
    return hits[0]


def legend_strip(fig) -> int:
    return int(fig.layout.margin.t or 0)


def outline_left_edge(fig, grid: str, row: int, col: int, outline: str) -> tuple[float, float]:
    """Where the chart strokes the left edge of `outline` (a square-open marker) around cell (row, col) of the trace
    named `grid`: the cell's centre (found by its customdata) minus half the outline's size (Plotly centres the
    stroke on the edge), below the legend strip."""
    cells = named(fig, grid)
    i = next(i for i, d in enumerate(cells["customdata"]) if tuple(d[2:]) == (row, col))
    size = named(fig, outline)["marker"]["size"]
    return float(cells["x"][i]) - size / 2, float(cells["y"][i]) + legend_strip(fig)


def pixel(image: Image.Image, xy, scale: float = 1) -> tuple[int, int, int]:
    return image.convert("RGB").getpixel((int(round(xy[0] * scale)), int(round(xy[1] * scale))))


def gif_frames(data: bytes) -> list[Image.Image]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF"
    frames = []
    for k in range(image.n_frames):
        image.seek(k)
        frames.append(image.convert("RGB"))
    return frames


# ---- GIF -----------------------------------------------------------------------------------------------------

def test_conv2d_gif_has_a_frame_per_step_each_outlining_its_output_cell_in_the_palette_colour():
    trace = conv_trace()  # 5x5, 3x3 kernel, padding 1: 25 steps
    fig = export.lesson_figure("window", trace, 0)
    frames = gif_frames(export.animation_gif(fig, fps=4))
    assert len(frames) == trace.n_steps == 25
    assert frames[0].size == (fig.layout.width, Board(fig).height)
    for k, frame in enumerate(frames):
        r, c = trace.cell_of(k)
        assert pixel(frame, outline_left_edge(fig, "output", r, c, "current output")) == ACTIVE, k
        other = (k + 7) % trace.n_steps  # a cell that is not this step's: no black outline there
        orow, ocol = trace.cell_of(other)
        if abs(orow - r) + abs(ocol - c) > 1:
            assert pixel(frame, outline_left_edge(fig, "output", orow, ocol, "current output")) != ACTIVE, k


def test_gif_frame_rate_and_hold_on_the_last_frame():
    fig = export.lesson_figure("window", conv_trace(), 0)
    image = Image.open(io.BytesIO(export.animation_gif(fig, fps=4)))
    durations = []
    for k in range(image.n_frames):
        image.seek(k)
        durations.append(image.info["duration"])
    assert durations[:-1] == [250] * (image.n_frames - 1)
    assert durations[-1] == export.encode.GIF_HOLD_MS
    assert image.info.get("loop") == 0  # loops forever


def test_scatter_gif_frame_k_outlines_input_cell_k():
    tt = transpose_trace()
    fig = export.lesson_figure("scatter", tt, 0)
    frames = gif_frames(export.animation_gif(fig, fps=2))
    view = tt.scatter
    assert len(frames) == view.n_steps == 9
    for k, frame in enumerate(frames):
        r, c = int(view.in_rows[k]), int(view.in_cols[k])
        assert pixel(frame, outline_left_edge(fig, "input", r, c, "stamping input")) == ACTIVE, k


def test_zero_insertion_gif_frames_follow_the_output_cells():
    tt = transpose_trace()
    window = tt.zero_insertion
    fig = export.lesson_figure("window", tt, 0)
    frames = gif_frames(export.animation_gif(fig, fps=10))
    assert len(frames) == window.n_steps == 36
    for k in (0, 5, 17, 35):
        r, c = window.cell_of(k)
        assert pixel(frames[k], outline_left_edge(fig, "output", r, c, "current output")) == ACTIVE


def test_gif_of_a_figure_past_the_browser_frame_cap_still_has_every_step():
    trace = conv_trace(size=21)  # 441 steps: more than a chart carries (FRAME_CAP 400)
    fig = export.lesson_figure("window", trace, 0)
    assert len(gif_frames(export.animation_gif(fig, fps=10))) == 441


# ---- MP4 -----------------------------------------------------------------------------------------------------

def test_mp4_is_h264_yuv420p_even_sized_with_a_frame_per_step_highlighting_each_cell():
    trace = conv_trace()
    fig = export.lesson_figure("window", trace, 0)
    done = []
    data = export.animation_mp4(fig, fps=2, progress=done.append)
    assert done[-1] == trace.n_steps
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.average_rate == 2
        frames = [f.to_image() for f in container.decode(stream)]
    assert len(frames) == trace.n_steps
    width, height = frames[0].size
    assert width % 2 == 0 and height % 2 == 0
    scale = export.mp4_scale(Board(fig))
    assert scale == export.MP4_SCALE == 2  # twice the chart: it fits Full HD
    assert width >= scale * fig.layout.width
    for k in (0, 12, 24):
        r, c = trace.cell_of(k)
        colour = pixel(frames[k], outline_left_edge(fig, "output", r, c, "current output"), scale)
        assert max(abs(a - b) for a, b in zip(colour, ACTIVE)) < 40, (k, colour)  # lossy codec: near black


# ---- PNG and SVG ---------------------------------------------------------------------------------------------

def test_png_of_a_step_outlines_that_step_at_twice_the_chart_size():
    trace = conv_trace()
    fig = export.lesson_figure("window", trace, 0)
    for step in (3, 20):
        image = Image.open(io.BytesIO(export.still_png(fig, step)))
        assert image.format == "PNG"
        assert image.size == (2 * fig.layout.width, 2 * Board(fig).height)
        r, c = trace.cell_of(step)
        assert pixel(image, outline_left_edge(fig, "output", r, c, "current output"), 2) == ACTIVE


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [t.text for t in root.iter(f"{SVG}text")]


def test_svg_parses_and_carries_the_grid_labels_values_and_the_steps_arithmetic():
    trace = conv_trace()
    fig = export.lesson_figure("window", trace, 0)
    svg = export.still_svg(fig, 6, title="conv2d")
    texts = svg_texts(svg)
    for label in ("input", "padded input", "kernel", "output"):
        assert label in texts
    for value in set(format_number(v, 3) for v in trace.output.ravel()):
        assert value in texts  # every output value
    for value in set(format_number(v, 3) for v in trace.input.ravel()):
        assert value in texts
    r, c = trace.cell_of(6)
    assert any(t.startswith(f"out[0,0,{r},{c}] =") for t in texts)  # the step's arithmetic line
    root = ET.fromstring(svg)
    assert root.get("width") == str(fig.layout.width)
    # the current output cell's outline: a black stroked square of the outline's size
    size = named(fig, "current output")["marker"]["size"]
    outlines = [e for e in root.iter(f"{SVG}rect") if e.get("stroke") == P.ACTIVE and float(e.get("width")) == size]
    assert len(outlines) == 1
    x, y = outline_left_edge(fig, "output", r, c, "current output")
    assert float(outlines[0].get("x")) == pytest.approx(x)
    assert float(outlines[0].get("y")) + size / 2 == pytest.approx(y)


def test_transposed_svgs_label_their_grids_and_output_padding():
    tt = transpose_trace()
    assert {"input", "zero-inserted input", "flipped kernel", "output", "output_padding"} <= set(
        svg_texts(export.still_svg(export.lesson_figure("window", tt, 0))))
    assert {"input", "kernel", "full output (before crop)", "output"} <= set(
        svg_texts(export.still_svg(export.lesson_figure("scatter", tt, 4))))
    assert {"x", "y = Cᵀ x + bias"} <= set(svg_texts(export.still_svg(export.lesson_figure("matrix", tt, 2))))


def test_still_concept_figures_export_and_unknown_figures_are_refused():
    counts = overlap_counts((3, 3), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1))
    fig = overlap_figure(counts)
    texts = svg_texts(export.still_svg(fig))
    assert {str(int(v)) for v in counts.ravel()} <= set(texts)
    grids = grids_figure({"a": np.arange(4.0).reshape(2, 2), "b": -np.arange(4.0).reshape(2, 2)})
    assert Image.open(io.BytesIO(export.still_png(grids))).size == (2 * grids.layout.width, 2 * grids.layout.height)
    assert len(gif_frames(export.animation_gif(grids))) == 1
    with pytest.raises(ValueError, match="cannot export a figure with a pie trace"):  # axes figures: test_export_axes
        export.still_png({"data": [{"type": "pie", "values": [1, 2]}], "layout": {}})


def test_a_step_outside_the_animation_is_refused_with_the_range():
    fig = export.lesson_figure("window", conv_trace(), 0)
    with pytest.raises(ValueError, match=r"step 25 is outside 0\.\.24"):
        export.still_svg(fig, 25)


def test_mp4_scale_keeps_videos_within_full_hd_and_never_below_the_chart():
    wide = Board(export.lesson_figure("window", conv_trace(size=12), 0))
    scale = export.mp4_scale(wide)
    assert 1 <= scale <= 2
    assert wide.width * scale <= 1920 and wide.height * scale <= 1080 or scale == 1


def test_too_long_animations_are_refused_with_the_limit_and_the_count():
    trace = conv_trace(size=26)  # 676 steps: more than a GIF holds
    fig = export.lesson_figure("window", trace, 0)
    with pytest.raises(ValueError, match=r"a GIF holds at most 625 steps; this animation has 676"):
        export.animation_gif(fig)
    with pytest.raises(ValueError, match=r"an MP4 holds at most 2500 steps; this animation has 2601"):
        export.check_length("mp4", 2601)


def test_without_dejavu_pillows_bundled_font_draws_and_symbols_it_lacks_are_spelled_out(monkeypatch):
    from convcore.export import raster

    monkeypatch.setattr(raster, "_DEJAVU", ("/nonexistent/DejaVuSans.ttf",))
    monkeypatch.setattr(raster, "_DEJAVU_BOLD", ("/nonexistent/DejaVuSans-Bold.ttf",))
    raster.font.cache_clear()
    try:
        assert not raster.has_dejavu(raster.font(14))
        assert "y = Cᵀ x × 2".translate(raster._PLAIN) == "y = C^T x x 2"
        fig = export.lesson_figure("matrix", transpose_trace(), 0)
        image = Image.open(io.BytesIO(export.still_png(fig, 1)))
        assert image.size == (2 * fig.layout.width, 2 * Board(fig).height)
    finally:
        raster.font.cache_clear()  # DejaVu again for the other tests
