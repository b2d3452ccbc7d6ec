"""Run by hand: kill (or hang) the replica a handful of real students are on and measure what they get back.

    python benchmarks/fault_recovery.py [--pages 6] [--runs 3] [--fault kill|hang]

Each run starts two replicas behind nginx (deploy/, with its supervisor), opens K Chromium pages, each a fresh
browser (its own route cookie) on a lesson with its own settings and step in the URL, until both replicas hold some,
then SIGKILLs the replica holding most (--fault hang: SIGSTOPs it, alive but answering nothing, until the supervisor
restarts it after Cluster.restart_hung_after seconds). For each of its students it measures: the time from the fault
to the page's websocket being connected again (through nginx, to the live replica), whether the page still shows the
same settings and step, whether the first interaction on the new replica keeps every other setting, and whether
reloading the URL restores them; the other replica's students must stay connected. Loopback only; every process is stopped at the end.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, open_app_page, wait_for_idle  # noqa: E402
from deploy import Cluster  # noqa: E402
from deploy_pages import LESSON_LINKS, widget_values  # noqa: E402

APP = "[data-testid='stApp']"
CHART = ".js-plotly-plot .main-svg"
# In the page: every change of the websocket's state with its wall-clock time (ms), to time reconnection exactly.
RECORD_CONNECTION = """() => {
  window.__states = [];
  const app = document.querySelector("[data-testid='stApp']");
  new MutationObserver(() => window.__states.push([Date.now(), app.getAttribute('data-test-connection-state')]))
    .observe(app, {attributes: true, attributeFilter: ['data-test-connection-state']});
}"""


def open_student(chromium, cluster: Cluster, link: str):
    """A fresh browser on `link` through the balancer: (context, page, replica address, widget values)."""
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    path, _, query = link.partition("?")
    response = page.goto(f"{cluster.url}/{link}", wait_until="domcontentloaded", timeout=120_000)
    open_app_page(page, cluster.url, path, query, timeout=120_000)
    page.wait_for_selector(CHART, timeout=120_000)
    wait_for_idle(page)
    return context, page, response.headers["x-replica"], widget_values(page)


def one_run(chromium, k: int, fault: str) -> dict:
    with Cluster(replicas=2, health_interval=0.5) as cluster:
        students = []
        for i in range(k + 6):  # bounded: a few extra students if the first k all landed on one replica
            placed = {s[2] for s in students}
            if len(students) >= k and len(placed) == 2:
                break
            students.append(open_student(chromium, cluster, LESSON_LINKS[i % len(LESSON_LINKS)]))
        counts = {r.address: sum(s[2] == r.address for s in students) for r in cluster.members}
        victim = cluster.replica_of(max(counts, key=counts.get))
        for _, page, _, _ in students:
            page.evaluate(RECORD_CONNECTION)
        killed_ms = time.time() * 1000
        os.kill(victim.proc.pid, signal.SIGSTOP if fault == "hang" else signal.SIGKILL)

        moved, stayed = [s for s in students if s[2] == victim.address], [s for s in students if s[2] != victim.address]
        results = []
        for context, page, _, before in moved:
            page.wait_for_function("() => window.__states.some(s => s[1] !== 'CONNECTED')", timeout=60_000)
            page.wait_for_function("() => window.__states.length && window.__states.at(-1)[1] === 'CONNECTED'",
                                   timeout=60_000)
            states = page.evaluate("() => window.__states")
            reconnect_s = (states[-1][0] - killed_ms) / 1000
            if os.environ.get("FAULT_DEBUG"):
                print([(round((t - killed_ms) / 1000, 2), s) for t, s in states], flush=True)
            shown_same = widget_values(page) == before
            # The first interaction on the new replica: one setting changes, every other one stays.
            box = page.get_by_role("spinbutton", name="kernel W")
            new_w = "2" if box.input_value() != "2" else "1"
            box.fill(new_w)
            box.press("Enter")
            page.wait_for_function(f"() => document.querySelector(\"[aria-label='kernel W']\").value === '{new_w}' "
                                   "&& location.search.includes('_k_w=')", timeout=60_000)
            wait_for_idle(page, 60_000)
            after = widget_values(page)
            kept = {k: v for k, v in after.items() if k not in ("number kernel W", "step")} == \
                   {k: v for k, v in before.items() if k not in ("number kernel W", "step")} \
                   and after["step"].split(" ·")[0] == before["step"].split(" ·")[0]
            t = time.monotonic()
            page.goto(page.url, wait_until="domcontentloaded", timeout=120_000)
            wait_for_idle(page, 120_000)
            page.wait_for_selector(CHART, timeout=120_000)
            wait_for_idle(page, 120_000)
            reloaded_same = widget_values(page) == after
            results.append({"reconnect_s": reconnect_s, "shown_same": shown_same, "kept": kept,
                            "reloaded_same": reloaded_same, "reload_s": time.monotonic() - t})
        undisturbed = sum(all(s[1] == "CONNECTED" for s in page.evaluate("() => window.__states"))
                          for _, page, _, _ in stayed)
        for context, *_ in students:
            context.close()
        return {"students": len(students), "moved": results, "stayed": len(stayed), "undisturbed": undisturbed,
                "restarted": victim.restarts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=6, help="students (Chromium pages), at most 12")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fault", choices=("kill", "hang"), default="kill")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"load before: {os.getloadavg()[0]:.1f}")
    runs = []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for run in range(args.runs):
                result = one_run(chromium, min(args.pages, 12), args.fault)
                runs.append(result)
                moved = result["moved"]
                times = ", ".join(f"{m['reconnect_s']:.2f}" for m in moved)
                print(f"run {run + 1}: {result['students']} students, {len(moved)} on the killed replica: reconnected "
                      f"in {times} s; same settings shown "
                      f"{sum(m['shown_same'] for m in moved)}/{len(moved)}, kept on the first interaction "
                      f"{sum(m['kept'] for m in moved)}/{len(moved)}, restored by reload "
                      f"{sum(m['reloaded_same'] for m in moved)}/{len(moved)}; the other replica's students "
                      f"undisturbed {result['undisturbed']}/{result['stayed']}; load {os.getloadavg()[0]:.1f}",
                      flush=True)
        finally:
            chromium.close()
    moved = [m for r in runs for m in r["moved"]]
    lost = sum(not (m["shown_same"] and m["kept"] and m["reloaded_same"]) for m in moved)
    print(f"\n{len(moved)} students moved in {len(runs)} runs: reconnect median "
          f"{statistics.median(m['reconnect_s'] for m in moved):.2f} s, max {max(m['reconnect_s'] for m in moved):.2f} s; "
          f"reload median {statistics.median(m['reload_s'] for m in moved):.2f} s; configurations lost: {lost}")


if __name__ == "__main__":
    main()
