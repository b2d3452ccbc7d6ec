"""Speed and size of the exports (run by hand: python benchmarks/bench_export.py).

Budgets from the issue: a 5x5 input with a 3x3 kernel (25 steps) as a GIF in <= 2 s and <= 2 MB; a 16x16 input (256
steps) as an MP4 in <= 10 s. Each run goes from the trace to the file's bytes (export figure, frames, encoding), at
the lesson's figure size (820 x 430 at most; the MP4 at twice that). Wall-clock medians (the encoder may use
threads), with the spread and the load average (the machine is shared).
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from convcore import export  # noqa: E402
from convcore.teaching.trace import trace_conv2d, trace_conv_transpose2d  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, float, float, object]:
    """(median, min, max) wall seconds per call, and the last result."""
    result = fn()  # warm-up (imports, fonts)
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), min(runs), max(runs), result


def report(name: str, budget_s: float, stats, budget_mb: float | None = None) -> None:
    med, lo, hi, data = stats
    size = len(data) / 1e6
    verdict = "ok" if med <= budget_s and (budget_mb is None or size <= budget_mb) else "OVER BUDGET"
    limit = f"<= {budget_s:g} s" + (f", <= {budget_mb:g} MB" if budget_mb else "")
    print(f"{name:52s} {med:6.2f} s (min {lo:.2f}, max {hi:.2f}), {size:6.2f} MB  [{limit}: {verdict}]")


def conv(size: int):
    rng = np.random.default_rng(0)
    x = rng.integers(-4, 5, (1, 1, size, size)).astype(np.float32)
    w = rng.integers(-2, 3, (1, 1, 3, 3)).astype(np.float32)
    return trace_conv2d(x, w, np.array([0.5], np.float32), padding=1)


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} on {os.cpu_count()} cores\n")
    small, large = conv(5), conv(16)
    report("GIF, 5x5 input, 3x3 kernel, 25 steps, 2 fps", 2.0,
           timed(lambda: export.animation_gif(export.lesson_figure("window", small), 2), 9), 2.0)
    report("MP4, 16x16 input, 3x3 kernel, 256 steps, 10 fps", 10.0,
           timed(lambda: export.animation_mp4(export.lesson_figure("window", large), 10), 5))
    print("\nother views and sizes (no budget)")
    report("GIF, 16x16 input, 256 steps", 10.0,
           timed(lambda: export.animation_gif(export.lesson_figure("window", large), 10), 3))
    rng = np.random.default_rng(1)
    tt = trace_conv_transpose2d(rng.integers(-3, 4, (1, 1, 8, 8)).astype(np.float32),
                                rng.integers(-2, 3, (1, 1, 3, 3)).astype(np.float32), None, 2, 1, 1)
    report("MP4, ConvTranspose2d 8x8 -> 16x16, zero insertion, 256 steps", 10.0,
           timed(lambda: export.animation_mp4(export.lesson_figure("window", tt), 10), 3))
    report("MP4, ConvTranspose2d 8x8 -> 16x16, scatter, 64 steps", 10.0,
           timed(lambda: export.animation_mp4(export.lesson_figure("scatter", tt), 10), 3))
    fig = export.lesson_figure("window", large)
    report("PNG, one step of the 16x16 figure", 1.0, timed(lambda: export.still_png(fig, 100), 9))
    report("SVG, one step of the 16x16 figure", 1.0, timed(lambda: export.still_svg(fig, 100).encode(), 9))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
