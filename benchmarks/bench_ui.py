"""Run by hand: server-side rerun time (AppTest, median) and first page load in a fresh headless Chromium.

    python benchmarks/bench_ui.py [--reruns 30] [--loads 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, open_app_page, start_app, stop_app  # noqa: E402


def apptest_reruns(n: int) -> dict[str, float]:
    """Median seconds of a rerun after a number-box change on the ui demo page, and of a bare home-page rerun."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "tests/apps/ui_demo.py"), default_timeout=30).run()
    times = []
    for i in range(n):
        box = at.number_input(key="dc_in_h").set_value(5 + i % 4)
        t0 = time.perf_counter()
        box.run()
        times.append(time.perf_counter() - t0)
    home = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    home_times = []
    for _ in range(n):
        t0 = time.perf_counter()
        home.run()
        home_times.append(time.perf_counter() - t0)
    return {"demo page, kernel/input change": statistics.median(times), "home page": statistics.median(home_times)}


def first_loads(n: int, script: str, url_path: str = "") -> list[float]:
    """Seconds from goto to the first element drawn and the app idle, each in a new browser (fresh profile)."""
    from playwright.sync_api import sync_playwright

    proc, url = start_app(script)
    try:
        out = []
        with sync_playwright() as pw:
            for _ in range(n):
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport=VIEWPORT)
                t0 = time.perf_counter()
                open_app_page(page, url, url_path)
                out.append(time.perf_counter() - t0)
                browser.close()
        return out
    finally:
        stop_app(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reruns", type=int, default=30)
    parser.add_argument("--loads", type=int, default=3)
    args = parser.parse_args()
    for name, seconds in apptest_reruns(args.reruns).items():
        print(f"AppTest rerun, {name}: median {seconds * 1000:.0f} ms over {args.reruns}")
    for script, label in (("app.py", "home page"), ("tests/apps/ui_demo.py", "ui demo page")):
        loads = first_loads(args.loads, script)
        print(f"first load in a fresh browser, {label}: median {statistics.median(loads):.2f} s "
              f"(all: {', '.join(f'{t:.2f}' for t in loads)})")


if __name__ == "__main__":
    main()
