"""The sliding-window animation of a WindowTrace: conv2d over its padded input, or the transposed conv's
zero-insertion view (the same picture with inserted zeros, output_padding and the flipped kernel).

Grids left to right: input, padded input, kernel, output (one band per input channel of the group). Per step the
frames move the window's taps, the input cells they read, the current output cell, the mask over outputs not yet
computed and the arithmetic line; everything else is drawn once.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..teaching.trace.text import StepText, format_number
from ..teaching.trace.window import CellKind, WindowTrace
from . import palette as P
from .animation import FRAME_CAP, build_figure, chrome_height, frames_fit
from .grids import Board, Placed, Slot, cell_trace, label_traces, layout_board, outline_trace, polygon_trace, text_trace, value_texts

__all__ = ["conv2d_figure", "zero_insertion_figure", "window_figure", "GRID_KEYS"]

EQUATION_STRIP = 34  # pixels under the grids for the arithmetic line (default fonts: see Fonts.px)
MARGIN_EQ = 10  # the arithmetic line's left margin
MIN_ANIMATED_WIDTH = 660  # room for the buttons, the speed menu and the slider (default fonts)

# customdata grid names, per op: what a click on each grid means
GRID_KEYS = {
    "conv2d": {"input": "input", "grid": "padded input", "kernel": "kernel", "output": "output"},
    "conv_transpose2d": {"input": "input", "grid": "zero-inserted input", "kernel": "flipped kernel",
                         "output": "output"},
}


def conv2d_figure(trace: WindowTrace, step: int = 0, **kwargs) -> go.Figure:
    """The conv2d animation of trace_conv2d(...): see window_figure for the options."""
    if trace.op != "conv2d":
        raise ValueError("conv2d_figure needs a trace from trace_conv2d; for a transposed trace use zero_insertion_figure")
    return window_figure(trace, step, **kwargs)


def zero_insertion_figure(trace, step: int = 0, **kwargs) -> go.Figure:
    """The zero-insertion view of a TransposeTrace (or its .zero_insertion WindowTrace)."""
    window = getattr(trace, "zero_insertion", trace)
    if window.op != "conv_transpose2d":
        raise ValueError("zero_insertion_figure needs a trace from trace_conv_transpose2d")
    return window_figure(window, step, **kwargs)


def _slots(trace: WindowTrace, show_input: bool, separate_grid: bool, side_by_side: bool) -> list[Slot]:
    """The grids, each input channel of the group in its own band (stacked) or all in one row (side by side)."""
    keys = GRID_KEYS[trace.op]
    cg, h, w = trace.input.shape
    hg, wg = trace.grid.shape[1:]
    kh, kw = trace.kernel_size
    ho, wo = trace.output_size
    many = cg > 1
    slots = []
    col = 0
    for k, c in enumerate(trace.in_channels):
        suffix = f" · ch {c}" if many else ""
        band = 0 if side_by_side else k
        col = col if side_by_side else 0
        if show_input or not separate_grid:
            slots.append(Slot(keys["input"], "input" + suffix, h, w, band=band, column=col, channel=c))
            col += 1
        if separate_grid:
            slots.append(Slot(keys["grid"], keys["grid"] + suffix, hg, wg, band=band, column=col, channel=c))
            col += 1
        slots.append(Slot(keys["kernel"], keys["kernel"] + suffix, kh, kw, band=band, column=col, channel=c))
        col += 1
    span = 1 if side_by_side else cg
    slots.append(Slot(keys["output"], "output", ho, wo, band=0, column=col, span=span, channel=trace.out_channel))
    return slots


def _grid_hover(trace: WindowTrace, c: int, k: int, rows, cols) -> list[str]:
    kinds = trace.grid_kinds[rows, cols]
    src_r, src_c = trace.grid_rows[rows], trace.grid_cols[cols]
    values = trace.grid[k, rows, cols]
    name = GRID_KEYS[trace.op]["grid"]
    out = []
    for r, col, kind, sr, sc, v in zip(rows, cols, kinds, src_r, src_c, values):
        head = f"{name}[{r}, {col}] = {format_number(v)}"
        if kind == CellKind.REAL:
            out.append(f"{head}<br>input[{c}, {sr}, {sc}]")
        elif kind == CellKind.PADDING:
            copy = f"<br>copy of input[{c}, {sr}, {sc}]" if sr >= 0 and sc >= 0 else ""
            out.append(f"{head}<br>padding ({trace.padding_mode}){copy}")
        elif kind == CellKind.INSERTED:
            out.append(f"{head}<br>inserted zero (stride)")
        else:
            out.append(f"{head}<br>output_padding's extra row/column")
    return out


def _static_traces(trace: WindowTrace, board: Board, show_input: bool, separate_grid: bool,
                   hide_from: int | None = None) -> list[dict]:
    keys = GRID_KEYS[trace.op]
    cg, h, w = trace.input.shape
    lim_in = P.scale_limit(trace.input, trace.grid)
    lim_k = P.scale_limit(trace.kernel)
    lim_out = P.scale_limit(trace.output)
    traces = []
    for k, c in enumerate(trace.in_channels):
        if show_input or not separate_grid:
            g = board[(keys["input"], c)]
            rr, cc = np.divmod(np.arange(h * w), w)
            v = trace.input[k].ravel()
            traces.append(cell_trace(g, rr, cc, values=v, limit=lim_in, texts=value_texts(v),
                                     hover=[f"input[{c}, {r}, {q}] = {format_number(x)}" for r, q, x in zip(rr, cc, v)]))
        if separate_grid:
            g = board[(keys["grid"], c)]
            kinds = trace.grid_kinds
            for kind in (CellKind.REAL, CellKind.PADDING, CellKind.INSERTED, CellKind.OUTPUT_PADDING):
                rr, cc = np.nonzero(kinds == kind)
                if not len(rr):
                    continue
                v = trace.grid[k, rr, cc]
                style = {}
                if kind == CellKind.PADDING:
                    style = {"edge": P.PADDING_EDGE, "edge_width": 3}
                elif kind == CellKind.INSERTED:
                    style = {"values": None, "fill": P.INSERTED_FILL, "text_colour": P.MUTED}
                elif kind == CellKind.OUTPUT_PADDING:
                    style = {"values": None, "fill": P.EMPTY_FILL, "edge": P.OUTPUT_PADDING_EDGE, "edge_width": 3,
                             "text_colour": P.MUTED}
                args = {"values": v, "limit": lim_in, "texts": value_texts(v), "name": f"{keys['grid']}: {CellKind.NAMES[kind]}"}
                args.update(style)
                traces.append(cell_trace(g, rr, cc, hover=_grid_hover(trace, c, k, rr, cc), **args))
        g = board[(keys["kernel"], c)]
        kh, kw = trace.kernel_size
        rr, cc = np.divmod(np.arange(kh * kw), kw)
        v = trace.kernel[k].ravel()
        if trace.op == "conv2d":
            hover = [f"weight[{trace.out_channel}, {c - trace.in_channels[0]}, {i}, {j}] = {format_number(x)}"
                     for i, j, x in zip(rr, cc, v)]
        else:
            hover = [f"flipped kernel[{i}, {j}] = weight[{c}, ·, {kh - 1 - i}, {kw - 1 - j}] = {format_number(x)}"
                     for i, j, x in zip(rr, cc, v)]
        traces.append(cell_trace(g, rr, cc, values=v, limit=lim_k, texts=value_texts(v), hover=hover))
    g = board[(keys["output"], trace.out_channel)]
    ho, wo = trace.output_size
    rr, cc = np.divmod(np.arange(ho * wo), wo)
    v = trace.output.ravel()
    edge = np.full(ho * wo, P.GRID_EDGE, object)
    width = np.ones(ho * wo)
    if trace.op == "conv_transpose2d":  # output_padding's rows / columns: the last ones, holding real values
        op_h, op_w = _output_padding(trace)
        extra = (rr >= ho - op_h) | (cc >= wo - op_w)
        edge[extra], width[extra] = P.OUTPUT_PADDING_EDGE, 3
    texts = value_texts(v)
    hover = [f"out[{trace.batch}, {trace.out_channel}, {r}, {q}] = {format_number(x)}<br>step {s}"
             for s, (r, q, x) in enumerate(zip(rr, cc, v))]
    if hide_from is not None:  # predict mode: the cells from this step on are not revealed yet
        hidden = np.arange(ho * wo) >= hide_from
        v = np.where(hidden, 0.0, v)
        texts = [("?" if s == hide_from else "") if hide else t for s, (t, hide) in enumerate(zip(texts, hidden))]
        hover = [f"out[{trace.batch}, {trace.out_channel}, {r}, {q}] = ?<br>step {s}" if hide else h
                 for s, (r, q, h, hide) in enumerate(zip(rr, cc, hover, hidden))]
    out = cell_trace(g, rr, cc, values=v, limit=lim_out, texts=texts, hover=hover)
    out["marker"]["line"] = {"color": edge.tolist(), "width": width.tolist()}
    traces.append(out)
    return traces


def _output_padding(trace: WindowTrace) -> tuple[int, int]:
    """output_padding of a zero-insertion trace: its grid's extra bottom rows / right columns."""
    kinds = trace.grid_kinds
    return int((kinds[:, 0] == CellKind.OUTPUT_PADDING).sum()), int((kinds[0, :] == CellKind.OUTPUT_PADDING).sum())


def _legend(trace: WindowTrace, separate_grid: bool, fonts: P.Fonts) -> list[dict]:
    present = set(np.unique(trace.grid_kinds).tolist()) if separate_grid else set()
    items = []

    def key(name, fill, edge, width, symbol="square"):
        items.append({"type": "scatter", "mode": "markers", "x": [None], "y": [None], "name": name,
                      "showlegend": True, "hoverinfo": "skip",
                      "marker": {"symbol": symbol, "size": fonts.px(16), "color": fill,
                                 "line": {"color": edge, "width": width}}})

    if CellKind.PADDING in present:
        what = "zeros" if trace.padding_mode == "zeros" else f"{trace.padding_mode}: copies of input cells"
        key(f"padding ({what})", P.EMPTY_FILL, P.PADDING_EDGE, 3)
    if CellKind.INSERTED in present:
        key("inserted zeros", P.INSERTED_FILL, P.GRID_EDGE, 1)
    if CellKind.OUTPUT_PADDING in present:
        key("output_padding", P.EMPTY_FILL, P.OUTPUT_PADDING_EDGE, 3)
    if items:
        key("window / current cell", P.ACTIVE, P.ACTIVE, 3, "square-open")
    return items


def _focus_traces(trace: WindowTrace, board: Board, focus, show_input: bool, separate_grid: bool) -> list[dict]:
    """A clicked input cell (green), the padded cells that copy it and the output cells it feeds."""
    keys = GRID_KEYS[trace.op]
    row, col = focus
    mask = trace.index_map.target_mask(row, col)
    xs, ys = [], []
    for c in trace.in_channels:
        if show_input or not separate_grid:
            g = board[(keys["input"], c)]
            xs += g.xs([col])
            ys += g.ys([row])
        if separate_grid:
            g = board[(keys["grid"], c)]
            gr, gc = np.nonzero((trace.grid_rows == row)[:, None] & (trace.grid_cols == col)[None, :])
            xs += g.xs(gc)
            ys += g.ys(gr)
    g = board[(keys["output"], trace.out_channel)]
    orr, occ = np.nonzero(mask)
    xs += g.xs(occ)
    ys += g.ys(orr)
    return [outline_trace(xs, ys, board.cell + 2, P.FOCUS, 4, name="focus")]


class _Mover:
    """Geometry of the moving traces for every step, computed as arrays once (frames then just index them)."""

    def __init__(self, trace: WindowTrace, board: Board, show_input: bool, separate_grid: bool, width: int):
        keys = GRID_KEYS[trace.op]
        self.trace, self.board, self.width = trace, board, width
        grids = [board[(keys["grid" if separate_grid else "input"], c)] for c in trace.in_channels]
        inputs = [board[(keys["input"], c)] for c in trace.in_channels] if (show_input and separate_grid) else []
        out = board[(keys["output"], trace.out_channel)]
        n, half, s_all = board.cell, board.cell // 2, trace.n_steps
        tr, tc = trace.tap_rows, trace.tap_cols  # (S, kH), (S, kW)
        kh, kw = tr.shape[1], tc.shape[1]

        def cells(g, rows, cols):  # (S, a), (S, b) -> x, y of every (row, col) pair: (S, a*b)
            x = np.broadcast_to((g.x0 + cols * n + half)[:, None, :], (s_all, rows.shape[1], cols.shape[1]))
            y = np.broadcast_to((g.y0 + rows * n + half)[:, :, None], (s_all, rows.shape[1], cols.shape[1]))
            return x.reshape(s_all, -1), y.reshape(s_all, -1)

        taps = [cells(g, tr, tc) for g in grids]
        self.taps = (np.concatenate([t[0] for t in taps], 1).tolist(), np.concatenate([t[1] for t in taps], 1).tolist())
        self.dilated = trace.dilation != (1, 1)
        if self.dilated:  # the dilated window's extent, one closed rectangle per channel
            boxes = [self._rects(g, tr[:, 0], tc[:, 0], tr[:, -1], tc[:, -1]) for g in grids]
            self.boxes = (np.concatenate([b[0] for b in boxes], 1), np.concatenate([b[1] for b in boxes], 1))
        self.sources = ([], [])
        if inputs:  # the distinct real cells read (a reflect pad may read one cell twice)
            rows = trace.grid_rows[tr]
            cols = trace.grid_cols[tc]
            code = (rows[:, :, None] * (len(trace.grid_cols) + 1) + cols[:, None, :]).reshape(s_all, -1)
            valid = ((rows[:, :, None] >= 0) & (cols[:, None, :] >= 0)).reshape(s_all, -1)
            order = np.argsort(np.where(valid, code, -1), axis=1, kind="stable")
            sorted_code = np.take_along_axis(np.where(valid, code, -1), order, 1)
            first = np.ones_like(valid)
            first[:, 1:] = sorted_code[:, 1:] != sorted_code[:, :-1]
            keep = np.zeros_like(valid)
            np.put_along_axis(keep, order, first, 1)
            keep &= valid
            xs, ys = [], []
            for g in inputs:
                x, y = cells(g, rows, cols)
                xs.append(x)
                ys.append(y)
            keep_all = np.concatenate([keep] * len(inputs), 1)
            x_all, y_all = np.concatenate(xs, 1), np.concatenate(ys, 1)
            self.sources = ([row[m].tolist() for row, m in zip(x_all, keep_all)],
                            [row[m].tolist() for row, m in zip(y_all, keep_all)])
        r, c = trace.out_rows, trace.out_cols
        self.out = ((out.x0 + c * n + half).tolist(), (out.y0 + r * n + half).tolist())
        ho, wo = trace.output_size
        x_c, x0, x1 = out.x0 + (c + 1) * n, np.full(s_all, out.x0), np.full(s_all, out.x0 + wo * n)
        y_top, y_mid, y_end = out.y0 + r * n, out.y0 + (r + 1) * n, np.full(s_all, out.y0 + ho * n)
        # a staircase polygon over the output cells after each step
        self.mask = (np.stack([x_c, x1, x1, x0, x0, x_c, x_c], 1).tolist(),
                     np.stack([y_top, y_top, y_end, y_end, y_mid, y_mid, y_top], 1).tolist())
        self.max_chars = max(20, int((width - 2 * MARGIN_EQ) / (0.6 * board.fonts.equation)))
        self.text = StepText(trace, digits=3, times="·")
        self.inputs = inputs
        self.hide_from = None  # predict mode: the step from which the arithmetic line keeps the value back

    @staticmethod
    def _rects(g: Placed, top, left, bottom, right):
        n = g.cell
        x0, y0 = g.x0 + left * n, g.y0 + top * n
        x1, y1 = g.x0 + (right + 1) * n, g.y0 + (bottom + 1) * n
        none = np.full(len(top), None, object)
        return (np.stack([x0, x1, x1, x0, x0, none], 1).astype(object),
                np.stack([y0, y0, y1, y1, y0, none], 1).astype(object))

    def _box(self, s: int):
        return self.boxes[0][s, :-1].tolist(), self.boxes[1][s, :-1].tolist()

    def _pairs(self, s: int) -> list[tuple[list, list]]:
        taps = (self.taps[0][s], self.taps[1][s])
        parts = [(self.mask[0][s], self.mask[1][s]), taps, taps]  # a white halo under the black outline
        if self.dilated:
            parts.append(self._box(s))
        if self.inputs:
            parts.append((self.sources[0][s], self.sources[1][s]))
        parts.append(([self.out[0][s]], [self.out[1][s]]))
        return parts

    def traces(self, step: int) -> list[dict]:
        """The moving traces at a step (full dicts, for the figure's base data)."""
        cell = self.board.cell
        pairs = iter(self._pairs(step))
        parts = [polygon_trace(*next(pairs), fill=P.MASK, line="rgba(0,0,0,0)", width=0, name="not computed yet"),
                 outline_trace(*next(pairs), cell, "#FFFFFF", 7, name="window halo"),
                 outline_trace(*next(pairs), cell, P.ACTIVE, 3, name="window")]
        if self.dilated:
            parts.append(polygon_trace(*next(pairs), line=P.ACTIVE, width=2, dash="dot", name="dilated window"))
        if self.inputs:
            parts.append(outline_trace(*next(pairs), cell, P.ACTIVE, 3, name="cells read"))
        parts.append(outline_trace(*next(pairs), cell + 2, P.ACTIVE, 4, name="current output"))
        fonts = self.board.fonts
        x, y = MARGIN_EQ, self.board.bottom_y + fonts.px(EQUATION_STRIP) // 2
        parts.append(text_trace([x], [y], [self._equation(step)], size=fonts.equation, colour=P.TEXT,
                                position="middle right", name="arithmetic"))
        return parts

    def updates(self, step: int) -> list[dict]:
        """Only what a frame changes: coordinates (and the arithmetic text)."""
        data = [{"x": x, "y": y} for x, y in self._pairs(step)]
        data.append({"text": [self._equation(step)]})
        return data

    def _equation(self, s: int) -> str:
        if self.hide_from is not None and s >= self.hide_from:  # predict mode: the value is the question
            return f"{self.text.lhs(s)} = ?"
        return self.text.fitted_line(s, self.max_chars)



def window_figure(trace: WindowTrace, step: int = 0, *, max_width: int = 900, max_height: int = 540,
                  show_input: bool | None = None, focus_input: tuple[int, int] | None = None, animate: bool = True,
                  max_frames: int | None = FRAME_CAP, frame_ms: int = 500, fonts: P.Fonts = P.FONTS,
                  hide_outputs_from: int | None = None) -> go.Figure:
    """The animated sliding window of a WindowTrace, opened at `step`.

    max_width/max_height bound the whole figure in pixels (controls and legend included); show_input adds the
    input grid beside the padded one (default: for a single input channel, when it fits without shrinking the
    cells below 16 px); focus_input=(row, col) marks an input cell, the padded cells that copy it and the output
    cells it feeds. Frames only when animate and the steps fit max_frames; layout.meta["animated"] tells which.
    fonts: the text sizes (larger for a projector); the cells then grow to hold the values.
    hide_outputs_from=s (predict mode): the output cells of steps >= s are drawn without their values ('?' on cell
    s), the arithmetic line too, and there are no frames (playing would reveal them).
    """
    step = trace.check_step(step)
    separate_grid = trace.grid.shape != trace.input.shape or bool((trace.grid_kinds != CellKind.REAL).any())
    many = len(trace.in_channels) > 1
    animated = animate and hide_outputs_from is None and frames_fit(trace.n_steps, 0, max_frames)
    legend = _legend(trace, separate_grid, fonts)
    room = max_height - chrome_height(animated, bool(legend), fonts)  # a legend's row only when there is one
    min_width = fonts.px(MIN_ANIMATED_WIDTH) if animated else 0

    def best(with_input: bool) -> Board:  # stacked channels, or side by side when that gives larger cells
        return max((layout_board(_slots(trace, with_input, separate_grid, side), max_width, room,
                                 bottom=fonts.px(EQUATION_STRIP), min_width=min_width, readable=P.CELL_READABLE,
                                 fonts=fonts)
                    for side in ((False, True) if many else (False,))),
                   key=lambda b: b.cell)

    if show_input is None:  # the input grid repeats the padded grid's inside: by default one channel, if it fits
        board = best(False)
        if separate_grid and not many:
            with_input = best(True)
            if with_input.width <= max_width and with_input.cell >= min(board.cell, 16):
                board, show_input = with_input, True
        show_input = bool(show_input)
    else:
        show_input = bool(show_input)
        board = best(show_input)
    width = max(board.width, min_width)
    mover = _Mover(trace, board, show_input, separate_grid, width)
    mover.hide_from = hide_outputs_from
    static = _static_traces(trace, board, show_input, separate_grid, hide_outputs_from) + label_traces(board) + legend
    moving = mover.traces(step)
    traces = static + moving
    if focus_input is not None:  # drawn last: above the mask over the outputs not computed yet
        traces += _focus_traces(trace, board, focus_input, show_input, separate_grid)
    frames, labels = None, None
    if animated:
        idx = list(range(len(static), len(static) + len(moving)))
        frames = [{"name": str(s), "traces": idx, "data": mover.updates(s)} for s in range(trace.n_steps)]
        labels = [f"{s} · out[{r},{c}]" for s, (r, c) in enumerate(zip(trace.out_rows.tolist(), trace.out_cols.tolist()))]
    meta = {"op": trace.op, "view": "window", "n_steps": trace.n_steps, "grids": list(GRID_KEYS[trace.op].values())}
    return build_figure(traces, width, board.height, frames=frames, step=step, labels=labels, frame_ms=frame_ms,
                        meta=meta, legend=bool(legend), fonts=fonts)
