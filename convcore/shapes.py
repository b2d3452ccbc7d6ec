"""Output-size arithmetic for both ops and its inverses. Pure integers; the pages show these formulas."""
from __future__ import annotations

from .params import (Pair, _non_negative, _pair, _positive, check_output_padding, normalise_padding, same_padding,
                     transposed_size)

__all__ = [
    "conv2d_output_size",
    "conv_transpose2d_output_size",
    "same_padding",
    "transpose_output_range",
    "output_padding_for",
]


def _conv_out(n: int, k: int, s: int, pad_total: int, d: int) -> int:
    return (n + pad_total - d * (k - 1) - 1) // s + 1


def conv2d_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1) -> Pair:
    """(H_out, W_out) = floor((H + 2p - d(k-1) - 1) / s) + 1 per dimension; padding may be 'same' or 'valid'."""
    h, w = _pair(input_size, "input_size")
    k = _positive(_pair(kernel_size, "kernel_size"), "kernel_size")
    s = _positive(_pair(stride, "stride"), "stride")
    d = _positive(_pair(dilation, "dilation"), "dilation")
    pads = normalise_padding(padding, k, s, d)
    return (_conv_out(h, k[0], s[0], sum(pads[0]), d[0]), _conv_out(w, k[1], s[1], sum(pads[1]), d[1]))


def conv_transpose2d_output_size(input_size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1) -> Pair:
    """(H_out, W_out) = (H - 1)s - 2p + d(k-1) + output_padding + 1 per dimension."""
    n = _pair(input_size, "input_size")
    k = _positive(_pair(kernel_size, "kernel_size"), "kernel_size")
    s = _positive(_pair(stride, "stride"), "stride")
    p = _non_negative(_pair(padding, "padding"), "padding")
    d = _positive(_pair(dilation, "dilation"), "dilation")
    op = _pair(output_padding, "output_padding")
    return transposed_size(n, k, s, p, op, d)


def transpose_output_range(input_size, kernel_size, stride=1, padding=0, dilation=1) -> tuple[Pair, Pair]:
    """The smallest and largest output sizes a ConvTranspose2d can reach: ((min_h, min_w), (max_h, max_w)).

    min is the size with output_padding 0; max = min + stride - 1 (torch's output_size rule).
    """
    s = _positive(_pair(stride, "stride"), "stride")
    low = conv_transpose2d_output_size(input_size, kernel_size, s, padding, 0, dilation)
    return low, (low[0] + s[0] - 1, low[1] + s[1] - 1)


def output_padding_for(output_size, input_size, kernel_size, stride=1, padding=0, dilation=1) -> Pair:
    """The output_padding that makes a ConvTranspose2d produce output_size (torch's forward(output_size=...) rule).

    output_size may be (H, W), or a full shape whose trailing two entries are used.
    """
    size = tuple(output_size)
    if len(size) not in (2, 3, 4):
        raise ValueError(f"output_size must have 2 elements (H, W) or be a full 3-D/4-D shape, got {len(size)} elements: {size}")
    target = _pair(size[-2:], "output_size")
    low, high = transpose_output_range(input_size, kernel_size, stride, padding, dilation)
    for i, name in ((0, "height"), (1, "width")):
        if not low[i] <= target[i] <= high[i]:
            raise ValueError(
                f"requested an output {name} of {target[i]}, but valid sizes range from {low[i]} to {high[i]} "
                f"(for an input {name} of {_pair(input_size, 'input_size')[i]}: min = (H_in-1)*stride - 2*padding + "
                "dilation*(k-1) + 1, max = min + stride - 1)"
            )
    op = (target[0] - low[0], target[1] - low[1])
    return check_output_padding(op, _pair(stride, "stride"), _pair(dilation, "dilation"))
