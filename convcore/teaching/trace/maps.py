"""Index maps of the teaching model: which input cells and kernel taps feed each output cell, and back.

Both ops are separable per axis: whether output row r reads input row i through kernel row a does not depend on
the column. So a map is two small tables, one per axis, and every 2-D question is a broadcast of the two.
Numpy only; built from the engine's own padding index (pad_source_index) and checked against the engine in tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...functional import conv2d, conv_transpose2d
from ...modules import Conv2d
from ...padding import pad_source_index
from ...params import (Pair, Pads, _non_negative, _pair, _positive, check_channels, check_output_padding, check_padding_mode,
                      normalise_padding)
from ...shapes import conv2d_output_size, conv_transpose2d_output_size

__all__ = [
    "AxisMap",
    "IndexMap",
    "conv2d_index_map",
    "conv_transpose2d_index_map",
    "channel_map",
    "input_channels_of",
    "overlap_counts",
    "conv2d_matrix",
    "conv_transpose2d_matrix",
    "MATRIX_MAX_PIXELS",
]

MATRIX_MAX_PIXELS = 1024  # matrices are for small teaching sizes: at most this many pixels on either side


@dataclass(frozen=True, eq=False)
class AxisMap:
    """One axis of a map: src[o, k] = the input index output position o reads through kernel tap k (-1 = none).

    padding[o, k] is True where the tap lands on a padded cell (conv2d); for reflect/replicate/circular padding
    src still names the real cell the padded cell copies, for zero padding src is -1.
    """

    src: np.ndarray  # (n_out, k) int
    padding: np.ndarray  # (n_out, k) bool


@dataclass(frozen=True, eq=False)
class IndexMap:
    """The spatial wiring of one conv2d or conv_transpose2d: output cell <-> input cells and kernel taps."""

    op: str
    input_size: Pair
    output_size: Pair
    kernel_size: Pair
    rows: AxisMap
    cols: AxisMap

    def sources(self, out_row: int, out_col: int) -> dict[str, np.ndarray]:
        """Every kernel tap of output cell (out_row, out_col), row-major: the input cell it reads (-1 = a zero)."""
        self._check(out_row, out_col, self.output_size, "output")
        r, c = self.rows, self.cols
        kh, kw = self.kernel_size
        return {
            "tap_row": np.repeat(np.arange(kh), kw),
            "tap_col": np.tile(np.arange(kw), kh),
            "in_row": np.repeat(r.src[out_row], kw),
            "in_col": np.tile(c.src[out_col], kh),
            "padding": (r.padding[out_row][:, None] | c.padding[out_col][None, :]).ravel(),
        }

    def targets(self, in_row: int, in_col: int) -> dict[str, np.ndarray]:
        """Every (output cell, tap) that reads input cell (in_row, in_col), directly or through a padding copy."""
        self._check(in_row, in_col, self.input_size, "input")
        out_r, tap_r = np.nonzero(self.rows.src == in_row)
        out_c, tap_c = np.nonzero(self.cols.src == in_col)
        # cartesian product of the row hits and the column hits
        pad = self.rows.padding[out_r, tap_r][:, None] | self.cols.padding[out_c, tap_c][None, :]
        n_r, n_c = len(out_r), len(out_c)
        return {
            "out_row": np.repeat(out_r, n_c),
            "out_col": np.tile(out_c, n_r),
            "tap_row": np.repeat(tap_r, n_c),
            "tap_col": np.tile(tap_c, n_r),
            "via_padding": pad.ravel(),
        }

    def target_mask(self, in_row: int, in_col: int) -> np.ndarray:
        """(H_out, W_out) bool: the output cells that input cell (in_row, in_col) touches."""
        self._check(in_row, in_col, self.input_size, "input")
        return (self.rows.src == in_row).any(1)[:, None] & (self.cols.src == in_col).any(1)[None, :]

    def source_mask(self, out_row: int, out_col: int) -> np.ndarray:
        """(H, W) bool: the input cells output cell (out_row, out_col) reads."""
        self._check(out_row, out_col, self.output_size, "output")
        h, w = self.input_size
        rows = np.zeros(h, bool)
        cols = np.zeros(w, bool)
        rows[self.rows.src[out_row][self.rows.src[out_row] >= 0]] = True
        cols[self.cols.src[out_col][self.cols.src[out_col] >= 0]] = True
        return rows[:, None] & cols[None, :]

    def tap_counts(self) -> np.ndarray:
        """(H_out, W_out) int: how many kernel taps of each output cell read a real input cell."""
        return (self.rows.src >= 0).sum(1)[:, None] * (self.cols.src >= 0).sum(1)[None, :]

    @staticmethod
    def _check(row: int, col: int, size: Pair, what: str) -> None:
        if not (0 <= row < size[0] and 0 <= col < size[1]):
            raise ValueError(f"{what} cell ({row}, {col}) is outside the {what} of size {size[0]}x{size[1]}")


def _conv_axis(n: int, pads: Pair, k: int, s: int, d: int, n_out: int, mode: str) -> AxisMap:
    pos = np.arange(n_out)[:, None] * s + np.arange(k)[None, :] * d  # position in the padded axis
    src = pad_source_index(n, pads[0], pads[1], mode)[pos]
    return AxisMap(src, (pos < pads[0]) | (pos >= pads[0] + n))


def conv2d_index_map(input_size, kernel_size, stride=1, padding=0, dilation=1, padding_mode="zeros") -> IndexMap:
    """The wiring of a Conv2d on an H x W input (padding: int, pair, 'same' or 'valid'; torch's padding modes)."""
    h, w = _pair(input_size, "input_size")
    k = _positive(_pair(kernel_size, "kernel_size"), "kernel_size")
    s = _positive(_pair(stride, "stride"), "stride")
    d = _positive(_pair(dilation, "dilation"), "dilation")
    pads: Pads = normalise_padding(padding, k, s, d)
    mode = check_padding_mode(padding_mode)
    out = conv2d_output_size((h, w), k, s, padding, d)
    if min(out) <= 0:
        raise ValueError(f"conv2d: an input of {h}x{w} with kernel {k}, dilation {d} and padding {padding} gives an empty output {out}")
    return conv2d_map_from_pads((h, w), k, s, pads, d, mode)


def conv2d_map_from_pads(size: Pair, k: Pair, s: Pair, pads: Pads, d: Pair, mode: str) -> IndexMap:
    """conv2d_index_map for already normal arguments (pads as ((top, bottom), (left, right)))."""
    out = tuple((size[i] + sum(pads[i]) - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in (0, 1))
    rows = _conv_axis(size[0], pads[0], k[0], s[0], d[0], out[0], mode)
    cols = _conv_axis(size[1], pads[1], k[1], s[1], d[1], out[1], mode)
    return IndexMap("conv2d", tuple(size), out, tuple(k), rows, cols)


def _transpose_axis(n: int, k: int, s: int, p: int, d: int, n_out: int) -> AxisMap:
    # output r gets x[i] * w[a] where i*s + a*d = r + p
    num = np.arange(n_out)[:, None] + p - np.arange(k)[None, :] * d
    i = num // s
    ok = (num % s == 0) & (i >= 0) & (i < n)
    return AxisMap(np.where(ok, i, -1), np.zeros(ok.shape, bool))


def conv_transpose2d_index_map(input_size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1) -> IndexMap:
    """The wiring of a ConvTranspose2d: taps are the kernel's own (unflipped) taps."""
    h, w = _pair(input_size, "input_size")
    k = _positive(_pair(kernel_size, "kernel_size"), "kernel_size")
    s = _positive(_pair(stride, "stride"), "stride")
    d = _positive(_pair(dilation, "dilation"), "dilation")
    p = _non_negative(_pair(padding, "padding"), "padding")
    op = check_output_padding(_pair(output_padding, "output_padding"), s, d)
    out = conv_transpose2d_output_size((h, w), k, s, p, op, d)
    if min(out) <= 0:
        raise ValueError(f"conv_transpose2d: the output size {out} is empty for an input of {h}x{w}")
    rows = _transpose_axis(h, k[0], s[0], p[0], d[0], out[0])
    cols = _transpose_axis(w, k[1], s[1], p[1], d[1], out[1])
    return IndexMap("conv_transpose2d", (h, w), out, k, rows, cols)


def channel_map(in_channels: int, out_channels: int, groups: int = 1) -> np.ndarray:
    """(out_channels, in_channels) bool: True where an input channel feeds an output channel (either op)."""
    cin, cout, g = check_channels(in_channels, out_channels, groups)
    return (np.arange(cout)[:, None] // max(cout // g, 1)) == (np.arange(cin)[None, :] // (cin // g))


def input_channels_of(out_channel: int, in_channels: int, out_channels: int, groups: int = 1) -> np.ndarray:
    """The input channels (absolute indices) that feed output channel out_channel."""
    if not 0 <= out_channel < out_channels:
        raise ValueError(f"out_channel={out_channel} is outside 0..{out_channels - 1}")
    return np.flatnonzero(channel_map(in_channels, out_channels, groups)[out_channel])


def overlap_counts(input_size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1) -> np.ndarray:
    """(H_out, W_out) int: how many kernel taps land on each output cell of a ConvTranspose2d.

    The engine's own answer: a transposed convolution of ones with a kernel of ones. Uneven counts are what
    makes checkerboard artifacts.
    """
    h, w = _pair(input_size, "input_size")
    kh, kw = _positive(_pair(kernel_size, "kernel_size"), "kernel_size")
    ones = conv_transpose2d(np.ones((1, 1, h, w)), np.ones((1, 1, kh, kw)), None, stride, padding, output_padding, 1,
                            dilation)
    return np.rint(ones[0, 0]).astype(np.int64)


def _check_matrix_size(n_in: int, n_out: int | None = None) -> None:
    """C has a row per output pixel and a column per input pixel: both must stay small enough to draw."""
    if n_in > MATRIX_MAX_PIXELS:
        raise ValueError(
            f"the matrix view is for small sizes: {n_in} input pixels (channels x H x W) is more than "
            f"{MATRIX_MAX_PIXELS}; use a smaller input or fewer channels"
        )
    if n_out is not None and n_out > MATRIX_MAX_PIXELS:
        raise ValueError(
            f"the matrix view is for small sizes: {n_out} output pixels (channels x H_out x W_out) is more than "
            f"{MATRIX_MAX_PIXELS}; use a smaller input, fewer channels or a larger stride"
        )


def conv2d_matrix(input_shape, weight, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros") -> np.ndarray:
    """The Conv2d (without bias) as a matrix C over flattened (C, H, W) pixels: conv2d(x).ravel() == C @ x.ravel().

    Built by running the engine on every one-hot input, so C is the engine's operator, padding modes included.
    """
    c, h, w = (int(v) for v in input_shape)
    weight = np.asarray(weight)
    n_in = c * h * w
    _check_matrix_size(n_in)
    basis = np.eye(n_in, dtype=weight.dtype).reshape(n_in, c, h, w)
    if padding_mode == "zeros":
        out = conv2d(basis, weight, None, stride, padding, dilation, groups)
    else:
        layer = Conv2d(c, weight.shape[0], weight.shape[2:], stride, padding, dilation, groups, False, padding_mode,
                       dtype=weight.dtype)
        layer.weight = weight
        out = layer(basis)
    _check_matrix_size(n_in, out[0].size)
    return np.ascontiguousarray(out.reshape(n_in, -1).T)


def conv_transpose2d_matrix(input_shape, weight, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> np.ndarray:
    """The ConvTranspose2d (without bias) as a matrix T: conv_transpose2d(x).ravel() == T @ x.ravel()."""
    c, h, w = (int(v) for v in input_shape)
    weight = np.asarray(weight)
    n_in = c * h * w
    _check_matrix_size(n_in)
    basis = np.eye(n_in, dtype=weight.dtype).reshape(n_in, c, h, w)
    out = conv_transpose2d(basis, weight, None, stride, padding, output_padding, groups, dilation)
    _check_matrix_size(n_in, out[0].size)
    return np.ascontiguousarray(out.reshape(n_in, -1).T)
