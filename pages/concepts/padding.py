"""Padding modes: one input padded with zeros, reflect, replicate and circular side by side, every copied value
traceable to its source; 'same' with an even kernel; the limits torch enforces; what a convolution then sees."""
import numpy as np
import streamlit as st

from convcore import Conv2d, ui
from convcore.teaching.concepts import PADDING_MODES, padding_views
from convcore.params import normalise_padding
from convcore.ui import present
from convcore.ui.export import figure_downloads
from convcore.ui.values import named_values
from convcore.viz.concepts import grids_figure, padding_figure
from convcore.viz.grids import clicked_cell

P = "pad"
CHART = f"{P}_chart"
FIGURES = ("Padding modes", "Convolution outputs")  # presentation mode shows one at a time
CONTROLS = 188  # page pixels of the two rows of controls above the figure (measured in Chromium)

presenting = present.page_header(
    P, "Padding modes",
    "Conv2d pads its input before sliding the window. padding_mode decides what the new cells hold: zeros, a "
    "mirror image without the edge (reflect), the edge repeated (replicate), or the opposite side wrapped round "
    "(circular). Click any padded cell to see which input cell it copies in each mode.", figures=FIGURES)


def _pick_from_chart() -> None:
    """A click on a cell selects it (padded coordinates; a click on the input selects that cell's padded place)."""
    cell = clicked_cell(st.session_state.get(CHART))
    if cell is None:
        return
    key, row, col = cell.grid, cell.row, cell.col
    if key == "input":
        row, col = row + st.session_state.get(f"{P}_top", 0), col + st.session_state.get(f"{P}_left", 0)
    st.session_state[f"{P}_row"], st.session_state[f"{P}_col"] = int(row), int(col)


cols = st.columns([1, 1, 1.4, 1, 1, 1])
with cols[0]:
    h = ui.int_input(P, "h", "input height", 1, 8, 4)
with cols[1]:
    w = ui.int_input(P, "w", "input width", 1, 8, 5)
with cols[2]:
    kind = ui.choice(P, "kind", "padding", ["numbers", "same"], "numbers", horizontal=True,
                     help="A number of rows/columns per side, or 'same' (the total d*(k-1) split, the extra one on "
                          "the bottom/right).")
with cols[3]:
    kh = ui.int_input(P, "kh", "kernel height", 1, 9, 3)
with cols[4]:
    kw = ui.int_input(P, "kw", "kernel width", 1, 9, 3)
with cols[5]:
    values_kind = ui.choice(P, "values", "input values", ["ramp", "random integers"], "ramp",
                            help="ramp numbers the cells 1, 2, 3, ... so a copied value names its source.")
cols = st.columns([1, 1, 1.4, 1, 1, 1])
if kind == "numbers":
    with cols[0]:
        ph = ui.int_input(P, "ph", "padding height", 0, 8, 2, help="rows added at the top and at the bottom")
    with cols[1]:
        pw = ui.int_input(P, "pw", "padding width", 0, 8, 2, help="columns added at the left and at the right")
    padding = (ph, pw)
else:
    with cols[0]:
        dil = ui.int_input(P, "dil", "dilation", 1, 3, 1, help="'same' pads dilation*(kernel-1) in total")
    padding = "same"
dilation = 1 if kind == "numbers" else dil
pads = normalise_padding(padding, (kh, kw), (1, 1), (dilation, dilation))
(top, bottom), (left, right) = pads
hp, wp = h + top + bottom, w + left + right
st.session_state[f"{P}_top"], st.session_state[f"{P}_left"] = top, left

with cols[3]:
    row = ui.int_input(P, "row", "traced row", 0, hp - 1, 0, help="a row of the padded grid (or click a cell)")
with cols[4]:
    col = ui.int_input(P, "col", "traced column", 0, wp - 1, 0, help="a column of the padded grid (or click a cell)")
ui.show_url_notes()

x = named_values("ramp" if values_kind == "ramp" else "random integers", (h, w), seed=0).astype(np.float64)
views = padding_views(x, pads)


def mode_outputs() -> tuple[dict, list[str]]:
    """Each mode's Conv2d output with a box-average kernel (None where torch refuses it), and the refusals."""
    outputs, problems = {}, []
    for mode in PADDING_MODES:
        if views[mode].error:
            outputs[mode] = None
            continue
        try:
            layer = Conv2d(1, 1, (kh, kw), 1, padding, dilation, 1, False, mode, dtype=np.float64)
            layer.weight = np.full((1, 1, kh, kw), 1 / (kh * kw))
            outputs[mode] = layer(x[None, None])[0, 0]
        except (ValueError, TypeError) as err:
            outputs[mode] = None
            problems.append(f"{mode}: {err}")
    return outputs, problems


def outputs_figure(outputs: dict, **size):
    titles = {m: m if outputs[m] is not None else f"{m}: not computed" for m in outputs}
    return grids_figure(outputs, titles=titles, decimals=1, **size)


if presenting:  # the picked figure, as large as the screen allows, and nothing else
    room = present.screen().figure_size(CONTROLS, step_buttons=False)
    if present.shown(P, "Padding modes"):
        figure = padding_figure(x, views, (row, col), **room, one_row=True)
        st.plotly_chart(figure, key=CHART, on_select=_pick_from_chart, selection_mode="points", width="content",
                        config={"displayModeBar": False})
    else:
        outputs, _ = mode_outputs()
        if any(v is not None for v in outputs.values()):
            st.plotly_chart(outputs_figure(outputs, **room), key=f"{P}_outputs", width="content",
                            config={"displayModeBar": False})
    st.stop()

if kind == "same":
    total_h, total_w = dilation * (kh - 1), dilation * (kw - 1)
    extra = " (odd, so the extra row/column goes to the bottom/right, as in torch)" if (total_h % 2 or total_w % 2) else ""
    st.info(
        f"padding='same' with kernel {kh}x{kw}, dilation {dilation}: dilation*(k-1) = {total_h} rows and "
        f"{total_w} columns in total, split top {top} / bottom {bottom}, left {left} / right {right}{extra}. The "
        f"output keeps the input's {h}x{w}.", icon=":material/straighten:",
    )

figure = padding_figure(x, views, (row, col))
st.plotly_chart(figure, key=CHART, on_select=_pick_from_chart, selection_mode="points", width="content",
                config={"displayModeBar": False})
figure_downloads(figure, f"{P}_chart_export", "padding-modes")


def _describe(mode: str) -> str:
    view = views[mode]
    if view.error:
        return "not allowed here"
    src = view.source(row, col)
    inside = top <= row < top + h and left <= col < left + w
    if src is None:
        return "0 (a zero)"
    return f"x[{src[0]}, {src[1]}] = {view.values[row, col]:g}" + (" (the input itself)" if inside else "")


st.markdown(f"**padded[{row}, {col}]** holds: " + "; ".join(f"{m}: {_describe(m)}" for m in PADDING_MODES))

refused = [v for v in views.values() if v.error]
for view in refused:
    st.error(f"PyTorch refuses padding_mode='{view.mode}' here: {view.error}", icon=":material/block:")
with st.expander("The limits of each mode", expanded=bool(refused), icon=":material/rule:"):
    st.markdown(
        "| mode | a padded cell holds | limit (per side, per dimension) |\n|---|---|---|\n"
        "| zeros | 0 | none |\n"
        "| reflect | the mirror image, edge excluded: x[-i] = x[i] | padding < input size (the mirror needs "
        "size-1 cells beyond the edge) |\n"
        "| replicate | the nearest edge cell | none (input size >= 1) |\n"
        "| circular | the opposite side: x[-i] = x[n-i] | padding <= input size (wraps round at most once) |\n"
    )
    st.caption(f"Here: input {h}x{w}, padding top {top}, bottom {bottom}, left {left}, right {right}.")

st.subheader("What the convolution sees")
st.caption(
    f"Conv2d(1, 1, kernel_size=({kh}, {kw}), padding={padding!r}, padding_mode=..., bias=False) with a box-average "
    "kernel (every weight 1/(kH*kW)), run by the engine. Only the border differs: zeros pull it towards 0, "
    "reflect and replicate keep it close to the nearby values, circular mixes in the opposite side."
)
outputs, problems = mode_outputs()
for problem in problems:
    st.error(f"PyTorch would reject this convolution: {problem}", icon=":material/block:")
if any(v is not None for v in outputs.values()):
    figure = outputs_figure(outputs, max_height=420)
    st.plotly_chart(figure, key=f"{P}_outputs", width="content", config={"displayModeBar": False})
    figure_downloads(figure, f"{P}_outputs_export", "padding-mode-outputs")
