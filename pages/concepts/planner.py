"""Shape planner: an encoder/decoder chain of Conv2d and ConvTranspose2d layers, every shape from the engine,
where the decoder misses the input size, the padding / output_padding that fixes it, and nn.Sequential code."""
import streamlit as st

from convcore import ui
from convcore.teaching.planner import (
    CELL_FIELDS,
    CONV,
    TRANSPOSE,
    cells_from_layer,
    chain_from_text,
    chain_to_text,
    layer_from_cells,
    plan_chain,
    solve_chain,
    to_pytorch,
)
from convcore.teaching.chain import lab_text
from convcore.shapes import transpose_output_range
from convcore.ui import present
from convcore.ui.export import figure_downloads
from convcore.viz.concepts import chain_figure

P = "plan"
URL_KEY = f"{P}_layers"
EXAMPLES = {
    "MNIST autoencoder: 28 -> 7 -> 25 (misses)": ((1, 28, 28), "C16k3s2p1.C32k3s2p1.T16k3s2p1.T1k3s2p1"),
    "Odd input: 25 -> 4 -> 25, three stride-2 levels": ((3, 25, 25), "C16k3s2p1.C32k3s2p1.C64k3s2p1.T32k3s2p1.T16k3s2p1.T3k3s2p1"),
    "DCGAN-style 4x4 kernels: 64 -> 8 -> 64 (fits)": ((3, 64, 64), "C64k4s2p1.C128k4s2p1.C256k4s2p1.T128k4s2p1.T64k4s2p1.T3k4s2p1"),
    "Non-square 37x50 with a 5x5 kernel": ((1, 37, 50), "C8k3s2p1.C16k5s2p2.T8k5s2p2.T1k3s2p1"),
    "Stride 1 with 'same' padding, then a 1x1": ((3, 32, 32), "C16k3psame.C16k4psamed2.T8k3.T3k1"),
}
DEFAULT_SHAPE, DEFAULT_TEXT = EXAMPLES["MNIST autoencoder: 28 -> 7 -> 25 (misses)"]
ACTIVATIONS = ["ReLU", "LeakyReLU", "GELU", "SiLU", "Tanh", "none"]
# page pixels above the chain figure in presentation mode (measured in Chromium): the input shape row, and the
# layer table's header, add-row line and frame; each layer's row
CONTROLS, TABLE_ROW = 182, 35

presenting = present.page_header(
    P, "Shape planner",
    "Build an encoder and a decoder from Conv2d and ConvTranspose2d layers. Every shape below is computed by the "
    "engine itself. Each ConvTranspose2d is paired with the Conv2d it mirrors (innermost first, like a U-Net's skip "
    "connections) and should give back the shape that Conv2d received; the planner finds where it does not, and "
    "solves for the padding and output_padding that fix it.")


def _set_chain(shape, layers) -> None:
    """Replace the table (a fresh editor) and the input shape; used by the example picker and the fix button."""
    ss = st.session_state
    ss[f"{P}_rows"] = [cells_from_layer(spec) for spec in layers]
    ss[f"{P}_version"] = ss.get(f"{P}_version", 0) + 1
    if shape is not None:
        ss[f"{P}_c"], ss[f"{P}_h"], ss[f"{P}_w"] = shape
    ui.set_url_value(URL_KEY, chain_to_text(layers), DEFAULT_TEXT)


def _load_example() -> None:
    name = st.session_state.get(f"{P}_example")
    if name in EXAMPLES:
        shape, text = EXAMPLES[name]
        _set_chain(shape, chain_from_text(text))
    st.session_state[f"{P}_example"] = None


def _rows_from_url() -> list[dict]:
    raw = st.query_params.get(URL_KEY)
    try:
        layers = chain_from_text(raw if raw is not None else DEFAULT_TEXT)
    except ValueError as err:
        ui.note_bad_url_value(URL_KEY, raw, f"a chain such as {DEFAULT_TEXT} ({err})", "the example chain")
        layers = chain_from_text(DEFAULT_TEXT)
    return [cells_from_layer(spec) for spec in layers]


def _editor_base() -> tuple[str, list[dict]]:
    """The editor's key and starting rows. The rows change only on purpose (example, fix, first visit), never
    under pending edits: a data_editor whose data changes starts over and would drop them."""
    ss = st.session_state
    key = f"{P}_editor_{ss.get(f'{P}_version', 0)}"
    if key not in ss:  # first run of the session, or back from another page: start from the last chain we knew
        ss[f"{P}_base"] = ss.get(f"{P}_rows") or _rows_from_url()
    return key, ss[f"{P}_base"]


top = st.columns([1, 1, 1, 3])
with top[0]:
    c = ui.int_input(P, "c", "input channels C", 1, 4096, DEFAULT_SHAPE[0])
with top[1]:
    h = ui.int_input(P, "h", "input height H", 1, 8192, DEFAULT_SHAPE[1])
with top[2]:
    w = ui.int_input(P, "w", "input width W", 1, 8192, DEFAULT_SHAPE[2])
with top[3]:
    st.selectbox("Start from an example", list(EXAMPLES), index=None, key=f"{P}_example", on_change=_load_example,
                 placeholder="choose an example chain...")

key, base = _editor_base()
column_config = {
    "layer": st.column_config.SelectboxColumn("layer", options=[CONV, TRANSPOSE], required=True, width=130),
    "out_channels": st.column_config.NumberColumn("out_channels", min_value=1, step=1, required=True, width=105),
    "kernel_size": st.column_config.TextColumn("kernel_size", required=True, width=95,
                                               help="3, or height,width such as 3,5"),
    "stride": st.column_config.TextColumn("stride", width=65, help="1 if empty; 2 or 2,1"),
    "padding": st.column_config.TextColumn("padding", width=75,
                                           help="0 if empty; 1, 1,0, or 'same' / 'valid' (Conv2d only)"),
    "output_padding": st.column_config.TextColumn("output_padding", width=122,
                                                  help="ConvTranspose2d only: extra bottom/right rows/columns, "
                                                       "smaller than stride or dilation"),
    "dilation": st.column_config.TextColumn("dilation", width=70, help="1 if empty"),
    "groups": st.column_config.NumberColumn("groups", min_value=1, step=1, width=65,
                                            help="1 if empty; must divide both channel counts"),
}
if not presenting:
    st.markdown("**Layers**, first to last (edit a cell by double-clicking it; add a row with the + below the table, "
                "delete one by selecting it at the left and pressing Delete)")
rows = st.data_editor(base, num_rows="dynamic", column_config=column_config, column_order=CELL_FIELDS, key=key,
                      width="stretch", hide_index=True)
st.session_state[f"{P}_rows"] = rows
ui.show_url_notes()

layers, problems = [], []
for number, cells in enumerate(rows, start=1):
    try:
        layers.append(layer_from_cells(cells, number))
    except ValueError as err:
        problems.append(str(err))
if problems:
    for text in problems:
        st.error(f"The table has a cell the planner cannot read: {text}", icon=":material/table_rows:")
    st.stop()
ui.set_url_value(URL_KEY, chain_to_text(layers), DEFAULT_TEXT)
if not layers:
    st.info("The chain is empty: add a row to the table (the + at its bottom) or choose an example.")
    st.stop()

plan = plan_chain((c, h, w), layers)
if presenting:  # the table and the chain, as tall as the screen allows
    room = present.screen().figure_size(CONTROLS + TABLE_ROW * len(rows), step_buttons=False)
    st.plotly_chart(chain_figure(plan, height=room["max_height"], fonts=room["fonts"]), key=f"{P}_chart",
                    config={"displayModeBar": False})
    st.stop()
figure = chain_figure(plan)
st.plotly_chart(figure, key=f"{P}_chart", config={"displayModeBar": False})
figure_downloads(figure, f"{P}_chart_export", "shape-plan")
st.page_link("pages/lab/chain.py", label="Run on an image (the layer-chain lab)", icon=":material/image:",
             query_params={"chain_steps": lab_text(layers, st.query_params.get(f"{P}_chain")),
                           "chain_chan": "grayscale" if c == 1 else "RGB"})


def _status(step) -> str:
    if step.error:
        return "invalid" if step.in_shape else "-"
    if step.target is None:
        return "ok"
    return "misses its mirror" if step.mismatch else "matches its mirror"


st.dataframe(
    [{"#": s.index + 1, "layer": s.layer.kind, "input (C, H, W)": str(s.in_shape or "-"),
      "output (C, H, W)": str(s.out_shape or "-"), "mirrors": f"layer {s.mirrors + 1}" if s.mirrors is not None else "",
      "expected": str(s.target) if s.target else "", "status": _status(s)} for s in plan.steps],
    hide_index=True, width="stretch", key=f"{P}_table",
)

if plan.error is not None:
    st.error(f"Layer {plan.error.index + 1} ({plan.error.layer.kind}) is rejected by PyTorch: {plan.error.error}",
             icon=":material/block:")
    st.stop()

def _mismatch_text(step) -> str:
    """Why a ConvTranspose2d misses its mirror, with the engine's ranges: the Conv2d rounds down, so several input
    sizes give its output; the transpose reaches a range of sizes and output_padding picks one."""
    conv = plan.steps[step.mirrors]
    text = f"**Layer {step.index + 1}** gives `{step.out_shape}` but layer {step.mirrors + 1} received `{step.target}`."
    if step.out_shape[1:] != step.target[1:]:
        spec = step.layer
        low, high = transpose_output_range(step.in_shape[1:], spec.kernel_size, spec.stride, spec.padding, spec.dilation)
        if not isinstance(conv.layer.padding, str):
            c_low, c_high = transpose_output_range(conv.out_shape[1:], conv.layer.kernel_size, conv.layer.stride,
                                                   conv.layer.padding, conv.layer.dilation)
            many = [f"{name} {c_low[i]} to {c_high[i]}" for i, name in enumerate(("heights", "widths"))
                    if c_high[i] > c_low[i]]
            if many:
                text += (f" Layer {step.mirrors + 1}'s Conv2d rounds down, floor((H + 2p - d(k-1) - 1) / s) + 1: all "
                         f"input {' and '.join(many)} give {conv.out_shape[1]}x{conv.out_shape[2]}, so the way back "
                         "is ambiguous.")
        text += (f" With padding={_pair_text(spec.padding)} this ConvTranspose2d reaches heights {low[0]} to "
                 f"{high[0]} and widths {low[1]} to {high[1]}; output_padding picks within that range, padding "
                 "moves it.")
    if step.out_shape[0] != step.target[0]:
        text += f" Its out_channels should be {step.target[0]}, not {step.out_shape[0]}."
    return text


def _pair_text(pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


for step in plan.mismatches:
    st.warning(_mismatch_text(step), icon=":material/straighten:")

if plan.mismatches:
    fix = solve_chain((c, h, w), layers)
    if fix.changes:
        st.markdown("**Suggested fix** (computed by the solver, checked by re-planning):")
        st.markdown("\n".join(f"- {change}" for change in fix.changes))
    for problem in fix.problems:
        st.error(f"Not solvable by padding / output_padding alone: {problem}", icon=":material/block:")
    if fix.changes:
        st.button("Apply the fix", key=f"{P}_apply", type="primary", icon=":material/build:", on_click=_set_chain,
                  args=(None, fix.layers))
elif plan.returns_to_input:
    st.success(f"The chain returns to the input shape {plan.input_shape}.", icon=":material/check_circle:")
elif not any(s.target for s in plan.steps):
    st.info(f"The chain ends at {plan.output_shape}; it has no ConvTranspose2d mirroring a Conv2d, so there is "
            "nothing to compare with.")
else:
    st.info(f"Every ConvTranspose2d matches its mirror; the chain ends at {plan.output_shape} (the input is "
            f"{plan.input_shape}, so some Conv2d layers are not mirrored).")

st.subheader("PyTorch code")
activation = ui.choice(P, "act", "activation between layers", ACTIVATIONS, "ReLU", horizontal=True,
                       help="Activations do not change shapes; none after the last layer.")
code = to_pytorch(plan, None if activation == "none" else activation)
st.code(code, language="python")
st.download_button("Download model.py", code, file_name="model.py", mime="text/x-python", on_click="ignore",
                   icon=":material/download:", key=f"{P}_download")
ui.show_url_notes()
