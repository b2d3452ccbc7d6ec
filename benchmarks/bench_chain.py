"""Layer-chain speed and memory, run by hand: python benchmarks/bench_chain.py [--repeat N] [--switches N]

1. 4-layer chains on a 1000 x 1000 photo, server side (the engine through run_chain, no cache): wall-clock median.
2. The prefix cache: editing the last layer of a chain recomputes only that layer (median time vs the whole chain).
3. Peak extra memory of a 12 MP (4000 x 3000) RGB photo through a 4-layer chain with the lab's byte-bounded cache
   (in a fresh subprocess: peak RSS minus the RSS once the image is loaded).
4. RSS over N image switches (different 2 MP photos through the same 4-layer chain and the shared cache, each step's
   summary made as the page makes it): the process must level off at the cache's bound instead of growing.
The load average is printed: the machine is shared.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from convcore.images import imaging  # noqa: E402
from convcore.teaching.chain import PrefixCache, chain_text, parse_chain, run_chain  # noqa: E402
from convcore.ui import chain as ui_chain  # noqa: E402

CHAINS = {
    "per-channel: gaussian 5, ReLU-free sobel, stride-2 down, bilinear up":
        "C3k5p2g3~gaussian@1.C3k3p1g3~sobel x.C3k3s2p1g3~box blur.T3k4s2p1g3~b",
    "encoder/decoder (checkerboard preset)":
        "C3k3s2p1g3~box blur.C3k3s2p1g3~box blur.T3k3s2p1o1g3~box blur.T3k3s2p1o1g3~box blur",
    "mixing 3 -> 8 -> 8 -> 8 -> 3, ReLU between": "C8k3p1~r0.R.C8k3p1~r1.R.C8k3p1~r2.R.C3k3p1~r3",
}
CACHE_BYTES = ui_chain.CACHE_BYTES


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def hwm_mb() -> float:
    """This process's peak RSS (VmHWM; unlike ru_maxrss it is not inherited from the parent across exec)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    base = imaging.load_path(ROOT / "assets" / "samples" / "coffee.jpg").pixels
    from PIL import Image

    big = np.asarray(Image.fromarray(base).resize((w, h), Image.Resampling.BILINEAR), np.int16)
    noise = np.random.default_rng(seed).integers(-3, 4, big.shape)
    return imaging.to_channels(np.clip(big + noise, 0, 255).astype(np.uint8), 3)


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def peak_12mp(path: str) -> None:
    """Child process: print baseline RSS, peak RSS (MB) for a 12 MP photo through a 4-layer chain with the cache.
    The photo is read from an .npy file, so making it does not set the peak."""
    x = np.load(path)
    base = rss_mb()
    peak_before = hwm_mb()
    steps = parse_chain(CHAINS["per-channel: gaussian 5, ReLU-free sobel, stride-2 down, bilinear up"])
    cache = PrefixCache(CACHE_BYTES)
    t = time.perf_counter()
    run_chain(steps, x, "12mp", cache)
    elapsed = time.perf_counter() - t
    peak = hwm_mb()
    print(f"{base:.0f} {max(peak, peak_before):.0f} {peak_before:.0f} {elapsed:.2f} {cache.bytes / 2**20:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--switches", type=int, default=50)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        peak_12mp(args.child)
        return
    print(f"load average {os.getloadavg()}")
    x = photo(1000, 1000)
    print("\n| chain (1000 x 1000 RGB) | median |")
    print("|---|---|")
    for name, text in CHAINS.items():
        steps = parse_chain(text)
        print(f"| {name} | {timed(lambda: run_chain(steps, x), args.repeat) * 1000:.0f} ms |")

    steps = parse_chain(CHAINS["mixing 3 -> 8 -> 8 -> 8 -> 3, ReLU between"])
    edited = steps[:-1] + parse_chain("C3k3p1~r9")
    cache = PrefixCache(CACHE_BYTES)
    run_chain(steps, x, "1mp", cache)
    full = timed(lambda: run_chain(edited, x), args.repeat)

    def edit_last():
        fresh = PrefixCache(CACHE_BYTES)
        run_chain(steps[:-1], x, "1mp", fresh)  # the prefix is cached, as after the first run
        t = time.perf_counter()
        run_chain(edited, x, "1mp", fresh)
        return time.perf_counter() - t

    last = statistics.median(edit_last() for _ in range(args.repeat))
    print(f"\nediting the last layer of the mixing chain: {last * 1000:.0f} ms with the prefix cache, "
          f"{full * 1000:.0f} ms recomputing everything ({full / last:.1f}x)")

    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/x.npy", photo(3000, 4000))
        out = subprocess.run([sys.executable, __file__, "--child", f"{tmp}/x.npy"], capture_output=True, text=True,
                             check=True).stdout
    base, peak, before, elapsed, cached = (float(v) for v in out.split())
    print(f"\n12 MP (4000 x 3000 RGB) through the 4-layer per-channel chain: {elapsed:.2f} s; RSS with the image loaded "
          f"{base:.0f} MB (peak so far {before:.0f} MB), peak {peak:.0f} MB: peak extra {peak - max(base, before):.0f} "
          f"MB over the image; cache holds {cached:.0f} MB")

    cache = PrefixCache(CACHE_BYTES)
    steps = parse_chain(CHAINS["per-channel: gaussian 5, ReLU-free sobel, stride-2 down, bilinear up"])
    samples = []
    for i in range(args.switches):
        image = photo(1200, 1600, seed=i)
        outputs = run_chain(steps, image, f"image {i}", cache)
        for j, out in enumerate(outputs):  # as the page: each step's summary (kept in its own cache, 48 entries)
            ui_chain.summary(f"image {i}", chain_text(steps[: j + 1]), out)
        del image, outputs, out
        samples.append(rss_mb())
    print(f"\nRSS over {args.switches} image switches (1600 x 1200 RGB, 4-layer chain, shared cache bounded at "
          f"{CACHE_BYTES / 2**20:.0f} MB): after 1: {samples[0]:.0f} MB, after 10: {samples[min(9, len(samples) - 1)]:.0f}"
          f" MB, after {args.switches}: {samples[-1]:.0f} MB, max {max(samples):.0f} MB; cache {cache.bytes / 2**20:.0f}"
          f" MB in {len(cache)} entries")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
