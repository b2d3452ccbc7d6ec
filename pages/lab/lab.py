"""Image lab: the engine's Conv2d / ConvTranspose2d on a real photo, every parameter, any upload."""
import numpy as np
import streamlit as st

from convcore.images import imaging
from convcore.teaching.chain import single_layer_text
from convcore.images.kernels import bilinear_padding, channel_weight
from convcore.ui import code_panel, conv_params, lab, shape_panel
from convcore.ui.url_state import choice, show_url_notes
from convcore.viz import images as figures

P = "lab"  # widget-key and URL prefix
OPS = {"Conv2d": False, "ConvTranspose2d": True}

st.title("Image lab")
st.caption("Any kernel and every Conv2d / ConvTranspose2d parameter on a real photo, computed by the same engine as "
           "the lessons (it matches PyTorch exactly).")

# ---- controls (sidebar): image, layer, channels --------------------------------------------------------------------
with st.sidebar:
    st.subheader("Image")
    picked = lab.image_source(P)
    side = choice(P, "side", "Working size (long side, px)", lab.WORKING_SIDES, "full",
                  help="Downscale before filtering (area average): small sizes make single pixels and "
                       "checkerboards visible, and make large kernels and transposed layers quick.")
    st.subheader("Channels")
    mode, matrix, bias = lab.channel_controls(P)
    st.subheader("Layer")
    op = choice(P, "op", "Operation", list(OPS), "Conv2d", horizontal=True)
    transposed = OPS[op]
    layer_box = st.container()  # filled below, once the kernel's size is known

kernel_box, values_box = st.columns([3, 2], gap="medium")
with kernel_box:
    kernel_name, kernel, kernel_options = lab.kernel_controls(P)

channels = 1 if mode == "grayscale" else 3
groups = 3 if mode == "per channel" else 1
kernel_shape = kernel.shape if kernel is not None else (3, 3)
defaults = dict(in_channels=channels, out_channels=channels, groups=groups, kernel_size=tuple(kernel_shape),
                bias=bias != 0, height=1, width=1, padding=(0, 0) if transposed else "same")
limits = {"stride": 8, "padding": 2 * lab.MAX_KERNEL_SIZE, "dilation": 8}
with layer_box:
    cfg = conv_params(P, transposed=transposed, defaults=defaults, limits=limits,
                      show=("stride", "padding", "dilation", "padding_mode", "output_padding"))
    show_url_notes()

if kernel_name == "bilinear upsampling":
    factor = kernel_options["factor"]
    ready = transposed and cfg.stride == (factor, factor) and tuple(cfg.padding) == (bilinear_padding(factor),) * 2
    with kernel_box:
        if not ready:
            st.button(f"Use it: ConvTranspose2d, stride {factor}, padding {bilinear_padding(factor)}",
                      on_click=lab.bilinear_setup, args=(P, factor), icon=":material/open_in_full:")

if picked.image is None:
    if picked.is_error:
        st.error(picked.message, icon=":material/broken_image:")
    else:
        st.info(picked.message, icon=":material/image:")
if picked.image is None or kernel is None:
    st.stop()  # the reason is on the page; every control keeps its value

source_key, image = picked.key, picked.image
work = lab.working_input(source_key, side, channels, image)
x = work.x
cfg = type(cfg)(**{**cfg.as_dict(), "height": x.shape[1], "width": x.shape[2]})
weight, groups = channel_weight(kernel, mode, matrix, transposed=transposed)
weight = weight.astype(np.float32)

with values_box:
    st.markdown(f"**Image** {image.width} x {image.height} {image.format} ({image.mode})"
                + ("" if (x.shape[2], x.shape[1]) == (image.width, image.height)
                   else f", working at {x.shape[2]} x {x.shape[1]}"))
    st.markdown(f"**Layer** `{op}({channels}, {channels}, kernel_size={tuple(kernel.shape)}, groups={groups})`  \n"
                f"**weight** `{tuple(weight.shape)}`, groups = {groups}"
                + (f", bias = {bias:g}" if bias else ", bias=False"))
    for note in image.notes:
        st.caption(f":material/info: {note}")
    if kernel_name != lab.CUSTOM:
        lab.kernel_values(kernel)

try:
    out_hw = cfg.output_hw()
    imaging.check_output_size(out_hw)
except (ValueError, TypeError) as err:
    reach = [d * (k - 1) + 1 for d, k in zip(cfg.dilation, kernel.shape)]
    st.error(f"{op} can't run on this image: {err}", icon=":material/block:")
    st.info(f"The image is {x.shape[1]} x {x.shape[2]} at this working size; the dilated kernel spans "
            f"{reach[0]} x {reach[1]} pixels. Use padding 'same' or more padding, a smaller kernel or dilation, a "
            "larger working size, or a smaller stride.", icon=":material/lightbulb:")
    st.stop()

try:
    result = lab.run_layer(source_key, side, channels, repr(cfg), lab.digest(weight.tobytes()), bias, cfg, x, weight)
except (ValueError, TypeError) as err:  # the engine's own rule, should the checks above have missed one
    st.error(f"{op} can't run on this image: {err}", icon=":material/block:")
    st.stop()
except MemoryError:
    st.error("The server ran out of memory for this configuration: choose a smaller working size.",
             icon=":material/memory:")
    st.stop()
out = result.output

# ---- display controls and figures -----------------------------------------------------------------------------
c1, c2, c3 = st.columns([3, 2, 2])
with c1:
    display_mode = choice(P, "show", "Show signed values as", list(imaging.DISPLAY_MODES), "clip", horizontal=True,
                          help="; ".join(f"{k}: {v}" for k, v in imaging.DISPLAY_MODES.items()))
with c2:
    view = choice(P, "view", "View", ["side by side", "difference"], "side by side", horizontal=True,
                  help="difference = output - input, when they have the same shape.")
with c3:
    zoom = choice(P, "zoom", "Scale", ["fit", "1:1 crop"], "fit", horizontal=True,
                  help=f"fit: the whole image, each shown pixel the mean of a block; 1:1 crop: the real pixels of a "
                       f"{figures.HOVER_MAX_SIDE} x {figures.HOVER_MAX_SIDE} window, enlarged.")
show_url_notes()

value_range = result.value_range(display_mode)
if zoom == "fit":
    shown_in, shown_out, in_scale, out_scale = work.display, result.display, work.scale, result.scale
    offset_in = offset_out = (0, 0)
else:
    cy, cx = st.columns(2)
    centre = (cy.slider("crop centre (down %)", 0, 100, 50, key=f"{P}_cy", bind="query-params") / 100,
              cx.slider("crop centre (right %)", 0, 100, 50, key=f"{P}_cx", bind="query-params") / 100)
    shown_in, offset_in = imaging.centre_crop(x, centre, figures.HOVER_MAX_SIDE)
    shown_out, offset_out = imaging.centre_crop(out, centre, figures.HOVER_MAX_SIDE)
    in_scale = out_scale = 1

if transposed:
    lo, hi = lab.flat_response(kernel, cfg.stride, cfg.dilation)
    if hi - lo > 1e-6 * max(1.0, abs(hi)):
        st.warning(f"Checkerboard: on a flat input this layer's interior output varies between {lo:.4g} and "
                   f"{hi:.4g} with a period of the stride {cfg.stride}, because the kernel taps overlap unevenly "
                   f"(kernel {tuple(kernel.shape)} vs stride {cfg.stride}). Bilinear upsampling avoids it.",
                   icon=":material/grid_4x4:")

if view == "side by side" or zoom != "fit":
    shown = lab.input_panels(f"{source_key}|{side}|{channels}|{in_scale}|{offset_in}", in_scale, offset_in,
                             f"input {tuple(x.shape)}", shown_in)
    shown += figures.output_panels(shown_out, display_mode, value_range, out_scale, offset_out,
                                   f"output {tuple(out.shape)}")
    fig = figures.compose(shown, figures.aspect_of(shown_in, shown_out))
    st.plotly_chart(fig, key=f"{P}_figure", config={"displaylogo": False})
if view == "difference":
    if out.shape != x.shape:
        st.info(f"The difference needs the output to have the input's shape: output {tuple(out.shape)}, input "
                f"{tuple(x.shape)}. Use stride 1 with padding 'same' (Conv2d) to compare pixel by pixel.",
                icon=":material/compare:")
    else:
        if zoom == "fit":
            diff, scale = result.display - work.display, work.scale  # area averages are linear: mean(y - x)
        else:
            diff, scale = shown_out - shown_in, 1
        st.plotly_chart(figures.difference_figure(diff, scale=scale, offset=offset_out), key=f"{P}_diff",
                        config={"displaylogo": False})
if display_mode == "diverging":
    st.caption(f"Diverging scale: white = 0, full blue / red at -{value_range[1]:.4g} / +{value_range[1]:.4g} (99.5% of "
               f"|values| are inside; the output ranges from {result.low:.4g} to {result.high:.4g}).")
if zoom == "fit" and max(result.scale, work.scale) > 1:
    st.caption(f"Display copies: each shown pixel averages about {result.scale:.3g} x {result.scale:.3g} pixels of the "
               "output (hover reads those means); choose '1:1 crop' to see single pixels.")

hist = result.histogram  # computed here, below the picture (LabResult)
st.plotly_chart(figures.histogram_figure(hist.counts, hist.edges, sampled=hist.sampled), key=f"{P}_hist",
                config={"displaylogo": False})
if display_mode == "clip" and (hist.below or hist.above):
    st.caption(f"{100 * hist.below:.1f}% of output values are below 0 and {100 * hist.above:.1f}% above 255: "
               "clip shows them as black / white; 'diverging' shows their sign and size.")

# ---- downloads, shapes, code --------------------------------------------------------------------------------------
d1, d2 = st.columns(2)
stem = f"{kernel_name.replace(' ', '_')}_{op.lower()}"
d1.download_button("Download PNG (as shown)", data=lambda: imaging.png_bytes(out, display_mode, value_range),
                   file_name=f"{stem}_{display_mode}.png", mime="image/png", on_click="ignore",
                   icon=":material/download:", width="stretch")
d2.download_button("Download raw float32 .npy", data=lambda: imaging.npy_bytes(out),
                   file_name=f"{stem}.npy", mime="application/octet-stream", on_click="ignore",
                   icon=":material/data_array:", width="stretch",
                   help=f"np.load gives the exact {tuple(out.shape)} float32 output (C, H, W).")

if cfg.padding_mode == "zeros":  # the chain lab's layers pad with zeros
    chain_query = {"chain_steps": single_layer_text(op, weight, cfg.stride, cfg.padding, cfg.output_padding,
                                                    cfg.dilation, groups, bias),
                   "chain_chan": "grayscale" if channels == 1 else "RGB", "chain_side": side}
    if st.query_params.get(f"{P}_src", "sample") == "sample":
        chain_query["chain_sample"] = st.query_params.get(f"{P}_sample", "astronaut")
    st.page_link("pages/lab/chain.py", label="Continue as a chain of layers (add steps after this one)",
                 icon=":material/linear_scale:", query_params=chain_query)

with st.expander("Shapes and output-size formula", icon=":material/straighten:"):
    shape_panel(cfg)
code_panel(cfg, x[None, :, :2, :2], weight, np.full(channels, bias, np.float32) if bias else None,
           input_expr=f"torch.rand(1, {channels}, {x.shape[1]}, {x.shape[2]}) * 255  # your image, float32 0..255")
