"""Engine speed against torch (2 threads) and scipy, float32, with the issue's targets. Run by hand:

    python benchmarks/bench_engine.py                 # every case (about two minutes: torch's large depthwise
                                                      # filters take seconds a call)
    python benchmarks/bench_engine.py --cases cnn3x3 transposed --repeat 21
    python benchmarks/bench_engine.py --cases cnn_s2 --bias    # with a bias, as Conv2d modules have by default
    python benchmarks/bench_engine.py --cases cnn_s2 --cpu     # the work ratio, one thread each (busy machine)

Each function is timed in its own block of calls (libraries' thread pools spin-wait after a call and slow each other
when calls alternate), blocks alternate over --rounds (so a burst of load on the shared machine hits all of them),
and the table shows medians of all calls. Ratios are paired: the median over rounds of (convcore's block median /
the other's block median), so load that comes and goes between rounds cancels out. ratio = convcore / torch in the
same run. Peak extra memory of the 4K case is measured separately with tracemalloc (numpy reports its buffers to it;
the engine's per-thread scratch, a few MB reused from call to call, is already allocated by then).
The machine is shared: rerun a case before concluding anything from one run. The load average is printed at the
start and end of each run; on a busy machine torch's two threads wait for each other and its wall time suffers more
than convcore's, so wall-clock ratios then flatter convcore. --cpu measures the work instead (run_case_cpu).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.ndimage
import scipy.signal
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import convcore  # noqa: E402
from convcore.algorithms import blas, parallel
from convcore import functional  # noqa: E402


@dataclass
class Case:
    name: str
    label: str
    op: str  # "conv2d" or "conv_transpose2d"
    x_shape: tuple
    w_shape: tuple
    kwargs: dict
    target: float | None  # max convcore/torch ratio
    scipy_name: str | None = None
    scipy_target: float | None = None  # max convcore/scipy ratio
    micro: bool = False  # time in microseconds against an absolute target (target_us)
    target_us: float | None = None
    memory: bool = False


CASES = [
    Case("dw3", "RGB 1024x1024 depthwise 3x3", "conv2d", (1, 3, 1024, 1024), (3, 1, 3, 3), dict(padding=1, groups=3), 0.25,
         "ndimage.correlate"),
    Case("dw15", "RGB 1024x1024 depthwise 15x15", "conv2d", (1, 3, 1024, 1024), (3, 1, 15, 15), dict(padding=7, groups=3),
         0.05, "signal.fftconvolve", 1.5),
    Case("dw31", "RGB 1024x1024 depthwise 31x31", "conv2d", (1, 3, 1024, 1024), (3, 1, 31, 31), dict(padding=15, groups=3),
         0.05, "signal.fftconvolve", 1.5),
    Case("4k5", "RGB 3840x2160 depthwise 5x5", "conv2d", (1, 3, 2160, 3840), (3, 1, 5, 5), dict(padding=2, groups=3), 0.3,
         "ndimage.correlate", memory=True),
    Case("cnn3x3", "N=8 64->64 56x56 3x3 p1", "conv2d", (8, 64, 56, 56), (64, 64, 3, 3), dict(padding=1), 1.2),
    Case("cnn_s2", "N=8 64->128 56x56 3x3 s2 p1", "conv2d", (8, 64, 56, 56), (128, 64, 3, 3), dict(padding=1, stride=2), 1.1),
    Case("cnn_g4", "N=8 64->64 56x56 3x3 p1 groups=4", "conv2d", (8, 64, 56, 56), (64, 16, 3, 3), dict(padding=1, groups=4), 1.5),
    Case("transposed", "T N=1 64->32 128x128 k4 s2 p1", "conv_transpose2d", (1, 64, 128, 128), (64, 32, 4, 4),
         dict(stride=2, padding=1), 1.0),
    Case("tiny", "1x1x7x7 with 3x3 (teaching)", "conv2d", (1, 1, 7, 7), (1, 1, 3, 3), {}, None, "signal.correlate2d",
         micro=True, target_us=50.0),
]


def scipy_fn(case: Case, x: np.ndarray, w: np.ndarray) -> Callable[[], np.ndarray] | None:
    """scipy's nearest counterpart of the case (same output), or None."""
    pad = case.kwargs.get("padding", 0)
    if case.scipy_name == "ndimage.correlate":  # 'same'-size zero-padded correlation per channel
        def run():
            return np.stack([scipy.ndimage.correlate(x[0, c], w[c, 0], mode="constant", cval=0.0) for c in range(x.shape[1])])[None]
        return run
    if case.scipy_name == "signal.fftconvolve":  # convolution with the flipped kernel = correlation, all channels at once
        flipped = np.ascontiguousarray(w[:, 0, ::-1, ::-1])
        assert pad == (w.shape[-1] - 1) // 2
        return lambda: scipy.signal.fftconvolve(x[0], flipped, mode="same", axes=(1, 2))[None]
    if case.scipy_name == "signal.correlate2d":
        return lambda: scipy.signal.correlate2d(x[0, 0], w[0, 0], mode="valid")[None, None]
    return None


def block_times(fn: Callable, repeats: int, warm_up: bool) -> list[float]:
    if warm_up:
        fn()  # plans, caches, thread pools
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    time.sleep(0.2)  # let this library's worker threads stop spinning before the next block
    return times


def first_call(fn: Callable) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


SLOW = 1.0  # seconds: calls this slow are timed once per block, and their first call counts as a sample
SLOW_ROUNDS = 2  # ... in this many rounds only


def peak_extra_bytes(fn: Callable) -> int:
    """Peak bytes allocated during fn() above what was allocated before it (the result included)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        tracemalloc.stop()
    return peak - before


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))) / np.max(np.abs(b)))


def case_calls(case: Case, bias: bool):
    """The case's seeded arrays and its two calls: (x, w, b, convcore's, torch's)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(case.x_shape, dtype=np.float32)
    w = rng.standard_normal(case.w_shape, dtype=np.float32)
    out_channels = w.shape[0] if case.op == "conv2d" else w.shape[1] * case.kwargs.get("groups", 1)
    b = rng.standard_normal(out_channels, dtype=np.float32) if bias else None
    tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b)
    if case.op == "conv2d":
        ours = lambda: convcore.conv2d(x, w, b, **case.kwargs)  # noqa: E731
        theirs = lambda: torch.nn.functional.conv2d(tx, tw, tb, **case.kwargs)  # noqa: E731
    else:
        ours = lambda: convcore.conv_transpose2d(x, w, b, **case.kwargs)  # noqa: E731
        theirs = lambda: torch.nn.functional.conv_transpose2d(tx, tw, tb, **case.kwargs)  # noqa: E731
    return x, w, b, ours, theirs


def run_case(case: Case, rounds: int, repeat: int | None, budget: float, bias: bool = False) -> dict:
    x, w, b, ours, theirs = case_calls(case, bias)
    sp = scipy_fn(case, x, w)
    if sp is not None and b is not None:  # scipy has no bias argument: added after, as a user would
        sp = (lambda plain: lambda: plain() + b[:, None, None])(sp)
    with torch.no_grad():
        reference = theirs().numpy()
    result = {"case": case, "error": relative_error(ours(), reference), "algorithm": algorithm_of(case, x, w)}
    if sp is not None:
        result["scipy_error"] = relative_error(sp(), reference)
    fns = {"convcore": ours, "torch": theirs}
    if sp is not None:
        fns["scipy"] = sp
    low, high = (200, 5000) if case.micro else (3, 41)
    times, counts, slow = {}, {}, {}
    with torch.no_grad():
        for k, f in fns.items():
            once = first_call(f)
            slow[k] = once > SLOW
            times[k] = [once] if slow[k] else []
            counts[k] = repeat or (1 if slow[k] else int(min(high, max(low, budget / once))))
        per_round = {k: [] for k in fns}  # block medians, paired by round
        for round_ in range(rounds):
            for k, f in fns.items():
                if slow[k] and round_ >= SLOW_ROUNDS:
                    continue  # seconds a call: three samples are enough to show the order of magnitude
                block = block_times(f, counts[k], warm_up=not slow[k])
                times[k] += block
                per_round[k].append(float(np.median(block)))
    for k, v in times.items():
        result[k] = float(np.median(v))
        result[k + "_n"] = len(v)
    for other in ("torch", "scipy"):
        if other in fns:
            pairs = [ours_ / theirs_ for ours_, theirs_ in zip(per_round["convcore"], per_round[other])]
            result["ratio_" + other] = float(np.median(pairs)) if not slow[other] else result["convcore"] / result[other]
    if case.memory:
        result["peak_extra"] = peak_extra_bytes(ours) / x.nbytes
    return result


def run_case_cpu(case: Case, calls: int, bias: bool = False) -> dict:
    """The work ratio: convcore and torch each on one thread (convcore's workers and BLAS's threads, torch's
    intra-op threads), CPU time of that thread per call, calls alternating one by one. Other processes' load moves it
    far less than wall-clock time (a descheduled thread's wait is not counted), so changes to the work around the
    GEMMs show on a busy machine too. It says nothing about how two threads share a call, and torch may take
    another path on one thread (groups=4: its one-thread call costs more than twice its two-thread wall time)."""
    _, _, _, ours, theirs = case_calls(case, bias)
    saved = parallel.WORKERS, torch.get_num_threads()
    parallel.WORKERS = 1
    torch.set_num_threads(1)  # (main sets it before torch's first call)
    times = {"convcore": [], "torch": []}
    try:
        with blas.single_threaded(), torch.no_grad():
            ours(), theirs()  # plans, caches
            for _ in range(calls):
                for name, fn in (("convcore", ours), ("torch", theirs)):
                    t0 = time.thread_time()
                    fn()
                    times[name].append(time.thread_time() - t0)
    finally:
        parallel.WORKERS = saved[0]
        torch.set_num_threads(saved[1])
    pairs = np.array(times["convcore"]) / np.array(times["torch"])
    return {"case": case, "convcore": float(np.median(times["convcore"])), "torch": float(np.median(times["torch"])),
            "ratio": float(np.median(pairs)), "low": float(np.quantile(pairs, 0.25)), "high": float(np.quantile(pairs, 0.75)),
            "calls": calls}


def print_cpu_table(results: list[dict]) -> None:
    head = f"{'case':34s} {'convcore CPU':>12s} {'torch CPU':>11s} {'ratio':>6s} {'quartiles':>13s}"
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['case'].label:34s} {fmt_time(r['convcore'], r['case'].micro):>12s} {fmt_time(r['torch'], r['case'].micro):>11s} "
              f"{r['ratio']:6.3f} {r['low']:6.3f}-{r['high']:5.3f}")
    print(f"\none thread each, CPU time per call, median of {results[0]['calls'] if results else 0} alternating calls; "
          "ratio = median of the per-pair ratios")


def load() -> str:
    """The 1-, 5- and 15-minute load averages (2 CPUs: above 2, others are running too)."""
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def algorithm_of(case: Case, x: np.ndarray, w: np.ndarray) -> str:
    """The path convcore's dispatch takes for this case (named in the table)."""
    kw = case.kwargs
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    stride, dilation, groups = pair(kw.get("stride", 1)), pair(kw.get("dilation", 1)), kw.get("groups", 1)
    if case.op == "conv2d":
        pad = pair(kw.get("padding", 0))
        out = convcore.conv2d_output_size(x.shape[2:], w.shape[2:], stride, pad, dilation)
        return functional.choose_algorithm(x.shape, w.shape, stride, dilation, groups, out, x.dtype)
    return functional.choose_transpose_algorithm(x.shape, w.shape)


def fmt_time(seconds: float, micro: bool) -> str:
    return f"{seconds * 1e6:8.1f} us" if micro else f"{seconds * 1e3:8.2f} ms"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_table(results: list[dict]) -> None:
    head = f"{'case':34s} {'algorithm':9s} {'convcore':>11s} {'torch':>11s} {'ratio':>6s} {'target':>7s}  " \
           f"{'scipy':>11s} {'vs scipy':>8s} {'target':>6s}  {'result'}"
    print(head)
    print("-" * len(head))
    for r in results:
        c: Case = r["case"]
        ratio = r["ratio_torch"]
        checks = []
        if c.micro:
            target = f"{c.target_us:.0f}us"
            checks.append(r["convcore"] * 1e6 <= c.target_us)
        else:
            target = f"<={c.target:g}"
            checks.append(ratio <= c.target)
        line = f"{c.label:34s} {r['algorithm']:9s} {fmt_time(r['convcore'], c.micro)} {fmt_time(r['torch'], c.micro)} " \
               f"{ratio:6.3f} {target:>7s}  "
        if "scipy" in r:
            vs = r["ratio_scipy"]
            line += f"{fmt_time(r['scipy'], c.micro)} {vs:8.3f} "
            line += f"{'<=' + format(c.scipy_target, 'g') if c.scipy_target else '':>6s}  "
            if c.scipy_target:
                checks.append(vs <= c.scipy_target)
        else:
            line += f"{'':11s} {'':8s} {'':6s}  "
        if "peak_extra" in r:
            checks.append(r["peak_extra"] <= 3.0)
        print(line + verdict(all(checks)))
    print()
    for r in results:
        c = r["case"]
        extra = f"; peak extra memory {r['peak_extra']:.2f} x the input (target <= 3)" if "peak_extra" in r else ""
        sp = f", scipy {r['scipy_error']:.1e}" if "scipy_error" in r else ""
        print(f"{c.name:10s} max rel. error vs torch: convcore {r['error']:.1e}{sp}; calls timed: "
              f"convcore {r['convcore_n']}, torch {r['torch_n']}{', scipy ' + str(r['scipy_n']) if 'scipy_n' in r else ''}{extra}")


def environment() -> str:
    notes = [f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
             f"{os.cpu_count()} CPUs, convcore workers {parallel.WORKERS}, convcore's GEMMs through {blas.source()}"]
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var):
            notes.append(f"WARNING {var}={os.environ[var]} is set (it can slow BLAS; unset it for this command)")
    try:
        from threadpoolctl import threadpool_info

        notes += [f"{p['filepath'].rsplit('/', 1)[-1]}: {p.get('architecture')} kernel, {p['num_threads']} threads"
                  for p in threadpool_info() if p.get("user_api") == "blas"]
    except ImportError:
        pass
    return "\n".join(notes)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", choices=[c.name for c in CASES], help="run only these cases")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing blocks per function")
    parser.add_argument("--repeat", type=int, help="calls per block (default: as many as fit the time budget, 3 at least)")
    parser.add_argument("--budget", type=float, default=0.4, help="seconds per block when --repeat is not given")
    parser.add_argument("--bias", action="store_true", help="pass a bias (per output channel) to convcore and torch")
    parser.add_argument("--cpu", action="store_true", help="the work ratio instead: one thread each, CPU time per "
                        "call (run_case_cpu; --repeat calls each, 30 by default), robust to other processes' load")
    args = parser.parse_args(argv)
    torch.set_num_threads(1 if args.cpu else 2)  # (before torch's first call: its one-thread calls ran ~10% slower
    print(environment(), flush=True)             #  after a call on two threads)
    print(f"start: {load()}", flush=True)
    results = []
    for case in CASES:
        if args.cases and case.name not in args.cases:
            continue
        print(f"running {case.name} ...", flush=True)
        if args.cpu:
            results.append(run_case_cpu(case, args.repeat or 30, args.bias))
        else:
            results.append(run_case(case, args.rounds, args.repeat, args.budget, args.bias))
    print(f"end: {load()}")
    print()
    if args.cpu:
        print_cpu_table(results)
    else:
        print_table(results)


if __name__ == "__main__":
    main()
