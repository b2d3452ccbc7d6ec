"""Layer chains on images: the shape planner's chain (Conv2d / ConvTranspose2d layers) extended with each layer's
weights and the elementwise steps people put between layers (ReLU, absolute value, per-channel scale and offset).
One text form serves the planner and the image lab (and both URLs); the chain runs on the engine, prefix by prefix,
and exports as a PyTorch nn.Sequential. Pure: numpy and the engine only.

Text form: steps joined by '.', each starting with a capital letter:
  C8k3s2p1~r7      Conv2d, the planner's fields, then '~' and the weights (absent: seeded random, seed = position)
  T3k4s2p1g3~b     ConvTranspose2d with bilinear weights
  ~gaussian@2      a named kernel (its one option after '@'), '~sobel x,sobel y' one per output channel,
  ~v1,-1           the weight's values in order, ~r<seed> seeded random (torch's default init range)
  R  A             ReLU, absolute value
  S0.5o128         per-channel scale and offset (comma-separated per channel, one value for all channels)
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .codegen import tensor_literal
from ..functional import conv2d, conv_transpose2d
from ..images.kernels import PRESETS, make_kernel
from .planner import (CONV, TRANSPOSE, Layer, cells_from_layer, layer, chain_from_text, chain_to_text, layer_code,
                      layer_from_cells, layer_output_shape)

__all__ = ["MAX_STEPS", "LayerStep", "Elementwise", "ChainError", "parse_chain", "chain_text", "conv_layers",
           "layer_weight", "run_step", "chain_shapes", "PrefixCache", "run_chain", "sequential_code", "PRESET_CHAINS",
           "psnr", "with_layers", "lab_text", "single_layer_text", "STEP_KINDS", "STEP_FIELDS", "cells_from_step", "step_from_cells", "flat_checkerboard"]

MAX_STEPS = 8
_OPTION = {"gaussian": "sigma", "box blur": "size", "identity": "size", "motion blur": "angle", "unsharp mask": "amount",
           "bilinear upsampling": "factor"}


class ChainError(ValueError):
    """A chain that cannot run; index is the 0-based step it names (None: the text as a whole)."""

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class LayerStep:
    """A Conv2d / ConvTranspose2d (the planner's Layer) with its weights: 'r<seed>', 'b', 'v<values>' or kernel names."""

    layer: Layer
    weights: str = "r0"

    @property
    def name(self) -> str:
        return self.layer.kind


@dataclass(frozen=True)
class Elementwise:
    """ReLU ('R'), absolute value ('A') or per-channel scale and offset ('S')."""

    op: str
    scale: tuple[float, ...] = (1.0,)
    offset: tuple[float, ...] = (0.0,)

    @property
    def name(self) -> str:
        return {"R": "ReLU", "A": "abs", "S": "scale/offset"}[self.op]


Step = LayerStep | Elementwise


def _numbers(raw: str, what: str, index: int) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in raw.split(","))
    except ValueError:
        raise ChainError(f"step {index + 1}: {what} {raw!r} is not a comma-separated list of numbers", index) from None
    if not all(np.isfinite(values)):
        raise ChainError(f"step {index + 1}: {what} {raw!r} must be finite numbers", index)
    return values


def _num(v: float) -> str:
    return f"{v:g}"


def parse_chain(text: str) -> list[Step]:
    """The steps of a chain's text form; ChainError names the step it cannot read."""
    parts = [p for p in re.split(r"\.(?=[A-Z])", (text or "").strip()) if p]
    if len(parts) > MAX_STEPS:
        raise ChainError(f"a chain has at most {MAX_STEPS} steps, got {len(parts)}")
    steps: list[Step] = []
    for i, part in enumerate(parts):
        if part in ("R", "A"):
            steps.append(Elementwise(part))
            continue
        if part.startswith("S"):
            match = re.fullmatch(r"S([^o]+)(?:o(.+))?", part)
            if not match:
                raise ChainError(f"step {i + 1}: cannot read {part!r}; expected e.g. 'S0.5o128' (scale 0.5, offset 128)", i)
            steps.append(Elementwise("S", _numbers(match.group(1), "scale", i),
                                     _numbers(match.group(2), "offset", i) if match.group(2) else (0.0,)))
            continue
        spec, _, weights = part.partition("~")
        try:
            (layer,) = chain_from_text(spec)
        except ValueError as err:
            raise ChainError(f"step {i + 1}: {str(err).removeprefix('layer 1: ')}", i) from None
        steps.append(LayerStep(layer, weights or f"r{i}"))
    return steps


def chain_text(steps) -> str:
    """The inverse of parse_chain."""
    parts = []
    for step in steps:
        if isinstance(step, LayerStep):
            parts.append(f"{chain_to_text([step.layer])}~{step.weights}")
        elif step.op == "S":
            text = "S" + ",".join(map(_num, step.scale))
            if any(step.offset):
                text += "o" + ",".join(map(_num, step.offset))
            parts.append(text)
        else:
            parts.append(step.op)
    return ".".join(parts)


def conv_layers(steps) -> list[Layer]:
    """The chain's layers alone: what the shape planner edits."""
    return [s.layer for s in steps if isinstance(s, LayerStep)]


def with_layers(steps, layers) -> list[Step]:
    """The steps with their layers replaced in order (the planner's edits), keeping weights and elementwise steps;
    extra layers get seeded random weights, missing ones are dropped."""
    layers = list(layers)
    out: list[Step] = []
    for step in steps:
        if isinstance(step, LayerStep):
            if not layers:
                continue
            new = layers.pop(0)
            out.append(LayerStep(new, step.weights if new.kernel_size == step.layer.kernel_size else f"r{len(out)}"))
        else:
            out.append(step)
    out += [LayerStep(new, f"r{len(out) + i}") for i, new in enumerate(layers)]
    return out


def lab_text(layers, kept: str | None) -> str:
    """The planner's layers as a lab chain: the weights and elementwise steps of the chain the planner was opened
    with (kept, when readable) around the planner's current layers; seeded random weights for new layers."""
    try:
        base = parse_chain(kept) if kept else []
    except ChainError:
        base = []
    return chain_text(with_layers(base, layers)[:MAX_STEPS])


def single_layer_text(kind: str, weight: np.ndarray, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                      bias: float = 0.0) -> str:
    """One layer with these exact weights (and a bias, as a scale/offset step) as a chain: the image lab's layer
    continued in the layer-chain lab."""
    w = np.asarray(weight, np.float32)
    out_channels = w.shape[0] if kind == CONV else w.shape[1] * groups
    spec = layer(kind, out_channels, w.shape[2:], stride, padding, output_padding if kind == TRANSPOSE else 0,
                 dilation, groups)
    values = ",".join(np.format_float_positional(v, trim="-") for v in w.ravel())
    steps: list[Step] = [LayerStep(spec, "v" + values)]
    if bias:
        steps.append(Elementwise("S", (1.0,), (float(bias),)))
    return chain_text(steps)


# ---- weights ----------------------------------------------------------------------------------------------------

def bilinear_kernel(kh: int, kw: int) -> np.ndarray:
    """The FCN-style bilinear upsampling kernel for a ConvTranspose2d with stride = (k + 1) // 2."""

    def axis(k: int) -> np.ndarray:
        f = (k + 1) // 2
        centre = f - 1 if k % 2 else f - 0.5
        return 1 - np.abs(np.arange(k) - centre) / f

    return np.outer(axis(kh), axis(kw))


def _named(name: str, index: int, kernel_size) -> np.ndarray:
    base, _, option = name.partition("@")
    base = base.strip()
    if base not in PRESETS:
        raise ChainError(f"step {index + 1}: unknown kernel {base!r}; known: {', '.join(PRESETS)}", index)
    options = {}
    if "size" in PRESETS[base].options:
        options["size"] = kernel_size[0]
    if option:
        key = _OPTION.get(base)
        if key is None:
            raise ChainError(f"step {index + 1}: kernel {base!r} takes no option, got '@{option}'", index)
        value = _numbers(option, key, index)[0]
        options[key] = int(value) if key in ("size", "factor") else value
    kernel = make_kernel(base, **options)
    if kernel.shape != tuple(kernel_size):
        raise ChainError(f"step {index + 1}: kernel {name!r} is {kernel.shape[0]}x{kernel.shape[1]} but the layer's "
                         f"kernel_size is {kernel_size[0]}x{kernel_size[1]}", index)
    return kernel


def layer_weight(step: LayerStep, in_channels: int, index: int = 0) -> np.ndarray:
    """The layer's float32 weight in torch's layout. Kernel names and 'b' put one spatial kernel per output channel
    (cycling through the names), divided by the inputs per group: each output is its group's mean, filtered."""
    spec = step.layer
    per_group = in_channels // spec.groups
    out_per_group = spec.out_channels // spec.groups
    shape = ((spec.out_channels, per_group) if spec.kind == CONV else (in_channels, out_per_group)) + spec.kernel_size
    text = step.weights
    if re.fullmatch(r"r\d+", text):
        bound = 1 / np.sqrt(shape[1] * spec.kernel_size[0] * spec.kernel_size[1])  # torch's default init range
        return np.random.default_rng(int(text[1:])).uniform(-bound, bound, shape).astype(np.float32)
    if text.startswith("v"):
        values = _numbers(text[1:], "weights", index)
        if len(values) != int(np.prod(shape)):
            raise ChainError(f"step {index + 1}: the weight {shape} has {int(np.prod(shape))} values, "
                             f"'~v' gives {len(values)}", index)
        return np.asarray(values, np.float32).reshape(shape)
    kernels = ([bilinear_kernel(*spec.kernel_size)] if text == "b"
               else [_named(name, index, spec.kernel_size) for name in text.split(",")])
    weight = np.zeros(shape, np.float64)
    for o in range(spec.out_channels):
        k = kernels[o % len(kernels)] / per_group
        if spec.kind == CONV:
            weight[o] = k
        else:  # input channel i of group g feeds outputs g*out_per_group .. : weight[i, o - g*out_per_group]
            g = o // out_per_group
            weight[g * per_group:(g + 1) * per_group, o - g * out_per_group] = k
    return weight.astype(np.float32)


# ---- running ----------------------------------------------------------------------------------------------------

def run_step(step: Step, x: np.ndarray, index: int = 0) -> np.ndarray:
    """One step on a (C, H, W) float32 array."""
    if isinstance(step, Elementwise):
        if step.op == "R":
            return np.maximum(x, np.float32(0))
        if step.op == "A":
            return np.abs(x)
        c = x.shape[0]
        for what, values in (("scale", step.scale), ("offset", step.offset)):
            if len(values) not in (1, c):
                raise ChainError(f"step {index + 1}: {what} has {len(values)} values but its input has {c} channels "
                                 "(give one value, or one per channel)", index)
        scale = np.asarray(step.scale, np.float32).reshape(-1, 1, 1)
        offset = np.asarray(step.offset, np.float32).reshape(-1, 1, 1)
        return x * scale + offset
    spec = step.layer
    weight = layer_weight(step, x.shape[0], index)
    if spec.kind == CONV:
        out = conv2d(x[None], weight, None, spec.stride, spec.padding, spec.dilation, spec.groups)
    else:
        out = conv_transpose2d(x[None], weight, None, spec.stride, spec.padding, spec.output_padding, spec.groups,
                               spec.dilation)
    return np.ascontiguousarray(out[0], dtype=np.float32)


def step_shape(step: Step, in_shape, index: int = 0, max_pixels: int | None = None) -> tuple[int, int, int]:
    """A step's output shape; ChainError names the step, the rule and the numbers."""
    if isinstance(step, Elementwise):
        if step.op == "S":
            run_step(step, np.zeros((in_shape[0], 1, 1), np.float32), index)  # checks the channel counts
        return tuple(in_shape)
    try:
        shape = layer_output_shape(step.layer, tuple(in_shape))
        layer_weight(step, in_shape[0], index)
    except ChainError:
        raise
    except (ValueError, TypeError) as err:
        raise ChainError(f"step {index + 1} ({step.layer.kind}) on input {tuple(in_shape)}: {err}", index) from None
    if max_pixels is not None and shape[1] * shape[2] > max_pixels:
        raise ChainError(f"step {index + 1} ({step.layer.kind}) would output {shape[1]} x {shape[2]} = "
                         f"{shape[1] * shape[2]:,} pixels per channel, more than the cap of {max_pixels:,}", index)
    return shape


def chain_shapes(steps, in_shape, max_pixels: int | None = None) -> tuple[list, ChainError | None]:
    """Each step's output shape up to the first that fails, and that failure (or None)."""
    shapes, shape = [], tuple(in_shape)
    for i, step in enumerate(steps):
        try:
            shape = step_shape(step, shape, i, max_pixels)
        except ChainError as err:
            return shapes, err
        shapes.append(shape)
    return shapes, None


class PrefixCache:
    """Step outputs keyed by (input key, text of the chain up to that step), bounded in bytes, least recently used
    out first. Thread-safe: one instance serves every session (arrays are stored read-only)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value: np.ndarray) -> None:
        value.setflags(write=False)
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self.bytes += value.nbytes
            while self.bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self.bytes -= old.nbytes

    def __len__(self) -> int:
        return len(self._items)


def run_chain(steps, x: np.ndarray, input_key: str = "", cache: PrefixCache | None = None,
              on_step=None) -> list[np.ndarray]:
    """Every step's output. With a cache, a step whose prefix (this step and all before it) ran before on the same
    input is not computed again: editing one step recomputes it and the steps after it only."""
    outputs, current = [], np.asarray(x, np.float32)
    for i, step in enumerate(steps):
        key = (input_key, chain_text(steps[: i + 1]))
        out = cache.get(key) if cache is not None else None
        if out is None:
            out = run_step(step, current, i)
            if on_step is not None:
                on_step(i)
            if cache is not None:
                cache.put(key, out)
        outputs.append(out)
        current = out
    return outputs


def psnr(reference: np.ndarray, output: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical arrays)."""
    mse = float(np.mean((np.asarray(output, np.float64) - reference) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


def flat_checkerboard(steps, channels: int, side: int = 96) -> tuple[float, int] | None:
    """The checkerboards page's strength measure on the chain's output for a flat grey input, and the period it
    measures (the product of the transposed layers' strides); None without an upsampling layer."""
    from .concepts import checkerboard_strength

    period = int(np.prod([s.layer.stride[0] for s in steps if isinstance(s, LayerStep) and s.layer.kind == TRANSPOSE]))
    if period < 2:
        return None
    out = run_chain(steps, np.full((channels, side, side), 128.0, np.float32))[-1]
    border = min(16, max(0, (min(out.shape[1:]) - period) // 2 - 1))
    return checkerboard_strength(np.abs(out).mean(axis=0), period, border), period


# ---- PyTorch code ---------------------------------------------------------------------------------------------

_MODULES = '''class Abs(nn.Module):
    def forward(self, x):
        return x.abs()


class ScaleOffset(nn.Module):
    """x * scale + offset, per channel."""

    def __init__(self, scale, offset):
        super().__init__()
        self.register_buffer("scale", torch.tensor(scale).reshape(-1, 1, 1))
        self.register_buffer("offset", torch.tensor(offset).reshape(-1, 1, 1))

    def forward(self, x):
        return x * self.scale + self.offset

'''


def sequential_code(steps, in_channels: int) -> str:
    """The chain as runnable PyTorch: nn.Sequential with the same weights (bias=False), defining `model`."""
    lines, setup, channels = [], [], in_channels
    for i, step in enumerate(steps):
        if isinstance(step, Elementwise):
            if step.op == "S":
                lines.append(f"    ScaleOffset({list(step.scale)}, {list(step.offset)}),")
            else:
                lines.append("    nn.ReLU()," if step.op == "R" else "    Abs(),")
            continue
        code = layer_code(step.layer, channels).removesuffix(")") + ", bias=False)"
        lines.append(f"    {code},  # weights: {step.weights}")
        setup.append(f"    model[{i}].weight.copy_({tensor_literal(layer_weight(step, channels, i), indent=4)})")
        channels = step.layer.out_channels
    needs = any(isinstance(s, Elementwise) and s.op != "R" for s in steps)
    return ("import torch\nfrom torch import nn\n\n" + (_MODULES if needs else "")
            + "model = nn.Sequential(\n" + "\n".join(lines) + "\n)\nwith torch.no_grad():\n"
            + ("\n".join(setup) if setup else "    pass") + "\n")


# ---- presets that teach ---------------------------------------------------------------------------------------

PRESET_CHAINS = {  # name: (input channels, chain text, what it shows)
    "blur then Sobel": (1, "C1k5p2~gaussian@1.C1k3p1~sobel x.A",
                        "A Gaussian blur before the gradient: the edges of shapes stay, the noise and texture go."),
    "difference of Gaussians": (1, "C2k9p4~gaussian@1,gaussian@3.C1k1~v1,-1",
                                "Two blurs (sigma 1 and 3) as two channels, subtracted by a 1x1 layer: a band-pass "
                                "that keeps blobs and edges of one scale."),
    "stride-2 encoder, kernel-3 decoder (checkerboard)": (
        3, "C3k3s2p1g3~box blur.C3k3s2p1g3~box blur.T3k3s2p1o1g3~box blur.T3k3s2p1o1g3~box blur.S16",
        "Two stride-2 layers down, two kernel-3 transposed box layers back up: the taps overlap unevenly (1, 2, 2, "
        "4 per pixel) and a checkerboard appears."),
    "stride-2 encoder, kernel-4 decoder (no checkerboard)": (
        3, "C3k3s2p1g3~box blur.C3k3s2p1g3~box blur.T3k4s2p1g3~box blur.T3k4s2p1g3~box blur.S16",
        "The same encoder; kernel 4 with stride 2 overlaps every output pixel equally: the checkerboard vanishes."),
    "bilinear upsampling x2": (3, "C3k2s2g3~box blur.T3k4s2p1g3~b",
                               "A 2x2 average down, then ConvTranspose2d with a bilinear-initialised kernel 4, "
                               "stride 2, padding 1: a smooth x2 upsampling."),
}


# ---- table cells: one editable row per step (the planner's cells plus weights, scale and offset) -----------------

STEP_KINDS = (CONV, TRANSPOSE, "ReLU", "abs", "scale/offset")
STEP_FIELDS = ("step", "out_channels", "kernel_size", "stride", "padding", "output_padding", "dilation", "groups",
               "weights", "scale", "offset")
_ELEMENTWISE = {"ReLU": "R", "abs": "A", "scale/offset": "S"}


def cells_from_step(step: Step) -> dict:
    """The table row that step_from_cells reads back as step."""
    blank = {name: None for name in STEP_FIELDS}
    if isinstance(step, LayerStep):
        cells = cells_from_layer(step.layer)
        cells["step"] = cells.pop("layer")
        return {**blank, **cells, "weights": step.weights}
    row = {**blank, "step": step.name}
    if step.op == "S":
        row.update(scale=",".join(map(_num, step.scale)), offset=",".join(map(_num, step.offset)))
    return row


def step_from_cells(cells: dict, number: int) -> Step:
    """One table row as a step; ChainError messages start with 'step <number>'."""
    kind = cells.get("step")
    index = number - 1
    if kind in _ELEMENTWISE:
        if kind != "scale/offset":
            return Elementwise(_ELEMENTWISE[kind])
        scale = str(cells.get("scale") or "1").strip() or "1"
        offset = str(cells.get("offset") or "0").strip() or "0"
        return Elementwise("S", _numbers(scale, "scale", index), _numbers(offset, "offset", index))
    if kind not in (CONV, TRANSPOSE):
        raise ChainError(f"step {number}: the step must be one of {', '.join(STEP_KINDS)}, got {kind!r}", index)
    try:
        spec = layer_from_cells({**cells, "layer": kind}, number)
    except ValueError as err:
        raise ChainError(str(err).replace(f"layer {number}:", f"step {number}:", 1), index) from None
    weights = str(cells.get("weights") or "").strip() or f"r{index}"
    return LayerStep(spec, weights)
