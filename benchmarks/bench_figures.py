"""Speed and size of the teaching model and its figures (run by hand: python benchmarks/bench_figures.py).

Budgets from the issue: all steps of a 32x32 conv2d traced in about a millisecond; a 16x16 input's animated figure
under 1 MB of JSON and built in under 100 ms; at most a few hundred frames (FRAME_CAP) per figure.
Times are medians of repeated runs in CPU time (the machine is shared; wall time is noisier), with the spread.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from convcore import conv2d  # noqa: E402
from convcore.teaching.trace import trace_conv2d, trace_conv_transpose2d  # noqa: E402
from convcore.viz import FRAME_CAP, conv2d_figure, is_animated, matrix_figure, scatter_figure, zero_insertion_figure  # noqa: E402


def timed(fn, repeat: int = 15, number: int = 1) -> tuple[float, float, float]:
    """(median, min, max) CPU milliseconds per call."""
    fn()  # warm-up (imports, caches)
    runs = []
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(number):
            fn()
        runs.append((time.process_time() - t0) / number * 1e3)
    return statistics.median(runs), min(runs), max(runs)


def row(name: str, stats, extra: str = "") -> None:
    med, lo, hi = stats
    print(f"{name:58s} {med:8.2f} ms  (min {lo:.2f}, max {hi:.2f}) {extra}")


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"FRAME_CAP = {FRAME_CAP}\n")
    print("traces")
    for size, cin, cout in ((16, 1, 1), (32, 1, 1), (32, 3, 4)):
        x = rng.standard_normal((1, cin, size, size))
        w = rng.standard_normal((cout, cin, 3, 3))
        b = rng.standard_normal(cout)
        engine = timed(lambda: conv2d(x, w, b, 1, 1), number=20)
        trace = timed(lambda: trace_conv2d(x, w, b, 1, 1), number=20)
        row(f"trace_conv2d {size}x{size}, {cin}->{cout} ch, 3x3, pad 1 ({size * size} steps)", trace,
            f"engine conv2d alone {engine[0]:.2f} ms")
    x = rng.standard_normal((1, 1, 8, 8))
    w = rng.standard_normal((1, 1, 3, 3))
    row("trace_conv_transpose2d 8x8, 3x3, stride 2 (3 views)", timed(lambda: trace_conv_transpose2d(x, w, None, 2, 1, 1), number=10))
    tt = trace_conv_transpose2d(rng.standard_normal((1, 1, 4, 4)), w, None, 2, 1, 1)
    row("matrix_view 4x4 -> 8x8", timed(lambda: tt.matrix_view(), number=10))

    print("\nfigures (build = trace -> go.Figure; JSON = fig.to_json())")
    cases = []
    for size in (5, 8, 16):
        x = rng.integers(-3, 4, (1, 1, size, size)).astype(float)
        w = rng.integers(-2, 3, (1, 1, 3, 3)).astype(float)
        tr = trace_conv2d(x, w, np.array([0.5]), 1, 1, 1, 1, "reflect")
        cases.append((f"conv2d {size}x{size} reflect pad 1 ({tr.n_steps} steps)", lambda tr=tr: conv2d_figure(tr, 0)))
    x16 = rng.standard_normal((1, 1, 16, 16))
    tr16 = trace_conv2d(x16, rng.standard_normal((1, 1, 3, 3)), np.array([0.1]), 2, 2, 2)
    cases.append((f"conv2d 16x16 stride 2 dilation 2 float ({tr16.n_steps} steps)", lambda: conv2d_figure(tr16, 0)))
    trm = trace_conv2d(rng.standard_normal((1, 2, 8, 8)), rng.standard_normal((2, 2, 3, 3)), None, 1, 1)
    cases.append(("conv2d 8x8, 2 input channels", lambda: conv2d_figure(trm, 0)))
    tr32 = trace_conv2d(rng.standard_normal((1, 1, 32, 32)), rng.standard_normal((1, 1, 3, 3)), None, 1, 1)
    cases.append(("conv2d 32x32 (1024 steps > FRAME_CAP: static)", lambda: conv2d_figure(tr32, 500)))
    for size in (3, 5, 8):
        t = trace_conv_transpose2d(rng.integers(-3, 4, (1, 1, size, size)).astype(float),
                                   rng.integers(-2, 3, (1, 1, 3, 3)).astype(float), np.array([0.5]), 2, 1, 1)
        cases.append((f"zero insertion {size}x{size} stride 2 ({t.zero_insertion.n_steps} steps)",
                      lambda t=t: zero_insertion_figure(t, 0)))
        cases.append((f"scatter {size}x{size} stride 2 ({t.scatter.n_steps} steps)", lambda t=t: scatter_figure(t, 0)))
        if size <= 5:
            cases.append((f"matrix {size}x{size} stride 2", lambda t=t: matrix_figure(t, 0)))
    for name, build in cases:
        stats = timed(build, repeat=7)
        fig = build()
        text = fig.to_json()
        to_json = timed(fig.to_json, repeat=5)
        frames = len(fig.to_dict().get("frames", []))
        row(name, stats, f"JSON {len(text) / 1e6:.3f} MB, to_json {to_json[0]:.1f} ms, frames {frames}"
            f"{'' if is_animated(fig) else ' (static)'}, {fig.layout.width}x{fig.layout.height} px")


if __name__ == "__main__":
    main()
