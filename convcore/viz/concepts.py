"""Plotly figures for the concept pages: the planner's chain of tensors, channel blocks for groups, padding modes
side by side with traceable sources, matrix heatmaps, overlap maps and upsampled images. Plotly only.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..teaching.planner import CONV, Plan
from ..teaching.trace.text import format_number
from .animation import build_figure
from .grids import Slot, cell_trace, label_traces, layout_board, outline_trace, value_texts
from .palette import (ACTIVE, BLACK, BLUE, DIVERGING, EMPTY_FILL, FOCUS, FONT_FAMILY, FONTS, GREEN, LABEL_FONT, ORANGE,
                      PADDING_EDGE, PURPLE, SEQUENTIAL, SKY, TEXT, VERMILLION, YELLOW, Fonts, scale_limit)

__all__ = ["chain_figure", "channel_figure", "counts_figure", "group_colour", "padding_figure", "grids_figure",
           "matrix_figure", "images_figure"]

GREY = "#999999"  # the input tensor and layers the engine rejected
FONT = dict(family=FONT_FAMILY, size=LABEL_FONT, color=TEXT)


def _font(fonts: Fonts) -> dict:
    return {**FONT, "size": fonts.label}


def _grown(fonts: Fonts):
    """A size set for the default fonts, at `fonts` (a projector's larger ones)."""
    return lambda size: round(size * fonts.label / LABEL_FONT)


def _grow_annotations(fig: go.Figure, fonts: Fonts) -> None:
    """Subplot titles (make_subplots gives them a size of their own) at `fonts`."""
    px = _grown(fonts)
    for a in fig.layout.annotations:
        if a.font.size:
            a.font.size = px(a.font.size)


def _shape_label(shape) -> str:
    return "?" if shape is None else f"{shape[0]}×{shape[1]}×{shape[2]}"


def chain_figure(plan: Plan, *, height: int = 300, fonts: Fonts = FONTS) -> go.Figure:
    """The chain as tensors left to right (height ~ spatial size, width ~ log channels), like a U-Net drawing.

    A ConvTranspose2d that misses its mirror's shape gets a vermillion outline and the expected tensor dashed.
    """
    px = _grown(fonts)
    stages = [("input", plan.input_shape, None)] + [(f"{i + 1}", s.out_shape, s) for i, s in enumerate(plan.steps)]
    known = [sh for _, sh, _ in stages if sh is not None] + [s.target for s in plan.steps if s.target is not None]
    tallest = max(max(sh[1] for sh in known), 1)
    widest_c = max(max(sh[0] for sh in known), 1)

    def size(shape):
        height = 0.12 + 0.88 * shape[1] / tallest
        width = 0.18 + 0.4 * np.log2(shape[0] + 1) / np.log2(widest_c + 1)
        return width, height

    fig = go.Figure()
    xs, ys, hover = [], [], []
    for x, (name, shape, step) in enumerate(stages):
        if shape is None:
            rejected = step.in_shape is not None  # the layer the engine refused (later ones are just unknown)
            colour = VERMILLION if rejected else GREY
            fig.add_shape(type="rect", x0=x - 0.2, x1=x + 0.2, y0=-0.2, y1=0.2, line=dict(color=colour, dash="dot",
                                                                                          width=3 if rejected else 1),
                          fillcolor="rgba(213,94,0,0.08)" if rejected else "rgba(153,153,153,0.15)")
            fig.add_annotation(x=x, y=0, text="✗" if rejected else "?", showarrow=False,
                               font=dict(size=px(20), color=colour))
            xs.append(x), ys.append(0), hover.append(f"layer {name}: {step.error}")
            label_y = 0.25
        else:
            w, h = size(shape)
            colour = GREY if step is None else (BLUE if step.layer.kind == CONV else GREEN)
            bad = step is not None and step.mismatch
            fig.add_shape(type="rect", x0=x - w / 2, x1=x + w / 2, y0=-h / 2, y1=h / 2, fillcolor=colour, opacity=0.85,
                          line=dict(color=VERMILLION if bad else "white", width=4 if bad else 1))
            if bad:
                tw, th = size(step.target)
                fig.add_shape(type="rect", x0=x - tw / 2, x1=x + tw / 2, y0=-th / 2, y1=th / 2,
                              line=dict(color=VERMILLION, dash="dash", width=2))
            xs.append(x), ys.append(0)
            text = f"{'input' if step is None else 'after layer ' + name}: {_shape_label(shape)} (C×H×W)"
            if step is not None and step.target is not None:
                verdict = "matches" if not bad else "MISSES"
                text += f"<br>mirrors layer {step.mirrors + 1}: expected {_shape_label(step.target)}, {verdict}"
            hover.append(text)
            label_y = max(h, size(step.target)[1] if bad else 0) / 2 + 0.06
        label = f"<b>{_shape_label(shape)}</b>" if not (step is not None and step.error and step.in_shape) else \
            "<b>rejected</b>"
        if step is not None and step.mismatch:
            label += f"<br>want {_shape_label(step.target)}"
        fig.add_annotation(x=x, y=label_y, text=label, showarrow=False, yanchor="bottom",
                           font=dict(size=px(12), color=VERMILLION if step is not None and (step.mismatch or (
                               step.error and step.in_shape)) else "#222"))
        # two lines: on one ("layer 5: ConvT2d s=2") six layers' captions overlap in a 820 px wide figure
        caption = "input" if step is None else (
            f"layer {x}<br>{'Conv2d' if step.layer.kind == CONV else 'ConvT2d'} s={_pair_text(step.layer.stride)}")
        fig.add_annotation(x=x, y=-0.53, yanchor="top", text=caption, showarrow=False,
                           font=dict(size=px(11), color="#444"))
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", marker=dict(size=28, opacity=0), hovertext=hover,
                             hoverinfo="text", showlegend=False))
    for name, colour in (("Conv2d output", BLUE), ("ConvTranspose2d output", GREEN)):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker=dict(symbol="square", size=px(12), color=colour)))
    if plan.mismatches:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="expected (mirror), missed",
                                 line=dict(color=VERMILLION, dash="dash")))
    fig.update_xaxes(visible=False, range=[-0.6, len(stages) - 0.4])
    fig.update_yaxes(visible=False, range=[-0.78, 0.85])
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white", font=_font(fonts),
                      legend=dict(orientation="h", yanchor="top", y=-0.02, x=0), hovermode="closest")
    return fig


def _pair_text(pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


# ---- groups: channels as blocks ----------------------------------------------------------------------------------

GROUP_COLOURS = (BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, YELLOW, BLACK)


def group_colour(g: int) -> str:
    return GROUP_COLOURS[g % len(GROUP_COLOURS)]


def _fade(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def channel_figure(cmap: np.ndarray, groups: int, transposed: bool = False, highlight: int | None = None, *,
                   height: int | None = None, fonts: Fonts = FONTS) -> go.Figure:
    """Input channels (left) wired to the output channels they feed (right), one colour per group, and the weight
    tensor in torch's layout: (C_out, C_in/groups) kernels for Conv2d, (C_in, C_out/groups) for ConvTranspose2d.

    cmap: (C_out, C_in) bool from trace.channel_map. highlight: an output channel whose inputs and weights
    stand out (the rest fades). height: the figure's (default: from the channel count); fonts: a projector's.
    """
    from plotly.subplots import make_subplots

    cout, cin = cmap.shape
    out_per, in_per = cout // groups, cin // groups
    rows = max(cin, cout)
    height = height or max(400, min(760, 120 + rows * 34))
    y_in = _spread(cin, rows)
    y_out = _spread(cout, rows)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.1,
                        subplot_titles=("which input channels feed which outputs",
                                        f"weight: {'(C_in, C_out/groups' if transposed else '(C_out, C_in/groups'}, kH, kW)"))
    live_in = cmap[highlight] if highlight is not None else np.ones(cin, bool)
    for g in range(groups):
        colour = group_colour(g)
        lit_x, lit_y, faded_x, faded_y = [], [], [], []
        for o in range(g * out_per, (g + 1) * out_per):
            for i in np.flatnonzero(cmap[o]):
                on = highlight is None or o == highlight
                (lit_x if on else faded_x).extend([0, 1, None])
                (lit_y if on else faded_y).extend([y_in[i], y_out[o], None])
        if faded_x:
            fig.add_trace(go.Scatter(x=faded_x, y=faded_y, mode="lines", line=dict(color=_fade(colour, 0.15), width=1),
                                     hoverinfo="skip", showlegend=False), 1, 1)
        if lit_x:
            fig.add_trace(go.Scatter(x=lit_x, y=lit_y, mode="lines", hoverinfo="skip", showlegend=False,
                                     line=dict(color=colour, width=1.5 if highlight is None else 3)), 1, 1)
    px_per_row = (height - 90) / (rows + 2.5)
    size = int(max(6, min(22, 0.75 * px_per_row)))
    for side, ys, n, per, name in ((0, y_in, cin, in_per, "input"), (1, y_out, cout, out_per, "output")):
        lit = live_in if side == 0 else np.array([highlight is None or c == highlight for c in range(n)])
        fig.add_trace(go.Scatter(
            x=[side] * n, y=ys, mode="markers+text",
            marker=dict(symbol="square", size=size, color=[group_colour(c // per) for c in range(n)],
                        opacity=np.where(lit, 1.0, 0.25), line=dict(color="white", width=1)),
            text=[str(c) for c in range(n)], textposition="middle left" if side == 0 else "middle right",
            customdata=list(range(n)), hovertext=[f"group {c // per}" for c in range(n)], name=name,
            hovertemplate=f"{name} channel %{{customdata}}, %{{hovertext}}<extra></extra>", showlegend=False), 1, 1)
    top = (rows - 1) / 2
    for x, text in ((0, f"<b>input</b><br>C_in={cin}"), (1, f"<b>output</b><br>C_out={cout}")):
        fig.add_annotation(x=x, y=top + 0.8, text=text, showarrow=False, yanchor="bottom", xref="x", yref="y")
    fig.update_xaxes(visible=False, range=[-0.3, 1.3], row=1, col=1)
    fig.update_yaxes(visible=False, range=[-top - 0.8, top + 3.2], row=1, col=1)

    # the weight tensor: one cell per (dim0, dim1) kH x kW kernel, coloured by group, faded where unused
    d0, d1 = (cin, out_per) if transposed else (cout, in_per)
    per0 = in_per if transposed else out_per
    r, c = np.meshgrid(np.arange(d0), np.arange(d1), indexing="ij")
    group_of = r // per0
    if highlight is None:
        used = np.ones_like(r, bool)
    elif transposed:  # output channel o = g*out_per + j reads weight[i, j] for the inputs i of group g
        used = (group_of == highlight // out_per) & (c == highlight % out_per)
    else:
        used = r == highlight
    n_col = min(groups, len(GROUP_COLOURS))
    z = (group_of % n_col) + np.where(used, 0, n_col)  # 0..n-1 full colours, n..2n-1 faded
    palette = [group_colour(i) for i in range(n_col)] + [_fade(group_colour(i), 0.2) for i in range(n_col)]
    scale = [[v, palette[i]] for i in range(2 * n_col) for v in (i / (2 * n_col), (i + 1) / (2 * n_col))]
    fig.add_trace(go.Heatmap(
        z=z, zmin=0, zmax=2 * n_col, colorscale=scale, showscale=False, xgap=2, ygap=2,
        customdata=np.stack([r, c, group_of], -1),
        hovertemplate="weight[%{customdata[0]}, %{customdata[1]}]: one kH×kW kernel, group %{customdata[2]}<extra></extra>"),
        1, 2)
    axis_fonts = {"title_font_size": fonts.label, "tickfont_size": fonts.label}
    fig.update_xaxes(title_text=f"dim 1: {'C_out/groups' if transposed else 'C_in/groups'} = {d1}", row=1, col=2,
                     **axis_fonts,
                     dtick=1 if d1 <= 16 else None, showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(title_text=f"dim 0: {'C_in' if transposed else 'C_out'} = {d0}", row=1, col=2, **axis_fonts,
                     autorange="reversed", dtick=1 if d0 <= 16 else None, showgrid=False, zeroline=False,
                     scaleanchor="x2", constrain="domain")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=_grown(fonts)(40), b=10), plot_bgcolor="white",
                      font=_font(fonts), hovermode="closest")
    _grow_annotations(fig, fonts)
    return fig


def _spread(n: int, rows: int) -> np.ndarray:
    """n positions centred on 0 spanning the same height as `rows` positions one apart."""
    if n == 1:
        return np.array([0.0])
    return (rows - 1) / 2 - np.arange(n) * (rows - 1) / (n - 1)


def counts_figure(labels: list[str], params: list[int], macs: list[int], *, height: int = 320,
                  fonts: Fonts = FONTS) -> go.Figure:
    """Parameters and multiply-adds side by side for a few layer choices."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("parameters", "multiply-adds per image"), horizontal_spacing=0.12)
    colours = [BLUE, ORANGE, GREEN, SKY][: len(labels)]
    for col, values in ((1, params), (2, macs)):
        fig.add_trace(go.Bar(x=labels, y=values, marker_color=colours, text=[f"{v:,}" for v in values],
                             textposition="outside", cliponaxis=False, showlegend=False,
                             hovertemplate="%{x}: %{y:,}<extra></extra>"), 1, col)
        fig.update_yaxes(showgrid=True, gridcolor="#eee", row=1, col=col, range=[0, max(values) * 1.18])
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=_grown(fonts)(40), b=10), plot_bgcolor="white",
                      font=_font(fonts))
    _grow_annotations(fig, fonts)
    return fig


# ---- padding modes -----------------------------------------------------------------------------------------------


def _cell_hover_value(v) -> str:
    return format_number(v, 4)


def padding_figure(x: np.ndarray, views: dict, selected: tuple[int, int] | None = None, *, max_width: int = 1100,
                   max_height: int = 720, fonts: Fonts = FONTS, one_row: bool = False) -> go.Figure:
    """The input and each padding mode's padded grid (2 x 2), values printed. Padding cells have an orange edge;
    the selected padded cell is outlined in black in every mode and the real cell it copies in green, with an
    arrow from one to the other. A mode torch refuses is drawn empty, its title saying so. one_row: the input and
    the four modes side by side (a wide, low screen: a projector's) instead of the modes 2 x 2."""
    h, w = x.shape
    modes = list(views)
    any_view = next(iter(views.values()))
    (top, bottom), (left, right) = any_view.pads
    hp, wp = h + top + bottom, w + left + right
    slots = [Slot("input", f"input x ({h}x{w})", h, w, band=0, column=0, span=1 if one_row else 2)]
    for i, mode in enumerate(modes):
        view = views[mode]
        title = f"{mode}" if view.error is None else f"{mode}: not allowed"
        band, column = (0, 1 + i) if one_row else (i // 2, 1 + i % 2)
        slots.append(Slot(mode, title, hp, wp, band=band, column=column))
    board = layout_board(slots, max_width, max_height - fonts.px(40), fonts=fonts)
    limit = scale_limit(x)
    traces = []
    g = board["input"]
    rr, cc = np.divmod(np.arange(h * w), w)
    v = x.ravel()
    traces.append(cell_trace(g, rr, cc, values=v, limit=limit, texts=value_texts(v, 3),
                             hover=[f"x[{r}, {c}] = {_cell_hover_value(t)}" for r, c, t in zip(rr, cc, v)]))
    rr, cc = np.divmod(np.arange(hp * wp), wp)
    inside = (rr >= top) & (rr < top + h) & (cc >= left) & (cc < left + w)
    focus_x, focus_y, sel_x, sel_y, arrows = [], [], [], [], []
    for mode in modes:
        view, g = views[mode], board[mode]
        if view.error is not None:
            traces.append(cell_trace(g, rr, cc, fill="#F4F4F4", edge="#D8D8D8",
                                     hover=[view.error] * len(rr), name=f"{mode} (not allowed)"))
            continue
        vals = view.values.ravel()
        for part, style in ((inside, {}), (~inside, {"edge": PADDING_EDGE, "edge_width": 3})):
            r, c, pv = rr[part], cc[part], vals[part]
            hover = []
            for a, b, t in zip(r, c, pv):
                src = view.source(a, b)
                where = "a zero" if src is None else f"x[{src[0]}, {src[1]}]"
                kind = "input cell" if (top <= a < top + h and left <= b < left + w) else f"{mode} padding: copies {where}"
                hover.append(f"padded[{a}, {b}] = {_cell_hover_value(t)}<br>{kind}")
            traces.append(cell_trace(g, r, c, values=pv, limit=limit, texts=value_texts(pv, 3), hover=hover,
                                     name=f"{mode} {'input' if not style else 'padding'}", **style))
        if selected is not None:
            sr, sc = selected
            sel_x += g.xs([sc])
            sel_y += g.ys([sr])
            src = view.source(sr, sc)
            if src is not None:
                tr, tc = src[0] + top, src[1] + left
                focus_x += g.xs([tc])
                focus_y += g.ys([tr])
                if (tr, tc) != (sr, sc):
                    arrows.append((g.xs([sc])[0], g.ys([sr])[0], g.xs([tc])[0], g.ys([tr])[0]))
    if selected is not None:
        copied = {views[m].source(*selected) for m in modes if views[m].error is None} - {None}
        gi = board["input"]
        for r, c in sorted(copied):
            focus_x += gi.xs([c])
            focus_y += gi.ys([r])
    traces += label_traces(board)
    traces.append(outline_trace(focus_x, focus_y, board.cell + 2, FOCUS, 4, name="the cell it copies"))
    traces.append(outline_trace(sel_x, sel_y, board.cell + 2, ACTIVE, 4, name="selected padded cell"))
    traces += _legend_keys([("padding cell (the mode's value)", EMPTY_FILL, PADDING_EDGE, 3, "square"),
                            ("selected padded cell", "rgba(0,0,0,0)", ACTIVE, 3, "square-open"),
                            ("the input cell it copies", "rgba(0,0,0,0)", FOCUS, 3, "square-open")])
    fig = build_figure(traces, board.width, board.height, legend=True,
                       meta={"view": "padding", "modes": modes, "selected": list(selected) if selected else None})
    for x0, y0, x1, y1 in arrows:
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=2, arrowsize=1.2, arrowwidth=2, arrowcolor=FOCUS, text="", standoff=board.cell // 3,
                           startstandoff=board.cell // 3)
    return fig


def _legend_keys(items) -> list[dict]:
    return [{"type": "scatter", "mode": "markers", "x": [None], "y": [None], "name": name, "showlegend": True,
             "hoverinfo": "skip", "marker": {"symbol": symbol, "size": 16,
                                             "color": edge if symbol.endswith("-open") else fill,
                                             "line": {"color": edge, "width": width}}}
            for name, fill, edge, width, symbol in items]


def grids_figure(grids: dict[str, np.ndarray | None], *, titles: dict[str, str] | None = None, max_width: int = 1100,
                 max_height: int = 360, per_row: int = 4, digits: int = 3, decimals: int | None = None,
                 shared_scale: bool = True, hover_name: str = "out", sequential: bool = False,
                 fonts: Fonts = FONTS) -> go.Figure:
    """Small grids side by side (per_row to a band), values printed where they fit (`digits` significant digits,
    or rounded to `decimals` places); None draws an empty grid of the first grid's shape."""
    names = list(grids)
    shapes = [g.shape for g in grids.values() if g is not None]
    fallback = shapes[0] if shapes else (1, 1)
    slots = []
    for i, name in enumerate(names):
        shape = grids[name].shape if grids[name] is not None else fallback
        title = (titles or {}).get(name, name)
        slots.append(Slot(name, title, shape[0], shape[1], band=i // per_row, column=i % per_row))
    board = layout_board(slots, max_width, max_height, fonts=fonts)
    limit = scale_limit(*[g for g in grids.values() if g is not None])
    traces = []
    for name in names:
        g, values = board[name], grids[name]
        shape = values.shape if values is not None else fallback
        rr, cc = np.divmod(np.arange(shape[0] * shape[1]), shape[1])
        if values is None:
            traces.append(cell_trace(g, rr, cc, fill="#F4F4F4", edge="#D8D8D8", name=f"{name} (not computed)"))
            continue
        v = values.ravel()
        lim = limit if shared_scale else scale_limit(values)
        shown = value_texts(v if decimals is None else np.round(v, decimals), digits if decimals is None else 6)
        colours = {"sequential": True, "colorscale": SEQUENTIAL} if sequential else {}
        traces.append(cell_trace(g, rr, cc, values=v, limit=lim, texts=shown, name=name, **colours,
                                 hover=[f"{name}: {hover_name}[{r}, {c}] = {format_number(t, 6)}" for r, c, t in zip(rr, cc, v)]))
    traces += label_traces(board)
    return build_figure(traces, board.width, board.height, meta={"view": "grids", "grids": names})


# ---- the matrix view -------------------------------------------------------------------------------------------------


def _pixel_labels(symbol: str, h: int, w: int) -> list[str]:
    return [f"{symbol}[{r},{c}]" for r in range(h) for c in range(w)]


def matrix_figure(matrix: np.ndarray, row_grid: tuple[int, int], col_grid: tuple[int, int], *, row_symbol: str,
                  col_symbol: str, title: str, highlight_row: int | None = None, highlight_col: int | None = None,
                  limit: float | None = None, height: int | None = None, fonts: Fonts = FONTS) -> go.Figure:
    """A matrix over flattened pixels as a heatmap (rows = row_symbol pixels, columns = col_symbol pixels), signed
    values on the diverging scale with zero white, values printed when the matrix is small (fonts: a projector's)."""
    px = _grown(fonts)
    n_rows, n_cols = matrix.shape
    limit = limit or scale_limit(matrix)
    rows, cols = _pixel_labels(row_symbol, *row_grid), _pixel_labels(col_symbol, *col_grid)
    show_text = max(n_rows, n_cols) <= 20
    # room above the matrix for the title and the column labels (turned: as long as the longest label)
    top = 2 * fonts.title + int(0.62 * px(10) * max(len(c) for c in cols)) + 12
    cell = max(10, min(px(34), int(px(560) / max(n_rows, n_cols))))
    height = height or int(cell * n_rows + top + 40)
    # the values at 11 px beside other figures; on a projector at its value font (18 px at 1280x720), both only as
    # large as the cells the height leaves allow
    rows_cell = (height - top - 10) / n_rows
    value_font = min(fonts.value if fonts.value > FONTS.value else px(11), max(8, int(0.55 * rows_cell)))
    text = [[format_number(v, 3) if v != 0 else "" for v in row] for row in matrix] if show_text else None
    fig = go.Figure(go.Heatmap(
        z=matrix, x=cols, y=rows, zmin=-limit, zmax=limit, colorscale=DIVERGING, showscale=False, xgap=1, ygap=1,
        text=text, texttemplate="%{text}" if show_text else None, textfont=dict(size=value_font, family=FONT_FAMILY),
        hovertemplate=f"row %{{y}}, column %{{x}}: %{{z}}<extra>{title}</extra>"))
    for index, axis in ((highlight_row, "y"), (highlight_col, "x")):
        if index is None:
            continue
        box = dict(type="rect", line=dict(color=ACTIVE, width=3), fillcolor="rgba(0,0,0,0)", xref="x", yref="y")
        if axis == "y":
            box.update(x0=-0.5, x1=n_cols - 0.5, y0=index - 0.5, y1=index + 0.5)
        else:
            box.update(y0=-0.5, y1=n_rows - 0.5, x0=index - 0.5, x1=index + 0.5)
        fig.add_shape(**box)
    fig.update_xaxes(side="top", tickangle=-90, tickfont=dict(size=px(10)), showgrid=False, constrain="domain",
                     dtick=1 if n_cols <= 40 else None)
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=px(10)), showgrid=False, scaleanchor="x", constrain="domain",
                     dtick=1 if n_rows <= 40 else None)
    fig.update_layout(title=dict(text=title, font=dict(size=fonts.title), x=0, xanchor="left", y=0.995, yanchor="top"),
                      height=height, margin=dict(l=10, r=10, t=top, b=10),
                      plot_bgcolor="white", font=_font(fonts))
    return fig


# ---- checkerboard artifacts ------------------------------------------------------------------------------------------

GRAY = [[0.0, "#000000"], [1.0, "#FFFFFF"]]


def images_figure(images: dict[str, np.ndarray], scales: dict[str, float] | None = None, *, value_range=(0.0, 255.0),
                  height: int = 360, fonts: Fonts = FONTS) -> go.Figure:
    """Grey images side by side on one shared, zoomable coordinate system (zoom one, all follow); `scales` draws
    a smaller image at that many output pixels per pixel so all cover the same area. Pixels stay square and sharp."""
    from plotly.subplots import make_subplots

    names = list(images)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.02,
                        shared_xaxes="all", shared_yaxes="all")
    lo, hi = value_range
    for i, name in enumerate(names, start=1):
        img, scale = images[name], (scales or {}).get(name, 1.0)
        fig.add_trace(go.Heatmap(
            z=np.round(img, 1), x0=(scale - 1) / 2, dx=scale, y0=(scale - 1) / 2, dy=scale, zmin=lo, zmax=hi,
            colorscale=GRAY, showscale=False, name=name,
            hovertemplate=f"{name}<br>row %{{y}}, column %{{x}}: %{{z}}<extra></extra>"), 1, i)
    fig.update_xaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False, autorange="reversed",
                     scaleanchor="x", constrain="domain", constraintoward="top")
    fig.update_layout(height=height, margin=dict(l=5, r=5, t=_grown(fonts)(30), b=5), font=_font(fonts),
                      plot_bgcolor="white", uirevision="checkerboard")
    fig.update_annotations(font_size=_grown(fonts)(15))
    return fig
