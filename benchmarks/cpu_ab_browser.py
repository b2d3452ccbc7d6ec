"""Run by hand: server CPU per control change of two versions of the app, each driven by real Chromium (paired rounds).

    git archive <commit> | tar -x -C /tmp/before                  # the other version, anywhere
    python benchmarks/cpu_ab_browser.py /tmp/before [--rounds 3]  # that version (A) against this checkout (B)

cpu_ab.py's simulated students send the query string the server last wrote; a browser's URL also follows the widgets
bound to it, so each of a student's reruns carries a new link, and work keyed by the link (the share popover's QR
code) shows only here. Each round starts each version's server in turn (A first in even rounds), opens the Conv2d
lesson in a fresh Chromium page at padding height 2, and walks kernel width 1..5 x padding width 0..3 through the
number inputs (~25 control changes to configurations the server has not built). CPU per change: the server's
utime+stime (/proc) over the walk after its first 3 changes, divided by the changes. Printed: each run, the medians
and the paired B/A ratios.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]

from playwright.sync_api import sync_playwright  # noqa: E402

from browser import VIEWPORT, open_app_page, start_app, stop_app, wait_for_idle  # noqa: E402
from load_test import cpu_seconds, load  # noqa: E402

UNTIMED = 3  # the first changes build what every configuration shares (the first run's caches)


def walk(chromium, tree: Path) -> tuple[float, int]:
    """(server CPU ms per control change, changes) of one walk on a fresh server of `tree`."""
    proc, url = start_app(cwd=tree)
    browser = chromium.launch(executable_path="/usr/bin/chromium")
    try:
        page = browser.new_page(viewport=VIEWPORT)
        open_app_page(page, url, "conv2d", {"c2_p_h": "2"})
        made, start = 0, 0.0
        for k_w in (1, 2, 3, 4, 5):
            for p_w in (0, 1, 2, 3):
                for key, value in (("c2_k_w", k_w), ("c2_p_w", p_w)):
                    box = page.locator(f".st-key-{key} input")
                    if box.input_value() == str(value):
                        continue
                    box.fill(str(value))
                    box.press("Enter")
                    page.wait_for_timeout(100)  # the rerun has started
                    wait_for_idle(page)
                    made += 1
                    if made == UNTIMED:
                        start = cpu_seconds([proc.pid])
        return (cpu_seconds([proc.pid]) - start) * 1000 / (made - UNTIMED), made
    finally:
        browser.close()
        stop_app(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="the other version's tree (A)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = {"A": args.before.resolve(), "B": ROOT}
    print(f"A = {trees['A']}, B = {trees['B']}; {args.rounds} rounds; {load()} at the start")
    runs = {"A": [], "B": []}
    with sync_playwright() as playwright:
        for r in range(min(args.rounds, 10)):
            for name in ("A", "B") if r % 2 == 0 else ("B", "A"):
                per, made = walk(playwright.chromium, trees[name])
                runs[name].append(per)
                print(f"  round {r + 1}, {name}: {per:.1f} ms per control change ({made} changes)", flush=True)
    ratios = [b / a for a, b in zip(runs["A"], runs["B"])]
    print(f"control change to a new configuration, real Chromium: CPU per change, median of {len(ratios)} rounds: "
          f"A {statistics.median(runs['A']):.1f} ms, B {statistics.median(runs['B']):.1f} ms; B/A paired median "
          f"{statistics.median(ratios):.2f} (each: {', '.join(f'{q:.2f}' for q in ratios)}); {load()}")


if __name__ == "__main__":
    main()
