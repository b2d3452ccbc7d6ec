"""Run by hand: where the real server spends a control change to a new configuration (cProfile inside the server).

    python benchmarks/profile_server.py [--changes 40] [--top 30] [--kind new|step] [--only REGEX] [--callers F ..]

Starts the app on a free loopback port under cProfile (every script run profiled on its own thread, the main
thread's event loop too: protobuf, websocket writes; timed by each thread's own CPU clock, so waits for the GIL
and for I/O do not count), has one simulated student (st_client.py) walk through configurations of the 5x5 Conv2d
lesson that the server has not built (padding x kernel width, as load_test.py's "new config" phase) or press the
next step, stops the server and prints the cumulative and own-time tables of the script runs, then the event
loop's own-time table. The profiler's overhead grows with the number of calls: read the tables as shares, and take
times from load_test.py --scenario cpu.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]

from browser import start_app  # noqa: E402
from st_client import StreamlitSession  # noqa: E402

# the server's side: wrap every script run in its own profiler (script threads run concurrently), profile the main
# thread (the event loop) as a whole, write both when the server stops
SERVER = r"""
import atexit, cProfile, sys, threading, time
out = sys.argv.pop(1)
from streamlit.runtime.scriptrunner import script_runner
runs, lock = [], threading.Lock()
_run = script_runner.ScriptRunner._run_script
def _profiled(self, *args, **kwargs):
    prof = cProfile.Profile(time.thread_time)
    prof.enable()
    try:
        return _run(self, *args, **kwargs)
    finally:
        prof.disable()
        with lock:
            runs.append(prof)
script_runner.ScriptRunner._run_script = _profiled
loop = cProfile.Profile(time.thread_time)
def _dump():
    loop.disable()
    loop.dump_stats(out + ".loop")
    with lock:
        if runs:
            import pstats
            stats = pstats.Stats(runs[0])
            for prof in runs[1:]:
                stats.add(prof)
            stats.dump_stats(out + ".script")
atexit.register(_dump)
from streamlit.web.cli import main
loop.enable()
main()
"""


def start(out: str) -> tuple[subprocess.Popen, str]:
    """The app on a free loopback port under SERVER's profiler, which writes its tables to `out`."""
    return start_app(launcher=("-c", SERVER, out))


async def drive(url: str, changes: int, kind: str) -> int:
    """Warm the server up (imports, first run), then make `changes` interactions; returns how many were made."""
    warm = StreamlitSession(url, "conv2d", "")
    await warm.open()
    await warm.set_value("c2_k_w", 4)
    await warm.close()
    session = StreamlitSession(url, "conv2d", "c2_p_h=2")  # p_h=2: configurations the warm-up never built
    await session.open()
    made = 0
    try:
        if kind == "step":
            for i in range(changes):
                run = await session.click("c2_step_next" if i % 20 else "c2_step_first")
                assert run.ok, run.exceptions
                made += 1
            return made
        values = {"c2_p_w": 1, "c2_k_w": 3}
        for k_h in (1, 2, 3, 4, 5):
            await session.set_value("c2_k_h", k_h)
            for p_w in (0, 1, 2, 3, 4):
                for k_w in (1, 2, 3, 4, 5):
                    for key, value in (("c2_p_w", p_w), ("c2_k_w", k_w)):
                        if values[key] != value and made < changes:
                            values[key] = value
                            run = await session.set_value(key, value)
                            assert run.ok, run.exceptions
                            made += 1
        return made
    finally:
        await session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--kind", choices=("new", "step"), default="new")
    parser.add_argument("--callers", nargs="*", default=[], help="also print who calls these functions (regexes)")
    parser.add_argument("--only", default="", help="restrict the tables to functions matching this regex")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "prof")
        proc, url = start(out)
        try:
            made = asyncio.run(drive(url, min(args.changes, 120), args.kind))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        print(f"{made} interactions ({args.kind}); load average {load}")
        script = pstats.Stats(out + ".script")
        print(f"\n== script runs: {script.total_tt * 1000 / made:.1f} ms per interaction (profiled, includes the "
              f"warm-up's runs)")
        script.sort_stats("cumulative").print_stats(args.only, args.top)
        script.sort_stats("tottime").print_stats(args.only, args.top)
        for name in args.callers:
            script.print_callers(name)
        loop = pstats.Stats(out + ".loop")
        print(f"\n== main thread (event loop): {loop.total_tt * 1000 / made:.1f} ms per interaction")
        loop.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
