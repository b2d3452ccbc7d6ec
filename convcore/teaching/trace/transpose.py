"""conv_transpose2d three ways, for one batch element and one output channel, each computing its own numbers:

1. zero insertion: stride-1 zeros between input elements, padding d(k-1)-p (cropped where negative), output_padding's
   extra bottom rows / right columns, then an ordinary sliding window with the flipped kernel (a WindowTrace);
2. scatter: each input element in turn (raster order) stamps value x kernel (dilated) onto an accumulating canvas,
   then padding crops the canvas to the output;
3. matrix: the partner conv2d as a matrix C over flattened pixels; the transposed convolution is C^T.

Summation order (what "equal to the last bit" needs): every view, and conv_transpose2d itself at teaching sizes
(functional.ORDERED_MAX_MACS), sums each output cell in one order: per contributing input element, its products
summed over the group's channels first to last, then those terms in the raster order of the input elements (the
scatter's step order, the flipped kernel's window order). functional.ordered_sum fixes the order where numpy's own
sums would pair terms up, so the three views equal the engine bit for bit, for every real and complex dtype.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...functional import conv_transpose2d, ordered_sum
from ...padding import insert_zeros, pad2d
from ...params import Pair, conv_transpose2d_call
from ...shapes import output_padding_for
from .maps import IndexMap, conv2d_matrix, conv_transpose2d_index_map
from .window import CellKind, WindowTrace, _index, window_steps

__all__ = ["ScatterView", "MatrixView", "TransposeTrace", "trace_conv_transpose2d"]

# where two reasons apply to a cell, the one shown: output_padding over padding over inserted zero over real
_PRIORITY = np.array([0, 2, 1, 3])  # by CellKind value
_BY_PRIORITY = np.array([CellKind.REAL, CellKind.INSERTED, CellKind.PADDING, CellKind.OUTPUT_PADDING])


@dataclass(frozen=True, eq=False)
class ScatterView:
    """Each input element (raster order, S = H*W steps) stamps value x kernel onto the canvas, which accumulates.

    The canvas is the uncropped result (H-1)s + d(k-1) + 1 (grown where output_padding reaches past it); the output
    is canvas[top : top + H_out, left : left + W_out] + bias.
    """

    input_size: Pair
    canvas_size: Pair
    crop_origin: Pair  # (top, left) = padding: where the output starts on the canvas
    output_size: Pair
    canvas_kinds: np.ndarray  # (Hc, Wc) int8: REAL = kept, PADDING = cropped away, OUTPUT_PADDING = output_padding's
    in_rows: np.ndarray  # (S,)
    in_cols: np.ndarray
    stamp_rows: np.ndarray  # (S, kH) canvas row each kernel row lands on
    stamp_cols: np.ndarray  # (S, kW)
    stamp_products: np.ndarray  # (S, cg, kH, kW) input value x kernel tap, per input channel
    stamps: np.ndarray  # (S, kH, kW) summed over the group's input channels
    totals: np.ndarray  # (S, kH, kW) the canvas value of each stamped cell right after the step
    first_touch: np.ndarray  # (Hc, Wc) the first step that stamps each cell (-1: never)
    canvas: np.ndarray  # (Hc, Wc) after the last step
    output: np.ndarray  # (H_out, W_out) cropped canvas + bias
    bias: object

    @property
    def n_steps(self) -> int:
        return int(self.in_rows.shape[0])

    def step_of(self, in_row: int, in_col: int) -> int:
        """The step at which input cell (in_row, in_col) stamps."""
        h, w = self.input_size
        if not (0 <= in_row < h and 0 <= in_col < w):
            raise ValueError(f"input cell ({in_row}, {in_col}) is outside the input of size {h}x{w}")
        return int(in_row * w + in_col)

    def last_contribution(self) -> np.ndarray:
        """(S, Hc, Wc): for each step and canvas cell, the flat index into totals of the last stamp that landed
        there up to that step (-1: none yet). Memory S x canvas: small sizes."""
        s = self.n_steps
        hc, wc = self.canvas_size
        kh, kw = self.stamps.shape[1:]
        last = np.full((s, hc * wc), -1, np.int64)
        cells = (self.stamp_rows[:, :, None] * wc + self.stamp_cols[:, None, :]).reshape(s, kh * kw)
        last[np.arange(s)[:, None], cells] = np.arange(s * kh * kw).reshape(s, kh * kw)
        return np.maximum.accumulate(last, axis=0).reshape(s, hc, wc)  # later stamps have larger indices

    def history(self) -> np.ndarray:
        """(S, Hc, Wc): the canvas after every step, NaN where nothing has landed yet."""
        last = self.last_contribution()
        dtype = np.result_type(self.canvas.dtype, np.float16)
        values = self.totals.ravel().astype(dtype)[np.maximum(last, 0)]
        values[last < 0] = np.nan
        return values


@dataclass(frozen=True, eq=False)
class MatrixView:
    """The partner conv2d as a matrix C (rows: the transposed input's pixels, columns: its output's pixels).

    conv2d(z).ravel() == C @ z.ravel() for z of the transposed output's shape; the transposed convolution is
    y = C^T @ x.ravel() + bias. Pixels are flattened in (channel, row, column) order.
    """

    matrix: np.ndarray  # (C_in*H*W, C_out*H_out*W_out)
    x_flat: np.ndarray  # (C_in*H*W,)
    y_flat: np.ndarray  # (C_out*H_out*W_out,) = C^T x + bias
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    output: np.ndarray  # (C_out, H_out, W_out) = y_flat reshaped
    bias: np.ndarray | None  # (C_out,)

    def column_of(self, out_channel: int, out_row: int, out_col: int) -> int:
        """The column of C (= row of C^T) that computes output cell (out_channel, out_row, out_col)."""
        c, h, w = self.out_shape
        return int((out_channel * h + out_row) * w + out_col)

    def row_of(self, in_channel: int, in_row: int, in_col: int) -> int:
        c, h, w = self.in_shape
        return int((in_channel * h + in_row) * w + in_col)


@dataclass(frozen=True, eq=False)
class TransposeTrace:
    """conv_transpose2d for input `batch` and output channel `out_channel`, with its three views."""

    batch: int
    out_channel: int
    in_channels: tuple[int, ...]  # the group's input channels (absolute indices)
    input: np.ndarray  # (cg, H, W)
    kernel: np.ndarray  # (cg, kH, kW) = weight[in_channels, out_channel % (C_out/groups)], unflipped
    bias: object
    stride: Pair
    padding: Pair
    output_padding: Pair
    dilation: Pair
    groups: int
    output: np.ndarray  # (H_out, W_out) the engine's conv_transpose2d output
    zero_insertion: WindowTrace
    scatter: ScatterView
    index_map: IndexMap
    all_input: np.ndarray  # (C_in, H, W) every channel of the batch element (for the matrix view)
    weight: np.ndarray  # the full weight (C_in, C_out/groups, kH, kW)
    all_bias: np.ndarray | None

    @property
    def output_size(self) -> Pair:
        return (int(self.output.shape[0]), int(self.output.shape[1]))

    def matrix_view(self) -> MatrixView:
        """The matrix view (small sizes only: raises ValueError past MATRIX_MAX_PIXELS pixels on a side)."""
        c_in, h, w = self.all_input.shape
        c_out = self.weight.shape[1] * self.groups
        ho, wo = self.output_size
        (ph, pw), (sh, sw), (dh, dw) = self.padding, self.stride, self.dilation
        # the partner conv2d maps the transposed output's shape back to (at least) the transposed input's shape
        full = conv2d_matrix((c_out, ho, wo), self.weight, self.stride, self.padding, self.dilation, self.groups)
        h2 = (ho + 2 * ph - dh * (self.kernel.shape[1] - 1) - 1) // sh + 1
        w2 = (wo + 2 * pw - dw * (self.kernel.shape[2] - 1) - 1) // sw + 1
        # output_padding >= stride (allowed when < dilation) gives the partner extra rows: they feed nothing here
        keep = np.zeros((c_in, h2, w2), bool)
        keep[:, :h, :w] = True
        matrix = np.ascontiguousarray(full[keep.ravel()])
        x_flat = self.all_input.ravel()
        # y = C^T x, summed in the engine's order: over channels for each input pixel, then pixels in raster order;
        # products as input x weight, like the engine (numpy's complex multiply is not commutative to the last bit)
        terms = ordered_sum((x_flat[:, None] * matrix).reshape(c_in, h * w, -1), axis=0)
        y_flat = ordered_sum(terms, axis=0) + 0  # + 0 turns a -0.0 into the engine's +0.0
        if self.all_bias is not None:
            y_flat = y_flat + np.repeat(self.all_bias, ho * wo)
        return MatrixView(matrix, x_flat, y_flat, (c_in, h, w), (c_out, ho, wo), y_flat.reshape(c_out, ho, wo),
                          self.all_bias)


def _axis_prepare(n: int, s: int, k: int, d: int, p: int, op: int):
    """Per-axis layout of the zero-insertion grid: (top, bottom) padding (negative = crop), source index, kind."""
    nz = (n - 1) * s + 1 if n else 0
    t = d * (k - 1) - p
    size = nz + 2 * t + op
    zq = np.arange(size) - t  # index into the zero-inserted axis
    inside = (zq >= 0) & (zq < nz)
    src = np.where(inside & (zq % s == 0), zq // s, -1)
    kind = np.where(inside, np.where(zq % s == 0, CellKind.REAL, CellKind.INSERTED),
                    np.where(zq >= nz + max(t, 0), CellKind.OUTPUT_PADDING, CellKind.PADDING))
    return (t, t + op), src, kind


def _pad_or_crop(z: np.ndarray, rows: Pair, cols: Pair) -> np.ndarray:
    """Zero-pad the last two axes by positive amounts and crop by negative ones."""
    grown = pad2d(z, ((max(rows[0], 0), max(rows[1], 0)), (max(cols[0], 0), max(cols[1], 0))))
    h, w = grown.shape[-2:]
    return grown[..., max(-rows[0], 0) : h - max(-rows[1], 0), max(-cols[0], 0) : w - max(-cols[1], 0)]


def _zero_insertion(x, kernel, bias, stride, padding, output_padding, dilation, index_map, meta) -> WindowTrace:
    cg, kh, kw = kernel.shape
    h, w = x.shape[1:]
    rows, grid_rows, kind_r = _axis_prepare(h, stride[0], kh, dilation[0], padding[0], output_padding[0])
    cols, grid_cols, kind_c = _axis_prepare(w, stride[1], kw, dilation[1], padding[1], output_padding[1])
    grid = np.ascontiguousarray(_pad_or_crop(insert_zeros(x, stride), rows, cols))
    kinds = _BY_PRIORITY[np.maximum(_PRIORITY[kind_r][:, None], _PRIORITY[kind_c][None, :])].astype(np.int8)
    flipped = np.ascontiguousarray(kernel[:, ::-1, ::-1])
    steps = window_steps(grid, flipped, (1, 1), dilation)
    s = steps["products"].shape[0]
    # the engine's order: per tap of the flipped kernel, the channel sum; then the taps in window order
    per_tap = ordered_sum(steps["products"], axis=1).reshape(s, kh * kw)
    sums = ordered_sum(per_tap, axis=1) + 0  # + 0 turns a -0.0 into the engine's +0.0
    results = sums if bias is None else sums + bias
    ho, wo = index_map.output_size
    return WindowTrace(op="conv_transpose2d", input=x, grid=grid, grid_rows=grid_rows, grid_cols=grid_cols,
                       grid_kinds=kinds, kernel=flipped, bias=bias, stride=(1, 1), dilation=dilation,
                       output=results.reshape(ho, wo), results=results, index_map=index_map, **meta, **steps)


def _scatter(x, kernel, bias, stride, padding, output_padding, dilation, out_size) -> ScatterView:
    cg, kh, kw = kernel.shape
    h, w = x.shape[1:]
    (sh, sw), (dh, dw), (ph, pw) = stride, dilation, padding
    ho, wo = out_size
    hc = max((h - 1) * sh + dh * (kh - 1) + 1, ph + ho)
    wc = max((w - 1) * sw + dw * (kw - 1) + 1, pw + wo)
    in_rows, in_cols = np.divmod(np.arange(h * w), w)
    stamp_rows = in_rows[:, None] * sh + np.arange(kh)[None, :] * dh
    stamp_cols = in_cols[:, None] * sw + np.arange(kw)[None, :] * dw
    xs = x.reshape(cg, h * w).T  # (S, cg)
    stamp_products = xs[:, :, None, None] * kernel[None]
    stamps = ordered_sum(stamp_products, axis=1)
    # accumulate in step order, per cell, exactly as a loop over steps would: the k-th contribution to every cell
    # is added in round k (a cell gets at most one contribution per step, so a round touches distinct cells)
    s = h * w
    cells = (stamp_rows[:, :, None] * wc + stamp_cols[:, None, :]).ravel()
    values = stamps.ravel()
    order = np.argsort(cells, kind="stable")  # stable: within a cell, contributions stay in step order
    sorted_cells = cells[order]
    starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
    rank = np.empty(len(cells), np.int64)
    rank[order] = np.arange(len(cells)) - np.repeat(starts, np.diff(np.r_[starts, len(cells)]))
    acc = np.zeros(hc * wc, stamps.dtype)
    totals = np.empty(len(cells), stamps.dtype)
    for k in range(int(rank.max()) + 1 if len(cells) else 0):
        sel = np.flatnonzero(rank == k)
        acc[cells[sel]] += values[sel]
        totals[sel] = acc[cells[sel]]
    first = np.full(hc * wc, -1)
    first_sel = np.flatnonzero(rank == 0)
    first[cells[first_sel]] = first_sel // (kh * kw)
    canvas = acc.reshape(hc, wc)
    kinds = np.full((hc, wc), CellKind.PADDING, np.int8)
    kinds[ph : ph + ho, pw : pw + wo] = CellKind.REAL
    op_h, op_w = output_padding
    kinds[ph + ho - op_h : ph + ho, pw : pw + wo] = CellKind.OUTPUT_PADDING
    kinds[ph : ph + ho, pw + wo - op_w : pw + wo] = CellKind.OUTPUT_PADDING
    cropped = canvas[ph : ph + ho, pw : pw + wo]
    output = cropped + bias if bias is not None else cropped.copy()
    return ScatterView((h, w), (hc, wc), (ph, pw), (ho, wo), kinds, in_rows, in_cols, stamp_rows, stamp_cols, stamp_products,
                       stamps, totals.reshape(s, kh, kw), first.reshape(hc, wc), canvas, output, bias)


def trace_conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1, *,
                           batch: int = 0, out_channel: int = 0, output_size=None) -> TransposeTrace:
    """The three views of F.conv_transpose2d (torch's arguments; output_size as in ConvTranspose2d.forward)."""
    if output_size is not None:
        x0, w0 = np.asarray(input), np.asarray(weight)
        output_padding = output_padding_for(output_size, x0.shape[-2:], w0.shape[-2:], stride, padding, dilation)
    call = conv_transpose2d_call(input, weight, bias, stride, padding, output_padding, groups, dilation)
    n, c_in, h, w = call.x.shape
    og = call.weight.shape[1]
    c_out = og * call.groups
    batch = _index(batch, n, "batch", "batch elements")
    out_channel = _index(out_channel, c_out, "out_channel", "output channels")
    group, local = divmod(out_channel, og)
    cg = c_in // call.groups
    chans = tuple(range(group * cg, (group + 1) * cg))
    pad = (call.padding[0][0], call.padding[1][0])

    output = conv_transpose2d(call.x[batch : batch + 1], call.weight, call.bias, call.stride, pad, call.output_padding,
                              call.groups, call.dilation)[0, out_channel]
    x = np.ascontiguousarray(call.x[batch, group * cg : (group + 1) * cg])
    kernel = np.ascontiguousarray(call.weight[group * cg : (group + 1) * cg, local])
    b = None if call.bias is None else call.bias[out_channel]
    index_map = conv_transpose2d_index_map((h, w), call.kernel_size, call.stride, pad, call.output_padding, call.dilation)
    meta = {"batch": batch, "out_channel": out_channel, "in_channels": chans}
    zero = _zero_insertion(x, kernel, b, call.stride, pad, call.output_padding, call.dilation, index_map, meta)
    scatter = _scatter(x, kernel, b, call.stride, pad, call.output_padding, call.dilation, index_map.output_size)
    return TransposeTrace(batch, out_channel, chans, x, kernel, b, call.stride, pad, call.output_padding, call.dilation,
                          call.groups, output, zero, scatter, index_map, np.array(call.x[batch]), np.array(call.weight),
                          None if call.bias is None else np.array(call.bias))
