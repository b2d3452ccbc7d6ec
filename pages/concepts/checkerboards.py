"""Checkerboard artifacts: the overlap count map of a transposed convolution, and a real image upsampled by a
transposed convolution against resize-then-convolve (after Odena, Dumoulin and Olah, Distill 2016)."""
import numpy as np
import streamlit as st

from convcore.images import imaging
from convcore import ui
from convcore.teaching.codegen import layer_expr
from convcore.teaching.concepts import (
    checkerboard_strength,
    interior_overlap,
    resize_then_convolve,
    upsample_transposed,
)
from convcore.images.kernels import bilinear_upsampling
from convcore.teaching.trace import overlap_counts
from convcore.ui import present
from convcore.ui.export import figure_downloads
from convcore.ui.lab import SAMPLES, sample_path
from convcore.viz.concepts import images_figure
from convcore.viz.maps import overlap_figure

P = "chk"
KERNELS = ["box", "random", "bilinear"]
MAP_INPUT = 5  # the overlap map is drawn for a 5x5 input: small enough to read every count
FIGURES = ("Overlap counts", "Upsampled images")  # presentation mode shows one at a time
CONTROLS = 92  # page pixels of the row of controls above the figure (measured in Chromium)

presenting = present.page_header(
    P, "Checkerboard artifacts",
    "A ConvTranspose2d with stride s stamps a k x k kernel onto the output every s pixels. When k is not a "
    "multiple of s the stamps overlap unevenly: some output pixels get more kernel taps than their neighbours, "
    "and the pattern repeats every s pixels, in 2-D as a checkerboard. From Odena, Dumoulin and Olah, "
    "\"Deconvolution and Checkerboard Artifacts\", Distill 2016.", figures=FIGURES)
screen = present.screen()

cols = st.columns([1, 1, 1.6, 1.6, 1])
with cols[0]:
    s = ui.int_input(P, "s", "stride", 1, 4, 2)
with cols[2]:
    kernel_kind = ui.choice(P, "kernel", "kernel", KERNELS, "box", horizontal=True,
                            help="box: all ones. random: positive random weights, like an untrained layer. "
                                 "bilinear: the interpolation kernel of size 2s - s%2 (fixed size).")
with cols[1]:
    k = ui.int_input(P, "k", "kernel size", 1, 8, 3, disabled=kernel_kind == "bilinear",
                     help="Ignored for the bilinear kernel, whose size is 2s - s%2.")
with cols[3]:
    sample = ui.choice(P, "img", "image", list(SAMPLES), "brick wall (grayscale)")
with cols[4]:
    side = ui.int_input(P, "side", "image side (px)", 16, 160, 64, help="the long side the sample is shrunk to")
ui.show_url_notes()

if kernel_kind == "bilinear":
    kernel = bilinear_upsampling(s)
    k = kernel.shape[0]
elif kernel_kind == "random":
    kernel = np.random.default_rng(0).uniform(0.5, 1.5, (k, k))
else:
    kernel = np.ones((k, k))


def overlap_section() -> None:
    """The overlap count map beside what it means (in presentation mode the map alone, filling the screen)."""
    counts = overlap_counts((MAP_INPUT, MAP_INPUT), k, s)
    inner = interior_overlap(counts, k) if min(counts.shape) > 2 * (k - 1) else counts
    low, high = int(inner.min()), int(inner.max())
    size = screen.figure_size(CONTROLS, step_buttons=False) if presenting else {"max_width": 620, "max_height": 540}
    figure = overlap_figure(counts, **size, title=f"taps per output pixel, k={k}, s={s}",
                            caption=f"{low} to {high} taps away from the border" if low != high else
                            f"{low} taps everywhere away from the border")
    if presenting:
        st.plotly_chart(figure, key=f"{P}_counts", width="content", config={"displayModeBar": False})
        return
    st.subheader("Overlap counts")
    left, right = st.columns([1.3, 1])
    with left:
        st.plotly_chart(figure, key=f"{P}_counts", width="content", config={"displayModeBar": False})
        figure_downloads(figure, f"{P}_counts_export", f"overlap-k{k}-s{s}")
    with right:
        overlap_text(low, high)


def overlap_text(low: int, high: int) -> None:
    st.markdown(
        f"A {MAP_INPUT}x{MAP_INPUT} input through `ConvTranspose2d(kernel_size={k}, stride={s})` with every weight 1 "
        f"and every input 1, computed by the engine: each output pixel shows how many kernel taps land on it."
    )
    if k % s == 0:
        st.success(
            f"k = {k} is a multiple of s = {s}: away from the border every output pixel gets the same {low} taps "
            f"(k/s = {k // s} per axis). The overlap is even.", icon=":material/check_circle:")
    elif k < s:
        st.warning(
            f"k = {k} is smaller than s = {s}: the stamps do not even touch. Away from the border the counts are "
            f"{low} and {high}: gaps of pixels that no tap reaches.", icon=":material/grid_4x4:")
    else:
        st.warning(
            f"k mod s = {k} mod {s} = {k % s}, not 0: away from the border the counts alternate between {low} and "
            f"{high}, with period {s}. Per axis some positions get ceil(k/s) = {-(-k // s)} taps and others "
            f"floor(k/s) = {k // s}; in 2-D the two multiply, which is the checkerboard.", icon=":material/grid_4x4:")
    st.caption("Make the overlap even with a kernel size divisible by the stride (k=4, s=2), or avoid it: resize "
               "first, then convolve with stride 1.")


@st.cache_data(show_spinner=False, max_entries=16)
def grey_sample(name: str, side: int) -> np.ndarray:
    """The sample as grey float64 (H, W) in 0..255, long side at most `side` (area-averaged)."""
    pixels = imaging.fit_within(imaging.load_path(sample_path(name)).pixels, side)
    return imaging.to_channels(pixels, 1)[0].astype(np.float64)


def images_section() -> None:
    """The sample upsampled by the transposed convolution and by resize-then-convolve, the strength of the pattern
    and the code (in presentation mode the pictures alone)."""
    if not presenting:
        st.subheader("A real image, upsampled two ways")
    image = grey_sample(sample, side)
    try:
        up, padding, out_pad = upsample_transposed(image, kernel * (s * s / kernel.sum()), s)
    except ValueError as err:
        st.error(f"No padding makes this ConvTranspose2d exactly {s}x larger, so the two upsamplers cannot be compared "
                 f"pixel for pixel: {err}", icon=":material/block:")
        return
    nearest = resize_then_convolve(image, kernel / kernel.sum(), s, "nearest")
    bilinear = resize_then_convolve(image, kernel / kernel.sum(), s, "bilinear")
    panels = {
        f"input {image.shape[0]}x{image.shape[1]}": image,
        "ConvTranspose2d": up,
        "nearest resize + Conv2d": nearest,
        "bilinear resize + Conv2d": bilinear,
    }
    scales = {next(iter(panels)): s}
    aspect = image.shape[0] / image.shape[1]
    if presenting:  # four panels across the screen, as tall as their width allows, within the screen
        size = screen.figure_size(CONTROLS, step_buttons=False)
        fonts = size["fonts"]
        height = min(size["max_height"], int(fonts.px(40) + 0.98 * size["max_width"] / len(panels) * aspect))
        figure = images_figure(panels, scales, height=height, fonts=fonts)
        st.plotly_chart(figure, key=f"{P}_images", config={"displayModeBar": False})
        return
    figure = images_figure(panels, scales, height=int(40 + 220 * aspect))
    st.plotly_chart(figure, key=f"{P}_images", config={"displayModeBar": False})
    figure_downloads(figure, f"{P}_images_export", f"upsampled-k{k}-s{s}")
    st.caption(
        f"Same kernel in all three (scaled so that a flat image keeps its brightness: weights sum to s² = {s * s} for "
        "the transposed convolution, which spreads each pixel over s x s outputs, and to 1 after a resize). Zoom into "
        "one panel and the others follow; the input is drawn at s times its size."
    )
    border = k + s
    st.markdown(f"**Strength of the pattern that repeats every {s} pixels** (0 = none):")
    metrics = st.columns(3)
    for column, (name, img) in zip(metrics, list(panels.items())[1:]):
        try:
            column.metric(name, f"{checkerboard_strength(img, s, border):.3f}",
                          help="(max - min) / mean of the average brightness of the s x s phases of the output "
                               f"(pixel (i, j) belongs to phase (i mod {s}, j mod {s})), {border} border pixels "
                               "left out. 0 means no pattern that repeats every s pixels.")
        except ValueError as err:
            column.error(f"Too small to measure: {err}")

    with st.expander("PyTorch code for both upsamplers", icon=":material/code:"):
        transpose_expr = layer_expr("conv_transpose2d", 1, 1, k, s, padding, output_padding=out_pad, bias=False)
        conv_expr = layer_expr("conv2d", 1, 1, k, 1, "same", bias=False)
        st.code(
            "import torch\nfrom torch import nn\n\n"
            f"transposed = {transpose_expr}\n"
            f"resize_conv = nn.Sequential(nn.Upsample(scale_factor={s}, mode='nearest'), {conv_expr})\n"
            f"x = torch.rand(1, 1, {image.shape[0]}, {image.shape[1]})\n"
            f"print(transposed(x).shape, resize_conv(x).shape)  # both (1, 1, {up.shape[0]}, {up.shape[1]})\n",
            language="python",
        )
        st.caption(f"padding={padding[0]} and output_padding={out_pad[0]} make the transposed output exactly s times "
                   "the input (solved by the shape planner's solver).")


if present.shown(P, FIGURES[0]):
    overlap_section()
if present.shown(P, FIGURES[1]):
    images_section()
