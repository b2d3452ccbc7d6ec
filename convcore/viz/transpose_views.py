"""The transposed convolution's other two views as figures: scatter (stamps accumulating on a canvas that padding
then crops) and matrix (C, the input x and y = C^T x). The zero-insertion view is conv_animation's window figure.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..teaching.trace.text import format_number, matrix_text, scatter_text
from ..teaching.trace.transpose import MatrixView, TransposeTrace
from ..teaching.trace.window import CellKind
from . import palette as P
from .animation import FRAME_CAP, build_figure, chrome_height, frames_fit
from .conv_animation import EQUATION_STRIP, MARGIN_EQ, MIN_ANIMATED_WIDTH, zero_insertion_figure
from .grids import Board, Slot, cell_trace, label_traces, layout_board, outline_trace, polygon_trace, rect_path, text_trace, value_texts

__all__ = ["scatter_figure", "matrix_figure", "zero_insertion_figure", "MATRIX_FIGURE_MAX_CELLS"]

MATRIX_FIGURE_MAX_CELLS = 6000  # entries of C drawn; larger matrices are unreadable as cells anyway


def _equation_trace(board: Board, text: str) -> dict:
    fonts = board.fonts
    return text_trace([MARGIN_EQ], [board.bottom_y + fonts.px(EQUATION_STRIP) // 2], [text], size=fonts.equation,
                      colour=P.TEXT, position="middle right", name="arithmetic")


def _key(name: str, fill: str, edge: str, width: float, symbol: str = "square", fonts: P.Fonts = P.FONTS) -> dict:
    return {"type": "scatter", "mode": "markers", "x": [None], "y": [None], "name": name, "showlegend": True,
            "hoverinfo": "skip", "marker": {"symbol": symbol, "size": fonts.px(16), "color": fill,
                                            "line": {"color": edge, "width": width}}}


# ---- scatter --------------------------------------------------------------------------------------------------

def scatter_figure(trace: TransposeTrace, step: int = 0, *, max_width: int = 900, max_height: int = 540,
                   animate: bool = True, max_frames: int | None = FRAME_CAP, frame_ms: int = 500,
                   fonts: P.Fonts = P.FONTS) -> go.Figure:
    """Scatter view: input element `step` (raster order) stamps value x kernel onto the canvas, which accumulates;
    the dashed frame is what padding keeps (the output), output_padding's row/column outlined in purple."""
    view = trace.scatter
    if not 0 <= step < view.n_steps:
        raise ValueError(f"step {step} is outside 0..{view.n_steps - 1}")
    cg, h, w = trace.input.shape
    kh, kw = trace.kernel.shape[1:]
    hc, wc = view.canvas_size
    ho, wo = view.output_size
    animated = animate and frames_fit(view.n_steps, 4 * hc * wc, max_frames)
    slots = []
    for k, c in enumerate(trace.in_channels):
        suffix = f" · ch {c}" if cg > 1 else ""
        slots.append(Slot("input", "input" + suffix, h, w, band=k, column=0, channel=c))
        slots.append(Slot("kernel", "kernel" + suffix, kh, kw, band=k, column=1, channel=c))
    slots.append(Slot("canvas", "full output (before crop)", hc, wc, band=0, column=2, span=cg, channel=trace.out_channel))
    slots.append(Slot("output", "output", ho, wo, band=0, column=3, span=cg, channel=trace.out_channel))
    min_width = fonts.px(MIN_ANIMATED_WIDTH) if animated else 0
    # the sentence under the grids: the figure widens for it (to max_width), else several channels' terms shorten
    shown = range(view.n_steps) if animated else [step]
    sentences = {s: scatter_text(trace, s, digits=3, times="·") for s in shown}
    need = 2 * MARGIN_EQ + max(P.text_width(t, fonts.equation) for t in sentences.values())
    if need > max_width:
        sentences = {s: scatter_text(trace, s, digits=3, times="·", short=True) for s in shown}
    board = layout_board(slots, max_width, max_height - chrome_height(animated, True, fonts),
                         bottom=fonts.px(EQUATION_STRIP), min_width=max(min_width, min(max_width, int(need) + 1)),
                         readable=P.CELL_READABLE, fonts=fonts)
    width = max(board.width, min_width)

    lim_in, lim_k = P.scale_limit(trace.input), P.scale_limit(trace.kernel)
    lim_canvas = P.scale_limit(view.totals, view.canvas)
    static = []
    for k, c in enumerate(trace.in_channels):
        rr, cc = np.divmod(np.arange(h * w), w)
        v = trace.input[k].ravel()
        static.append(cell_trace(board[("input", c)], rr, cc, values=v, limit=lim_in, texts=value_texts(v),
                                 hover=[f"input[{c}, {r}, {q}] = {format_number(x)}<br>step {s}"
                                        for s, (r, q, x) in enumerate(zip(rr, cc, v))]))
        rr, cc = np.divmod(np.arange(kh * kw), kw)
        v = trace.kernel[k].ravel()
        static.append(cell_trace(board[("kernel", c)], rr, cc, values=v, limit=lim_k, texts=value_texts(v),
                                 hover=[f"weight[{c}, {trace.out_channel % trace.weight.shape[1]}, {i}, {j}] = {format_number(x)}"
                                        for i, j, x in zip(rr, cc, v)]))
    canvas = board[("canvas", trace.out_channel)]
    for kind, style, note in ((CellKind.REAL, {}, "kept: the output"),
                              (CellKind.PADDING, {"fill": "#EDEDED", "edge": P.PADDING_EDGE, "edge_width": 2},
                               "cropped away by padding"),
                              (CellKind.OUTPUT_PADDING, {"edge": P.OUTPUT_PADDING_EDGE, "edge_width": 3},
                               "output_padding's row/column")):
        rr, cc = np.nonzero(view.canvas_kinds == kind)
        if len(rr):
            static.append(cell_trace(canvas, rr, cc, name=note, **style,
                                     hover=[f"canvas[{r}, {q}]: {note}" for r, q in zip(rr, cc)]))
    (top, left) = view.crop_origin
    static.append(polygon_trace(*rect_path([canvas.rect(top, left, top + ho - 1, left + wo - 1)]), width=3, dash="dash",
                                name="crop"))
    out = board[("output", trace.out_channel)]
    rr, cc = np.divmod(np.arange(ho * wo), wo)
    v = view.output.ravel()
    out_trace = cell_trace(out, rr, cc, values=v, limit=P.scale_limit(view.output), texts=value_texts(v),
                           hover=[f"out[{trace.batch}, {trace.out_channel}, {r}, {q}] = {format_number(x)}"
                                  for r, q, x in zip(rr, cc, v)])
    extra = view.canvas_kinds[top : top + ho, left : left + wo].ravel() == CellKind.OUTPUT_PADDING
    out_trace["marker"]["line"] = {"color": np.where(extra, P.OUTPUT_PADDING_EDGE, P.GRID_EDGE).tolist(),
                                   "width": np.where(extra, 3, 1).tolist()}
    static.append(out_trace)
    legend = [_key("cropped by padding", "#EDEDED", P.PADDING_EDGE, 2, fonts=fonts)]
    if (view.canvas_kinds == CellKind.OUTPUT_PADDING).any():
        legend.append(_key("output_padding", P.EMPTY_FILL, P.OUTPUT_PADDING_EDGE, 3, fonts=fonts))
    legend.append(_key("current input / its stamp", P.ACTIVE, P.ACTIVE, 3, "square-open", fonts=fonts))
    static += label_traces(board) + legend

    # per step: the canvas so far, the stamp's footprint, the stamping input cell, the sentence
    last = view.last_contribution().reshape(view.n_steps, hc * wc)
    totals = view.totals.ravel()
    texts = np.array([t if P.text_fits([t], board.cell, fonts.value) else "" for t in value_texts(totals)], dtype=object)
    show_text = bool(texts.astype(bool).any())
    n, half = board.cell, board.cell // 2
    inputs = [board[("input", c)] for c in trace.in_channels]

    def canvas_state(s: int) -> dict:
        cells = np.flatnonzero(last[s] >= 0)
        idx = last[s, cells]
        r, c = np.divmod(cells, wc)
        state = {"x": (canvas.x0 + c * n + half).tolist(), "y": (canvas.y0 + r * n + half).tolist(),
                 "marker": {"color": np.round(np.real(totals[idx]) / lim_canvas, 3).tolist()}}
        if show_text:
            state["text"] = texts[idx].tolist()
            state["textfont"] = {"color": P.text_colours(totals[idx], lim_canvas)}
        return state

    def moving(s: int) -> list[dict]:
        fx, fy = np.meshgrid(canvas.x0 + view.stamp_cols[s] * n + half, canvas.y0 + view.stamp_rows[s] * n + half)
        i, j = int(view.in_rows[s]), int(view.in_cols[s])
        ix = [g.x0 + j * n + half for g in inputs]
        iy = [g.y0 + i * n + half for g in inputs]
        return [canvas_state(s), {"x": fx.ravel().tolist(), "y": fy.ravel().tolist()}, {"x": ix, "y": iy},
                {"text": [sentences[s]]}]

    first = moving(step)
    acc = {"type": "scatter", "mode": "markers+text" if show_text else "markers", "name": "accumulated",
           "showlegend": False, "hoverinfo": "skip", "cliponaxis": False, "x": first[0]["x"], "y": first[0]["y"],
           "marker": {"symbol": "square", "size": n - 2, "colorscale": P.DIVERGING, "cmin": -1.0, "cmax": 1.0,
                      "showscale": False, "line": {"color": P.GRID_EDGE, "width": 1}, **first[0]["marker"]}}
    if show_text:
        acc["text"] = first[0]["text"]
        acc["textfont"] = {"size": fonts.value, "family": P.FONT_FAMILY, **first[0]["textfont"]}
    dyn = [acc, outline_trace(first[1]["x"], first[1]["y"], n, P.ACTIVE, 3, name="stamp"),
           outline_trace(first[2]["x"], first[2]["y"], n + 2, P.ACTIVE, 4, name="stamping input"),
           _equation_trace(board, first[3]["text"][0])]
    # a veil over the cells padding crops away, above the accumulating values (static, drawn after them)
    veil = [canvas.rect(r0, c0, r1, c1) for r0, c0, r1, c1 in _crop_bands(view.canvas_size, view.crop_origin, (ho, wo))]
    traces = static + dyn + [polygon_trace(*rect_path(veil), fill="rgba(237,237,237,0.6)", line="rgba(0,0,0,0)",
                                           width=0, name="cropped")] if veil else static + dyn
    frames = labels = None
    if animated:
        idx = list(range(len(static), len(static) + len(dyn)))
        frames = [{"name": str(s), "traces": idx, "data": moving(s)} for s in range(view.n_steps)]
        labels = [f"{s} · input[{i},{j}]" for s, (i, j) in enumerate(zip(view.in_rows.tolist(), view.in_cols.tolist()))]
    meta = {"op": "conv_transpose2d", "view": "scatter", "n_steps": view.n_steps,
            "grids": ["input", "kernel", "canvas", "output"]}
    return build_figure(traces, width, board.height, frames=frames, step=step, labels=labels, frame_ms=frame_ms,
                        meta=meta, legend=True, fonts=fonts)


def _crop_bands(canvas_size, origin, out_size) -> list[tuple[int, int, int, int]]:
    """The canvas cells outside the kept window, as (top, left, bottom, right) bands (inclusive)."""
    (hc, wc), (top, left), (ho, wo) = canvas_size, origin, out_size
    bands = []
    if top > 0:
        bands.append((0, 0, top - 1, wc - 1))
    if top + ho < hc:
        bands.append((top + ho, 0, hc - 1, wc - 1))
    if left > 0:
        bands.append((top, 0, top + ho - 1, left - 1))
    if left + wo < wc:
        bands.append((top, left + wo, top + ho - 1, wc - 1))
    return bands


# ---- matrix ---------------------------------------------------------------------------------------------------

def matrix_figure(trace: TransposeTrace, step: int = 0, *, view: MatrixView | None = None, max_width: int = 900,
                  max_height: int = 540, animate: bool = True, max_frames: int | None = FRAME_CAP,
                  frame_ms: int = 500, fonts: P.Fonts = P.FONTS) -> go.Figure:
    """Matrix view: C (rows: input pixels x, columns: output pixels), the input as a column, y = C^T x as a row.

    Step s computes output cell s of trace.out_channel: column s of that channel's block of C, dotted with x.
    """
    mv = trace.matrix_view() if view is None else view
    n_in, n_out = mv.matrix.shape
    if n_in * n_out > MATRIX_FIGURE_MAX_CELLS:
        raise ValueError(f"the matrix figure draws at most {MATRIX_FIGURE_MAX_CELLS} entries; C here is {n_in} x {n_out} "
                         f"= {n_in * n_out}. Use a smaller input, kernel or fewer channels")
    ho, wo = trace.output_size
    n_steps = ho * wo
    if not 0 <= step < n_steps:
        raise ValueError(f"step {step} is outside 0..{n_steps - 1}")
    animated = animate and frames_fit(n_steps, 2 * n_in, max_frames)
    slots = [Slot("x", "x", n_in, 1, band=0, column=0, col_labels=False),
             Slot("C", "C  (y = Cᵀ x)", n_in, n_out, band=0, column=1),
             Slot("y", "y = Cᵀ x + bias", 1, n_out, band=1, column=1, row_labels=False)]
    min_width = fonts.px(MIN_ANIMATED_WIDTH) if animated else 0
    board = layout_board(slots, max_width, max_height - chrome_height(animated, False, fonts),  # it has no legend
                         bottom=fonts.px(EQUATION_STRIP), min_width=min_width, fonts=fonts)
    width = max(board.width, min_width)
    c_in, h, w = mv.in_shape
    c_out = mv.out_shape[0]
    gx, gc, gy = board["x"], board["C"], board["y"]

    def pixel(q: int, shape) -> str:
        ch, rest = divmod(q, shape[1] * shape[2])
        return f"[{ch}, {rest // shape[2]}, {rest % shape[2]}]"

    rows = np.arange(n_in)
    x = mv.x_flat
    static = [cell_trace(gx, rows, np.zeros(n_in, int), values=x, limit=P.scale_limit(x), texts=value_texts(x),
                         hover=[f"x[{q}] = input{pixel(q, mv.in_shape)} = {format_number(v)}" for q, v in zip(rows, x)])]
    rr, cc = np.divmod(np.arange(n_in * n_out), n_out)
    values = mv.matrix.ravel()
    nz = values != 0
    static.append(cell_trace(gc, rr[~nz], cc[~nz], fill=P.EMPTY_FILL, edge="#D8D8D8", name="zero entries",
                             hover=[f"C[{r}, {c}] = 0" for r, c in zip(rr[~nz], cc[~nz])]))
    static.append(cell_trace(gc, rr[nz], cc[nz], values=values[nz], limit=P.scale_limit(values), texts=value_texts(values[nz]),
                             name="C", hover=[f"C[{r}, {c}] = {format_number(v)}<br>input{pixel(r, mv.in_shape)} → "
                                              f"output{pixel(c, mv.out_shape)}" for r, c, v in zip(rr[nz], cc[nz], values[nz])]))
    cols = np.arange(n_out)
    y = mv.y_flat
    static.append(cell_trace(gy, np.zeros(n_out, int), cols, values=y, limit=P.scale_limit(y), texts=value_texts(y),
                             hover=[f"y[{k}] = out{pixel(k, mv.out_shape)} = {format_number(v)}" for k, v in zip(cols, y)]))
    if c_out > 1:  # the output channel's block of columns
        first = mv.column_of(trace.out_channel, 0, 0)
        static.append(polygon_trace(*rect_path([gc.rect(0, first, n_in - 1, first + n_steps - 1)]), width=2, dash="dash",
                                    line=P.FOCUS, name="this output channel"))
    static += label_traces(board)
    n, half = board.cell, board.cell // 2

    def moving(s: int) -> list[dict]:
        k = mv.column_of(trace.out_channel, s // wo, s % wo)
        used = np.flatnonzero(mv.matrix[:, k])
        col_x, col_y = rect_path([gc.rect(0, k, n_in - 1, k)])
        return [{"x": col_x, "y": col_y},
                {"x": [gx.x0 + half] * len(used) + [gy.x0 + k * n + half],
                 "y": (gx.y0 + used * n + half).tolist() + [gy.y0 + half]},
                {"text": [matrix_text(mv, trace.out_channel, s // wo, s % wo, digits=3, times="·", max_terms=6)]}]

    first = moving(step)
    dyn = [polygon_trace(first[0]["x"], first[0]["y"], width=3, name="column"),
           outline_trace(first[1]["x"], first[1]["y"], n, P.ACTIVE, 3, name="used"),
           _equation_trace(board, first[2]["text"][0])]
    traces = static + dyn
    frames = labels = None
    if animated:
        idx = list(range(len(static), len(traces)))
        frames = [{"name": str(s), "traces": idx, "data": moving(s)} for s in range(n_steps)]
        labels = [f"{s} · out[{s // wo},{s % wo}]" for s in range(n_steps)]
    meta = {"op": "conv_transpose2d", "view": "matrix", "n_steps": n_steps, "grids": ["x", "C", "y"]}
    return build_figure(traces, width, board.height, frames=frames, step=step, labels=labels, frame_ms=frame_ms,
                        meta=meta, fonts=fonts)
