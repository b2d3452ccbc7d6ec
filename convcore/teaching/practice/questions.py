"""Practice questions generated from a seed, their answers computed by the engine (numpy only, no streamlit).

Seven kinds; difficulty 1 changes one parameter at a time at small sizes, 2 combines them, 3 uses everything
(non-square pairs, both ops, groups, dilation, 'same', padding modes, output_padding). question(seed, number,
difficulty) is deterministic: the same seed gives everyone the same questions in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..codegen import layer_expr
from ...padding import pad_source_index
from ...params import normalise_padding
from ..planner import CONV, TRANSPOSE, Layer, layer, plan_chain
from ...shapes import conv2d_output_size, conv_transpose2d_output_size
from ..trace import arithmetic_lines, conv2d_index_map, conv_transpose2d_index_map, trace_conv2d, trace_conv_transpose2d
from .answers import IMPOSSIBLE, Grade, Unreadable, grade_part

__all__ = ["KINDS", "Part", "Question", "question", "round_kinds", "generate", "output_hw", "layer_text"]

KINDS = {
    "shape": "Output shape",
    "value": "One output value",
    "sources": "Inputs that feed an output cell",
    "targets": "Outputs one input touches",
    "padding": "Padding and output_padding",
    "weights": "Weights and parameters",
    "chain": "Encoder/decoder chain",
}
LESSON_CHANNELS = 6  # the lessons' controls go up to 6 channels: every config question opens there
DTYPE = np.float32  # the app's dtype: the lesson link reproduces the numbers exactly


@dataclass(frozen=True)
class Part:
    """One answer box: its label, its form (answers.grade_part), the engine's answer, an example of the notation."""

    label: str
    form: str
    answer: object
    example: str = ""


@dataclass(frozen=True, eq=False)
class Question:
    """A generated question. config holds ConvConfig's fields (op, channels, input size, constructor arguments);
    x / w / b the values (kinds value, sources, targets); cell the output cell asked about (value, sources) or the
    input cell (targets); why the reasoning with the numbers substituted."""

    kind: str
    difficulty: int
    seed: int
    number: int
    prompt: str
    parts: tuple[Part, ...]
    config: dict | None = None
    x: np.ndarray | None = None
    w: np.ndarray | None = None
    b: np.ndarray | None = None
    cell: tuple[int, int] | None = None
    why: tuple[str, ...] = ()
    chain: tuple[Layer, ...] = ()
    chain_input: tuple[int, int, int] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return KINDS[self.kind]

    def grade(self, answers) -> Grade:
        """Grade one answer per part (text, or a set of cells): right only when every part is right; unreadable
        (with the message) when any part cannot be read."""
        verdicts = []
        for part, given in zip(self.parts, answers):
            try:
                verdicts.append(grade_part(part.form, part.answer, given))
            except Unreadable as err:
                label = f"{part.label}: " if len(self.parts) > 1 else ""
                return Grade("unreadable", label + str(err))
        notes = "; ".join(v.message for v in verdicts if v.message)
        return Grade("right" if all(v.right for v in verdicts) else "wrong", notes)


# ---- configurations ------------------------------------------------------------------------------------------------

def _pair(rng, lo: int, hi: int, square: bool) -> tuple[int, int]:
    a = int(rng.integers(lo, hi + 1))
    return (a, a) if square else (a, int(rng.integers(lo, hi + 1)))


def output_hw(cfg: dict) -> tuple[int, int]:
    """(H_out, W_out) of a config dict; ValueError (the engine's) when torch would reject it, or when it is empty."""
    size = (cfg["height"], cfg["width"])
    if cfg["op"] == "conv2d":
        out = conv2d_output_size(size, cfg["kernel_size"], cfg["stride"], cfg["padding"], cfg["dilation"])
        if cfg.get("padding_mode", "zeros") != "zeros":
            pads = normalise_padding(cfg["padding"], cfg["kernel_size"], cfg["stride"], cfg["dilation"])
            for n, (before, after) in zip(size, pads):
                pad_source_index(n, before, after, cfg["padding_mode"])
    else:
        s, d, op = cfg["stride"], cfg["dilation"], cfg["output_padding"]
        if any(op[i] >= max(s[i], d[i]) for i in (0, 1)):
            raise ValueError(f"output_padding {op} must be smaller than stride {s} or dilation {d}")
        out = conv_transpose2d_output_size(size, cfg["kernel_size"], s, cfg["padding"], op, d)
    if min(out) < 1:
        raise ValueError(f"the output {out} is empty")
    return out


def _config(rng, level: int, op: str, sizes=(4, 8), channels: bool = True) -> dict:
    """A random valid layer: level 1 changes one argument from the defaults, 2 several (square), 3 everything."""
    while True:
        square = level < 3
        lo, hi = sizes
        h, w = _pair(rng, lo, hi, square)
        cfg = dict(op=op, in_channels=1, out_channels=1, height=h, width=w, kernel_size=(3, 3), stride=(1, 1),
                   padding=(0, 0), dilation=(1, 1), groups=1, bias=False, padding_mode="zeros", output_padding=(0, 0))
        if level == 1:
            which = rng.choice(["kernel_size", "stride", "padding"] + (["dilation"] if op == "conv2d" else []))
            cfg[which] = {"kernel_size": _pair(rng, 1, 5, True), "stride": _pair(rng, 2, 3, True),
                          "padding": _pair(rng, 1, 2, True), "dilation": (2, 2)}[which]
        else:
            cfg["kernel_size"] = _pair(rng, 1, 5, square)
            cfg["stride"] = _pair(rng, 1, 3, square)
            cfg["padding"] = _pair(rng, 0, 2 if level == 2 else 3, square)
            if level == 3 or rng.random() < 0.3:
                cfg["dilation"] = _pair(rng, 1, 2 if level == 2 else 3, square)
            if channels:
                g = cfg["groups"] = int(rng.choice([1, 2, 3])) if level == 3 else 1
                most = 3 if g == 1 else LESSON_CHANNELS // g  # the lessons take up to 6 channels
                cfg["in_channels"] = g * int(rng.integers(1, most + 1))
                cfg["out_channels"] = g * int(rng.integers(1, most + 1))
            if level == 3 and op == "conv2d":
                if rng.random() < 0.25:
                    cfg["padding"], cfg["stride"] = str(rng.choice(["same", "valid"])), (1, 1)
                cfg["padding_mode"] = str(rng.choice(["zeros", "reflect", "replicate", "circular"]))
            if level == 3 and op == "conv_transpose2d":
                s, d = cfg["stride"], cfg["dilation"]
                cfg["output_padding"] = (int(rng.integers(0, max(s[0], d[0]))), int(rng.integers(0, max(s[1], d[1]))))
        try:
            output_hw(cfg)
        except ValueError:
            continue
        return cfg


def _op(rng, level: int) -> str:
    return "conv2d" if level == 1 and rng.random() < 0.6 else str(rng.choice(["conv2d", "conv_transpose2d"]))


def layer_text(cfg: dict) -> str:
    """nn.Conv2d(...) / nn.ConvTranspose2d(...) with only the non-default arguments."""
    return layer_expr(cfg["op"], cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"], cfg["stride"],
                      cfg["padding"], cfg["dilation"], cfg["groups"], cfg["bias"], cfg["padding_mode"],
                      cfg["output_padding"])


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(int(v)) for v in shape) + ")"


def _size_lines(cfg: dict) -> list[str]:
    """The output-size formula per dimension with the numbers substituted."""
    out = output_hw(cfg)
    pads = (normalise_padding(cfg["padding"], cfg["kernel_size"], cfg["stride"], cfg["dilation"])
            if cfg["op"] == "conv2d" else tuple((p, p) for p in cfg["padding"]))
    lines = []
    for axis, (n_name, o_name) in enumerate((("H_in", "H_out"), ("W_in", "W_out"))):
        n = (cfg["height"], cfg["width"])[axis]
        k, s, d = cfg["kernel_size"][axis], cfg["stride"][axis], cfg["dilation"][axis]
        before, after = pads[axis]
        if cfg["op"] == "conv2d":
            lines.append(f"{o_name} = floor(({n_name} + pad_before + pad_after - d(k-1) - 1) / s) + 1 = "
                         f"floor(({n} + {before} + {after} - {d}*({k}-1) - 1) / {s}) + 1 = {out[axis]}")
        else:
            op = cfg["output_padding"][axis]
            lines.append(f"{o_name} = ({n_name}-1)s - 2p + d(k-1) + output_padding + 1 = "
                         f"({n}-1)*{s} - 2*{before} + {d}*({k}-1) + {op} + 1 = {out[axis]}")
    return lines


# ---- the seven kinds -----------------------------------------------------------------------------------------------

def _shape_question(rng, level: int, **meta) -> Question:
    cfg = _config(rng, level, _op(rng, level), sizes=(4, 12) if level > 1 else (4, 8))
    out = (1, cfg["out_channels"]) + output_hw(cfg)
    shape_in = (1, cfg["in_channels"], cfg["height"], cfg["width"])
    prompt = (f"`{layer_text(cfg)}` gets an input of shape `{_shape_text(shape_in)}`. "
              f"What is the output's size **(H_out, W_out)**?")
    return Question("shape", level, prompt=prompt, config=cfg, why=tuple(_size_lines(cfg)),
                    parts=(Part("output size", "shape", out, "e.g. 4x4, (4, 4) or the full shape [1, 8, 4, 4]"),), **meta)


def _values(rng, shape, lo: int, hi: int) -> np.ndarray:
    return rng.integers(lo, hi + 1, shape).astype(DTYPE)


def _window_trace(cfg: dict, x, w, b, out_channel: int = 0):
    """The engine's step records of the question's layer (the zero-insertion view for ConvTranspose2d)."""
    if cfg["op"] == "conv2d":
        return trace_conv2d(x, w, b, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"],
                            cfg["padding_mode"], out_channel=out_channel)
    return trace_conv_transpose2d(x, w, b, cfg["stride"], cfg["padding"], cfg["output_padding"], cfg["groups"],
                                  cfg["dilation"], out_channel=out_channel).zero_insertion


def _weight_shape(cfg: dict) -> tuple[int, int, int, int]:
    k = tuple(cfg["kernel_size"])
    if cfg["op"] == "conv2d":
        return (cfg["out_channels"], cfg["in_channels"] // cfg["groups"]) + k
    return (cfg["in_channels"], cfg["out_channels"] // cfg["groups"]) + k


def _value_question(rng, level: int, **meta) -> Question:
    op = "conv2d" if level < 3 or rng.random() < 0.6 else "conv_transpose2d"
    cfg = _config(rng, max(level, 2) if level > 1 else 1, op, sizes=(3, 5), channels=False)
    if level == 2 and op == "conv2d":
        cfg["dilation"] = (1, 1)
    if level == 3 and op == "conv2d" and rng.random() < 0.5:
        cfg["in_channels"] = 2
    cfg["kernel_size"] = tuple(min(k, 3) for k in cfg["kernel_size"])
    if cfg["padding"] not in ("same", "valid"):
        cfg["padding"] = tuple(min(p, k - 1 if op == "conv_transpose2d" else 2)
                               for p, k in zip(cfg["padding"], cfg["kernel_size"]))
    cfg["bias"] = level > 1
    try:
        out_hw = output_hw(cfg)
    except ValueError:
        return _value_question(rng, level, **meta)
    x = _values(rng, (1, cfg["in_channels"], cfg["height"], cfg["width"]), 0 if level == 1 else -2, 4)
    w = _values(rng, _weight_shape(cfg), -1 if level == 1 else -2, 2)
    b = None
    if cfg["bias"]:
        b = (_values(rng, (1,), -3, 3) + (DTYPE(0.5) if level == 3 else 0)).astype(DTYPE)
    trace = _window_trace(cfg, x, w, b)
    cell = (int(rng.integers(0, out_hw[0])), int(rng.integers(0, out_hw[1])))
    step = trace.step_of(*cell)
    value = float(trace.results[step])
    prompt = (f"`{layer_text(cfg)}` with the input, weight{' and bias' if b is not None else ''} shown below. "
              f"What is **output[0, 0, {cell[0]}, {cell[1]}]**?")
    return Question("value", level, prompt=prompt, config=cfg, x=x, w=w, b=b, cell=cell,
                    why=tuple(arithmetic_lines(trace, step, digits=6)),
                    parts=(Part("value", "number", value, "a number, e.g. -2.5"),), **meta)


def _single_channel(rng, level: int, op: str) -> dict:
    cfg = _config(rng, level, op, sizes=(4, 7) if level == 1 else (4, 8), channels=False)
    if op == "conv2d" and level == 3 and rng.random() < 0.5 and cfg["padding_mode"] == "zeros":
        cfg["padding_mode"] = str(rng.choice(["reflect", "replicate", "circular"]))
        try:
            output_hw(cfg)
        except ValueError:
            cfg["padding_mode"] = "zeros"
    return cfg


def _index_map(cfg: dict):
    size = (cfg["height"], cfg["width"])
    if cfg["op"] == "conv2d":
        return conv2d_index_map(size, cfg["kernel_size"], cfg["stride"], cfg["padding"], cfg["dilation"],
                                cfg["padding_mode"])
    return conv_transpose2d_index_map(size, cfg["kernel_size"], cfg["stride"], cfg["padding"], cfg["output_padding"],
                                      cfg["dilation"])


def _cells(mask: np.ndarray) -> frozenset[tuple[int, int]]:
    return frozenset((int(r), int(c)) for r, c in zip(*np.nonzero(mask)))


def _sources_question(rng, level: int, **meta) -> Question:
    while True:
        op = "conv_transpose2d" if level == 3 and rng.random() < 0.3 else "conv2d"
        cfg = _single_channel(rng, level, op)
        out_hw = output_hw(cfg)
        cell = (int(rng.integers(0, out_hw[0])), int(rng.integers(0, out_hw[1])))
        answer = _cells(_index_map(cfg).source_mask(*cell))
        if answer:
            break
    size = f"{cfg['height']}x{cfg['width']}"
    prompt = (f"`{layer_text(cfg)}` on a {size} input. **Which input cells feed output cell {cell}?** "
              "Click them on the input grid (click again to unselect), then check.")
    rows = sorted({r for r, _ in answer})
    cols = sorted({c for _, c in answer})
    why = [f"Output cell {cell} reads input rows {rows} and columns {cols}: {len(answer)} cells."]
    if cfg["op"] == "conv2d":
        s, d = cfg["stride"], cfg["dilation"]
        why.append(f"Its window starts at padded row {cell[0]}*{s[0]} = {cell[0] * s[0]} and padded column "
                   f"{cell[1]}*{s[1]} = {cell[1] * s[1]}, with taps every {d[0]} row(s) and {d[1]} column(s); "
                   "taps on padding read no input cell" +
                   ("" if cfg["padding_mode"] == "zeros" else f" except the real cell a {cfg['padding_mode']} pad copies") + ".")
    else:
        why.append("In ConvTranspose2d output (r, c) gets input (i, j) through tap (a, b) when i*s + a*d = r + p "
                   "(and the same for columns).")
    return Question("sources", level, prompt=prompt, config=cfg, cell=cell, why=tuple(why),
                    parts=(Part("input cells", "cells", answer),), **meta)


def _targets_question(rng, level: int, **meta) -> Question:
    while True:
        cfg = _single_channel(rng, level, "conv_transpose2d")
        if level == 1 and cfg["stride"] == (1, 1):
            cfg["stride"] = (2, 2)
        cfg["height"], cfg["width"] = min(cfg["height"], 5), min(cfg["width"], 5)
        try:
            output_hw(cfg)
        except ValueError:
            continue
        cell = (int(rng.integers(0, cfg["height"])), int(rng.integers(0, cfg["width"])))
        answer = _cells(_index_map(cfg).target_mask(*cell))
        if answer:
            break
    out_hw = output_hw(cfg)
    prompt = (f"`{layer_text(cfg)}` on a {cfg['height']}x{cfg['width']} input gives a {out_hw[0]}x{out_hw[1]} output. "
              f"**Which output cells does input cell {cell} touch?** Click them on the output grid, then check.")
    s, p, d = cfg["stride"], cfg["padding"], cfg["dilation"]
    why = (f"Input ({cell[0]}, {cell[1]}) stamps value x kernel with its top-left tap at output row "
           f"{cell[0]}*{s[0]} - {p[0]} = {cell[0] * s[0] - p[0]} and column {cell[1]}*{s[1]} - {p[1]} = "
           f"{cell[1] * s[1] - p[1]}, taps every {d[0]} row(s) / {d[1]} column(s); cells outside the output "
           f"(cropped by padding) are not touched: {len(answer)} cells.",)
    return Question("targets", level, prompt=prompt, config=cfg, cell=cell, why=why,
                    parts=(Part("output cells", "cells", answer),), **meta)


def _padding_question(rng, level: int, **meta) -> Question:
    square = level < 3
    if rng.random() < 0.5:  # the padding that keeps the size
        k = _pair(rng, 1, 7 if level > 1 else 6, square)
        d = (1, 1) if level == 1 else _pair(rng, 1, 3, square)
        h, w = _pair(rng, 5, 12, square)
        cfg = dict(op="conv2d", in_channels=1, out_channels=1, height=h, width=w, kernel_size=k, stride=(1, 1),
                   padding=(0, 0), dilation=d, groups=1, bias=False, padding_mode="zeros", output_padding=(0, 0))
        totals = [d[i] * (k[i] - 1) for i in (0, 1)]
        answer = IMPOSSIBLE if any(t % 2 for t in totals) else (totals[0] // 2, totals[1] // 2)
        why = [f"With stride 1, H_out = H_in + 2p - d(k-1), so the size stays when 2p = d(k-1) = "
               f"{d[0]}*({k[0]}-1) = {totals[0]} (height) and {d[1]}*({k[1]}-1) = {totals[1]} (width)."]
        why.append("An odd total cannot be split into two equal integer paddings: impossible with an int padding "
                   "(padding='same' pads one more on the bottom/right instead)." if answer == IMPOSSIBLE else
                   f"padding = {answer}.")
        prompt = (f"`{layer_text(cfg)}` on a {h}x{w} input. **Which `padding=(pH, pW)` keeps the output {h}x{w}?** "
                  "Type `impossible` if no integer padding does.")
        return Question("padding", level, prompt=prompt, config=cfg, why=tuple(why), extra={"variant": "same"},
                        parts=(Part("padding", "pair", answer, "e.g. (1, 1), 2x1 or impossible"),), **meta)
    cfg = _config(rng, max(level, 2), "conv_transpose2d", sizes=(3, 8), channels=False)
    if level == 1:
        cfg["dilation"], cfg["stride"] = (1, 1), _pair(rng, 2, 3, True)
    cfg["output_padding"] = (0, 0)
    try:
        low = output_hw(cfg)
    except ValueError:
        return _padding_question(rng, level, **meta)
    s, d = cfg["stride"], cfg["dilation"]
    reach = (max(s[0], d[0]), max(s[1], d[1]))
    impossible = rng.random() < 0.25
    offsets = [int(rng.integers(0, reach[i])) for i in (0, 1)]
    if square:
        offsets[1] = offsets[0]
    if impossible:
        axis = int(rng.integers(0, 2))
        offsets[axis] = reach[axis] if rng.random() < 0.7 or low[axis] < 2 else -1
        if square:
            offsets[1 - axis] = offsets[axis]
    target = (low[0] + offsets[0], low[1] + offsets[1])
    answer = (offsets[0], offsets[1]) if all(0 <= offsets[i] < reach[i] for i in (0, 1)) else IMPOSSIBLE
    why = [f"With output_padding 0 the output is {low[0]}x{low[1]} (the formula below); output_padding adds "
           f"0 to max(stride, dilation) - 1 = {reach[0] - 1} rows and 0 to {reach[1] - 1} columns."]
    why.append("The requested size is out of that range: impossible." if answer == IMPOSSIBLE else
               f"output_padding = {target[0]} - {low[0]}, {target[1]} - {low[1]} = {answer}.")
    prompt = (f"`{layer_text(cfg)}` on a {cfg['height']}x{cfg['width']} input. **Which `output_padding=(oH, oW)` "
              f"makes the output {target[0]}x{target[1]}?** Type `impossible` if none does.")
    return Question("padding", level, prompt=prompt, config=cfg, why=tuple(why),
                    extra={"variant": "output_padding", "target": target},
                    parts=(Part("output_padding", "pair", answer, "e.g. (1, 0), 1x1 or impossible"),), **meta)


def _weights_question(rng, level: int, **meta) -> Question:
    op = "conv2d" if level == 1 else str(rng.choice(["conv2d", "conv_transpose2d"]))
    k = _pair(rng, 1, 5, level < 3)
    if level == 1:
        groups, cin, cout = 1, int(rng.integers(1, 9)), int(rng.integers(1, 17))
    elif level == 2 or rng.random() < 0.5:
        groups = int(rng.choice([2, 3, 4]))
        cin, cout = groups * int(rng.integers(1, 5)), groups * int(rng.integers(1, 5))
    else:  # depthwise: one group per input channel
        cin = int(rng.integers(2, 33))
        groups, cout = cin, cin * int(rng.choice([1, 1, 2, 3]))
    bias = bool(level < 3 or rng.random() < 0.7)
    cfg = dict(op=op, in_channels=cin, out_channels=cout, height=8, width=8, kernel_size=k, stride=(1, 1),
               padding=(0, 0), dilation=(1, 1), groups=groups, bias=bias, padding_mode="zeros", output_padding=(0, 0))
    shape = _weight_shape(cfg)
    count = int(np.prod(shape)) + (cout if bias else 0)
    layout = "(C_out, C_in/groups, kH, kW)" if op == "conv2d" else "(C_in, C_out/groups, kH, kW)"
    why = [f"weight: {layout} = {_shape_text(shape)}",
           f"parameters: {' * '.join(map(str, shape))}{f' + {cout} (bias)' if bias else ''} = {count}"]
    if groups > 1:
        why.insert(0, f"groups={groups}: each group maps {cin // groups} input channel(s) to {cout // groups} output "
                      "channel(s)" + (" (depthwise: one group per input channel)" if groups == cin else ""))
    prompt = f"`{layer_text(cfg)}`: what is the **shape of its weight**, and **how many parameters** does it have?"
    return Question("weights", level, prompt=prompt, config=cfg, why=tuple(why),
                    parts=(Part("weight shape", "tuple", shape, "e.g. [8, 1, 3, 3]"),
                           Part("parameters", "int", count, "a whole number")), **meta)


def _chain_question(rng, level: int, **meta) -> Question:
    while True:
        square = level < 3
        depth = level
        c, h, w = int(rng.choice([1, 3])), *_pair(rng, 9, 40, square)
        encoder, channels = [], [c]
        for i in range(depth):
            s = _pair(rng, 2, 3 if level == 3 else 2, square) if i == 0 or rng.random() < 0.7 else (1, 1)
            k = _pair(rng, max(2, s[0]), 5, square)
            p = tuple(int(rng.integers(0, (kk - 1) // 2 + 1)) for kk in k)
            p = (p[0], p[0]) if square else p
            d = _pair(rng, 1, 2, square) if level == 3 else (1, 1)
            channels.append(int(rng.choice([4, 8, 16, 32])))
            encoder.append(layer(CONV, channels[-1], k, s, p, 0, d))
        encoded = plan_chain((c, h, w), encoder)
        if encoded.error is not None:
            continue
        # each mirror gets back what its Conv2d received: output_padding = target - the size at output_padding 0
        decoder = []
        for step in reversed(encoded.steps):
            e = step.layer
            low = conv_transpose2d_output_size(step.out_shape[1:], e.kernel_size, e.stride, e.padding, 0, e.dilation)
            op = (step.in_shape[1] - low[0], step.in_shape[2] - low[1])
            decoder.append(layer(TRANSPOSE, step.in_shape[0], e.kernel_size, e.stride, e.padding, op, e.dilation))
        fixed = encoder + decoder
        # break one decoder layer whose stride leaves another output_padding to choose
        candidates = [i for i in range(depth, 2 * depth) if max(max(fixed[i].stride), max(fixed[i].dilation)) > 1]
        if not candidates:
            continue
        broken = int(rng.choice(candidates))
        good = fixed[broken]
        reach = tuple(max(good.stride[a], good.dilation[a]) for a in (0, 1))
        choices = [(a, b) for a in range(reach[0]) for b in range(reach[1]) if (a, b) != good.output_padding
                   and (not square or a == b)]
        if not choices:
            continue
        wrong = choices[int(rng.integers(0, len(choices)))]
        chain = list(fixed)
        chain[broken] = layer(TRANSPOSE, good.out_channels, good.kernel_size, good.stride, good.padding, wrong,
                              good.dilation)
        plan = plan_chain((c, h, w), chain)
        if plan.error is not None or not plan.mismatches or plan.mismatches[0].index != broken:
            continue
        break
    step = plan.steps[broken]
    lines = [f"{i + 1}. `{_chain_layer(s.layer, s.in_shape[0])}`" for i, s in enumerate(plan.steps)]
    prompt = (f"This encoder/decoder gets inputs of shape `(1, {c}, {h}, {w})`; each ConvTranspose2d should give back "
              f"the shape its mirrored Conv2d received.\n\n" + "\n".join(lines) +
              "\n\n**Which layer first breaks the return to the input size, and which `output_padding` fixes it?**")
    why = [f"Layer {i + 1}: {_shape_text(s.in_shape)} -> {_shape_text(s.out_shape)}"
           + (f" (should be {_shape_text(s.target)}, what layer {s.mirrors + 1} received)" if s.target else "")
           for i, s in enumerate(plan.steps)]
    why.append(f"Layer {broken + 1} gives {_shape_text(step.out_shape)} instead of {_shape_text(step.target)}: "
               f"output_padding {wrong} -> {good.output_padding}.")
    return Question("chain", level, prompt=prompt, why=tuple(why), chain=tuple(chain), chain_input=(c, h, w),
                    extra={"fixed": tuple(fixed)},
                    parts=(Part("layer number", "int", broken + 1, "e.g. 4"),
                           Part("output_padding", "pair", good.output_padding, "e.g. (1, 1) or 1x0")), **meta)


def _chain_layer(spec: Layer, in_channels: int) -> str:
    op = "conv2d" if spec.kind == CONV else "conv_transpose2d"
    return layer_expr(op, in_channels, spec.out_channels, spec.kernel_size, spec.stride, spec.padding, spec.dilation,
                      spec.groups, output_padding=spec.output_padding)


_MAKERS = {"shape": _shape_question, "value": _value_question, "sources": _sources_question,
           "targets": _targets_question, "padding": _padding_question, "weights": _weights_question,
           "chain": _chain_question}


def generate(kind: str, difficulty: int, rng: np.random.Generator, seed: int = 0, number: int = 0) -> Question:
    """One question of a kind from a numpy Generator."""
    if kind not in _MAKERS:
        raise ValueError(f"unknown question kind {kind!r}; choose one of {list(KINDS)}")
    if difficulty not in (1, 2, 3):
        raise ValueError(f"difficulty must be 1, 2 or 3, got {difficulty!r}")
    return _MAKERS[kind](rng, difficulty, seed=seed, number=number)


def round_kinds(seed: int, count: int, kinds=tuple(KINDS)) -> list[str]:
    """The kind of each question of a round: every chosen kind once per block, in a seeded order."""
    kinds = [k for k in KINDS if k in kinds] or list(KINDS)
    rng = np.random.default_rng([seed, 7919])
    out: list[str] = []
    while len(out) < count:
        out += [kinds[i] for i in rng.permutation(len(kinds))]
    return out[:count]


def question(seed: int, number: int, difficulty: int, kinds=tuple(KINDS)) -> Question:
    """Question `number` (from 0) of the round with this seed: the same for everyone who opens the same link."""
    kind = round_kinds(seed, number + 1, kinds)[number]
    return generate(kind, difficulty, np.random.default_rng([seed, number, difficulty]), seed, number)
