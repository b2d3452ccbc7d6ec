"""Grids of cells on one pixel canvas, as plain trace dicts.

Every grid is a Scatter of square markers (mode "markers+text"), never a heatmap: scatter traces survive animation
frames drawn with redraw=False (heatmaps vanish). One data unit is one pixel and y points down, so marker sizes
(pixels) and positions agree exactly; the figure has a fixed size (show it with st.plotly_chart(width="content")).
Each cell carries customdata [grid, channel, row, col] so a click maps back to the cell.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..teaching.trace.text import format_number
from . import palette as P

HEADER = P.TITLE_FONT + 8 + P.LABEL_FONT + 4  # title line + column numbers above a grid (default fonts)
COL_GAP, BAND_GAP, MARGIN = 30, 16, 8
TALLER = 3  # layout_board grows a board at most this many times its max_height to keep its cells readable


@dataclass
class Slot:
    """A grid to place: `rows` x `cols` cells in table cell (band, column), spanning `span` bands."""

    key: str  # the grid's name in customdata ("input", "padded input", "kernel", "output", ...)
    title: str
    rows: int
    cols: int
    band: int = 0
    column: int = 0
    span: int = 1
    channel: int = 0
    row_labels: bool = True
    col_labels: bool = True


@dataclass
class Placed:
    """A slot with its pixel position: cell (r, c) is centred at (x0 + c*cell + cell/2, y0 + r*cell + cell/2)."""

    slot: Slot
    x0: int
    y0: int
    cell: int
    fonts: P.Fonts = P.FONTS

    def xs(self, cols) -> list[int]:
        h = self.cell // 2
        return [int(self.x0 + c * self.cell + h) for c in np.asarray(cols).ravel()]

    def ys(self, rows) -> list[int]:
        h = self.cell // 2
        return [int(self.y0 + r * self.cell + h) for r in np.asarray(rows).ravel()]

    def rect(self, top: int, left: int, bottom: int, right: int) -> tuple[int, int, int, int]:
        """Pixel rectangle (x0, y0, x1, y1) around cells top..bottom, left..right (inclusive)."""
        c = self.cell
        return (self.x0 + left * c, self.y0 + top * c, self.x0 + (right + 1) * c, self.y0 + (bottom + 1) * c)


@dataclass
class Board:
    grids: dict[tuple[str, int], Placed]
    width: int
    height: int
    cell: int
    bottom_y: int  # top of the free strip under the grids (for the equation line)
    fonts: P.Fonts = P.FONTS

    def __getitem__(self, key) -> Placed:
        return self.grids[key if isinstance(key, tuple) else (key, 0)]


def header(fonts: P.Fonts) -> int:
    """Pixels above a grid: its title line and its column numbers."""
    return fonts.title + 8 + fonts.label + 4


def _digit_width(fonts: P.Fonts) -> int:
    return round(0.64 * fonts.label)  # DejaVu's digits are 0.636 em


def _label_width(slot: Slot, fonts: P.Fonts) -> int:
    return (len(str(max(slot.rows - 1, 0))) * _digit_width(fonts) + 10) if slot.row_labels else 0


def _title_width(slot: Slot, fonts: P.Fonts) -> int:
    return int(len(slot.title) * 0.6 * fonts.title) + 4


def _measure(slots: list[Slot], cell: int, fonts: P.Fonts):
    head = header(fonts)
    n_cols = max(s.column for s in slots) + 1
    n_bands = max(s.band + s.span - 1 for s in slots) + 1
    label_w = [max((_label_width(s, fonts) for s in slots if s.column == j), default=0) for j in range(n_cols)]
    grid_w = [max((s.cols * cell for s in slots if s.column == j), default=0) for j in range(n_cols)]
    title_w = [max((_title_width(s, fonts) for s in slots if s.column == j), default=0) for j in range(n_cols)]
    col_w = [max(label_w[j] + grid_w[j], title_w[j] - COL_GAP) for j in range(n_cols)]  # titles may reach into gaps
    band_h = [max((head + s.rows * cell for s in slots if s.band == b and s.span == 1), default=0) for b in range(n_bands)]
    for s in slots:  # a grid spanning bands may need them taller
        bands = range(s.band, s.band + s.span)
        have = sum(band_h[b] for b in bands) + BAND_GAP * (s.span - 1)
        need = head + s.rows * cell
        if need > have:
            band_h[bands[-1]] += need - have
    width = 2 * MARGIN + sum(col_w) + COL_GAP * (n_cols - 1)
    height = MARGIN + sum(band_h) + BAND_GAP * (n_bands - 1)
    return width, height, label_w, col_w, band_h


def layout_board(slots: list[Slot], max_width: int, max_height: int, bottom: int = 0, min_width: int = 0,
                 cell_max: int | None = None, readable: int = 0, fonts: P.Fonts = P.FONTS) -> Board:
    """Place the slots in a table, with the largest even cell size (<= cell_max, by default CELL_MAX grown with the
    fonts) that fits max_width x max_height.

    `bottom` pixels stay free under the grids; the board is at least min_width wide (grids centred). When that cell
    would be smaller than `readable` pixels, the board takes the largest cell up to `readable` that fits max_width
    and up to TALLER x max_height instead (several stacked channels: a page to scroll beats specks). `fonts` sizes
    the titles and numbers (and the cells' values: cell_trace and label_traces read them from the board).
    """
    cell_max = fonts.px(P.CELL_MAX) if cell_max is None else cell_max
    cell = max(P.CELL_MIN, cell_max - cell_max % 2)
    while cell > P.CELL_MIN:
        width, height, *_ = _measure(slots, cell, fonts)
        if width <= max_width and height + bottom <= max_height:
            break
        cell -= 2
    while cell < readable:
        width, height, *_ = _measure(slots, cell + 2, fonts)
        if width > max_width or height + bottom > TALLER * max_height:
            break
        cell += 2
    width, height, label_w, col_w, band_h = _measure(slots, cell, fonts)
    shift = max(0, (min_width - width) // 2)
    col_x = [shift + MARGIN + sum(col_w[:j]) + COL_GAP * j for j in range(len(col_w))]
    band_y = [MARGIN + sum(band_h[:b]) + BAND_GAP * b for b in range(len(band_h))]
    grids = {}
    for s in slots:
        free = col_w[s.column] - label_w[s.column] - s.cols * cell
        x0 = col_x[s.column] + label_w[s.column] + free // 2
        span_h = sum(band_h[s.band : s.band + s.span]) + BAND_GAP * (s.span - 1)
        head = header(fonts)
        y0 = band_y[s.band] + head + (span_h - head - s.rows * cell) // 2 if s.span > 1 else band_y[s.band] + head
        grids[(s.key, s.channel)] = Placed(s, int(x0), int(y0), cell, fonts)
    return Board(grids, max(width + 2 * shift, min_width), height + bottom, cell, height, fonts)


# ---- trace dicts -------------------------------------------------------------------------------------------------

_KEEP_LOOK = {"selected": {"marker": {"opacity": 1}}, "unselected": {"marker": {"opacity": 1}}}


def cell_trace(g: Placed, rows, cols, *, values=None, limit: float = 1.0, fill: str | None = None,
               edge: str = P.GRID_EDGE, edge_width: float = 1, texts=None, text_colour: str | list | None = None,
               show_text: bool | None = None, hover=None, colorscale=P.DIVERGING, sequential: bool = False,
               name: str = "") -> dict:
    """Square cells of grid g at (rows, cols): coloured by `values` (scale +-limit, or 0..limit when sequential)
    or filled with one colour; `texts` printed when they fit (show_text=None decides by size)."""
    rows, cols = np.asarray(rows).ravel(), np.asarray(cols).ravel()
    marker = {"symbol": "square", "size": g.cell - 2, "line": {"color": edge, "width": edge_width}}
    if values is not None:
        v = np.real(np.asarray(values)).ravel().astype(float)
        lo = 0.0 if sequential else -limit
        marker.update(color=np.round(v / limit, 3).tolist(), colorscale=colorscale, cmin=lo / limit, cmax=1.0, showscale=False)
    else:
        marker["color"] = fill or P.EMPTY_FILL
    trace = {
        # plain lists, never numpy: the spec is what st.plotly_chart sends (viz.animation.BoardFigure)
        "type": "scatter", "x": (g.x0 + cols * g.cell + g.cell // 2).tolist(),
        "y": (g.y0 + rows * g.cell + g.cell // 2).tolist(),
        "marker": marker, "name": name or g.slot.title,
        "customdata": [[g.slot.key, g.slot.channel, int(r), int(c)] for r, c in zip(rows, cols)],
        "showlegend": False, "cliponaxis": False, **_KEEP_LOOK,
    }
    if texts is not None:
        texts = list(texts)
        if show_text is None:  # each value where it fits (the others on hover)
            texts = [t if P.text_fits([t], g.cell, g.fonts.value) else "" for t in texts]
            show_text = any(texts)
        if show_text:
            trace["text"] = texts
            if text_colour is None:
                text_colour = P.text_colours(values, limit, sequential) if values is not None else P.TEXT
            trace["textfont"] = {"size": g.fonts.value, "color": text_colour, "family": P.FONT_FAMILY}
    trace["mode"] = "markers+text" if "text" in trace else "markers"
    if hover is not None:
        trace["hovertext"] = list(hover)
        trace["hovertemplate"] = "%{hovertext}<extra></extra>"
    else:
        trace["hoverinfo"] = "skip"
    return trace


def value_texts(values, digits: int = 3) -> list[str]:
    return [format_number(v, digits) for v in np.asarray(values).ravel()]


def outline_trace(xs: list, ys: list, size: int, colour: str = P.ACTIVE, width: float = 3, name: str = "") -> dict:
    """Open squares (a highlight) at pixel positions; not clickable, so clicks reach the cell below."""
    return {"type": "scatter", "mode": "markers", "x": xs, "y": ys, "name": name, "showlegend": False,
            "hoverinfo": "skip", "cliponaxis": False,
            "marker": {"symbol": "square-open", "size": size, "color": colour, "line": {"width": width, "color": colour}}}


def rect_path(rects) -> tuple[list, list]:
    """Closed rectangle outlines (x0, y0, x1, y1) as one path, separated by None."""
    xs, ys = [], []
    for x0, y0, x1, y1 in rects:
        xs += [x0, x1, x1, x0, x0, None]
        ys += [y0, y0, y1, y1, y0, None]
    return xs[:-1], ys[:-1]


def polygon_trace(xs: list, ys: list, *, fill: str | None = None, line: str = P.ACTIVE, width: float = 2,
                  dash: str = "solid", name: str = "") -> dict:
    trace = {"type": "scatter", "mode": "lines", "x": xs, "y": ys, "name": name, "showlegend": False,
             "hoverinfo": "skip", "line": {"color": line, "width": width, "dash": dash}}
    if fill is not None:
        trace.update(fill="toself", fillcolor=fill)
    return trace


def text_trace(xs: list, ys: list, texts: list, *, size: int = P.LABEL_FONT, colour: str = P.MUTED,
               position: str = "middle center", name: str = "") -> dict:
    return {"type": "scatter", "mode": "text", "x": xs, "y": ys, "text": texts, "textposition": position,
            "textfont": {"size": size, "color": colour, "family": P.FONT_FAMILY}, "hoverinfo": "skip",
            "showlegend": False, "name": name, "cliponaxis": False}


def label_traces(board: Board) -> list[dict]:
    """Titles above the grids and their row / column numbers (thinned where they would collide)."""
    fonts = board.fonts
    digit = _digit_width(fonts)
    tx, ty, tt = [], [], []
    cx, cy, ct = [], [], []
    for g in board.grids.values():
        s, c = g.slot, g.cell
        tx.append(g.x0 + s.cols * c // 2)
        ty.append(g.y0 - header(fonts) + fonts.title // 2 + 2)
        tt.append(s.title)
        if s.col_labels:
            every = _every(s.cols - 1, c, digit)
            cols = [j for j in range(s.cols) if j % every == 0]
            cx += g.xs(cols)
            cy += [g.y0 - fonts.label // 2 - 3] * len(cols)
            ct += [str(j) for j in cols]
        if s.row_labels:
            every = _every(s.rows - 1, c, digit)
            rows = [i for i in range(s.rows) if i % every == 0]
            cx += [g.x0 - 5 - digit // 2 * len(str(i)) for i in rows]
            cy += g.ys(rows)
            ct += [str(i) for i in rows]
    return [text_trace(tx, ty, tt, size=fonts.title, colour=P.TEXT, name="titles"),
            text_trace(cx, cy, ct, size=fonts.label, name="coordinates")]


def _every(largest: int, cell: int, digit: int = 9) -> int:
    """Label every k-th index so that numbers of this many digits (`digit` pixels each) do not overlap."""
    need = len(str(max(largest, 0))) * digit + 4
    k = max(1, math.ceil(need / max(cell, 1)))
    for nice in (1, 2, 5, 10, 20, 50, 100):
        if nice >= k:
            return nice
    return k


class CellRef(tuple):
    """A clicked cell: (grid, channel, row, col), from a marker's customdata."""

    __slots__ = ()

    def __new__(cls, grid: str, channel: int, row: int, col: int):
        return super().__new__(cls, (grid, int(channel), int(row), int(col)))

    grid = property(lambda self: self[0])
    channel = property(lambda self: self[1])
    row = property(lambda self: self[2])
    col = property(lambda self: self[3])

    def __repr__(self) -> str:
        return f"CellRef(grid={self.grid!r}, channel={self.channel}, row={self.row}, col={self.col})"


def clicked_cell(event) -> CellRef | None:
    """The grid cell of the first selected point of st.plotly_chart(..., on_select="rerun")'s return value.

    Accepts the event (event.selection.points), its selection, or a list of points; None when no grid cell was
    clicked (nothing selected, or a point without grid customdata).
    """
    points = _points(event)
    for point in points:
        data = point.get("customdata") if hasattr(point, "get") else None
        if isinstance(data, (list, tuple)) and len(data) == 4 and isinstance(data[0], str):
            try:
                return CellRef(data[0], *(int(v) for v in data[1:]))
            except (TypeError, ValueError):
                continue
    return None


def _points(event) -> list:
    if isinstance(event, (list, tuple)):
        return list(event)
    if not hasattr(event, "get"):
        return []
    if "selection" in event:
        return _points(event["selection"])
    return list(event.get("points") or [])
