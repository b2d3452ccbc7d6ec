"""conv2d and conv_transpose2d of integer and float16 arrays, with torch 2.13's CPU arithmetic, bit for bit.

- Integers: torch multiplies and accumulates in the input's type, wrapping around. A sum modulo 2^bits does not
  depend on where the wrap happens, so this accumulates in int64 (numpy's int64 wraps too) and casts back, which
  wraps the same way.
- float16 conv2d: torch's CPU GEMM for half (ATen's BlasKernel) multiplies in float32 (exact for halves) and
  accumulates the K = C_in/groups * kH * kW products, in (channel, row, column) order, in 4 interleaved float32
  partial sums (product k goes to sum k % 4; the remainder after the last full 4 to sum 0), added as
  ((s0 + s1) + s2) + s3; the bias is added in float32 and the result rounded to half once.
- float16 conv_transpose2d: per kernel tap, a float32 sum over the input channels in order (its GEMM runs the
  other way round, one dot product per column), rounded to half (torch's columns); then col2im adds the taps into
  the output in half (each addition rounded), in row-major tap order, and the bias is added last, rounded again.

Plain vectorised loops over taps (and channels for half): teaching sizes, not speed; float32/float64/complex keep
the fast paths in convcore.functional.
"""
from __future__ import annotations

import numpy as np

from ..params import Pair

LANES = 4  # ATen's BlasKernel sum: 4 independent partial sums


def is_integer_or_half(dtype: np.dtype) -> bool:
    return dtype.kind in "iub" or dtype == np.float16


def _rows(i: int, d: int, s: int, n: int) -> slice:
    """The n positions tap i reads (conv2d) or writes (transposed), stride s apart."""
    return slice(i * d, i * d + (n - 1) * s + 1, s)


def correlate(xp: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride: Pair, dilation: Pair, groups: int,
              out: Pair) -> np.ndarray:
    """Valid cross-correlation of the padded xp (N, C, H, W) with w (O, C/groups, kH, kW), plus bias, in xp's dtype."""
    n, c = xp.shape[:2]
    o, cg, kh, kw = w.shape
    og = o // groups
    half = xp.dtype == np.float16
    acc_type = np.float32 if half else np.int64
    xg = xp.reshape(n, groups, cg, *xp.shape[2:]).astype(acc_type)
    wg = w.reshape(groups, og, cg, kh, kw).astype(acc_type)

    def window(i, j):  # (n, groups, cg, H_out, W_out)
        return xg[:, :, :, _rows(i, dilation[0], stride[0], out[0]), _rows(j, dilation[1], stride[1], out[1])]

    if not half:
        acc = np.zeros((n, groups, og) + out, np.int64)
        for i in range(kh):
            for j in range(kw):
                acc += np.einsum("ngchw,goc->ngohw", window(i, j), wg[:, :, :, i, j])
        total = acc.reshape(n, o, *out)
        if bias is not None:
            total += bias.astype(np.int64)[:, None, None]
        return total.astype(xp.dtype)  # wraps around like torch's integer arithmetic
    lanes = np.zeros((LANES, n, groups, og) + out, np.float32)
    k_total = cg * kh * kw
    body = k_total - k_total % LANES
    for k in range(k_total):
        ch, tap = divmod(k, kh * kw)
        i, j = divmod(tap, kw)
        lanes[k % LANES if k < body else 0] += window(i, j)[:, :, ch, None] * wg[None, :, :, ch, i, j, None, None]
    total = (((lanes[0] + lanes[1]) + lanes[2]) + lanes[3]).reshape(n, o, *out)
    if bias is not None:
        total = bias.astype(np.float32)[:, None, None] + total
    return total.astype(np.float16)


def transpose(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride: Pair, padding: Pair, dilation: Pair,
              groups: int, size: Pair) -> np.ndarray:
    """Transposed convolution of x (N, C_in, H, W) with w (C_in, C_out/groups, kH, kW), cropped by padding to size
    (output_padding included), plus bias, in x's dtype."""
    n, cin, h, wd = x.shape
    _, og, kh, kw = w.shape
    cg = cin // groups
    (sh, sw), (dh, dw), (ph, pw) = stride, dilation, padding
    half = x.dtype == np.float16
    acc_type = np.float32 if half else np.int64
    xg = x.reshape(n, groups, cg, h, wd).astype(acc_type)
    wg = w.reshape(groups, cg, og, kh, kw).astype(acc_type)
    full = (max((h - 1) * sh + dh * (kh - 1) + 1, ph + size[0]), max((wd - 1) * sw + dw * (kw - 1) + 1, pw + size[1]))
    acc = np.zeros((n, groups, og) + full, np.float16 if half else np.int64)
    for i in range(kh):
        for j in range(kw):
            target = acc[:, :, :, _rows(i, dh, sh, h), _rows(j, dw, sw, wd)]
            if not half:
                target += np.einsum("ngchw,gco->ngohw", xg, wg[:, :, :, i, j])
                continue
            column = np.zeros((n, groups, og, h, wd), np.float32)
            for ch in range(cg):
                column += xg[:, :, ch, None] * wg[None, :, ch, :, i, j, None, None]
            column = column.astype(np.float16)
            target[...] = (target.astype(np.float32) + column).astype(np.float16)
    out = acc[:, :, :, ph : ph + size[0], pw : pw + size[1]].reshape(n, groups * og, *size)
    if bias is not None:
        out = out.astype(np.float32 if half else np.int64) + bias.astype(acc_type)[:, None, None]
    return np.ascontiguousarray(out, dtype=x.dtype)
