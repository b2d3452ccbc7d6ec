"""Run by hand: server CPU per rerun of two versions of the app side by side, in the same minutes (paired rounds).

    git archive <commit> | tar -x -C /tmp/before            # the other version, anywhere
    python benchmarks/cpu_ab.py /tmp/before [--rounds 8]     # that version (A) against this checkout (B)

On a shared machine the CPU a rerun takes moves with the others' load by tens of percent from one minute to the
next; load_test.py --scenario cpu run once per version compares different minutes. Here both servers run at once
and each round does the same interactions on A, then on B, back to back: one student per server walks ~24
control changes to configurations its server has not built (the "new config" walk of load_test.py, at the round's
own kernel height and padding), then 20 steps, then 20 changes between two configurations built before. CPU per
rerun of each block: the server's utime+stime (/proc) / reruns. Printed per kind: medians over the rounds for A and
B, and the median of the paired B/A ratios.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]

from browser import start_app, stop_app  # noqa: E402
from load_test import Student, cpu_seconds, load, walk_new_configurations, warm_up  # noqa: E402

MAX_ROUNDS = 10  # the new-config walks: kernel height 1..5 x padding height 2..3


def start(tree: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` of `tree` on a free loopback port."""
    return start_app(cwd=tree)


async def block(student: Student, pid: int, kind: str, rnd: int) -> tuple[float, int]:
    """One kind of interaction, a block of them; returns (CPU ms per rerun, errors)."""
    records = []
    if kind == "new":
        await student.set_control("c2_p_h", 2 + rnd // 5)  # before the CPU counts: not part of the walk
        await student.set_control("c2_k_h", 1 + rnd % 5)
    cpu0 = cpu_seconds([pid])
    if kind == "new":
        records += await walk_new_configurations(student)
    elif kind == "step":
        for _ in range(20):
            records.append(await student.interact("step"))
    else:  # toggle: kernel width 3 <-> 4 at padding width 1, built by the warm-up
        for _ in range(20):
            records.append(await student.set_control("c2_k_w", 4 if student.values["c2_k_w"] == 3 else 3))
    cpu = cpu_seconds([pid]) - cpu0
    return cpu * 1000 / len(records), sum(1 for r in records if r.error)


async def rounds(urls: list[str], pids: list[int], n: int) -> dict:
    results = {kind: ([], []) for kind in ("new", "step", "toggle")}
    errors = 0
    students = [Student(url, i, time.perf_counter) for i, url in enumerate(urls)]
    try:
        for s in students:
            await s.open()
            for value in (4, 3):  # the toggle's two configurations, built once
                await s.set_control("c2_k_w", value)
            await s.set_control("c2_p_w", 0)
        for rnd in range(n):
            for kind in ("new", "step", "toggle"):
                order = (0, 1) if rnd % 2 == 0 else (1, 0)  # A first in even rounds, B first in odd ones
                for side in order:
                    ms, bad = await block(students[side], pids[side], kind, rnd)
                    results[kind][side].append(ms)
                    errors += bad
                if kind == "toggle":
                    for s in students:
                        await s.set_control("c2_p_w", 0)
    finally:
        await asyncio.gather(*(s.session.close() for s in students), return_exceptions=True)
    return {"results": results, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="the other version's tree (A)")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    n = max(1, min(args.rounds, MAX_ROUNDS))
    servers = []
    try:
        for tree in (args.before.resolve(), ROOT):
            servers.append(start(tree))
        for _, url in servers:
            asyncio.run(warm_up(url))
        print(f"A = {args.before.resolve()}, B = {ROOT}; {n} rounds; {load()} at the start")
        out = asyncio.run(asyncio.wait_for(rounds([u for _, u in servers], [p.pid for p, _ in servers], n), 600))
    finally:
        for proc, _ in servers:
            stop_app(proc)
    names = {"new": "control change to a new configuration", "step": "step (a fragment rerun)",
             "toggle": "control change to a configuration built before"}
    for kind, (a, b) in out["results"].items():
        ratios = [y / x for x, y in zip(a, b) if x > 0]
        print(f"{names[kind]}: CPU per rerun, median of {len(a)} rounds: A {statistics.median(a):.1f} ms "
              f"(range {min(a):.1f}-{max(a):.1f}), B {statistics.median(b):.1f} ms ({min(b):.1f}-{max(b):.1f}); "
              f"B/A paired median {statistics.median(ratios):.2f}")
    print(f"errors: {out['errors']}; {load()} at the end")


if __name__ == "__main__":
    main()
