"""The figures: frames, labels, highlighted cells, click mapping, determinism, sizes and fonts (no browser)."""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from convcore.teaching.trace import CellKind, overlap_counts, trace_conv2d, trace_conv_transpose2d
from convcore.viz import (
    FRAME_CAP,
    GRID_KEYS,
    clicked_cell,
    conv2d_figure,
    input_cell_for,
    is_animated,
    matrix_figure,
    overlap_figure,
    scatter_figure,
    step_for_cell,
    zero_insertion_figure,
)
from convcore.viz import palette as P
from convcore.viz import grids
from convcore.viz.grids import CellRef


def small_conv(**kw):
    x = (np.arange(36.0).reshape(1, 1, 6, 6) % 7) - 3
    w = np.array([[[[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]]])
    args = dict(padding=1, padding_mode="reflect")
    args.update(kw)
    return trace_conv2d(x, w, np.array([0.5]), **args)


def small_transpose():
    x = np.array([[[[1.0, 2, -1], [0, 3, 1], [-2, 1, 2]]]])
    w = np.array([[[[1.0, 0, -1], [1, 2, 1], [0, 1, 0]]]])
    return trace_conv_transpose2d(x, w, np.array([0.5]), stride=2, padding=1, output_padding=1)


def spec(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


def trace_named(d: dict, name: str) -> tuple[int, dict]:
    hits = [(i, t) for i, t in enumerate(d["data"]) if t.get("name") == name]
    assert len(hits) == 1, f"expected one trace named {name!r}, found {len(hits)}"
    return hits[0]


def decode(values):
    """A trace array from the JSON: a list, or plotly's base64 typed array."""
    if isinstance(values, dict) and "bdata" in values:
        import base64

        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"])).tolist()
    return list(values)


def cells_at(d: dict, xs, ys, grid: str) -> set[tuple[int, int, int]]:
    """(channel, row, col) of the cells of `grid` drawn at the pixel positions (xs, ys) (others ignored)."""
    where = {}
    for t in d["data"]:
        for x, y, cd in zip(decode(t.get("x", [])), decode(t.get("y", [])), t.get("customdata") or []):
            if cd[0] == grid:
                where[(x, y)] = (cd[1], cd[2], cd[3])
    return {where[p] for p in zip(xs, ys) if p in where}


def frame_state(d: dict, step: int) -> dict[int, dict]:
    """The data of every trace a frame updates, by trace index."""
    frame = next(f for f in d["frames"] if f["name"] == str(step))
    return dict(zip(frame["traces"], frame["data"]))


def test_conv2d_figure_frames_labels_and_highlights():
    tr = small_conv(stride=(1, 2), dilation=(2, 1))
    fig = conv2d_figure(tr, 3)
    d = spec(fig)
    assert is_animated(fig) and d["layout"]["meta"]["n_steps"] == tr.n_steps
    # one frame per step, stored from the opening step on (Play continues from there), named by step
    assert [f["name"] for f in d["frames"]] == [str(s) for s in list(range(3, tr.n_steps)) + list(range(3))]
    slider = d["layout"]["sliders"][0]
    assert slider["active"] == 3 and len(slider["steps"]) == tr.n_steps
    assert slider["steps"][5]["args"][0] == ["5"] and slider["steps"][5]["args"][1]["frame"]["redraw"] is False
    labels = [b["label"] for b in d["layout"]["updatemenus"][0]["buttons"]]
    assert labels == ["▶ Play", "❚❚ Pause"]
    assert len(d["layout"]["updatemenus"][1]["buttons"]) >= 3  # speeds
    _, titles = trace_named(d, "titles")
    assert {"input", "padded input", "kernel", "output"} <= set(titles["text"])
    # the highlighted cells of a few steps are the taps, the cells read, and the output cell
    iw, window = trace_named(d, "window")
    io, current = trace_named(d, "current output")
    ic, read = trace_named(d, "cells read")
    for s in (0, 3, 7, tr.n_steps - 1):
        st = frame_state(d, s)
        taps = cells_at(d, st[iw]["x"], st[iw]["y"], "padded input")
        assert taps == {(0, r, c) for r in tr.tap_rows[s] for c in tr.tap_cols[s]}
        assert cells_at(d, st[io]["x"], st[io]["y"], "output") == {(0,) + tr.cell_of(s)}
        rows, cols = tr.source_cells(s)
        assert cells_at(d, st[ic]["x"], st[ic]["y"], "input") == {(0, r, c) for r, c in zip(rows, cols)}
        assert st[len(d["data"]) - 1]["text"][0].startswith(f"out[0,0,{tr.cell_of(s)[0]},{tr.cell_of(s)[1]}] = ")
    # the figure opens at step 3: its base data shows step 3
    assert cells_at(d, window["x"], window["y"], "padded input") == cells_at(d, *frame_state(d, 3)[iw].values(), "padded input")
    assert cells_at(d, current["x"], current["y"], "output") == {(0,) + tr.cell_of(3)}
    # frames touch only the moving traces, and only their coordinates / text
    moving = {"not computed yet", "window halo", "window", "dilated window", "cells read", "current output", "arithmetic"}
    for f in d["frames"]:
        assert {d["data"][i]["name"] for i in f["traces"]} == moving
        assert all(set(u) <= {"x", "y", "text"} for u in f["data"])


def test_padding_cells_are_marked_and_show_their_mode_values():
    tr = small_conv()
    d = spec(conv2d_figure(tr))
    _, pad = trace_named(d, "padded input: padding")
    assert pad["marker"]["line"]["color"] == P.PADDING_EDGE and pad["marker"]["line"]["width"] >= 3
    for (ch, r, c), text in zip(pad["customdata"] and [tuple(cd[1:]) for cd in pad["customdata"]], pad["text"]):
        assert tr.grid_kinds[r, c] == CellKind.PADDING
        assert text == _fmt(tr.grid[0, r, c])  # the reflect copy's value, not a zero
    assert any(_fmt(v) != "0" for v in pad["text"])
    legend = [t["name"] for t in d["data"] if t.get("showlegend")]
    assert "padding (reflect: copies of input cells)" in legend


def _fmt(v) -> str:
    from convcore.teaching.trace import format_number

    return format_number(v, 3)


def test_zero_insertion_figure_marks_inserted_zeros_and_output_padding():
    tt = small_transpose()
    fig = zero_insertion_figure(tt, 4)
    d = spec(fig)
    _, titles = trace_named(d, "titles")
    assert {"input", "zero-inserted input", "flipped kernel", "output"} <= set(titles["text"])
    _, ins = trace_named(d, "zero-inserted input: inserted zero")
    assert ins["marker"]["color"] == P.INSERTED_FILL
    assert {tuple(cd[2:]) for cd in ins["customdata"]} == set(map(tuple, np.argwhere(tt.zero_insertion.grid_kinds == CellKind.INSERTED)))
    _, opad = trace_named(d, "zero-inserted input: output_padding")
    assert opad["marker"]["line"]["color"] == P.OUTPUT_PADDING_EDGE
    _, out = trace_named(d, "output")
    purple = [tuple(cd[2:]) for cd, col in zip(out["customdata"], out["marker"]["line"]["color"]) if col == P.OUTPUT_PADDING_EDGE]
    ho, wo = tt.output_size
    assert set(purple) == {(r, c) for r in range(ho) for c in range(wo) if r == ho - 1 or c == wo - 1}
    assert len(d["frames"]) == ho * wo


def test_scatter_figure_accumulates_the_canvas():
    tt = small_transpose()
    fig = scatter_figure(tt, 0)
    d = spec(fig)
    sc = tt.scatter
    assert len(d["frames"]) == sc.n_steps and d["layout"]["meta"]["view"] == "scatter"
    ia, acc = trace_named(d, "accumulated")
    istamp, _ = trace_named(d, "stamp")
    iin, _ = trace_named(d, "stamping input")
    hist = sc.history()
    for s in range(sc.n_steps):
        st = frame_state(d, s)
        # the canvas cells shown are those stamped so far, with their running totals
        shown = cells_at(d, st[ia]["x"], st[ia]["y"], "canvas")
        assert shown == {(0, r, c) for r, c in zip(*np.nonzero(~np.isnan(hist[s])))}
        by_cell = dict(zip(zip(st[ia]["x"], st[ia]["y"]), st[ia]["text"]))
        for (x, y), text in by_cell.items():
            (_, r, c), = cells_at(d, [x], [y], "canvas")
            assert text == _fmt(hist[s, r, c])
        stamp = cells_at(d, st[istamp]["x"], st[istamp]["y"], "canvas")
        assert stamp == {(0, r, c) for r in sc.stamp_rows[s] for c in sc.stamp_cols[s]}
        assert cells_at(d, st[iin]["x"], st[iin]["y"], "input") == {(0, int(sc.in_rows[s]), int(sc.in_cols[s]))}
    _, titles = trace_named(d, "titles")
    assert "full output (before crop)" in titles["text"]


def test_matrix_figure_highlights_the_output_column():
    tt = small_transpose()
    fig = matrix_figure(tt, 2)
    d = spec(fig)
    mv = tt.matrix_view()
    assert len(d["frames"]) == tt.output_size[0] * tt.output_size[1]
    iu, _ = trace_named(d, "used")
    for s in (0, 2, 11):
        st = frame_state(d, s)
        k = mv.column_of(0, *divmod(s, tt.output_size[1]))
        cells = cells_at(d, st[iu]["x"], st[iu]["y"], "x") | cells_at(d, st[iu]["x"], st[iu]["y"], "y")
        assert cells == {(0, int(q), 0) for q in np.flatnonzero(mv.matrix[:, k])} | {(0, 0, k)}
    with pytest.raises(ValueError, match="at most"):
        big = trace_conv_transpose2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), None, 2)
        matrix_figure(big)


def test_overlap_figure_counts():
    counts = overlap_counts((4, 4), 3, 2)
    d = spec(overlap_figure(counts))
    _, cells = trace_named(d, "overlap")
    assert sorted(map(int, cells["text"])) == sorted(counts.ravel().tolist())
    _, note = trace_named(d, "caption")
    assert note["text"][0] == "1 to 4 kernel taps per output cell"
    flat = spec(overlap_figure(overlap_counts((4, 4), 2, 2), caption="kernel divisible by the stride"))
    assert trace_named(flat, "caption")[1]["text"][0] == "kernel divisible by the stride"
    assert trace_named(flat, "overlap")[1]["text"] == ["1"] * 64


def test_figures_are_deterministic_and_valid():
    """Two builds give the same JSON; plotly's validator accepts every figure (frames included)."""
    tt = small_transpose()
    builders = [lambda: conv2d_figure(small_conv(), 5), lambda: zero_insertion_figure(tt, 1),
                lambda: scatter_figure(tt, 3), lambda: matrix_figure(tt, 0),
                lambda: overlap_figure(overlap_counts((3, 3), 3, 2)),
                lambda: conv2d_figure(small_conv(), 2, focus_input=(1, 1), animate=False)]
    for build in builders:
        a, b = build().to_json(), build().to_json()
        assert a == b
        go.Figure(json.loads(a))  # raises on any invalid property


def test_frame_cap_gives_a_static_figure():
    rng = np.random.default_rng(0)
    big = trace_conv2d(rng.standard_normal((1, 1, 32, 32)), rng.standard_normal((1, 1, 3, 3)), None, 1, 1)
    assert big.n_steps > FRAME_CAP
    fig = conv2d_figure(big, 100)
    d = spec(fig)
    assert not is_animated(fig) and "frames" not in d and "sliders" not in d["layout"]
    assert d["layout"]["meta"]["n_steps"] == 1024 and d["layout"]["meta"]["step"] == 100
    _, current = trace_named(d, "current output")
    assert cells_at(d, current["x"], current["y"], "output") == {(0, 3, 4)}
    small = conv2d_figure(small_conv(), 0, max_frames=10)
    assert not is_animated(small)


def test_values_printed_where_they_fit():
    d = spec(conv2d_figure(small_conv()))
    _, kernel = trace_named(d, "kernel")
    assert kernel["text"] == ["1", "0", "-1", "2", "0", "-2", "1", "0", "-1"]
    rng = np.random.default_rng(1)
    tiny = trace_conv2d(rng.standard_normal((1, 1, 16, 16)), rng.standard_normal((1, 1, 3, 3)), None, 1, 1)
    d = spec(conv2d_figure(tiny, max_width=700, max_height=500))
    _, out = trace_named(d, "output")
    assert "text" not in out and out["mode"] == "markers"
    assert all("hovertext" in t for t in d["data"] if t.get("customdata"))  # the values stay on hover


def test_layout_fits_the_screen_and_fonts_are_legible():
    tt = small_transpose()
    figs = [conv2d_figure(small_conv()), zero_insertion_figure(tt), scatter_figure(tt), matrix_figure(tt),
            conv2d_figure(trace_conv2d(np.ones((1, 2, 7, 7)), np.ones((4, 1, 3, 3)), None, 1, 2, 2, 2), 0)]
    for fig in figs:
        d = spec(fig)
        assert d["layout"]["width"] <= 1280 and d["layout"]["height"] <= 720
        sizes = list(_font_sizes(d))
        assert sizes and min(sizes) >= 14, sizes


def _font_sizes(node):
    """Every font size in a figure spec (font / textfont dicts), except transparent ones (hidden slider ticks)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("font", "textfont") and isinstance(value, dict) and "size" in value:
                if value.get("color") != "rgba(0,0,0,0)":
                    yield value["size"]
            yield from _font_sizes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _font_sizes(item)


def test_every_grid_cell_maps_back_to_its_grid():
    tr = small_conv()
    d = spec(conv2d_figure(tr))
    seen = {}
    for t in d["data"]:
        for cd in t.get("customdata") or []:
            grid, ch, r, c = cd
            assert grid in GRID_KEYS["conv2d"].values()
            seen.setdefault(grid, set()).add((r, c))
    assert len(seen["input"]) == 36 and len(seen["padded input"]) == 64 and len(seen["kernel"]) == 9
    assert len(seen["output"]) == 36
    # overlays never catch the click (hover skipped), so a click lands on the cell below
    for t in d["data"]:
        if not t.get("customdata"):
            assert t.get("hoverinfo") == "skip"


def test_click_helpers():
    tr = small_conv()
    event = {"selection": {"points": [{"curve_number": 3, "customdata": ["output", 0, 2, 3]}], "point_indices": [15]}}
    cell = clicked_cell(event)
    assert cell == CellRef("output", 0, 2, 3) and cell.grid == "output" and cell.row == 2
    assert step_for_cell(tr, cell) == 15
    assert clicked_cell({"selection": {"points": []}}) is None and clicked_cell(None) is None
    # a padded cell stands for the real cell it copies (reflect: padded (0, 0) copies input (1, 1))
    assert input_cell_for(tr, CellRef("padded input", 0, 0, 0)) == (1, 1)
    assert input_cell_for(tr, CellRef("input", 0, 4, 5)) == (4, 5)
    zeros = small_conv(padding_mode="zeros")
    assert input_cell_for(zeros, CellRef("padded input", 0, 0, 3)) is None
    tt = small_transpose()
    assert step_for_cell(tt, CellRef("input", 0, 1, 2)) == 5  # the scatter step of that input element
    assert step_for_cell(tt, CellRef("output", 0, 1, 1)) == tt.zero_insertion.step_of(1, 1)
    assert input_cell_for(tt, CellRef("zero-inserted input", 0, 3, 3)) == (1, 1)
    assert input_cell_for(tt, CellRef("zero-inserted input", 0, 2, 2)) is None  # an inserted zero


def test_focus_input_outlines_the_outputs_it_feeds():
    tr = small_conv()
    d = spec(conv2d_figure(tr, focus_input=(1, 1)))
    _, focus = trace_named(d, "focus")
    outputs = cells_at(d, focus["x"], focus["y"], "output")
    assert outputs == {(0, r, c) for r, c in zip(*np.nonzero(tr.index_map.target_mask(1, 1)))}
    # the cell itself (padded (2, 2)) and its reflections in the padding
    assert cells_at(d, focus["x"], focus["y"], "padded input") == {(0, 2, 2), (0, 0, 0), (0, 0, 2), (0, 2, 0)}
    assert cells_at(d, focus["x"], focus["y"], "input") == {(0, 1, 1)}


def _within_budget(d: dict, max_width: int = 820, max_height: int = 430) -> None:
    """Inside the size budget, or (several stacked channels) taller with readable cells: never wider, and a figure
    grows past max_height only to reach P.CELL_READABLE px cells, to grids.TALLER times max_height (more only at the
    smallest cells, where nothing else fits)."""
    assert d["layout"]["width"] <= max_width
    if d["layout"]["height"] > max_height:
        cell = min(t["marker"]["size"] for t in d["data"] if t.get("marker", {}).get("symbol") == "square") + 2
        assert cell <= P.CELL_READABLE, (d["layout"]["height"], cell)
        assert d["layout"]["height"] <= grids.TALLER * max_height or cell == P.CELL_MIN


def test_stacked_channels_stay_readable():
    """Three input channels of a 6x6 input, stride 2: the zero-inserted grids (13x13 with padding) stacked three high
    do not fit 430 px at any readable size; the lesson views grow taller with 12 px cells instead of 4 px specks."""
    rng = np.random.default_rng(3)
    x, w = rng.integers(-3, 4, (1, 3, 6, 6)).astype(float), rng.integers(-2, 3, (3, 1, 3, 3)).astype(float)
    tt = trace_conv_transpose2d(x, w, None, (2, 2), (1, 1), (0, 0), 1, (1, 1))
    for fig in (zero_insertion_figure(tt, 0, max_width=820, max_height=430),
                scatter_figure(tt, 0, max_width=820, max_height=430)):
        d = spec(fig)
        cells = {t["marker"]["size"] + 2 for t in d["data"] if t.get("marker", {}).get("symbol") == "square"}
        assert min(cells) == P.CELL_READABLE and d["layout"]["width"] <= 820 and d["layout"]["height"] > 430
    # the scatter's sentence fits the lesson's figure: it widens for it, and with three channels' terms too long for
    # 820 px shows the first and the last
    d = spec(scatter_figure(tt, 0, max_width=820, max_height=430))
    sentences = [t["text"][0] for f in d["frames"] for t in f["data"] if str(t.get("text", [""])[0]).startswith("input[")]
    assert len(sentences) == tt.scatter.n_steps and all(" + ... + " in s for s in sentences)
    assert max(P.text_width(s, P.EQUATION_FONT) for s in sentences) <= d["layout"]["width"] == 820


def test_figures_for_random_configurations():
    """Every figure builds for odd configurations (padding modes, groups, dilation, output_padding past the
    uncropped result, 1x1 inputs, several input channels) and stays inside its size budget (or grows only to keep
    its cells readable), one frame per step."""
    from test_trace import conv2d_case, conv2d_configs, transpose_case, transpose_configs

    rng = np.random.default_rng(21)
    for cfg in conv2d_configs(12, seed=31):
        x, w, b = conv2d_case(cfg, rng, integer=True)
        tr = trace_conv2d(x, w, b, cfg["s"], cfg["pad"], cfg["d"], cfg["groups"], cfg["mode"], out_channel=cfg["cout"] - 1)
        d = spec(conv2d_figure(tr, tr.n_steps - 1, max_width=820, max_height=430))
        assert len(d.get("frames", [])) == (tr.n_steps if tr.n_steps > 1 else 0)
        _within_budget(d)
    for cfg in transpose_configs(12, seed=32) + [dict(transpose_configs(1, seed=33)[0], size=(1, 1), p=(0, 0))]:
        x, w, b = transpose_case(cfg, rng, integer=True)
        tt = trace_conv_transpose2d(x, w, b, cfg["s"], cfg["p"], cfg["op"], cfg["groups"], cfg["d"])
        for fig, steps in ((zero_insertion_figure(tt, 0, max_width=820, max_height=430), tt.zero_insertion.n_steps),
                           (scatter_figure(tt, 0, max_width=820, max_height=430), tt.scatter.n_steps)):
            d = spec(fig)
            assert len(d.get("frames", [])) == (steps if steps > 1 else 0)
            _within_budget(d)
        if tt.matrix_view().matrix.size <= 6000:
            matrix_figure(tt, 0, max_width=820, max_height=430)
