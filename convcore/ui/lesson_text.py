"""The lessons' words and numbers, as plain text (pure: no streamlit): step labels, the arithmetic of a step, the
output_padding explanation and the overlap (checkerboard) story. Every number comes from the engine or the trace.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..shapes import conv2d_output_size, conv_transpose2d_output_size
from ..teaching.trace import CellKind, arithmetic_lines, format_number, overlap_counts, scatter_text
from .config import ConvConfig

VIEW_NOTES = {
    "zero insertion": "stride - 1 zeros go between the input's cells and dilation·(kernel - 1) - padding around them "
                      "(a negative amount crops), output_padding adds rows / columns at the bottom / right; then an "
                      "ordinary stride-1 convolution with the flipped kernel.",
    "scatter": "Each input cell in turn adds value x kernel onto the full output (stride apart); padding then crops "
               "that many rows / columns from every border.",
    "matrix": "C is the matching Conv2d as a matrix (rows: the input's pixels, columns: the output's); the "
              "transposed convolution is y = Cᵀ x + bias. One step = one column of C.",
}


def out_label(trace, step: int) -> str:
    r, c = trace.cell_of(step)
    return f"{step} · out[{r}, {c}]"


def in_label(scatter, step: int) -> str:
    return f"{step} · input[{scatter.in_rows[step]}, {scatter.in_cols[step]}]"


def parse_cell(text: str | None, size: tuple[int, int]) -> tuple[int, int] | None:
    """'row,col' inside an H x W grid -> (row, col); ValueError for anything else (None stays None)."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise ValueError(f"expected row,col, got {text!r}")
    r, c = (int(p) for p in parts)
    if not (0 <= r < size[0] and 0 <= c < size[1]):
        raise ValueError(f"cell ({r}, {c}) is outside the {size[0]}x{size[1]} input")
    return r, c


def window_arithmetic(trace, step: int) -> list[str]:
    """arithmetic_lines of a WindowTrace step (middle dot for products). The zero-insertion view leaves out the taps
    that read inserted or padding zeros (they add nothing) and says how many."""
    if trace.op == "conv2d":
        return arithmetic_lines(trace, step, digits=4, times="·")
    lines = arithmetic_lines(trace, step, digits=4, times="·", skip_zeros=True)
    kinds = trace.tap_kinds(step)
    zeros = int((kinds != CellKind.REAL).sum()) * len(trace.in_channels)
    if zeros:
        lines.insert(0, f"({zeros} of {kinds.size * len(trace.in_channels)} taps read inserted or padding zeros and "
                        f"are left out)")
    return lines


def scatter_lines(tt, step: int) -> list[str]:
    """A scatter step: what it adds where, and the values of the cells it touched right after."""
    view = tt.scatter
    rows, cols = view.stamp_rows[step], view.stamp_cols[step]
    adds = ", ".join(format_number(v) for v in view.stamps[step].ravel())
    now = ", ".join(format_number(v) for v in view.totals[step].ravel())
    return [scatter_text(tt, step, digits=4, times="·"),
            f"stamp (row by row): {adds}",
            f"canvas rows {rows[0]}..{rows[-1]}, cols {cols[0]}..{cols[-1]} now hold: {now}"]


AXES = (("height", "rows", "row", "bottom"), ("width", "columns", "column", "right"))


def output_padding_rows(cfg: ConvConfig, axis: int) -> list[tuple[int, int, int | None]]:
    """(output_padding, ConvTranspose2d output size, what the partner Conv2d maps that size back to) along one axis,
    for every output_padding torch allows there (0 .. max(stride, dilation) - 1). Sizes come from the engine."""
    n, k, s, p, d = ((cfg.height, cfg.width)[axis], cfg.kernel_size[axis], cfg.stride[axis], cfg.padding[axis],
                     cfg.dilation[axis])
    rows = []
    for op in range(max(s, d)):
        out = conv_transpose2d_output_size((n, n), (k, k), (s, s), (p, p), (op, op), (d, d))[0]
        back = conv2d_output_size((out, out), (k, k), (s, s), (p, p), (d, d))[0] if out > 0 else None
        rows.append((op, out, back))
    return rows


def axis_numbers(cfg: ConvConfig, axis: int) -> tuple[int, int, int, int, int]:
    return ((cfg.height, cfg.width)[axis], cfg.kernel_size[axis], cfg.stride[axis], cfg.padding[axis],
            cfg.dilation[axis])


def _sizes_text(sizes: list[int]) -> str:
    return sizes[0].__str__() if len(sizes) == 1 else ", ".join(map(str, sizes[:-1])) + f" and {sizes[-1]}"


def output_padding_story(cfg: ConvConfig, axis: int) -> str:
    """Markdown: which Conv2d input sizes collapse onto this input size, and what output_padding chooses."""
    size, lines, _, side = AXES[axis]
    n, k, s, p, d = axis_numbers(cfg, axis)
    rows = output_padding_rows(cfg, axis)
    conv = f"`Conv2d(kernel_size={k}, stride={s}, padding={p}, dilation={d})`"
    if len(rows) == 1:
        return (f"**{size.capitalize()}:** with stride {s} (and dilation {d}) every Conv2d input {size} gives a "
                f"different output {size}, so there is nothing to choose: output_padding must be 0 here.")
    same = [out for _, out, back in rows if back == n and out > 0]
    text = (f"**{size.capitalize()}:** {conv} maps inputs of {size} {_sizes_text(same)} all to {size} {n} "
            f"(the division by the stride rounds down). Going back, ConvTranspose2d cannot tell which one you "
            f"started from: it gives {rows[0][1]}, and output_padding adds {lines} at the {side} to reach the others.")
    beyond = [(op, out, back) for op, out, back in rows if back != n]
    if beyond:
        op, out, back = beyond[0]
        text += (f" output_padding={op} is allowed because it is smaller than the dilation {d}, but that {size} "
                 f"({out}) maps back to {back}, not {n}.")
    return text


def output_padding_table(cfg: ConvConfig, axis: int) -> str:
    """A markdown table of output_padding -> output size -> Conv2d back, the current choice marked."""
    size = AXES[axis][0]
    n = (cfg.height, cfg.width)[axis]
    now = cfg.effective_output_padding()[axis]
    head = f"| output_padding ({size}) | ConvTranspose2d output {size} | Conv2d maps it back to |\n|---|---|---|\n"
    rows = []
    for op, out, back in output_padding_rows(cfg, axis):
        mark = f"**{op}** (now)" if op == now else str(op)
        rows.append(f"| {mark} | {out} | {back}{'' if back == n else f' (not {n})'} |")
    body = "\n".join(rows)
    return head + body


def extra_cells_text(cfg: ConvConfig, demo: ConvConfig, y_demo: np.ndarray, y_base: np.ndarray,
                     out_channel: int) -> str:
    """Markdown: where demo's output_padding rows / columns go, that the rest equals output_padding 0, and what the
    new cells hold (real values where kernel taps reach them, only the bias where none does)."""
    op = demo.effective_output_padding()
    ho, wo = y_base.shape[-2:]
    same = bool(np.array_equal(y_demo[..., :ho, :wo], y_base))
    counts = overlap_counts((demo.height, demo.width), demo.kernel_size, demo.stride, demo.padding, op, demo.dilation)
    parts = [f"With `output_padding={tuple(op)}` the output grows from {ho}x{wo} to "
             f"{y_demo.shape[-2]}x{y_demo.shape[-1]}: the extra rows go at the **bottom** and the extra columns on "
             f"the **right**, never at the top or left."]
    parts.append("The first rows and columns are exactly the `output_padding=0` output." if same else
                 "The first rows and columns differ from the `output_padding=0` output (unexpected: please report).")
    for axis, count in ((0, op[0]), (1, op[1])):
        _, _, one, _ = AXES[axis]
        for j in range(count):
            index = (ho if axis == 0 else wo) + j
            taps = counts[index, :] if axis == 0 else counts[:, index]
            values = y_demo[0, out_channel, index, :] if axis == 0 else y_demo[0, out_channel, :, index]
            shown = ", ".join(format_number(v, 3) for v in values[:12]) + (", ..." if len(values) > 12 else "")
            if taps.any():
                parts.append(f"New {one} {index} is computed like any other: up to {int(taps.max())} kernel "
                             f"taps reach its cells, so it holds real values: [{shown}].")
            else:
                parts.append(f"New {one} {index} lies past the last {one} any kernel tap reaches "
                             f"(padding={demo.padding[axis]} cropped nothing there), so it holds only the bias: "
                             f"[{shown}].")
    parts.append("Set output_padding in the sidebar to see these cells outlined in purple in the other views.")
    return " ".join(parts[:2]) + "\n\n" + "\n\n".join(f"- {p}" for p in parts[2:-1]) + "\n\n" + parts[-1]


def demo_output_padding(cfg: ConvConfig) -> ConvConfig | None:
    """The configuration the explainer shows: the current one if it has output_padding, else output_padding 1
    where torch allows it; None when no axis allows any (stride and dilation 1)."""
    op = cfg.effective_output_padding()
    if any(op):
        return replace(cfg, output_padding=tuple(op), output_size=None)
    demo = tuple(1 if max(cfg.stride[a], cfg.dilation[a]) > 1 else 0 for a in (0, 1))
    return replace(cfg, output_padding=demo, output_size=None) if any(demo) else None


def interior_taps(kernel: int, stride: int, dilation: int) -> list[int]:
    """Along one axis, away from the borders: how many kernel taps reach an output position, per position mod stride.

    Output position r is reached by tap a when r + padding - a*dilation is a multiple of the stride, so only
    a*dilation mod stride matters; equal counts mean an even overlap (no checkerboard along this axis).
    """
    return np.bincount((np.arange(kernel) * dilation) % stride, minlength=stride).tolist()


def overlap_story(counts: np.ndarray, stride, kernel_size, dilation) -> str:
    """Markdown: whether kernel taps land evenly on the output (checkerboard or not), with the numbers."""
    lo, hi = int(counts.min()), int(counts.max())
    parts = [f"Output cells receive between {lo} and {hi} kernel taps."]
    uneven = []
    for a in (0, 1):
        taps = interior_taps(kernel_size[a], stride[a], dilation[a])
        if len(set(taps)) > 1:
            uneven.append(a)
            cycle = ", ".join(map(str, taps))
            parts.append(f"Away from the borders, along the {AXES[a][0]}, consecutive {AXES[a][1]} get {cycle}, "
                         f"{cycle}, ... taps (kernel {kernel_size[a]}, stride {stride[a]}, dilation {dilation[a]}).")
    if uneven:
        parts.append("Cells that get more taps come out stronger even when the input and the kernel are constant: "
                     "that periodic unevenness is the **checkerboard artifact** of transposed convolutions. With "
                     "dilation 1, a kernel size divisible by the stride spreads the taps evenly.")
    elif lo != hi:
        parts.append("Away from the borders every cell gets the same number of taps: only border cells get fewer, "
                     "which weakens the edges but makes no checkerboard.")
    else:
        parts.append("The overlap is even everywhere: no checkerboard.")
    return " ".join(parts)
