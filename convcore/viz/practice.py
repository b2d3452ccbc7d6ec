"""The Practice page's answer grids: cells to click (selected ones filled), the cell a question asks about marked,
and after grading the right answer outlined. Plotly only; the same cell grids and customdata as the lessons, so
clicked_cell() maps a click back to (grid, channel, row, col)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from . import palette as P
from .animation import build_figure
from .grids import Slot, cell_trace, label_traces, layout_board, outline_trace, value_texts

__all__ = ["pick_figure", "SELECTED_FILL"]

SELECTED_FILL = P.SKY


def pick_figure(grids: dict[str, tuple[int, int]], *, titles: dict[str, str] | None = None,
                values: dict[str, np.ndarray] | None = None, selected: dict[str, set] | None = None,
                marked: dict[str, tuple[int, int]] | None = None, answer: dict[str, set] | None = None,
                max_width: int = 820, max_height: int = 420) -> go.Figure:
    """Grids side by side, each (rows, cols) cells: values printed where given, `selected` cells filled,
    `marked` cell outlined in black (the question's cell), `answer` cells outlined in green (after grading)."""
    titles, values, selected = titles or {}, values or {}, selected or {}
    marked, answer = marked or {}, answer or {}
    slots = [Slot(key, titles.get(key, key), h, w, column=i) for i, (key, (h, w)) in enumerate(grids.items())]
    board = layout_board(slots, max_width, max_height, cell_max=44)
    traces = []
    outlines = []
    for key, (h, w) in grids.items():
        g = board[key]
        rr, cc = np.divmod(np.arange(h * w), w)
        picked = selected.get(key, set())
        is_picked = np.array([(int(r), int(c)) in picked for r, c in zip(rr, cc)], bool)
        hover = [f"{titles.get(key, key)} ({r}, {c})" + (" · selected" if p else "") for r, c, p in zip(rr, cc, is_picked)]
        if key in values:
            v = np.asarray(values[key]).ravel()
            texts = value_texts(v)
            fills = [SELECTED_FILL if p else P.EMPTY_FILL for p in is_picked]
            traces.append(cell_trace(g, rr, cc, fill=None, texts=texts, hover=hover, name=key))
            traces[-1]["marker"]["color"] = fills
        else:
            trace = cell_trace(g, rr, cc, hover=hover, name=key)
            trace["marker"]["color"] = [SELECTED_FILL if p else P.EMPTY_FILL for p in is_picked]
            traces.append(trace)
        if key in answer and answer[key]:
            cells = sorted(answer[key])
            outlines.append(outline_trace(g.xs([c for _, c in cells]), g.ys([r for r, _ in cells]), g.cell - 4, P.FOCUS, 4,
                                          name="answer"))
        if key in marked:
            r, c = marked[key]
            outlines.append(outline_trace(g.xs([c]), g.ys([r]), g.cell + 2, P.ACTIVE, 4, name="asked"))
    traces += label_traces(board) + outlines
    return build_figure(traces, board.width, board.height, meta={"view": "practice", "grids": list(grids)})
