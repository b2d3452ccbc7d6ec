"""The image lab's Streamlit helpers: image sources, kernel and channel controls, and the cached heavy steps.

Heavy work is cached with st.cache_resource (shared, read-only arrays; st.cache_data would pickle 100+ MB copies on
every rerun) and keyed by small strings, never by hashing a full-resolution array:
decode once per file, convert once per (file, working size, channels), run the layer once per configuration.
Moving a display control therefore reuses everything and only remaps a display-sized copy.
"""
from __future__ import annotations

import hashlib
import time
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from ..images import imaging
from ..viz import images as figures
from ..functional import conv_transpose2d
from ..images.kernels import (
    CHANNEL_MATRICES,
    CHANNEL_MODES,
    MAX_KERNEL_SIZE,
    PRESETS,
    KernelParseError,
    bilinear_padding,
    format_kernel,
    make_kernel,
    parse_kernel,
)
from .config import ConvConfig
from .url_state import check_url_value, choice, widget_key

__all__ = [
    "SAMPLES",
    "WORKING_SIDES",
    "WorkingInput",
    "LabResult",
    "Histogram",
    "sample_path",
    "decode",
    "working_input",
    "summarise",
    "value_range",
    "run_layer",
    "input_panels",
    "flat_response",
    "Picked",
    "image_source",
    "await_replacement",
    "kernel_controls",
    "kernel_values",
    "channel_controls",
    "kernel_editor_key",
    "float_input",
]

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "assets" / "samples"
SAMPLES = {  # file, credit (assets/README.md has the sources and licences)
    "astronaut": ("astronaut.jpg", "Eileen Collins, NASA (public domain)"),
    "coffee": ("coffee.jpg", "Rachel Michetti (CC0)"),
    "chelsea the cat": ("chelsea.jpg", "Stefan van der Walt (CC0)"),
    "rocket": ("rocket.jpg", "SpaceX (public domain)"),
    "camera (grayscale)": ("camera.jpg", "Lav Varshney (CC0)"),
    "brick wall (grayscale)": ("brick.jpg", "CC0 Textures (CC0)"),
}
WORKING_SIDES = ("full", "2048", "1024", "512", "256", "128", "64")
HIST_BINS = 128
HIST_SAMPLE = 1_000_000  # values per channel for the histogram (a strided sample of larger outputs)
SPREAD_SAMPLE = 100_000  # values per channel for the diverging limit (a percentile: a sorting cost)
DIVERGING_PERCENTILE = 99.5  # the diverging scale ends here; the rarer, larger values saturate
CUSTOM = "custom"
REPLACEMENT_WAIT = 0.6  # s: a replaced upload's second rerun comes well within this (see await_replacement)
DEFAULT_CUSTOM = "1 2 1\n0 0 0\n-1 -2 -1"


def sample_path(name: str) -> Path:
    return SAMPLE_DIR / SAMPLES[name][0]


@dataclass(frozen=True)
class WorkingInput:
    """The engine's input (C, H, W) float32 (read-only), its display copy and the copy's scale (pixels per pixel)."""

    x: np.ndarray
    display: np.ndarray
    scale: float


@dataclass(frozen=True)
class Histogram:
    """Counts per channel over shared bins, from an evenly strided sample of at most HIST_SAMPLE values per channel."""

    counts: np.ndarray  # (C, HIST_BINS)
    edges: np.ndarray  # (HIST_BINS + 1,)
    sampled: int | None  # values per channel in the histogram when it is a sample
    below: float  # fraction of values < 0 (of the sample)
    above: float  # fraction of values > 255
    spread: float  # 99.5th percentile of |value|: the diverging scale's limit


@dataclass(frozen=True)
class LabResult:
    """A layer's output (C, H, W) float32 (read-only) and its display copy; range and histogram when first asked for.

    Only the display copy is made up front: the default view (clip) needs nothing else, so the picture reaches the
    browser first and the statistics (two full passes, a sample, a percentile) follow below it. Each is computed once
    and kept with the cached result.
    """

    output: np.ndarray
    display: np.ndarray
    scale: float

    @cached_property
    def _range(self) -> tuple[float, float]:
        return float(self.output.min()), float(self.output.max())

    @property
    def low(self) -> float:
        return self._range[0]

    @property
    def high(self) -> float:
        return self._range[1]

    @cached_property
    def histogram(self) -> Histogram:
        flat = self.output.reshape(self.output.shape[0], -1)
        step = max(1, -(-flat.shape[1] // HIST_SAMPLE))
        sample = np.ascontiguousarray(flat[:, ::step])
        low, high = self.low, self.high
        hist_range = (low, high) if high > low else (low - 0.5, high + 0.5)
        histograms = [np.histogram(c, bins=HIST_BINS, range=hist_range) for c in sample]  # uniform bins: fast path
        spread = np.percentile(np.abs(sample[:, :: max(1, sample.shape[1] // SPREAD_SAMPLE)]), DIVERGING_PERCENTILE)
        return Histogram(np.stack([h[0] for h in histograms]), histograms[0][1], sample.shape[1] if step > 1 else None,
                         float(np.mean(sample < 0)), float(np.mean(sample > 255)), float(spread))

    def value_range(self, mode: str) -> tuple[float, float]:
        """What the display mode maps to the ends of its scale for this output (clip and absolute need no statistics)."""
        return value_range(self, mode)


def value_range(stats, mode: str) -> tuple[float, float]:
    """The display mode's scale ends for anything with low, high and histogram (read only when the mode needs them)."""
    if mode == "diverging":
        return imaging.range_for(mode, stats.low, stats.high, stats.histogram.spread)
    if mode == "min-max":
        return imaging.range_for(mode, stats.low, stats.high)
    return imaging.range_for(mode, 0.0, 255.0)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def summarise(output: np.ndarray) -> LabResult:
    """The output with its display copy; the range and the histogram (of a sample: HIST_SAMPLE values per channel,
    1 MP of a 12 MP result, the same picture at a twelfth of the cost) are computed when first read."""
    display, scale = imaging.display_copy(output)
    return LabResult(_readonly(output), _readonly(display), scale)


def flat_response(kernel: np.ndarray, stride, dilation) -> tuple[float, float]:
    """(min, max) of a ConvTranspose2d's output on a constant input of ones, away from the borders.

    Unequal values mean a checkerboard: output pixels receive different sums of kernel taps depending on their
    position modulo the stride (the overlap is uneven when the kernel size is not a multiple of the stride).
    """
    k = np.asarray(kernel, dtype=np.float64)
    (sh, sw), (dh, dw) = stride, dilation
    reach = (dh * (k.shape[0] - 1) + 1, dw * (k.shape[1] - 1) + 1)
    n = (reach[0] // sh + 3, reach[1] // sw + 3)
    full = conv_transpose2d(np.ones((1, 1) + n), k[None, None], stride=(sh, sw), dilation=(dh, dw))[0, 0]
    inner = full[reach[0] - 1 : full.shape[0] - reach[0] + 1, reach[1] - 1 : full.shape[1] - reach[1] + 1]
    return float(inner.min()), float(inner.max())


# ---- cached heavy steps ----------------------------------------------------------------------------------------

@st.cache_resource(max_entries=6, ttl=3600, show_spinner=False)
def decode(key: str, _data: bytes) -> tuple[imaging.LoadedImage | None, str | None]:
    """(image, None) or (None, message); keyed by the file's digest so a rerun never decodes again."""
    try:
        return imaging.load_image(_data), None
    except imaging.ImageLoadError as err:
        return None, str(err)


@st.cache_resource(max_entries=4, ttl=3600, show_spinner=False)
def working_input(key: str, side: str, channels: int, _image: imaging.LoadedImage) -> WorkingInput:
    """The image at the working size as the engine's float32 (C, H, W) input, plus its display copy."""
    pixels = imaging.fit_within(_image.pixels, None if side == "full" else int(side))
    x = imaging.to_channels(pixels, channels)
    display, scale = imaging.display_copy(x)
    return WorkingInput(_readonly(x), _readonly(display), scale)


@st.cache_resource(max_entries=3, ttl=3600, show_spinner=False)
def run_layer(key: str, side: str, channels: int, cfg_text: str, weight_digest: str, bias: float,
              _cfg: ConvConfig, _x: np.ndarray, _weight: np.ndarray) -> LabResult:
    """The configured Conv2d / ConvTranspose2d on the working input, through the engine's modules."""
    bias_vector = np.full(_cfg.out_channels, bias, np.float32) if _cfg.bias else None
    out = _cfg.forward(_x, _weight.astype(np.float32), bias_vector)
    return summarise(np.ascontiguousarray(out, dtype=np.float32))


@st.cache_data(max_entries=8, show_spinner=False)
def input_panels(key: str, scale: int, offset: tuple[int, int], label: str, _values: np.ndarray) -> list:
    """The input's figure panels (PNG + hover layer), kept across reruns: the input rarely changes, its PNG costs."""
    return figures.panels(_values, "clip", (0.0, 255.0), scale, offset, label, False)


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# ---- controls ----------------------------------------------------------------------------------------------------

def _bound(key: str, draw, allowed: str):
    """Draw a URL-bound widget and note a link value it did not take (the shared check in url_state)."""
    raw = st.query_params.get(key)  # read first: Streamlit drops an unusable value while drawing
    value = draw()
    check_url_value(key, raw, value, allowed)
    return value


def float_input(prefix: str, name: str, label: str, min_value: float, max_value: float, default: float,
                step: float, help: str | None = None) -> float:
    """A bound float number_input with the same URL check as the shared int_input."""
    key = widget_key(prefix, name)
    value = _bound(key, lambda: st.number_input(label, min_value=float(min_value), max_value=float(max_value),
                                                value=float(default), step=float(step), key=key, help=help,
                                                bind="query-params"),
                   f"a number from {min_value:g} to {max_value:g}")
    return float(value)


@dataclass(frozen=True)
class Picked:
    """The chosen image (key for the caches, decoded image) or why there is none (message; error or just waiting)."""

    key: str | None = None
    image: imaging.LoadedImage | None = None
    message: str = ""
    is_error: bool = False


def image_source(prefix: str) -> Picked:
    """Sample, upload or camera widgets; the page shows Picked.message where the result would be."""
    source = choice(prefix, "src", "Image source", ["sample", "upload", "camera"], "sample", horizontal=True)
    had_file = widget_key(prefix, "_had_file")
    last_run_file = st.session_state.pop(had_file, None)  # the source that held a file in the last run, if any
    if source == "sample":
        name = choice(prefix, "sample", "Sample photo", list(SAMPLES), "astronaut",
                      help="Small public-domain / CC0 photos shipped with the app (see assets/README.md).")
        st.caption(f"Photo: {SAMPLES[name][1]}")
        key = f"sample:{name}"
        image, error = decode(key, _read_sample(name))
    else:
        if source == "upload":
            upload = st.file_uploader(
                "Upload an image", type=list(imaging.UPLOAD_TYPES), max_upload_size=imaging.MAX_UPLOAD_MB,
                key=widget_key(prefix, "upload"),
                help=f"PNG, JPEG, WebP, BMP, GIF or TIFF, up to {imaging.MAX_UPLOAD_MB} MB and "
                     f"{imaging.MAX_PIXELS / 1e6:.0f} megapixels.")
        else:
            upload = st.camera_input("Take a photo", key=widget_key(prefix, "camera"))
        if upload is None:
            if last_run_file == source:
                await_replacement(prefix)
            return Picked(message="Choose an image file in the sidebar (or pick a sample photo) to filter it."
                          if source == "upload" else "Take a photo with the camera in the sidebar to filter it.")
        st.session_state[had_file] = source
        data = upload.getvalue()
        key = digest(data)
        image, error = decode(key, data)
    if error:
        return Picked(message=error, is_error=True)
    return Picked(key, image)


def await_replacement(prefix: str, seconds: float = REPLACEMENT_WAIT) -> None:
    """Give a file being replaced the moment it takes to arrive, so its run can take over from this one.

    Choosing a new file while one is loaded makes Streamlit rerun twice: at once without the old file, then when the
    new one has been uploaded (0.1-0.3 s later). If that first run finished, the browser would clear the figures and
    the page below, then build them all again. Waiting here instead lets the second run stop this one (reading
    st.session_state is a point where a pending rerun stops the script), and the page keeps the last result until
    the new one replaces it in place. A file really removed shows its message after the wait.
    """
    key = widget_key(prefix, "upload")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.02)
        _ = key in st.session_state  # the yield point


def _read_sample(name: str) -> bytes:
    return sample_path(name).read_bytes()


def kernel_editor_key(prefix: str, text: str) -> str:
    """The cells editor's key: tied to the text it shows, so an edit written back to the text starts a fresh editor."""
    return widget_key(prefix, f"kcells_{zlib.crc32(text.encode()):08x}")


def _to_custom(prefix: str) -> None:
    """on_change of the preset: switching to custom starts from the kernel that was shown."""
    if st.session_state.get(widget_key(prefix, "kernel")) == CUSTOM:
        last = st.session_state.get(widget_key(prefix, "_last_kernel"))
        if last:
            st.session_state[widget_key(prefix, "ktext")] = last


def _cells_to_text(prefix: str, editor: str, kernel: np.ndarray) -> None:
    """on_change of the cells editor: write the edited cells back into the text box (the one source of truth)."""
    edits = st.session_state.get(editor, {}).get("edited_rows", {})
    k = kernel.copy()
    for row, cols in edits.items():
        for col, value in cols.items():
            if value is not None and np.isfinite(float(value)):
                k[int(row), int(col)] = float(value)
    st.session_state[widget_key(prefix, "ktext")] = format_kernel(k)


def _resize_text(prefix: str, kernel: np.ndarray) -> None:
    """Button: pad with zeros or crop, keeping the kernel centred."""
    rows = int(st.session_state[widget_key(prefix, "krows")])
    cols = int(st.session_state[widget_key(prefix, "kcols")])
    out = np.zeros((rows, cols))
    r0, c0 = (rows - kernel.shape[0]) // 2, (cols - kernel.shape[1]) // 2
    src = kernel[max(0, -r0) : max(0, -r0) + min(rows, kernel.shape[0]),
                 max(0, -c0) : max(0, -c0) + min(cols, kernel.shape[1])]
    out[max(0, r0) : max(0, r0) + src.shape[0], max(0, c0) : max(0, c0) + src.shape[1]] = src
    st.session_state[widget_key(prefix, "ktext")] = format_kernel(out)


def kernel_controls(prefix: str) -> tuple[str, np.ndarray | None, dict]:
    """Preset (with its options) or custom kernel; returns (name, kernel or None after an error, options)."""
    names = list(PRESETS) + [CUSTOM]
    key = widget_key(prefix, "kernel")
    name = _bound(key, lambda: st.selectbox(
        "Kernel", names, index=names.index("gaussian"), key=key, bind="query-params", on_change=_to_custom,
        args=(prefix,), help="Named kernels, or 'custom' to type or paste your own (cross-correlation: not flipped)."),
        "one of " + ", ".join(names))
    options: dict = {}
    if name == CUSTOM:
        kernel = _custom_kernel(prefix)
    else:
        preset = PRESETS[name]
        st.caption(preset.description)
        options = _preset_options(prefix, preset.options)
        kernel = make_kernel(name, **options)
        st.session_state[widget_key(prefix, "_last_kernel")] = format_kernel(kernel)
    return name, kernel, options


def kernel_values(kernel: np.ndarray) -> None:
    """A collapsed table of a preset's numbers (switch to 'custom' to edit them: it starts from these)."""
    with st.expander(f"Kernel values ({kernel.shape[0]} x {kernel.shape[1]})", icon=":material/grid_on:"):
        st.dataframe(pd.DataFrame(kernel), hide_index=False)
        st.caption("To edit these numbers, choose 'custom': it starts from this kernel.")


def _preset_options(prefix: str, wanted: tuple[str, ...]) -> dict:
    options = {}
    columns = st.columns(max(1, len(wanted))) if wanted else []
    for column, option in zip(columns, wanted):
        with column:
            if option == "size":
                key = widget_key(prefix, "ksize")
                options["size"] = int(_bound(key, lambda: st.slider(
                    "size", 1, MAX_KERNEL_SIZE, 7, step=1, key=key, bind="query-params",
                    help="kernel_size = size x size"), f"a whole number from 1 to {MAX_KERNEL_SIZE}"))
            elif option == "sigma":
                options["sigma"] = float_input(prefix, "sigma", "sigma", 0.1, 20.0, 2.0, 0.1,
                                               help="The Gaussian's standard deviation in pixels.")
            elif option == "amount":
                options["amount"] = float_input(prefix, "amount", "amount", 0.0, 10.0, 1.0, 0.1,
                                                help="How much of the removed detail to add back.")
            elif option == "angle":
                options["angle"] = float_input(prefix, "angle", "angle (deg)", -180.0, 180.0, 0.0, 15.0,
                                               help="Direction of the motion: 0 = horizontal, 90 = vertical.")
            elif option == "factor":
                key = widget_key(prefix, "factor")
                options["factor"] = int(_bound(key, lambda: st.slider(
                    "factor", 1, 16, 2, key=key, bind="query-params",
                    help="Upsampling factor; the kernel is 2*factor - factor%2 wide."), "a whole number from 1 to 16"))
    return options


def _custom_kernel(prefix: str) -> np.ndarray | None:
    text_key = widget_key(prefix, "ktext")
    text = st.text_area("Kernel values", value=DEFAULT_CUSTOM, key=text_key, bind="query-params", height=110,
                        help="Rows on separate lines or separated by ';', values by spaces or commas. Fractions "
                             "(1/16) and [[1, 2], [3, 4]] work too. Up to 31 x 31.")
    try:
        kernel = parse_kernel(text or "")
    except KernelParseError as err:
        st.error(f"Custom kernel: {err}", icon=":material/edit_off:")
        return None
    editor = kernel_editor_key(prefix, text)
    with st.expander(f"Edit as cells ({kernel.shape[0]} x {kernel.shape[1]})", icon=":material/edit:"):
        frame = pd.DataFrame(kernel, columns=[str(c) for c in range(kernel.shape[1])])
        edited = st.data_editor(frame, key=editor, on_change=_cells_to_text, args=(prefix, editor, kernel),
                                width="stretch")
        rows, cols, button = st.columns([1, 1, 1], vertical_alignment="bottom")
        rows.number_input("rows", 1, MAX_KERNEL_SIZE, kernel.shape[0], key=widget_key(prefix, "krows"))
        cols.number_input("columns", 1, MAX_KERNEL_SIZE, kernel.shape[1], key=widget_key(prefix, "kcols"))
        button.button("Resize", on_click=_resize_text, args=(prefix, kernel), help="Pad with zeros or crop, centred.")
    values = edited.to_numpy(dtype=np.float64)
    return np.where(np.isfinite(values), values, kernel)  # an emptied cell keeps its value


def channel_controls(prefix: str) -> tuple[str, np.ndarray | None, float]:
    """Channel mode, the 3x3 mixing matrix (full mixing only) and the bias; returns (mode, matrix, bias)."""
    modes = list(CHANNEL_MODES)
    mode = choice(prefix, "chan", "Channels", modes, "per channel",
                  help="grayscale: 1 -> 1 channel; per channel: depthwise, groups=3; full mixing: 3 -> 3, groups=1.")
    st.caption(CHANNEL_MODES[mode])
    matrix = None
    if mode == "full mixing":
        names = list(CHANNEL_MATRICES)
        preset = choice(prefix, "mix", "Channel matrix", names, "sepia",
                        help="weight[o, i] = matrix[o, i] x kernel: output channel o mixes inputs i at every tap.")
        base = CHANNEL_MATRICES[preset]
        frame = pd.DataFrame(base, index=["R", "G", "B"], columns=["R", "G", "B"])
        number = st.column_config.NumberColumn(format="%.3f", width=62)
        edited = st.data_editor(frame, key=widget_key(prefix, f"mix_{names.index(preset)}"), width="stretch",
                                column_config={c: number for c in frame.columns})
        st.caption("Rows: output channel; columns: input channel.")
        values = edited.to_numpy(dtype=np.float64)
        matrix = np.where(np.isfinite(values), values, base)
    bias = float_input(prefix, "biasv", "bias", -1000.0, 1000.0, 0.0, 1.0,
                       help="Added to every output channel (e.g. 255 with the invert matrix). 0 = bias=False.")
    return mode, matrix, bias


def bilinear_setup(prefix: str, factor: int) -> None:
    """Button callback: a ConvTranspose2d that upsamples by factor with the bilinear kernel."""
    st.session_state[widget_key(prefix, "op")] = "ConvTranspose2d"
    for axis in ("h", "w"):
        st.session_state[widget_key(prefix, f"s_{axis}")] = factor
        st.session_state[widget_key(prefix, f"p_{axis}")] = bilinear_padding(factor)
        st.session_state[widget_key(prefix, f"d_{axis}")] = 1
        st.session_state[widget_key(prefix, f"op_{axis}")] = 0
