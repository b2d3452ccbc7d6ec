"""Run by hand: the lessons' server-side rerun time (AppTest, median) and their first chart in a fresh browser.

    python benchmarks/bench_lessons.py [--reruns 20] [--loads 3]

Reruns: a sidebar control set to a value not seen before (trace and figure built, no cache hit), a step button
(a new figure opened at the next step), and an unrelated rerun (everything cached). AppTest runs a fragment's
rerun as a whole-page run, so the step figures are upper bounds for the browser's fragment reruns.
First chart: a new browser (fresh profile, so Plotly's bundle is fetched) from goto to the chart's SVG.
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

PAGES = {"conv2d": "pages/lessons/conv2d.py", "conv_transpose2d": "pages/lessons/conv_transpose2d.py"}
# teaching sizes: the defaults, and a larger input (12x12, the controls' limit)
CASES = {
    "Conv2d 5x5 (default)": ("conv2d", "c2", {}),
    "Conv2d 12x12, k3, p1": ("conv2d", "c2", {"c2_in_h": "12", "c2_in_w": "12"}),
    "ConvTranspose2d 3x3 s2 (default)": ("conv_transpose2d", "ct", {}),
    "ConvTranspose2d 6x6 s2, scatter": ("conv_transpose2d", "ct", {"ct_in_h": "6", "ct_in_w": "6",
                                                                  "ct_view": "Scatter"}),
}


CPU: list[float] = []  # process CPU seconds of each timed run (all threads): steadier than wall time on a busy host


def timed(run) -> float:
    c0, t0 = time.process_time(), time.perf_counter()
    run()
    CPU.append(time.process_time() - c0)
    return time.perf_counter() - t0


def cpu_median(n: int) -> str:
    return f"{statistics.median(CPU[-n:]) * 1000:.0f}"


def apptest_reruns(n: int) -> None:
    from streamlit.testing.v1 import AppTest

    for label, (url_path, prefix, params) in CASES.items():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.switch_page(PAGES[url_path])
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, at.exception
        # a new value each time: kernel width 1..7 and dilation width 1..3 give 21 configurations never cached
        changes, cpu = [], {}
        combos = [(k, d) for d in (1, 2, 3) for k in (1, 2, 3, 4, 5, 6, 7)][:n]
        for k, d in combos:
            at.number_input(key=f"{prefix}_d_w").set_value(d)
            changes.append(timed(at.number_input(key=f"{prefix}_k_w").set_value(k).run))
        cpu["change"] = cpu_median(len(changes))
        at.number_input(key=f"{prefix}_k_w").set_value(3).run()
        at.number_input(key=f"{prefix}_d_w").set_value(1).run()
        stamp = "stamp" if params.get("ct_view") == "Scatter" else "step"
        steps = [timed(at.button(key=f"{prefix}_{stamp}_next").click().run) for _ in range(n)]
        cpu["step"] = cpu_median(n)
        same = [timed(at.run) for _ in range(n)]
        cpu["same"] = cpu_median(n)
        assert not at.exception, at.exception
        print(f"{label}: control change median {statistics.median(changes) * 1000:.0f} ms (max "
              f"{max(changes) * 1000:.0f}), step median {statistics.median(steps) * 1000:.0f} ms, unrelated rerun "
              f"median {statistics.median(same) * 1000:.0f} ms  (n={len(changes)}/{n}/{n}); CPU medians "
              f"{cpu['change']}/{cpu['step']}/{cpu['same']} ms")


def first_charts(n: int) -> None:
    """Seconds from goto to the lesson's chart drawn, each time in a new browser (fresh profile: cold caches)."""
    from playwright.sync_api import sync_playwright

    proc, url = start_app("app.py")
    try:
        with sync_playwright() as pw:
            warm = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            open_app_page(warm.new_page(viewport=VIEWPORT), url, "conv2d")  # the server's first run imports
            warm.close()
            for url_path in PAGES:
                times, idle = [], []
                for _ in range(n):
                    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    page = browser.new_page(viewport=VIEWPORT)
                    t0 = time.perf_counter()
                    page.goto(f"{url}/{url_path}", wait_until="commit")
                    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=120_000)
                    times.append(time.perf_counter() - t0)
                    open_app_page(page, url, url_path)  # a warm reload, for comparison
                    idle.append(time.perf_counter() - t0 - times[-1])
                    browser.close()
                print(f"first chart in a fresh browser, {url_path}: median {statistics.median(times):.2f} s (all: "
                      f"{', '.join(f'{t:.2f}' for t in times)}); warm reload to idle median "
                      f"{statistics.median(idle):.2f} s")
    finally:
        stop_app(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--loads", type=int, default=3)
    args = parser.parse_args()
    apptest_reruns(args.reruns)
    first_charts(args.loads)


if __name__ == "__main__":
    main()
