"""Step records of a sliding window: conv2d over its padded input, or the transposed conv's zero-inserted input.

One step per output position, in raster order, for one batch element and one output channel. Every record is an
array over all steps (no Python loop over positions); the values come from the engine's own pieces: pad2d and the
engine's window view for what each tap reads, conv2d for the output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...functional import _windows, conv2d
from ...padding import pad2d, pad_source_index
from ...params import Pair, Pads, check_padding_mode, conv2d_call
from .maps import IndexMap, conv2d_map_from_pads

__all__ = ["CellKind", "WindowTrace", "trace_conv2d", "window_steps"]


class CellKind:
    """What a cell of the grid under the window holds."""

    REAL = 0  # a real input value
    PADDING = 1  # padding: zero, or a copy of a real cell (reflect / replicate / circular)
    INSERTED = 2  # a zero inserted between input elements (transposed conv, stride > 1)
    OUTPUT_PADDING = 3  # the transposed conv's extra bottom rows / right columns (output_padding)
    NAMES = ("input", "padding", "inserted zero", "output_padding")


@dataclass(frozen=True, eq=False)
class WindowTrace:
    """Every step of a window sliding over `grid` with `kernel`, for input `batch` and output channel `out_channel`.

    S = H_out * W_out steps; step s is output cell (s // W_out, s % W_out). Arrays over steps:
    tap_rows (S, kH) / tap_cols (S, kW): grid row/column each kernel row/column reads (dilation included);
    values / products (S, cg, kH, kW): grid values under the taps and their products with the kernel;
    channel_sums (S, cg): the products summed per input channel; running_sums (S, cg): cumulative over channels;
    results (S,): the output cell (bias included).
    """

    op: str  # "conv2d" or "conv_transpose2d"
    batch: int
    out_channel: int
    in_channels: tuple[int, ...]  # absolute indices of the group's input channels
    input: np.ndarray  # (cg, H, W) the real input of those channels
    grid: np.ndarray  # (cg, Hg, Wg) what the window slides over (padded / zero-inserted input)
    grid_rows: np.ndarray  # (Hg,) input row each grid row shows (-1: a zero that copies nothing)
    grid_cols: np.ndarray  # (Wg,)
    grid_kinds: np.ndarray  # (Hg, Wg) int8 CellKind
    kernel: np.ndarray  # (cg, kH, kW) as the window applies it (flipped for the transposed view)
    bias: object  # the output channel's bias (a numpy scalar) or None
    stride: Pair
    dilation: Pair
    output: np.ndarray  # (H_out, W_out)
    out_rows: np.ndarray
    out_cols: np.ndarray
    tap_rows: np.ndarray
    tap_cols: np.ndarray
    values: np.ndarray
    products: np.ndarray
    channel_sums: np.ndarray
    running_sums: np.ndarray
    results: np.ndarray
    index_map: IndexMap  # output cell <-> input cells and (original) kernel taps
    padding: Pads = ((0, 0), (0, 0))
    padding_mode: str = "zeros"

    @property
    def n_steps(self) -> int:
        return int(self.results.shape[0])

    @property
    def output_size(self) -> Pair:
        return (int(self.output.shape[0]), int(self.output.shape[1]))

    @property
    def kernel_size(self) -> Pair:
        return (int(self.kernel.shape[1]), int(self.kernel.shape[2]))

    def step_of(self, out_row: int, out_col: int) -> int:
        """The step that computes output cell (out_row, out_col)."""
        ho, wo = self.output_size
        if not (0 <= out_row < ho and 0 <= out_col < wo):
            raise ValueError(f"output cell ({out_row}, {out_col}) is outside the output of size {ho}x{wo}")
        return int(out_row * wo + out_col)

    def cell_of(self, step: int) -> Pair:
        """The output cell (row, col) of a step."""
        self.check_step(step)
        return (int(self.out_rows[step]), int(self.out_cols[step]))

    def check_step(self, step: int) -> int:
        if not 0 <= step < self.n_steps:
            raise ValueError(f"step {step} is outside 0..{self.n_steps - 1}")
        return int(step)

    def steps_reading(self, in_row: int, in_col: int) -> np.ndarray:
        """The steps (ascending) whose window reads input cell (in_row, in_col), padding copies included."""
        mask = self.index_map.target_mask(in_row, in_col)
        return np.flatnonzero(mask.ravel())

    def window_box(self, step: int) -> tuple[Pair, Pair]:
        """((top, left), (bottom, right)) grid cells spanned by the dilated window of a step (inclusive)."""
        self.check_step(step)
        return ((int(self.tap_rows[step, 0]), int(self.tap_cols[step, 0])),
                (int(self.tap_rows[step, -1]), int(self.tap_cols[step, -1])))

    def source_cells(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) of the distinct real input cells a step reads, padding copies included."""
        self.check_step(step)
        rows = self.grid_rows[self.tap_rows[step]]
        cols = self.grid_cols[self.tap_cols[step]]
        rr, cc = np.meshgrid(rows[rows >= 0], cols[cols >= 0], indexing="ij")
        cells = np.unique(np.stack([rr.ravel(), cc.ravel()], 1), axis=0) if rr.size else np.zeros((0, 2), int)
        return cells[:, 0], cells[:, 1]

    def tap_kinds(self, step: int) -> np.ndarray:
        """(kH, kW) CellKind of the grid cells a step's taps read."""
        self.check_step(step)
        return self.grid_kinds[np.ix_(self.tap_rows[step], self.tap_cols[step])]


def window_steps(grid: np.ndarray, kernel: np.ndarray, stride: Pair, dilation: Pair) -> dict[str, np.ndarray]:
    """The step arrays of a (cg, Hg, Wg) grid under a (cg, kH, kW) kernel, through the engine's window view."""
    cg, kh, kw = kernel.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho = (grid.shape[1] - dh * (kh - 1) - 1) // sh + 1
    wo = (grid.shape[2] - dw * (kw - 1) - 1) // sw + 1
    view = _windows(np.ascontiguousarray(grid)[None], 1, (kh, kw), stride, dilation, (ho, wo))[0, 0]
    values = view.transpose(3, 4, 0, 1, 2).reshape(ho * wo, cg, kh, kw)  # (cg, kh, kw, ho, wo) -> steps first
    products = values * kernel[None]
    channel_sums = products.reshape(ho * wo, cg, kh * kw).sum(2)
    out_rows, out_cols = np.divmod(np.arange(ho * wo), wo)
    return {
        "out_rows": out_rows,
        "out_cols": out_cols,
        "tap_rows": out_rows[:, None] * sh + np.arange(kh)[None, :] * dh,
        "tap_cols": out_cols[:, None] * sw + np.arange(kw)[None, :] * dw,
        "values": values,
        "products": products,
        "channel_sums": channel_sums,
        "running_sums": np.cumsum(channel_sums, axis=1),
    }


def _index(value, limit: int, name: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if not 0 <= value < limit:
        raise ValueError(f"{name}={value} is outside the {limit} {what} (0..{limit - 1})")
    return int(value)


def trace_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", *,
                 batch: int = 0, out_channel: int = 0) -> WindowTrace:
    """Step records of nn.Conv2d / F.conv2d (arguments as torch's) for one batch element and one output channel."""
    mode = check_padding_mode(padding_mode)
    call = conv2d_call(input, weight, bias, stride, padding, dilation, groups)
    n, c_in, h, w = call.x.shape
    c_out, cg = call.weight.shape[:2]
    batch = _index(batch, n, "batch", "batch elements")
    out_channel = _index(out_channel, c_out, "out_channel", "output channels")
    group = out_channel // (c_out // call.groups)
    chans = tuple(range(group * cg, (group + 1) * cg))

    padded = pad2d(call.x[batch : batch + 1], call.padding, mode)  # raises where torch refuses the mode
    # the engine's output, computed the way Conv2d.forward does it: pad with the mode, then a zero-padding conv
    output = conv2d(padded, call.weight, call.bias, call.stride, 0, call.dilation, call.groups)[0, out_channel]
    grid = padded[0, group * cg : (group + 1) * cg].copy()  # memory of our own: pad2d may return the input itself
    (top, bottom), (left, right) = call.padding
    grid_rows = pad_source_index(h, top, bottom, mode)
    grid_cols = pad_source_index(w, left, right, mode)
    inside_r = (np.arange(grid.shape[1]) >= top) & (np.arange(grid.shape[1]) < top + h)
    inside_c = (np.arange(grid.shape[2]) >= left) & (np.arange(grid.shape[2]) < left + w)
    kinds = np.where(inside_r[:, None] & inside_c[None, :], CellKind.REAL, CellKind.PADDING).astype(np.int8)

    steps = window_steps(grid, call.weight[out_channel], call.stride, call.dilation)
    index_map = conv2d_map_from_pads((h, w), call.kernel_size, call.stride, call.padding, call.dilation, mode)
    return WindowTrace(
        op="conv2d", batch=batch, out_channel=out_channel, in_channels=chans,
        input=call.x[batch, group * cg : (group + 1) * cg].copy(), grid=grid, grid_rows=grid_rows, grid_cols=grid_cols,
        grid_kinds=kinds, kernel=call.weight[out_channel], bias=None if call.bias is None else call.bias[out_channel],
        stride=call.stride, dilation=call.dilation, output=output, results=output.ravel(), index_map=index_map,
        padding=call.padding, padding_mode=mode, **steps,
    )

