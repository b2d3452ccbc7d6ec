"""Static map figures and click helpers: the overlap count map of a transposed convolution (why checkerboards
appear), and what a clicked grid cell means for a trace (its step, or the real input cell behind it)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..teaching.trace.transpose import TransposeTrace
from ..teaching.trace.window import WindowTrace
from . import palette as P
from .animation import build_figure
from .grids import CellRef, Slot, cell_trace, label_traces, layout_board, text_trace

__all__ = ["overlap_figure", "step_for_cell", "input_cell_for"]


def overlap_figure(counts: np.ndarray, *, max_width: int = 900, max_height: int = 540,
                   title: str = "kernel taps landing on each output cell", caption: str | None = None,
                   fonts: P.Fonts = P.FONTS) -> go.Figure:
    """The overlap count map (overlap_counts(...)): a sequential colour per count, counts printed.

    Uneven counts under a uniform input are the checkerboard. The caption (default: the range of counts) is
    written under the grid.
    """
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.size == 0:
        raise ValueError(f"overlap counts must be a non-empty 2-D array, got shape {counts.shape}")
    h, w = counts.shape
    board = layout_board([Slot("overlap", title, h, w)], max_width, max_height, bottom=fonts.px(34), fonts=fonts)
    rr, cc = np.divmod(np.arange(h * w), w)
    v = counts.ravel()
    limit = float(max(v.max(), 1))
    g = board["overlap"]
    cells = cell_trace(g, rr, cc, values=v, limit=limit, sequential=True, colorscale=P.SEQUENTIAL, name="overlap",
                       texts=[str(int(x)) for x in v], hover=[f"output[{r}, {c}]: {int(x)} taps" for r, c, x in zip(rr, cc, v)])
    lo, hi = int(v.min()), int(v.max())
    if caption is None:
        caption = f"every output cell gets {hi} taps" if lo == hi else f"{lo} to {hi} kernel taps per output cell"
    note = text_trace([10], [board.bottom_y + fonts.px(17)], [caption], size=fonts.equation, colour=P.TEXT,
                      position="middle right", name="caption")
    return build_figure([cells, *label_traces(board), note], max(board.width, 420), board.height,
                        meta={"view": "overlap", "grids": ["overlap"], "min": lo, "max": hi})


def step_for_cell(trace, cell: CellRef) -> int | None:
    """The animation step a clicked cell stands for: an output cell of a window figure (conv2d, zero insertion,
    matrix y), or the stamping input cell of the scatter figure. None for cells that are not a step."""
    if cell is None:
        return None
    if isinstance(trace, TransposeTrace):
        if cell.grid == "input":
            return trace.scatter.step_of(cell.row, cell.col)
        if cell.grid == "output":
            return trace.zero_insertion.step_of(cell.row, cell.col)
        if cell.grid == "y":
            ho, wo = trace.output_size
            channel, rest = divmod(cell.col, ho * wo)  # y is one row: its column is the flat output index
            return rest if channel == trace.out_channel else None
        return None
    if cell.grid == "output":
        return trace.step_of(cell.row, cell.col)
    return None


def input_cell_for(trace, cell: CellRef) -> tuple[int, int] | None:
    """The real input cell (row, col) behind a clicked cell: an input cell itself, or the cell a padded /
    zero-inserted grid cell shows or copies. None for zeros that copy nothing and for other grids."""
    if cell is None:
        return None
    window = trace.zero_insertion if isinstance(trace, TransposeTrace) else trace
    if cell.grid == "input":
        return (cell.row, cell.col)
    if isinstance(window, WindowTrace) and cell.grid in ("padded input", "zero-inserted input"):
        r, c = int(window.grid_rows[cell.row]), int(window.grid_cols[cell.col])
        return (r, c) if r >= 0 and c >= 0 else None
    return None
