"""Run by hand: would Winograd's minimal filtering make convcore's 3x3 layers faster? (It does not, on these
machines: issue 15's trial, kept so that it can be run again on another CPU or BLAS.)

    python benchmarks/winograd_trial.py            # check against torch, then CPU per call, one thread each
    python benchmarks/winograd_trial.py --wall     # wall time with the engine's threads and torch's 2

Each 2x2 block of outputs comes from an alpha x alpha tile of the padded input in three steps (Lavin and Gray, "Fast
Algorithms for Convolutional Neural Networks", 2016): the tile and the kernel are transformed (B^T d B and G g G^T),
multiplied elementwise, and the products transformed back (A^T m A). Summed over the input channels the elementwise
products are alpha^2 GEMMs, (O x C) @ (C x tiles), so the GEMM work per output is alpha^2 / 4 multiply-adds per
channel pair instead of 9:

- stride 1, F(2x2, 3x3): alpha = 4, 4 instead of 9;
- stride 2: an output pair of a row reads 5 inputs. The kernel's even taps (0 and 2) on the even inputs are F(2, 2),
  3 products for 4, and its middle tap on the odd inputs takes 2: 5 products for 6, alpha = 5, 6.25 instead of 9.
  Its transforms hold only 0 and +-1.

Here each transform is one small matmul per axis over the taps copied side by side (measured 2-4x faster than numpy
sums of slices), on chunks of tile rows of one image shared by the engine's threads, like convcore's phase GEMMs.
What decides it: the GEMMs shrink (their K is C = 64, where OpenBLAS runs at 35-43 GMAC/s a thread instead of ~48 at
K = 9C), and every transform is a pass over memory that a compiled Winograd does in registers.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from convcore import functional  # noqa: E402
from convcore.algorithms import blas, parallel  # noqa: E402
from convcore.params import Pads, Pair  # noqa: E402

CHUNK_ELEMENTS = 1 << 19  # a chunk's transformed tiles (alpha^2 x C x tiles) hold about this many elements
CHUNKS_PER_THREAD = 2  # at least this many chunks per thread, so that a thread slowed by a busy core can be helped


@functools.lru_cache(maxsize=None)
def _algorithm(stride: int):
    """(B^T, G, A^T) of the 1-D algorithm for 2 outputs of a 3-tap correlation at this stride (module docstring)."""
    if stride == 1:  # F(2, 3)
        bt = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
        g = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        at = [[1, 1, 1, 0], [0, 1, -1, -1]]
    else:  # stride 2: (d0 - d2) g0, d2 (g0 + g2), (d4 - d2) g2 for the even taps; d1 g1, d3 g1 for the middle one
        bt = [[1, 0, -1, 0, 0], [0, 0, 1, 0, 0], [0, 0, -1, 0, 1], [0, 1, 0, 0, 0], [0, 0, 0, 1, 0]]
        g = [[1, 0, 0], [1, 0, 1], [0, 0, 1], [0, 1, 0], [0, 1, 0]]
        at = [[1, 1, 0, 1, 0], [0, 1, 1, 0, 1]]
    return np.array(bt, np.float64), np.array(g, np.float64), np.array(at, np.float64)


def correlate_winograd(x: np.ndarray, w: np.ndarray, stride: Pair, padding: Pads, out: Pair,
                       bias: np.ndarray | None = None) -> np.ndarray:
    """Cross-correlation of x (N, C, H, W), zero-padded by padding, with w (O, C, 3, 3), stride (s, s) with s in
    {1, 2}, plus bias (O,) if given: (N, O, out...)."""
    n, c, h, wd = x.shape
    o = w.shape[0]
    s = stride[0]
    bt, g, at = _algorithm(s)
    bt_x = bt.astype(x.dtype)
    alpha, step = bt.shape[0], 2 * s  # tile size, and tile step (2 outputs at stride s)
    # the kernels transformed, one (O, C) matrix per tile position, ordered like V: U[j * alpha + i] = (G w G^T)[i, j]
    u = np.ascontiguousarray(np.einsum("ik,ockl,jl->jioc", g, w, g).reshape(alpha * alpha, o, c).astype(x.dtype))
    tiles = (-(-out[0] // 2), -(-out[1] // 2))
    rows_per_chunk = max(1, min(tiles[0], CHUNK_ELEMENTS // max(1, alpha * alpha * c * tiles[1])))
    threads = parallel.WORKERS if blas.thread_control() else 1
    while rows_per_chunk > 1 and n * -(-tiles[0] // rows_per_chunk) < threads * CHUNKS_PER_THREAD:
        rows_per_chunk = -(-rows_per_chunk // 2)
    result = np.empty((n, o) + tuple(out), x.dtype)
    center = _all_ones_column(at)
    chunks = [(i, r0, min(tiles[0], r0 + rows_per_chunk)) for i in range(n) for r0 in range(0, tiles[0], rows_per_chunk)]

    def run(chunk):
        image, r0, r1 = chunk
        rows = r1 - r0
        xs = _gather(x[image], r0, rows, tiles[1], alpha, step, padding)
        v = _transform_input(xs, bt_x, rows, tiles[1], step)
        m = parallel.scratch("winograd products", (alpha * alpha, o, rows * tiles[1]), x.dtype)
        for k in range(alpha * alpha):
            if blas.available(x.dtype):
                blas.gemm(u[k], v[k], m[k], accumulate=False)
            else:
                np.matmul(u[k], v[k], out=m[k])
        if bias is not None:  # A^T's all-ones column: a constant added to this product reaches every output once
            m[center * alpha + center] += bias[:, None]
        _transform_output(m.reshape(alpha * alpha, o, rows, tiles[1]), at, result[image, :, 2 * r0 : 2 * r1])

    with blas.single_threaded():
        parallel.each(run, chunks, threads)
    return result


def _all_ones_column(at: np.ndarray) -> int:
    return next(j for j in range(at.shape[1]) if np.all(at[:, j] == 1))


def _gather(image: np.ndarray, r0: int, rows: int, cols: int, alpha: int, step: int, padding: Pads) -> np.ndarray:
    """The padded input that tile rows [r0, r0 + rows) read, deinterleaved by the tile step: X[c, p, q, pc, u] is padded
    row step * (r0 + q) + p, column step * u + pc (zeros outside the image), per-thread scratch."""
    c, h, wd = image.shape
    extra = (alpha - 1) // step  # the tiles overlap into the next step's rows and columns
    xs = parallel.scratch("winograd input", (c, step, rows + extra, step, cols + extra), image.dtype)
    xs[...] = 0
    (top, _), (left, _) = padding
    for p in range(step):
        q0, q1, first_row = _inside(step * r0 + p - top, step, rows + extra, h)
        if q0 >= q1:
            continue
        for pc in range(step):
            u0, u1, first_col = _inside(pc - left, step, cols + extra, wd)
            if u0 < u1:
                xs[:, p, q0:q1, pc, u0:u1] = image[:, first_row : first_row + step * (q1 - q0) : step,
                                                   first_col : first_col + step * (u1 - u0) : step]
    return xs


def _inside(start: int, step: int, count: int, size: int) -> tuple[int, int, int]:
    """Of the indices start + step * q (q in [0, count)), the q range inside [0, size), and its first index."""
    q0 = max(0, -(-(-start) // step))
    q1 = min(count, max(q0, -(-(size - start) // step)))
    return q0, q1, start + step * q0


def _transform_input(xs: np.ndarray, bt: np.ndarray, rows: int, cols: int, step: int) -> np.ndarray:
    """V (alpha^2, C, rows * cols), V[j * alpha + i] = (B^T d B)[i, j] for every tile d, channel by channel.

    Each axis is one small matmul (B^T applied to the alpha taps stacked in front; BLAS runs it far faster than
    numpy's sums of slices), after the taps are copied side by side: input rows step * r + k first, then columns."""
    c, _, _, _, width = xs.shape
    alpha = bt.shape[0]
    row_taps = parallel.scratch("winograd row taps", (alpha, c, rows, step, width), xs.dtype)
    for k in range(alpha):
        row_taps[k] = xs[:, k % step, k // step : k // step + rows]
    by_rows = parallel.scratch("winograd rows", (alpha, c, rows, step, width), xs.dtype)
    np.matmul(bt, row_taps.reshape(alpha, -1), out=by_rows.reshape(alpha, -1))
    col_taps = parallel.scratch("winograd column taps", (alpha, alpha, c, rows, cols), xs.dtype)
    for l in range(alpha):
        col_taps[l] = by_rows[..., l % step, l // step : l // step + cols]
    v = parallel.scratch("winograd tiles", (alpha * alpha, c, rows * cols), xs.dtype)
    np.matmul(bt, col_taps.reshape(alpha, -1), out=v.reshape(alpha, -1))
    return v


def _transform_output(m: np.ndarray, at: np.ndarray, dest: np.ndarray) -> None:
    """dest (O, 2 rows, 2 cols, cropped) = A^T m A for every tile: m (alpha^2, O, rows, cols) ordered like V."""
    o, rows, cols = m.shape[1:]
    # m[j * alpha + i] is product (i, j), so kron(A^T, A^T) row b * 2 + a gives output (a, b)
    y = parallel.scratch("winograd outputs", (2, 2, o, rows, cols), m.dtype)
    np.matmul(np.kron(at, at).astype(m.dtype), m.reshape(m.shape[0], -1), out=y.reshape(4, -1))
    for a in range(2):
        for b in range(2):
            target = dest[:, a::2, b::2]
            target[...] = y[b, a, :, : target.shape[1], : target.shape[2]]


CASES = [((8, 64, 56, 56), (64, 64, 3, 3), 1), ((8, 64, 56, 56), (128, 64, 3, 3), 2), ((8, 128, 28, 28), (128, 128, 3, 3), 1),
         ((8, 32, 56, 56), (32, 32, 3, 3), 1)]  # bench_engine's cnn3x3 and cnn_s2, then wider and narrower layers


def check(torch) -> None:
    """Against torch on odd sizes, paddings and a bias (the trial must compute the same thing before it is timed)."""
    rng = np.random.default_rng(0)
    for n, c, o, h, w, s, p, with_bias in [(2, 5, 7, 9, 11, 1, 1, True), (1, 3, 4, 8, 8, 2, 1, False),
                                           (2, 6, 3, 13, 10, 2, 0, True), (3, 8, 16, 31, 17, 2, 2, True)]:
        x = rng.standard_normal((n, c, h, w)).astype(np.float32)
        wt = rng.standard_normal((o, c, 3, 3)).astype(np.float32)
        bias = rng.standard_normal(o).astype(np.float32) if with_bias else None
        ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(wt),
                                         None if bias is None else torch.from_numpy(bias), stride=s, padding=p).numpy()
        got = correlate_winograd(x, wt, (s, s), ((p, p), (p, p)), ref.shape[2:], bias)
        error = float(np.abs(got - ref).max() / np.abs(ref).max())
        assert error < 3e-6, (n, c, o, h, w, s, p, error)
    print("matches torch (max relative error < 3e-6)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wall", action="store_true", help="wall time, engine threads and torch's 2 (else CPU, 1 each)")
    parser.add_argument("--calls", type=int, default=15)
    args = parser.parse_args()
    import torch

    check(torch)
    torch.set_num_threads(2 if args.wall else 1)
    if not args.wall:
        parallel.WORKERS = 1
    clock = time.perf_counter if args.wall else time.thread_time
    rng = np.random.default_rng(1)
    print(f"{'layer':34s} {'winograd':>9s} {'phases':>9s} {'torch':>9s}  winograd/phases  phases/torch   "
          + ("wall ms" if args.wall else "CPU ms, one thread each"))
    for x_shape, w_shape, s in CASES:
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = rng.standard_normal(w_shape).astype(np.float32)
        out = ((x_shape[2] - 1) // s + 1, (x_shape[3] - 1) // s + 1)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        calls = {"winograd": lambda: correlate_winograd(x, w, (s, s), ((1, 1), (1, 1)), out),
                 "phases": lambda: functional.conv2d(x, w, stride=s, padding=1),
                 "torch": lambda: torch.nn.functional.conv2d(tx, tw, stride=s, padding=1)}
        times = {name: [] for name in calls}
        with torch.no_grad(), (contextlib.nullcontext() if args.wall else blas.single_threaded()):
            for fn in calls.values():
                fn()
            for _ in range(args.calls):
                for name, fn in calls.items():
                    t0 = clock()
                    fn()
                    times[name].append(clock() - t0)
        med = {name: float(np.median(t)) * 1e3 for name, t in times.items()}
        label = f"N={x_shape[0]} {x_shape[1]}->{w_shape[0]} {x_shape[2]}x{x_shape[3]} 3x3 s{s}"
        print(f"{label:34s} {med['winograd']:9.2f} {med['phases']:9.2f} {med['torch']:9.2f}  "
              f"{med['winograd'] / med['phases']:15.2f}  {med['phases'] / med['torch']:12.2f}")


if __name__ == "__main__":
    main()
