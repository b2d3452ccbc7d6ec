"""Depthwise image filters (one input channel per group, stride 1) as banded GEMMs on the flat padded image.

Flatten one padded channel to x (its rows `width` apart) and cut the flat output into blocks of P consecutive
pixels: out[P*m + r] = sum over kernel rows i of sum over u of x[P*m + i*d*width + u] * T_i[u, r], where the band
matrix T_i holds kernel row i on its diagonals (T_i[r + j*d, r] = w[i, j]). The matrix with rows m and columns u is a
strided view of x (rows P apart); BLAS needs its column count <= P, so u runs in pieces of at most P columns. BLAS
does about (P + d*(kW-1)) / kW times the multiply-adds of the direct sum, several times faster than numpy's
tap-by-tap passes.

The work runs in chunks of output rows, each gathering the padded rows it reads into per-thread scratch, so memory
stays at the output's size (a 4K photo is not copied whole).
"""
from __future__ import annotations

import numpy as np

from . import blas, parallel
from ..params import Pads, Pair

__all__ = ["correlate_banded"]

BAND = 8  # output pixels per GEMM row (P above): 8 measured fastest for 3x3 to 9x9 kernels
CHUNK_ELEMENTS = 1 << 19  # output elements per chunk of rows (the scratch a thread works in)
PARALLEL_MIN_ELEMENTS = 1 << 18  # outputs at least this large are split over threads


def correlate_banded(x: np.ndarray, w: np.ndarray, dilation: Pair, groups: int, padding: Pads, out: Pair) -> np.ndarray:
    """Stride-1 cross-correlation of x (N, C, H, W), zero-padded by padding, with a depthwise w (C*m, 1, kH, kW)."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    mult = o // groups
    (dh, dw), ((top, _), (left, right)) = dilation, padding
    ho, wo = out
    band = BAND
    # padded (r, col) sits at flat r*width + col: the zeros after a row's data double as the zeros before the next
    # row's, and a row must hold an output row
    width = max(wd + max(left, right), wo)
    pieces = [(u, min(band, band + dw * (kw - 1) - u)) for u in range(0, band + dw * (kw - 1), band)]
    taps = w.reshape(groups, mult, kh, kw)
    bands = np.zeros((groups, kh, band + dw * (kw - 1), mult, band), x.dtype)  # T_i per channel, multiplier columns
    for j in range(kw):
        for r in range(band):
            bands[:, :, r + j * dw, :, r] = taps[:, :, :, j].transpose(0, 2, 1)
    result = np.empty((n, o, ho, wo), x.dtype)
    rows_per_chunk = max(1, CHUNK_ELEMENTS // max(1, width * mult))
    chunks = [(image, g, r0, min(ho, r0 + rows_per_chunk)) for image in range(n) for g in range(groups)
              for r0 in range(0, ho, rows_per_chunk)]
    source_rows = rows_per_chunk + dh * (kh - 1) + 1  # + 1: reads past a row's end run into the next row's zeros
    source_length = source_rows * width + dw * (kw - 1) + 3 * band  # the last GEMM rows read past the last row

    def run_chunk(chunk):
        image, g, r0, r1 = chunk
        src = parallel.scratch("banded source", (source_length,), x.dtype)
        src[...] = 0
        grid = src[: source_rows * width].reshape(source_rows, width)
        lo, hi = max(r0, top), min(r1 + dh * (kh - 1) + 1, top + h)  # padded rows holding data
        if lo < hi:
            grid[lo - r0 : hi - r0, left : left + wd] = x[image, g, lo - top : hi - top]
        blocks = -(-((r1 - r0) * width) // band)
        acc = parallel.scratch("banded acc", (blocks, mult * band), x.dtype)
        item, src_at, acc_at = src.itemsize, blas.address(src), blas.address(acc)
        for i in range(kh):
            for u, cols in pieces:
                # a = the view (blocks, cols) of src from i*d*width + u with rows `band` apart; raw addresses, as
                # views cost more than these GEMMs' set-up
                blas.gemm_at(x.dtype, blocks, mult * band, cols, src_at + (i * dh * width + u) * item, band,
                             blas.address(bands[g, i, u]), mult * band, acc_at, mult * band, i or u)
        values = acc.reshape(blocks, mult, band).transpose(1, 0, 2).reshape(mult, blocks * band)
        values = values[:, : (r1 - r0) * width].reshape(mult, r1 - r0, width)
        result[image, g * mult : (g + 1) * mult, r0:r1] = values[:, :, :wo]

    threads = parallel.WORKERS if result.size >= PARALLEL_MIN_ELEMENTS and blas.thread_control() else 1
    if threads == 1:
        parallel.each(run_chunk, chunks, 1)
    else:
        with blas.single_threaded():
            parallel.each(run_chunk, chunks, threads)
    return result
