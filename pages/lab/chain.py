"""Layer chains: Conv2d / ConvTranspose2d layers and elementwise steps on a real photo, each step's output shown,
the reconstruction view for chains that return to the input's size, and the chain in the shape planner."""
import numpy as np
import streamlit as st

from convcore.images import imaging
from convcore.teaching.chain import PRESET_CHAINS, LayerStep, chain_text, conv_layers, flat_checkerboard, psnr, sequential_code
from convcore.teaching.planner import chain_to_text
from convcore.ui import chain as ui_chain
from convcore.ui import lab
from convcore.ui.url_state import choice, set_url_value, show_url_notes
from convcore.viz import images as figures

P = "chain"
URL_KEY = f"{P}_steps"
DEFAULT_PRESET = "blur then Sobel"
DEFAULT_TEXT = PRESET_CHAINS[DEFAULT_PRESET][1]
CHANNELS = {"RGB": 3, "grayscale": 1}

st.title("Layer chains")
st.caption("A chain of Conv2d / ConvTranspose2d layers with ReLU, abs and scale/offset steps between them, on a real "
           "photo: every step's output, computed by the engine (it matches PyTorch's nn.Sequential exactly).")


def _load_preset() -> None:
    name = st.session_state.get(f"{P}_preset")
    if name in PRESET_CHAINS:
        channels, text, _ = PRESET_CHAINS[name]
        st.session_state[f"{P}_chan"] = "grayscale" if channels == 1 else "RGB"
        ui_chain.set_chain(P, text, DEFAULT_TEXT)
    st.session_state[f"{P}_preset"] = None


with st.sidebar:
    st.subheader("Image")
    picked = lab.image_source(P)
    side = choice(P, "side", "Working size (long side, px)", lab.WORKING_SIDES, "512",
                  help="Downscale before the chain (area average): small sizes show single pixels and checkerboards.")
    mode_name = choice(P, "chan", "Input channels", list(CHANNELS), "grayscale", horizontal=True)
    display_mode = choice(P, "show", "Show values as", list(imaging.DISPLAY_MODES), "min-max",
                          help="; ".join(f"{k}: {v}" for k, v in imaging.DISPLAY_MODES.items()))

st.selectbox("Start from a preset", list(PRESET_CHAINS), index=None, key=f"{P}_preset", on_change=_load_preset,
             placeholder="choose a chain that teaches something...")
st.markdown("**Steps**, first to last: add a row with the + under the table, delete one by selecting it at the left "
            "and pressing Delete, edit a cell by double-clicking it.")
rows = ui_chain.step_table(P, DEFAULT_TEXT)
m1, m2, m3, _ = st.columns([1, 1, 1, 4], vertical_alignment="bottom")
m1.number_input("move step", 1, max(1, len(rows)), 1, key=f"{P}_pick")
m2.button("Up", key=f"{P}_up", on_click=ui_chain.move, args=(P, -1), icon=":material/arrow_upward:")
m3.button("Down", key=f"{P}_down", on_click=ui_chain.move, args=(P, 1), icon=":material/arrow_downward:")
steps, read_error = ui_chain.read_rows(rows, 8)
if read_error is None or read_error.index >= 8:
    set_url_value(URL_KEY, chain_text(steps), DEFAULT_TEXT)
show_url_notes()

channels = CHANNELS[mode_name]
planner_query = {"plan_layers": chain_to_text(conv_layers(steps)), "plan_chain": chain_text(steps)}
if picked.image is None:
    (st.error if picked.is_error else st.info)(picked.message, icon=":material/image:")
    st.stop()

work = lab.working_input(picked.key, side, channels, picked.image)
x = work.x
c, h, w = x.shape
planner_query.update(plan_c=str(c), plan_h=str(h), plan_w=str(w))
st.page_link("pages/concepts/planner.py", label="Open this chain in the shape planner", icon=":material/account_tree:",
             query_params=planner_query)

result = ui_chain.run(steps, x, f"{picked.key}|{side}|{channels}")
errors = [e for e in (read_error, result.error) if e is not None]
error = min(errors, key=lambda e: e.index) if errors else None  # the first step that stops the chain

st.plotly_chart(figures.compose(lab.input_panels(f"{picked.key}|{side}|{channels}|{work.scale}", work.scale, (0, 0),
                                                 f"input {tuple(x.shape)}", work.display), figures.aspect_of(work.display)),
                key=f"{P}_input", config={"displaylogo": False})
in_shape = x.shape
summaries = []
for i, (step, out) in enumerate(zip(result.steps, result.outputs)):
    summary = ui_chain.summary(f"{picked.key}|{side}|{channels}", chain_text(result.steps[: i + 1]), out)
    summaries.append(summary)
    with st.container(border=True):
        st.markdown(ui_chain.step_text(step, i, in_shape, out, summary))
        pic, hist = st.columns([3, 2])
        pic.plotly_chart(ui_chain.step_figure(summary, display_mode, f"step {i + 1} {tuple(out.shape)}"),
                         key=f"{P}_step{i}", config={"displaylogo": False})
        counts = summary.histogram
        hist.plotly_chart(figures.histogram_figure(counts.counts, counts.edges, sampled=counts.sampled),
                          key=f"{P}_hist{i}", config={"displaylogo": False})
    in_shape = out.shape
if error is not None:
    st.error(f"{error} (the steps before it keep their results; the table keeps what you typed)",
             icon=":material/block:")
elif not steps:
    st.info("The chain is empty: add a row to the table or choose a preset.")

# ---- reconstruction: a chain that leaves the input's size and returns to it ------------------------------------
returns = bool(result.outputs) and result.outputs[-1].shape == x.shape and any(o.shape != x.shape for o in result.outputs)
if error is None and returns:
    out = result.outputs[-1]
    st.subheader("Reconstruction")
    db = psnr(x, out)
    board = flat_checkerboard(steps, channels)
    cols = st.columns(3)
    cols[0].metric("PSNR (output vs input)", "identical" if db == float("inf") else f"{db:.2f} dB")
    cols[1].metric("max |output - input|", f"{float(np.max(np.abs(out - x))):.4g}")
    if board is not None:
        cols[2].metric(f"checkerboard strength (flat input, period {board[1]})", f"{board[0]:.3g}",
                       help="The checkerboards page's measure: (max - min) / mean of the output's phase means on a flat "
                            "grey input; 0 = no stride-periodic pattern.")
    last = summaries[-1]
    shown = lab.input_panels(f"{picked.key}|{side}|{channels}|{work.scale}", work.scale, (0, 0), "input", work.display)
    shown += figures.output_panels(last.display, "clip", (0.0, 255.0), last.scale, (0, 0), "output")
    st.plotly_chart(figures.compose(shown, figures.aspect_of(work.display)), key=f"{P}_recon",
                    config={"displaylogo": False})
    st.plotly_chart(figures.difference_figure(last.display - work.display, scale=work.scale), key=f"{P}_diff",
                    config={"displaylogo": False})

st.subheader("A/B comparison")
if st.toggle("Compare with a second chain (B)", key=f"{P}_ab", bind="query-params", on_change=ui_chain.start_b,
             args=(P, chain_text(steps)),
             help="B starts as this chain: change one step's text to see what that one change does."):
    ui_chain.compare(P, result.steps, result.outputs, x, f"{picked.key}|{side}|{channels}", display_mode)

with st.expander("PyTorch code (nn.Sequential with these weights)", icon=":material/code:"):
    if error is None and steps:
        code = sequential_code(steps, channels)
        st.code(code + f"\nx = torch.rand(1, {c}, {h}, {w}) * 255  # your image, float32 0..255\ny = model(x)\n",
                language="python")
    else:
        st.caption("Fix the chain to export it.")
st.caption("Layers without bias; weights: " + ", ".join(f"step {i + 1} {s.weights}" for i, s in enumerate(steps)
                                                      if isinstance(s, LayerStep)))
