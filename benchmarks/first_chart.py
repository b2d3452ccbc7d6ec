"""Run by hand: a student's first chart in a fresh browser (empty cache), and what the browser waits for.

    python benchmarks/first_chart.py [--loads 5]                    # one replica started here, direct
    python benchmarks/first_chart.py --url http://127.0.0.1:8080    # a running app or balancer (deploy/)

Each load is a new headless Chromium (fresh profile: every bundle is fetched) from goto to the lesson's chart drawn
(Plotly's SVG). The waterfall of the median load says where the time goes: the page, the app's bundles, the
websocket, the script's first elements, Plotly's lazily loaded bundle (the largest), and the chart; with the bytes
the browser received, how many were compressed, and which responses the browser may cache.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

from browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, start_app, stop_app  # noqa: E402

CHART = ".js-plotly-plot .main-svg"


def load_once(pw, url: str) -> dict:
    """One fresh browser: seconds to the chart, and the milestones of its network waterfall (ms from goto)."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = browser.new_page(viewport=VIEWPORT)
        requests, sockets = [], []
        page.on("requestfinished", lambda request: requests.append(request))
        page.on("websocket", lambda ws: sockets.append(time.perf_counter()))
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(CHART, timeout=120_000)
        chart = time.perf_counter() - t0
        page.wait_for_timeout(300)  # let the last responses report
        rows = []
        for request in requests:
            timing, sizes, response = request.timing, request.sizes(), request.response()
            headers = response.headers if response else {}
            rows.append({"url": request.url, "start": timing["startTime"],
                         "end": timing["startTime"] + timing["responseEnd"], "bytes": sizes["responseBodySize"],
                         "encoding": headers.get("content-encoding", ""), "cache": headers.get("cache-control", "")})
    finally:
        browser.close()
    origin = min(r["start"] for r in rows)  # ms, the page request's start

    def at(pred, key="end"):
        hits = [r[key] - origin for r in rows if pred(r["url"])]
        return min(hits) if hits else float("nan")

    return {
        "chart_ms": chart * 1000,
        "page_ms": at(lambda u: "/static/" not in u and "/_stcore" not in u),
        "app_bundle_ms": at(lambda u: "/static/js/index." in u),
        "websocket_ms": (sockets[0] - t0) * 1000 if sockets else float("nan"),
        "plotly_start_ms": at(lambda u: "/PlotlyChart." in u, "start"),
        "plotly_end_ms": at(lambda u: "/PlotlyChart." in u),
        "requests": len(rows),
        "kb": sum(r["bytes"] for r in rows) / 1024,
        "compressed_kb": sum(r["bytes"] for r in rows if r["encoding"]) / 1024,
        "cacheable": sum(1 for r in rows if "max-age" in r["cache"] or "immutable" in r["cache"]),
        "largest": sorted(((r["bytes"] / 1024, r["url"].rsplit("/", 1)[-1], r["encoding"] or "identity")
                           for r in rows), reverse=True)[:4],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app or balancer (default: start one replica here)")
    parser.add_argument("--path", default="conv2d", help="the lesson's url path")
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    proc = None
    base = args.url
    if base is None:
        proc, base = start_app("app.py")
    try:
        with sync_playwright() as pw:
            load_once(pw, f"{base}/{args.path}")  # the server's first run imports plotly/scipy: not a student's
            runs = [load_once(pw, f"{base}/{args.path}") for _ in range(min(args.loads, 20))]
    finally:
        if proc is not None:
            stop_app(proc)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    times = sorted(r["chart_ms"] / 1000 for r in runs)
    print(f"first chart in a fresh browser, {base}/{args.path}: median {statistics.median(times):.2f} s "
          f"(all: {', '.join(f'{t:.2f}' for t in times)}); load average {load}")
    mid = sorted(runs, key=lambda r: r["chart_ms"])[len(runs) // 2]
    print(f"the median load's waterfall (ms from goto): page {mid['page_ms']:.0f}, app bundle "
          f"{mid['app_bundle_ms']:.0f}, websocket {mid['websocket_ms']:.0f}, Plotly bundle requested "
          f"{mid['plotly_start_ms']:.0f} and received {mid['plotly_end_ms']:.0f}, chart drawn {mid['chart_ms']:.0f}")
    print(f"  {mid['requests']} requests, {mid['kb']:.0f} KB received ({mid['compressed_kb']:.0f} KB of it "
          f"compressed), {mid['cacheable']} responses cacheable; largest: "
          + "; ".join(f"{name} {kb:.0f} KB ({enc})" for kb, name, enc in mid["largest"]))


if __name__ == "__main__":
    main()
