"""Depthwise image filters (one input channel per group, stride 1) as banded GEMMs on the flat padded image.

Flatten one padded channel to x (its rows `width` apart) and cut the flat output into blocks of P consecutive
pixels: out[P*m + r] = sum over kernel rows i of sum over u of x[P*m + i*d*width + u] * T_i[u, r], where the band
matrix T_i holds kernel row i on its diagonals (T_i[r + j*d, r] = w[i, j]). The matrix with rows m and columns u is a
strided view of x (rows P apart); BLAS needs its column count <= P, so u runs in pieces of at most P columns. BLAS
does about (P + d*(kW-1)) / kW times the multiply-adds of the direct sum, several times faster than numpy's
tap-by-tap passes. Memory: one padded copy of the input and the output; the rest is per-chunk scratch.
"""
from __future__ import annotations

import threading

import numpy as np

from . import blas, parallel
from .params import Pads, Pair

__all__ = ["correlate_banded"]

BAND = 8  # output pixels per GEMM row (P above): 8 measured fastest for 3x3 to 9x9 kernels
CHUNK_ELEMENTS = 1 << 19  # output elements per chunk of rows (the scratch a thread works in)
PARALLEL_MIN_ELEMENTS = 1 << 18  # outputs at least this large are split over threads


def correlate_banded(x: np.ndarray, w: np.ndarray, dilation: Pair, groups: int, padding: Pads, out: Pair) -> np.ndarray:
    """Stride-1 cross-correlation of x (N, C, H, W), zero-padded by padding, with a depthwise w (C*m, 1, kH, kW)."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    mult = o // groups
    (dh, dw), ((top, bottom), (left, right)) = dilation, padding
    ho, wo = out
    # padded (r, col) sits at flat r*width + col: the zeros after a row's data double as the zeros before the next
    # row's, and a row must hold an output row
    width = max(wd + max(left, right), wo)
    band = BAND
    pieces = [(u, min(band, band + dw * (kw - 1) - u)) for u in range(0, band + dw * (kw - 1), band)]
    rows = top + h + bottom
    tail = (kh - 1) * dh * width + dw * (kw - 1) + 3 * band  # the last GEMM rows read past the last output row
    flat = np.zeros((n * c, left + rows * width + tail), x.dtype)
    grid = flat[:, left : left + rows * width].reshape(n * c, rows, width)
    _copy(grid[:, top : top + h, :wd], x.reshape(n * c, h, wd))
    taps = w.reshape(groups, mult, kh, kw)
    bands = np.zeros((groups, kh, band + dw * (kw - 1), mult, band), x.dtype)  # T_i per channel, multiplier columns
    for j in range(kw):
        for r in range(band):
            bands[:, :, r + j * dw, :, r] = taps[:, :, :, j].transpose(0, 2, 1)
    result = np.empty((n, o, ho, wo), x.dtype)
    rows_per_chunk = max(1, CHUNK_ELEMENTS // max(1, width * mult))
    chunks = [(image, g, r0, min(ho, r0 + rows_per_chunk)) for image in range(n) for g in range(groups)
              for r0 in range(0, ho, rows_per_chunk)]
    block_rows = -(-(rows_per_chunk * width) // band)

    def run_chunk(chunk, scratch):
        image, g, r0, r1 = chunk
        src = flat[image * c + g]
        blocks = -(-((r1 - r0) * width) // band)
        acc = scratch[:blocks]
        first = True
        for i in range(kh):
            base = (r0 + i * dh) * width  # output (r, col) reads flat (r + i*d)*width + col + j*d
            for u, cols in pieces:
                a = np.ndarray((blocks, cols), x.dtype, buffer=src, offset=(base + u) * src.itemsize,
                               strides=(band * src.itemsize, src.itemsize))
                blas.gemm(a, bands[g, i, u : u + cols].reshape(cols, mult * band), acc, accumulate=not first)
                first = False
        values = acc.reshape(blocks, mult, band).transpose(1, 0, 2).reshape(mult, blocks * band)
        values = values[:, : (r1 - r0) * width].reshape(mult, r1 - r0, width)
        result[image, g * mult : (g + 1) * mult, r0:r1] = values[:, :, :wo]

    def scratch():
        return np.empty((block_rows, mult * band), x.dtype)

    threads = parallel.WORKERS if result.size >= PARALLEL_MIN_ELEMENTS and blas.thread_control() else 1
    if threads == 1:
        buffer = scratch()
        for chunk in chunks:
            run_chunk(chunk, buffer)
        return result
    pending = iter(chunks)
    lock = threading.Lock()

    def worker(_):
        buffer = scratch()
        while True:
            with lock:
                chunk = next(pending, None)
            if chunk is None:
                return
            run_chunk(chunk, buffer)

    with blas.single_threaded():
        parallel.run(worker, range(min(threads, len(chunks))))
    return result


def _copy(dest: np.ndarray, src: np.ndarray) -> None:
    """dest[...] = src, split over threads along the first axis when large."""
    threads = parallel.WORKERS if dest.size >= PARALLEL_MIN_ELEMENTS else 1
    parallel.run(lambda span: dest.__setitem__(slice(*span), src[span[0] : span[1]]), parallel.spans(dest.shape[0], threads))
