"""Run by hand: a student's first chart in a fresh browser (empty cache), and what the browser waits for.

    python benchmarks/first_chart.py [--loads 5]                    # one replica started here, direct
    python benchmarks/first_chart.py --url http://127.0.0.1:8080    # a running app or balancer (deploy/)
    python benchmarks/first_chart.py --url A --url B                # compare: loads alternate between A and B

Each load is a new headless Chromium (fresh profile: every bundle is fetched) from goto to the lesson's chart drawn
(Plotly's SVG). The waterfall of the median load says where the time goes: the page, the app's bundles, the
websocket, the script's first message and the figure's (the largest), Plotly's lazily loaded bundle (the largest
file), and the chart; with the bytes the browser received, how many were compressed, and which responses the browser
may cache. Then a reload in the same browser (warm cache: what a second lesson or a reload costs). On this shared
machine the times swing with the load: compare URLs in one run (their loads alternate), quote the load, and look at
the browser's CPU seconds until the chart (the page's renderer, and every Chromium process), which the load disturbs
far less than the wall time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

from browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, start_app, stop_app  # noqa: E402

CHART = ".js-plotly-plot .main-svg"
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def browser_cpu() -> dict[str, float]:
    """CPU seconds so far of the Chromium processes this process started (through Playwright's driver): the busiest
    renderer (the page's) and all of them."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(int(_stat(int(entry))[1]), []).append(int(entry))
            except (OSError, IndexError):
                continue
    todo, renderer, total = [os.getpid()], 0.0, 0.0
    while todo:
        for pid in children.get(todo.pop(), []):
            todo.append(pid)
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                fields = _stat(pid)
            except OSError:
                continue
            if b"chromium" not in cmdline:
                continue
            seconds = (int(fields[11]) + int(fields[12])) / TICK
            total += seconds
            if b"--type=renderer" in cmdline:
                renderer = max(renderer, seconds)
    return {"renderer": renderer, "all": total}


def load_once(pw, url: str, warm: bool = False) -> dict:
    """One fresh browser: seconds to the chart, and the milestones of its network waterfall (ms from goto).
    warm: then a reload in the same browser (its cache filled), timed to the chart the same way (warm_ms)."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = browser.new_page(viewport=VIEWPORT)
        requests, sockets, messages = [], [], []  # messages: (arrival, bytes) of what the server sent
        page.on("requestfinished", lambda request: requests.append(request))

        def on_websocket(ws):
            sockets.append(time.perf_counter())
            ws.on("framereceived", lambda payload: messages.append((time.perf_counter(), len(payload))))

        page.on("websocket", on_websocket)
        cpu0 = browser_cpu()
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(CHART, timeout=120_000)
        chart = time.perf_counter() - t0
        cpu = browser_cpu()
        page.wait_for_timeout(300)  # let the last responses report
        figure_at = max(messages, key=lambda m: m[1])[0] if messages else float("nan")
        fresh, first_messages = requests[:], messages[:1]  # the fresh load's (a reload appends to the lists)
        warm_ms = float("nan")
        if warm:
            t1 = time.perf_counter()
            page.reload(wait_until="commit")
            page.wait_for_selector(CHART, timeout=120_000)
            warm_ms = (time.perf_counter() - t1) * 1000
        rows = []
        for request in fresh:
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
        "renderer_cpu_s": cpu["renderer"],  # a new page's renderer starts at 0
        "browser_cpu_s": cpu["all"] - cpu0["all"],
        "page_ms": at(lambda u: "/static/" not in u and "/_stcore" not in u),
        "app_bundle_ms": at(lambda u: "/static/js/index." in u),
        "websocket_ms": (sockets[0] - t0) * 1000 if sockets else float("nan"),
        "first_message_ms": (first_messages[0][0] - t0) * 1000 if first_messages else float("nan"),
        "figure_message_ms": (figure_at - t0) * 1000,
        "warm_ms": warm_ms,
        "plotly_start_ms": at(lambda u: "/PlotlyChart." in u, "start"),
        "plotly_end_ms": at(lambda u: "/PlotlyChart." in u),
        "requests": len(rows),
        "kb": sum(r["bytes"] for r in rows) / 1024,
        "compressed_kb": sum(r["bytes"] for r in rows if r["encoding"]) / 1024,
        "cacheable": sum(1 for r in rows if "max-age" in r["cache"] or "immutable" in r["cache"]),
        "largest": sorted(((r["bytes"] / 1024, r["url"].rsplit("/", 1)[-1], r["encoding"] or "identity")
                           for r in rows), reverse=True)[:4],
    }


def report(url: str, runs: list[dict], load: str, reference: float | None = None) -> None:
    """The medians of one URL's loads, and the median load's waterfall."""
    times = sorted(r["chart_ms"] / 1000 for r in runs)
    median = statistics.median(times)
    ratio = f" = {median / reference:.2f}x the first URL's" if reference else ""
    warm = [r["warm_ms"] / 1000 for r in runs if r["warm_ms"] == r["warm_ms"]]
    print(f"first chart in a fresh browser, {url}: median {median:.2f} s{ratio} "
          f"(all: {', '.join(f'{t:.2f}' for t in times)}); load average {load}")
    print(f"  browser CPU until the chart: renderer median {statistics.median(r['renderer_cpu_s'] for r in runs):.2f} s, "
          f"all Chromium processes {statistics.median(r['browser_cpu_s'] for r in runs):.2f} s")
    if warm:
        print(f"  warm reload (same browser, cache filled): median {statistics.median(warm):.2f} s")
    mid = sorted(runs, key=lambda r: r["chart_ms"])[len(runs) // 2]
    print(f"  the median load's waterfall (ms from goto): page {mid['page_ms']:.0f}, app bundle "
          f"{mid['app_bundle_ms']:.0f}, websocket {mid['websocket_ms']:.0f}, first message "
          f"{mid['first_message_ms']:.0f}, figure message {mid['figure_message_ms']:.0f}, Plotly bundle requested "
          f"{mid['plotly_start_ms']:.0f} and received {mid['plotly_end_ms']:.0f}, chart drawn {mid['chart_ms']:.0f}")
    print(f"  {mid['requests']} requests, {mid['kb']:.0f} KB received ({mid['compressed_kb']:.0f} KB of it "
          f"compressed), {mid['cacheable']} responses cacheable; largest: "
          + "; ".join(f"{name} {kb:.0f} KB ({enc})" for kb, name, enc in mid["largest"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append",
                        help="a running app or balancer (default: start one replica here); repeat to compare")
    parser.add_argument("--path", default="conv2d", help="the lesson's url path")
    parser.add_argument("--loads", type=int, default=5, help="fresh browsers per URL (at most 20)")
    parser.add_argument("--no-warm", action="store_true", help="skip the warm reload after each fresh load")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    proc = None
    bases = args.url
    if not bases:
        proc, base = start_app("app.py")
        bases = [base]
    urls = [f"{base}/{args.path}" for base in bases]
    runs = {url: [] for url in urls}
    try:
        with sync_playwright() as pw:
            for url in urls:
                load_once(pw, url)  # the server's first run imports plotly/scipy: not a student's
            for i in range(min(args.loads, 20)):
                for url in urls if i % 2 == 0 else urls[::-1]:  # alternate: neither URL always follows the other
                    runs[url].append(load_once(pw, url, warm=not args.no_warm))
    finally:
        if proc is not None:
            stop_app(proc)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    reference = None
    for url in urls:
        report(url, runs[url], load, reference)
        reference = reference or statistics.median(r["chart_ms"] / 1000 for r in runs[url])


if __name__ == "__main__":
    main()
