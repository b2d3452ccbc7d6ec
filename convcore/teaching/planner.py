"""Shape planner: a chain of Conv2d / ConvTranspose2d layers, each layer's output shape, where a decoder fails to
return to the size its encoder started from, a solver for the padding / output_padding that fixes it, and the
chain as PyTorch nn.Sequential code. Pure: numpy and the engine only.

Every shape comes from the engine itself: each layer runs convcore's conv2d / conv_transpose2d on an empty batch
(N = 0) with a weight that takes no memory, so validation and output size are exactly the engine's (and torch's).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from .codegen import layer_expr
from ..params import (PADDING_STRINGS, Pair, _pair, check_channels, check_output_padding, conv2d_call,
                     conv_transpose2d_call, transposed_size)
from ..shapes import conv2d_output_size

__all__ = [
    "CONV",
    "TRANSPOSE",
    "Layer",
    "Step",
    "Plan",
    "Change",
    "Fix",
    "layer",
    "plan_chain",
    "solve_transpose",
    "solve_chain",
    "chain_to_text",
    "chain_from_text",
    "CELL_FIELDS",
    "parse_cell",
    "layer_from_cells",
    "cells_from_layer",
    "to_pytorch",
]

CONV, TRANSPOSE = "Conv2d", "ConvTranspose2d"
Shape = tuple[int, int, int]  # (C, H, W)


@dataclass(frozen=True)
class Layer:
    """One layer's constructor arguments (in_channels comes from the chain). Spatial arguments are (h, w) pairs;
    a Conv2d's padding may also be 'same' or 'valid'."""

    kind: str
    out_channels: int
    kernel_size: Pair
    stride: Pair = (1, 1)
    padding: Pair | str = (0, 0)
    output_padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1


def layer(kind: str, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0, dilation=1, groups=1) -> Layer:
    """A Layer with torch's int-or-pair arguments normalised; rules that need in_channels are checked by plan_chain."""
    if kind not in (CONV, TRANSPOSE):
        raise ValueError(f"layer kind must be {CONV!r} or {TRANSPOSE!r}, got {kind!r}")
    if isinstance(padding, str):
        if kind == TRANSPOSE:
            raise ValueError(f"ConvTranspose2d does not accept padding strings such as {padding!r}; give an int or a pair")
        if padding not in PADDING_STRINGS:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {list(PADDING_STRINGS)} (case-sensitive)")
    else:
        padding = _pair(padding, "padding")
    output_padding = _pair(output_padding, "output_padding")
    if kind == CONV and output_padding != (0, 0):
        raise ValueError(f"output_padding belongs to ConvTranspose2d only; a Conv2d layer got output_padding={output_padding}")
    if isinstance(out_channels, (bool, np.bool_)) or not isinstance(out_channels, (int, np.integer)):
        raise TypeError(f"out_channels must be an int, got {out_channels!r}")
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"groups must be an int, got {groups!r}")
    return Layer(kind, int(out_channels), _pair(kernel_size, "kernel_size"), _pair(stride, "stride"), padding,
                 output_padding, _pair(dilation, "dilation"), int(groups))


@dataclass(frozen=True)
class Step:
    """A layer in context: its input and output shapes (None when not computable), the error that stopped it,
    and the shape it should give back (target) when it is a ConvTranspose2d mirroring an earlier Conv2d."""

    index: int
    layer: Layer
    in_shape: Shape | None
    out_shape: Shape | None
    error: str | None = None
    mirrors: int | None = None  # index of the Conv2d this ConvTranspose2d undoes
    target: Shape | None = None

    @property
    def mismatch(self) -> bool:
        return self.target is not None and self.out_shape is not None and self.out_shape != self.target


@dataclass(frozen=True)
class Plan:
    input_shape: Shape
    steps: tuple[Step, ...]

    @property
    def output_shape(self) -> Shape | None:
        return self.steps[-1].out_shape if self.steps else self.input_shape

    @property
    def error(self) -> Step | None:
        """The first layer the engine rejected, if any."""
        return next((s for s in self.steps if s.error), None)

    @property
    def mismatches(self) -> list[Step]:
        return [s for s in self.steps if s.mismatch]

    @property
    def returns_to_input(self) -> bool:
        return self.output_shape == self.input_shape


def _shape(value) -> Shape:
    items = tuple(value)
    if len(items) != 3 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in items):
        raise ValueError(f"input shape must be three ints (C, H, W), got {value!r}")
    c, h, w = (int(v) for v in items)
    if c <= 0 or h <= 0 or w <= 0:
        raise ValueError(f"input shape (C, H, W) must be positive, got {(c, h, w)}")
    return (c, h, w)


def layer_output_shape(spec: Layer, in_shape: Shape) -> Shape:
    """The engine's output shape for one layer (raises the engine's ValueError/TypeError when the layer is invalid)."""
    c, h, w = in_shape
    check_channels(c, spec.out_channels, spec.groups)  # the constructor's rule, with its message
    if spec.out_channels == 0:
        raise ValueError(f"{spec.kind} needs at least one output channel, got out_channels=0")
    # one image that takes no memory: the engine's validation, without computing (an empty batch would skip the
    # rules torch skips for it)
    x = np.broadcast_to(np.float32(0), (1, c, h, w))
    if spec.kind == CONV:
        weight = np.broadcast_to(np.float32(0), (spec.out_channels, c // spec.groups) + spec.kernel_size)
        call = conv2d_call(x, weight, None, spec.stride, spec.padding, spec.dilation, spec.groups)
        (top, bottom), (left, right) = call.padding
        size = conv2d_output_size((h + top + bottom, w + left + right), call.kernel_size, call.stride, 0, call.dilation)
    else:
        weight = np.broadcast_to(np.float32(0), (c, spec.out_channels // spec.groups) + spec.kernel_size)
        call = conv_transpose2d_call(x, weight, None, spec.stride, spec.padding, spec.output_padding, spec.groups,
                                     spec.dilation)
        size = transposed_size((h, w), call.kernel_size, call.stride, spec.padding, call.output_padding, call.dilation)
        if min(size) < 1:  # torch's oneDNN path returns an empty tensor; a plan stops there
            raise ValueError(
                f"ConvTranspose2d: given input size per channel {(h, w)}, the calculated output size per channel is "
                f"{size}: too small. H_out = (H_in-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1 must be at least 1"
            )
    return (spec.out_channels,) + tuple(int(v) for v in size)


def plan_chain(input_shape, layers) -> Plan:
    """Each layer's input and output shape; ConvTranspose2d layers paired with the Conv2d they mirror.

    Pairing is innermost first (a stack, like a U-Net's skip connections): a ConvTranspose2d should give back the
    shape its paired Conv2d received. Layers after the first invalid one get no shapes.
    """
    start = shape = _shape(input_shape)
    steps: list[Step] = []
    open_convs: list[tuple[int, Shape]] = []  # (index, input shape) of Conv2d layers not yet mirrored
    failed_at: int | None = None
    for i, spec in enumerate(layers):
        mirrors = target = None
        if spec.kind == TRANSPOSE and open_convs:
            mirrors, target = open_convs.pop()
        if failed_at is not None:
            steps.append(Step(i, spec, None, None, f"not computed: layer {failed_at + 1} is invalid", mirrors, target))
            continue
        try:
            out = layer_output_shape(spec, shape)
        except (ValueError, TypeError) as exc:
            failed_at = i
            steps.append(Step(i, spec, shape, None, str(exc), mirrors, target))
            continue
        if spec.kind == CONV:
            open_convs.append((i, shape))
        steps.append(Step(i, spec, shape, out, None, mirrors, target))
        shape = out
    return Plan(start, tuple(steps))


# ---- solving -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    index: int
    field: str
    old: object
    new: object

    def __str__(self) -> str:
        return f"layer {self.index + 1}: {self.field} {_fmt(self.old)} -> {_fmt(self.new)}"


@dataclass(frozen=True)
class Fix:
    layers: tuple[Layer, ...]
    changes: tuple[Change, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)  # what could not be fixed, and why

    @property
    def solved(self) -> bool:
        return not self.problems


def solve_transpose(in_size, target_size, kernel_size, stride=1, padding=0, dilation=1) -> tuple[Pair, Pair]:
    """(padding, output_padding) for a ConvTranspose2d to turn in_size (H, W) into target_size (H, W).

    Keeps the given padding when output_padding alone can reach the target, else picks the padding closest to the
    given one. Raises ValueError explaining the reachable sizes when no padding works.
    """
    n, t = _pair(in_size, "input_size"), _pair(target_size, "target_size")
    k, s, d, p0 = (_pair(v, name) for v, name in ((kernel_size, "kernel_size"), (stride, "stride"),
                                                  (dilation, "dilation"), (padding, "padding")))
    pads, ops = [], []
    for i, name in ((0, "height"), (1, "width")):
        if t[i] < 1:
            raise ValueError(f"target {name} must be positive, got {t[i]}")
        full = (n[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1  # the output at padding 0, output_padding 0
        largest = full + max(s[i], d[i]) - 1
        if t[i] > largest:
            raise ValueError(
                f"a ConvTranspose2d cannot reach an output {name} of {t[i]} from {n[i]}: with padding 0 the output is "
                f"(H_in-1)*stride + dilation*(k-1) + 1 = ({n[i]}-1)*{s[i]} + {d[i]}*({k[i]}-1) + 1 = {full}, and "
                f"output_padding adds at most {max(s[i], d[i]) - 1}; use a larger stride or kernel"
            )
        # padding p gives full - 2p + op with 0 <= op < max(s, d): the valid paddings form a range; clamp p0 into it
        reach = max(s[i], d[i])
        lowest, highest = max(0, -((t[i] - full) // 2)), (full - t[i] + reach - 1) // 2
        if lowest > highest:  # stride 1 and dilation 1: output_padding must be 0, padding moves the size in steps of 2
            raise ValueError(
                f"no padding reaches an output {name} of {t[i]} from {n[i]}: with stride {s[i]} and dilation {d[i]} "
                f"output_padding must be 0, and each unit of padding removes 2 from {full}, so only "
                f"{full}, {full - 2}, {full - 4}, ... are reachable; change the kernel size by one"
            )
        p = min(max(p0[i], lowest), highest)
        pads.append(p)
        ops.append(t[i] - full + 2 * p)
    out_pad = check_output_padding((ops[0], ops[1]), s, d)
    return (pads[0], pads[1]), out_pad


def solve_chain(input_shape, layers) -> Fix:
    """Fix every ConvTranspose2d that misses the shape its mirrored Conv2d received: out_channels, padding and
    output_padding. Walks the chain in order, so each fix sees the shapes the earlier fixes produce."""
    layers = list(layers)
    changes: list[Change] = []
    problems: list[str] = []
    plan = plan_chain(input_shape, layers)
    for i in range(len(layers)):
        step = plan.steps[i]
        if step.error:
            problems.append(f"layer {i + 1} ({step.layer.kind}) is invalid, fix it first: {step.error}")
            break
        if not step.mismatch:
            continue
        spec, (c, h, w), (tc, th, tw) = step.layer, step.in_shape, step.target
        new = spec
        if step.out_shape[0] != tc:
            if tc % spec.groups:
                problems.append(f"layer {i + 1}: out_channels must become {tc} to match layer {step.mirrors + 1}'s input, "
                                f"but groups={spec.groups} does not divide {tc}")
                break
            new = replace(new, out_channels=tc)
            changes.append(Change(i, "out_channels", spec.out_channels, tc))
        if step.out_shape[1:] != (th, tw):
            try:
                pad, out_pad = solve_transpose((h, w), (th, tw), spec.kernel_size, spec.stride, spec.padding, spec.dilation)
            except ValueError as exc:
                problems.append(f"layer {i + 1} should give back {th}x{tw} (layer {step.mirrors + 1}'s input): {exc}")
                break
            if pad != spec.padding:
                changes.append(Change(i, "padding", spec.padding, pad))
            if out_pad != spec.output_padding:
                changes.append(Change(i, "output_padding", spec.output_padding, out_pad))
            new = replace(new, padding=pad, output_padding=out_pad)
        layers[i] = new
        plan = plan_chain(input_shape, layers)
    return Fix(tuple(layers), tuple(changes), tuple(problems))


# ---- text forms: the URL and PyTorch code ----------------------------------------------------------------------

_TOKEN = re.compile(r"([a-z])(same|valid|\d+(?:x\d+)?)")
_FIELDS = {"k": "kernel_size", "s": "stride", "p": "padding", "o": "output_padding", "d": "dilation", "g": "groups"}


def _fmt(value) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        return str(value[0])
    if isinstance(value, tuple):
        return f"({value[0]}, {value[1]})"
    return repr(value) if isinstance(value, str) else str(value)


def _compact(value) -> str:
    if isinstance(value, str):
        return value
    return str(value[0]) if value[0] == value[1] else f"{value[0]}x{value[1]}"


def chain_to_text(layers) -> str:
    """A compact, URL-safe form: 'C16k3s2p1.T1k3s2p1o1' (C = Conv2d, T = ConvTranspose2d; defaults left out)."""
    parts = []
    for spec in layers:
        text = ("C" if spec.kind == CONV else "T") + str(spec.out_channels) + "k" + _compact(spec.kernel_size)
        for key, name, default in (("s", "stride", (1, 1)), ("p", "padding", (0, 0)), ("o", "output_padding", (0, 0)),
                                   ("d", "dilation", (1, 1))):
            value = getattr(spec, name)
            if value != default:
                text += key + _compact(value)
        if spec.groups != 1:
            text += f"g{spec.groups}"
        parts.append(text)
    return ".".join(parts)


def _parse_value(raw: str):
    if raw in PADDING_STRINGS:
        return raw
    if "x" in raw:
        h, w = raw.split("x")
        return (int(h), int(w))
    return int(raw)


def chain_from_text(text: str) -> list[Layer]:
    """The inverse of chain_to_text; raises ValueError naming the part it cannot read."""
    layers = []
    for number, part in enumerate(p for p in text.strip().split(".") if p):
        match = re.fullmatch(r"([CT])(\d+)((?:[a-z](?:same|valid|\d+(?:x\d+)?))*)", part)
        if not match:
            raise ValueError(f"layer {number + 1}: cannot read {part!r}; expected e.g. 'C16k3s2p1' (Conv2d) or "
                             "'T1k3s2p1o1' (ConvTranspose2d)")
        kwargs = {}
        for key, raw in _TOKEN.findall(match.group(3)):
            if key not in _FIELDS:
                raise ValueError(f"layer {number + 1}: unknown field {key!r} in {part!r}; known: {sorted(_FIELDS)}")
            kwargs[_FIELDS[key]] = _parse_value(raw)
        if "kernel_size" not in kwargs:
            raise ValueError(f"layer {number + 1}: {part!r} has no kernel size (k)")
        kind = CONV if match.group(1) == "C" else TRANSPOSE
        layers.append(layer(kind, int(match.group(2)), **kwargs))
    return layers


def to_pytorch(plan: Plan, activation: str | None = "ReLU") -> str:
    """The chain as runnable PyTorch: nn.Sequential (activation between layers, none after the last) and a check
    of the output shape the planner computed."""
    if plan.error is not None:
        raise ValueError(f"the chain has an invalid layer, fix it before exporting: layer {plan.error.index + 1}: {plan.error.error}")
    lines = ["import torch", "from torch import nn", "", "model = nn.Sequential("]
    channels = plan.input_shape[0]
    for step in plan.steps:
        in_shape, out_shape = step.in_shape, step.out_shape
        lines.append(f"    {layer_code(step.layer, channels)},  # {_shape_text(in_shape)} -> {_shape_text(out_shape)}")
        if activation and step.index < len(plan.steps) - 1:
            lines.append(f"    nn.{activation}(),")
        channels = step.out_shape[0]
    c, h, w = plan.input_shape
    out = plan.output_shape
    lines += [
        ")",
        "",
        f"x = torch.randn(1, {c}, {h}, {w})",
        "y = model(x)",
        f"assert tuple(y.shape) == (1, {out[0]}, {out[1]}, {out[2]}), y.shape",
        "print(y.shape)",
        "",
    ]
    return "\n".join(lines)


def layer_code(spec: Layer, in_channels: int) -> str:
    """One layer as a torch.nn constructor call with only its non-default arguments (codegen's layer_expr)."""
    op = "conv2d" if spec.kind == CONV else "conv_transpose2d"
    return layer_expr(op, in_channels, spec.out_channels, spec.kernel_size, spec.stride, spec.padding, spec.dilation,
                      spec.groups, output_padding=spec.output_padding)


def _shape_text(shape: Shape | None) -> str:
    return "?" if shape is None else f"({shape[0]}, {shape[1]}, {shape[2]})"


# ---- table cells: one editable row per layer, spatial arguments as text ('3', '3,5', 'same') ---------------------

CELL_FIELDS = ("layer", "out_channels", "kernel_size", "stride", "padding", "output_padding", "dilation", "groups")
_CELL_DEFAULTS = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1}


def parse_cell(raw, name: str):
    """An int, a pair written '3,5' / '3x5' / '(3, 5)', or for padding 'same' / 'valid'; empty means the default."""
    if raw is None or (isinstance(raw, float) and np.isnan(raw)) or str(raw).strip() == "":
        if name not in _CELL_DEFAULTS:
            raise ValueError(f"{name} is empty; give a whole number such as 3, or a pair such as 3,5")
        return _CELL_DEFAULTS[name]
    text = str(raw).strip().strip("()[]").replace(" ", "")
    if name == "padding" and text in PADDING_STRINGS:
        return text
    parts = re.split(r"[,x]", text)
    if len(parts) in (1, 2) and all(re.fullmatch(r"\d+", part) for part in parts):
        values = tuple(int(part) for part in parts)
        return values[0] if len(values) == 1 else values
    extra = " or 'same' / 'valid'" if name == "padding" else ""
    raise ValueError(f"{name} {raw!r} is not a whole number (3) or a height,width pair (3,5){extra}")


def _whole(raw, name: str, default: int | None = None) -> int:
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        if default is None:
            raise ValueError(f"{name} is empty; give a whole number")
        return default
    if isinstance(raw, (float, np.floating)) and float(raw).is_integer():
        raw = int(raw)
    if isinstance(raw, str) and re.fullmatch(r"\s*\d+\s*", raw):
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, (int, np.integer)):
        raise ValueError(f"{name} {raw!r} is not a whole number")
    return int(raw)


def layer_from_cells(cells: dict, number: int) -> Layer:
    """One table row as a Layer; ValueError messages start with 'layer <number>'."""
    try:
        kind = cells.get("layer")
        if kind not in (CONV, TRANSPOSE):
            raise ValueError(f"layer type must be {CONV} or {TRANSPOSE}, got {kind!r}")
        values = {name: parse_cell(cells.get(name), name) for name in ("kernel_size", "stride", "padding", "dilation")}
        values["output_padding"] = parse_cell(cells.get("output_padding"), "output_padding")
        if kind == CONV and values["output_padding"] not in (0, (0, 0)):
            raise ValueError("output_padding belongs to ConvTranspose2d only; leave it 0 for a Conv2d")
        if kind == CONV:
            values["output_padding"] = 0
        return layer(kind, _whole(cells.get("out_channels"), "out_channels"), groups=_whole(cells.get("groups"), "groups", 1),
                     **values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"layer {number}: {exc}") from None


def _cell(value) -> str:
    if isinstance(value, str):
        return value
    return str(value[0]) if value[0] == value[1] else f"{value[0]},{value[1]}"


def cells_from_layer(spec: Layer) -> dict:
    """The table row that layer_from_cells reads back as spec."""
    return {"layer": spec.kind, "out_channels": spec.out_channels, "kernel_size": _cell(spec.kernel_size),
            "stride": _cell(spec.stride), "padding": _cell(spec.padding), "output_padding": _cell(spec.output_padding),
            "dilation": _cell(spec.dilation), "groups": spec.groups}
