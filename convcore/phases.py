"""Channel-mixing convolutions as one GEMM per kernel tap on a flat, channel-major buffer: no window copy.

With stride 1, flatten the zero-padded batch to X (C, N*Hp*Wp): tap (i, j) then reads X at the constant offset
i*d*Wp + j*d, so the correlation is sum over taps of W[:, :, i, j] @ X[:, offset : offset + L], accumulated in
place by BLAS. Columns that run past a row's end are garbage and are dropped at the end (a few percent).
Stride s becomes stride 1 by the polyphase split: the s*s sub-grids of the padded input, each tap reading one.
The transposed op is computed per output phase: output rows y = s*q + a take the taps i with
(a + p - i*d) divisible by s, a stride-1 correlation with that sub-kernel; no zero insertion, no scatter-add.
"""
from __future__ import annotations

import numpy as np

from . import blas, parallel
from .params import Pads, Pair

__all__ = ["correlate_phases", "transpose_phases"]

CHUNK_ELEMENTS = 1 << 17  # accumulator columns are processed in chunks of about this many elements (stays in cache)
PARALLEL_MIN_MACS = 1 << 24  # calls with at least this many multiply-adds split their columns over threads


def correlate_phases(x: np.ndarray, w: np.ndarray, stride: Pair, dilation: Pair, groups: int, padding: Pads,
                     out: Pair) -> np.ndarray:
    """Cross-correlation of x (N, C, H, W), zero-padded by padding, with w (O, C/groups, kH, kW): (N, O, out...)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (top, _), (left, _) = padding
    rows = _grid_axis(h, kh, stride[0], dilation[0], top, out[0])
    cols = _grid_axis(wd, kw, stride[1], dilation[1], left, out[1])
    (row_taps, row_phases, height), (col_taps, col_phases, width) = rows, cols
    plane = height * width
    used = n * plane + row_taps[-1][0] * width + col_taps[-1][0]  # the last tap's reads end here
    buffers = {}
    for _, a in row_taps:
        for _, b in col_taps:
            if (a, b) not in buffers:
                buffers[a, b] = buf = np.zeros((c, used), x.dtype)
                (h0, q0, nr), (w0, u0, nc) = row_phases[a], col_phases[b]
                if nr and nc:
                    grid = buf[:, : n * plane].reshape(c, n, height, width)
                    grid[:, :, q0 : q0 + nr, u0 : u0 + nc] = x[:, :, h0 :: stride[0], w0 :: stride[1]].transpose(1, 0, 2, 3)
    wt = np.ascontiguousarray(w.reshape(groups, o // groups, cg, kh, kw).transpose(3, 4, 0, 1, 2))
    taps = [(buffers[a, b], qi * width + qj, wt[i, j]) for i, (qi, a) in enumerate(row_taps) for j, (qj, b) in enumerate(col_taps)]
    acc = np.empty((o, n * plane), x.dtype)
    accumulate(taps, groups, acc[:, : (n - 1) * plane + out[0] * width])
    return acc.reshape(o, n, height, width)[:, :, : out[0], : out[1]].transpose(1, 0, 2, 3)


def _grid_axis(size: int, k: int, s: int, d: int, before: int, out: int):
    """One axis of the flat grid: the taps as (shift in the phase, phase), per phase (first source index, grid index
    where it lands, count), and the grid length.

    Padded index a + s*q of phase a lands at grid index q. The grid is shared by every phase and by the output, and is
    as short as the reads allow: the zeros after one row's data double as the zeros before the next row's
    (length = data + max(pad before, pad after) rather than data + both), which also trims the garbage columns.
    """
    taps = [divmod(i * d, s) for i in range(k)]
    phases, length = {}, out
    for a in sorted({a for _, a in taps}):
        first = (a - before) % s  # first source index in this phase
        count = len(range(first, size, s))
        start = (first + before - a) // s
        phases[a] = (first, start, count)
        if count:
            reach = max(q for q, b in taps if b == a)  # reads run to out - 1 + reach
            length = max(length, start + count, out + reach - start)
    return taps, phases, length


def _axis_phases(n_in: int, k: int, s: int, p: int, d: int, n_out: int):
    """Per output phase a of one axis of the transposed op: (a, output count, [(tap, input shift e)]).

    Output index s*q + a reads input q + e through tap i when (a + p - i*d) = s*e; taps reading only zeros are skipped.
    """
    phases = []
    for a in range(min(s, n_out)):
        count = len(range(a, n_out, s))
        taps = [(i, (a + p - i * d) // s) for i in range(k) if (a + p - i * d) % s == 0]
        phases.append((a, count, [(i, e) for i, e in taps if e < n_in and e + count > 0]))
    return phases


def transpose_phases(x: np.ndarray, w: np.ndarray, stride: Pair, padding: Pair, output_padding: Pair, dilation: Pair,
                     groups: int) -> np.ndarray:
    """Transposed convolution of x (N, C_in, H, W) with w (C_in, C_out/groups, kH, kW), output phase by phase."""
    n, cin, h, wd = x.shape
    _, og, kh, kw = w.shape
    o = og * groups
    size = [(x.shape[2 + ax] - 1) * stride[ax] - 2 * padding[ax] + dilation[ax] * (w.shape[2 + ax] - 1)
            + output_padding[ax] + 1 for ax in (0, 1)]
    rows = _axis_phases(h, kh, stride[0], padding[0], dilation[0], size[0])
    cols = _axis_phases(wd, kw, stride[1], padding[1], dilation[1], size[1])
    # one zero-padded copy of x serves every phase: shifts e run from -top to (extent - 1 - top)
    top = max([0] + [-e for _, _, taps in rows for _, e in taps])
    left = max([0] + [-e for _, _, taps in cols for _, e in taps])
    hb = top + max([h] + [count for _, count, _ in rows] + [count + e for _, count, taps in rows for _, e in taps])
    wb = left + max([wd] + [count for _, count, _ in cols] + [count + e for _, count, taps in cols for _, e in taps])
    plane = hb * wb
    offsets = [(e + top) * wb + (f + left) for _, _, rt in rows for _, e in rt for _, _, ct in cols for _, f in ct]
    buf = np.zeros((cin, n * plane + max([0] + offsets)), x.dtype)
    buf[:, : n * plane].reshape(cin, n, hb, wb)[:, :, top : top + h, left : left + wd] = x.transpose(1, 0, 2, 3)
    wt = np.ascontiguousarray(w.reshape(groups, cin // groups, og, kh, kw).transpose(3, 4, 0, 2, 1))  # (kh, kw, g, og, cg)
    result = np.empty((n, o, size[0], size[1]), x.dtype)
    acc = np.empty((o, n * plane), x.dtype)
    for a, count_a, rt in rows:
        for b, count_b, ct in cols:
            taps = [(buf, (e + top) * wb + (f + left), wt[i, j]) for i, e in rt for j, f in ct]
            block = acc[:, : (n - 1) * plane + count_a * wb]
            accumulate(taps, groups, block)
            result[:, :, a :: stride[0], b :: stride[1]] = acc.reshape(o, n, hb, wb)[:, :, :count_a, :count_b].transpose(1, 0, 2, 3)
    return result


def accumulate(taps, groups: int, acc: np.ndarray) -> None:
    """acc[:, p] = sum over taps (src, offset, wm) of wm[g] @ src[:, p + offset], per group g; zeros without taps.

    src is (C, length + offset) channel-major, wm is (groups, O/groups, C/groups), acc is (O, length). Large calls
    split the columns over the engine's threads, each running single-threaded BLAS.
    """
    o, length = acc.shape
    if not taps or taps[0][0].shape[0] == 0:
        acc[...] = 0
        return
    use_blas = blas.available(acc.dtype)
    work = o * (taps[0][0].shape[0] // groups) * len(taps) * length
    if use_blas and blas.thread_control() and parallel.WORKERS > 1 and work >= PARALLEL_MIN_MACS:
        with blas.single_threaded():
            parallel.run(lambda span: _accumulate_columns(taps, groups, acc, span, use_blas),
                         parallel.spans(length, parallel.WORKERS, align=16))
    else:
        _accumulate_columns(taps, groups, acc, (0, length), use_blas)


def _accumulate_columns(taps, groups, acc, span, use_blas) -> None:
    """accumulate() on the columns span=(start, stop), in cache-sized chunks (all taps per chunk)."""
    o = acc.shape[0]
    og, cg = o // groups, taps[0][0].shape[0] // groups
    chunk = max(256, CHUNK_ELEMENTS // max(1, o))
    for c0 in range(span[0], span[1], chunk):
        c1 = min(span[1], c0 + chunk)
        for t, (src, off, wm) in enumerate(taps):
            for g in range(groups):
                a = wm[g]
                b = src[g * cg : (g + 1) * cg, off + c0 : off + c1]
                c = acc[g * og : (g + 1) * og, c0:c1]
                if use_blas:
                    blas.gemm(a, b, c, accumulate=t > 0)
                elif t:
                    c += a @ b
                else:
                    np.matmul(a, b, out=c)
