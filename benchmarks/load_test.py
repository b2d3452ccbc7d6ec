"""Run by hand: a class of simulated students on the real server, speaking Streamlit's websocket protocol.

    python benchmarks/load_test.py                        # every scenario, one replica direct
    python benchmarks/load_test.py --scenario class30 --replicas 2 --nginx    # two replicas behind nginx (deploy/)
    python benchmarks/load_test.py --scenario class30 --replicas 2    # two replicas direct, the students split
    python benchmarks/load_test.py --scenario cpu         # server CPU per rerun, by kind

Where the server's time goes: `py-spy record --gil -p <server pid>` while a scenario runs (py-spy from PyPI, by
hand: not a dependency of the project).

Each student opens the Conv2d lesson through a shared link (GET the page, then the websocket: st_client.py), then
every T seconds changes a setting as a student would: the next step (a fragment rerun), or a control of the 5x5
lesson (kernel size, padding, stride: a whole-page rerun), and checks the page answered with what it asked for
(the step's arithmetic, the new weight shape). Measured: time from the interaction sent to its script_finished
(p50/p95), errors (exceptions on the page, wrong answers, timeouts, closed connections), server CPU per rerun
(utime+stime of the server processes from /proc, over the interaction phase, / reruns), memory per session (RSS
growth of the servers / sessions, after they opened and sat idle).

Scenarios (all loopback only, bounded in students and seconds; every process started here is stopped here):
  class30   30 students arriving within 10 s, interacting every 5 s
  class100  100 students arriving within 20 s, interacting every 10 s
  upload    class30, plus one student uploading a 12 MP photo to the image lab, five different ones (p95 of the others
            during the uploads vs outside them, and vs class30 alone)
  cpu       server CPU per rerun by kind, 10 students: steps only, a control toggled between two configurations
            (built once), random controls, then controls that are new each time
  idle      memory per idle session: 50 students open the lesson and do nothing
"""
from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]

from browser import start_app, stop_app  # noqa: E402
from st_client import ProtocolError, Run, StreamlitSession  # noqa: E402

MAX_STUDENTS = 200  # bounds, whatever the arguments say
MAX_SECONDS = 300
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LESSON = "conv2d"
SHARED_LINK = ""  # the lesson's defaults: a 5x5 input, 3x3 kernel, padding 1


# --- the server side: processes, their CPU and memory ---------------------------------------------------------------

def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes (all threads), in seconds."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5), counted after the ")"
    return total / CLOCK_TICKS


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


class Servers:
    """N replicas of the app on loopback: each direct (tests/browser.py's start_app; student i goes to replica
    i mod N), or behind nginx with cookie affinity (deploy/: one shared URL)."""

    def __init__(self, replicas: int = 1, nginx: bool = False):
        self.replicas, self.nginx = replicas, nginx
        self.urls: list[str] = []  # where students go
        self.replica_urls: list[str] = []  # each replica itself (warmed up directly: the balancer picks at random)
        self.app_pids: list[int] = []
        self._stops: list = []

    def __enter__(self) -> "Servers":
        try:
            if self.nginx:
                try:
                    from deploy.cluster import Cluster  # noqa: PLC0415 - deploy/: N replicas behind nginx
                except ImportError as err:
                    raise SystemExit(f"--nginx needs deploy/ (python -m deploy.serve): {err}") from None
                cluster = Cluster(replicas=self.replicas, restart=False).start()
                self._stops.append(cluster.stop)
                self.urls = [cluster.url]
                self.replica_urls = [replica.url for replica in cluster.members]
                self.app_pids = [replica.proc.pid for replica in cluster.members]
            else:
                for _ in range(self.replicas):
                    proc, url = start_app("app.py")
                    self._stops.append(lambda proc=proc: stop_app(proc))
                    self.urls.append(url)
                    self.app_pids.append(proc.pid)
            self.replica_urls = self.replica_urls or self.urls
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for stop in reversed(self._stops):
            stop()
        self._stops.clear()

    def url_for(self, student: int) -> str:
        return self.urls[student % len(self.urls)]

    def describe(self) -> str:
        if self.nginx:
            return f"{self.replicas} replicas behind nginx"
        return "1 replica direct" if self.replicas == 1 else f"{self.replicas} replicas direct (students split)"

    def cpu(self) -> float:
        return cpu_seconds(self.app_pids)

    def rss(self) -> float:
        return rss_mb(self.app_pids)


# --- students ------------------------------------------------------------------------------------------------------

@dataclass
class Record:
    """One interaction: when it was sent (seconds since the start), its kind, its time, and what went wrong."""

    start: float
    kind: str
    seconds: float
    error: str = ""


@dataclass
class Tally:
    records: list[Record] = field(default_factory=list)
    open_errors: list[str] = field(default_factory=list)
    opened: int = 0


def step_number(run: Run) -> int | None:
    """The step the page says it shows ("Output cell (r, c), step N of M")."""
    for text in run.markdown:
        if ", step " in text and " of " in text:
            return int(text.split(", step ", 1)[1].split(" of ", 1)[0])
    return None


def weight_shape(run: Run) -> str | None:
    for text in run.markdown:
        if text.startswith("input `") and "with weight `" in text:
            return text.split("with weight `", 1)[1].split("`", 1)[0]
    return None


class Student:
    """One simulated student on the lesson: steps and control changes, each checked against the page's answer."""

    CONTROLS = {"c2_k_h": (1, 2, 3, 4, 5), "c2_k_w": (1, 2, 3, 4, 5), "c2_p_h": (0, 1, 2), "c2_p_w": (0, 1, 2),
                "c2_s_w": (1, 2)}

    def __init__(self, url: str, seed: int, clock, step_share: float = 0.6):
        self.session = StreamlitSession(url, LESSON, SHARED_LINK)
        self.rng = random.Random(seed)
        self.clock = clock
        self.step_share = step_share
        self.values = {"c2_k_h": 3, "c2_k_w": 3, "c2_p_h": 1, "c2_p_w": 1, "c2_s_w": 1}
        self.step = 0
        self.last_step = 24

    async def open(self) -> Run:
        run = await self.session.open()
        self.step = step_number(run) or 0
        return run

    async def interact(self, kind: str | None = None) -> Record:
        kind = kind or ("step" if self.rng.random() < self.step_share else "control")
        start = self.clock()
        try:
            run, error = await (self._step() if kind == "step" else self._control())
        except ProtocolError as err:
            return Record(start, kind, self.clock() - start, f"protocol: {err}")
        if not run.ok:
            error = error or f"status {run.status}, exceptions {run.exceptions}"
        return Record(start, kind, run.seconds, error)

    async def _step(self) -> tuple[Run, str]:
        nxt = self.session.widgets.get("c2_step_next")
        at_end = nxt is None or getattr(nxt.proto, "disabled", False)
        run = await self.session.click("c2_step_first" if at_end else "c2_step_next")
        expected = 0 if at_end else self.step + 1
        self.step = step_number(run) if step_number(run) is not None else self.step
        return run, "" if self.step == expected else f"step {self.step} shown, {expected} expected"

    async def _control(self, key: str | None = None, value: int | None = None) -> tuple[Run, str]:
        if key is None:
            key = self.rng.choice(list(self.CONTROLS))
            value = self.rng.choice([v for v in self.CONTROLS[key] if v != self.values[key]])
        self.values[key] = value
        run = await self.session.set_value(key, value)
        expected = f"(1, 1, {self.values['c2_k_h']}, {self.values['c2_k_w']})"
        shown = weight_shape(run)
        self.step = step_number(run) if step_number(run) is not None else self.step
        return run, "" if shown == expected else f"weight {shown} shown, {expected} expected"

    async def set_control(self, key: str, value: int) -> Record:
        start = self.clock()
        try:
            run, error = await self._control(key, value)
        except ProtocolError as err:
            return Record(start, "new config", self.clock() - start, f"protocol: {err}")
        return Record(start, "new config", run.seconds, error or ("" if run.ok else f"status {run.status}"))


async def class_session(url_for, students: int, arrive_s: float, every_s: float, interact_s: float, tally: Tally,
                        on_phase=None, seed: int = 0) -> None:
    """`students` arrive uniformly within arrive_s, then each interacts every every_s (random phase) until the end
    of interact_s after the last arrival. on_phase(name) is called at "arrived" and "done" (for CPU/RSS samples)."""
    t0 = time.perf_counter()
    clock = lambda: time.perf_counter() - t0  # noqa: E731
    rng = random.Random(seed)
    arrivals = sorted(rng.uniform(0, arrive_s) for _ in range(students))
    group = [Student(url_for(i), seed * 1000 + i, clock) for i in range(students)]
    end = arrive_s + 2 + interact_s

    async def one(student: Student, arrival: float) -> None:
        await asyncio.sleep(arrival)
        try:
            await student.open()
            tally.opened += 1
        except (ProtocolError, OSError) as err:
            tally.open_errors.append(f"{type(err).__name__}: {err}")
            return
        await asyncio.sleep(max(arrive_s + 2 - clock(), 0) + student.rng.uniform(0, every_s))
        while clock() < end:
            tally.records.append(await student.interact())
            await asyncio.sleep(max(every_s - tally.records[-1].seconds, 0))

    async def phases() -> None:
        await asyncio.sleep(arrive_s + 2)
        on_phase and on_phase("arrived")
        await asyncio.sleep(max(end - clock(), 0))

    try:
        await asyncio.gather(phases(), *(one(s, a) for s, a in zip(group, arrivals)))
        on_phase and on_phase("done")
    finally:
        await asyncio.gather(*(s.session.close() for s in group), return_exceptions=True)


# --- the 12 MP upload -----------------------------------------------------------------------------------------------

def photos_12mp(count: int) -> list[bytes]:
    """`count` different 4000x3000 JPEGs made from a sample photo, so they compress like real ones (~2-4 MB each)
    and none is a cache hit for the one before (the lab caches decoded images by their bytes)."""
    from PIL import Image, ImageFilter

    with Image.open(ROOT / "assets/samples/astronaut.jpg") as src:
        big = src.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC).filter(ImageFilter.DETAIL)
    photos = []
    for i in range(count):
        out = io.BytesIO()
        big.save(out, "JPEG", quality=90 - i)
        photos.append(out.getvalue())
    return photos


async def uploader(url: str, photos: list[bytes], gap_s: float, start_s: float, clock, windows: list) -> None:
    """One student on the image lab: switch the source to upload, then upload each photo, gap_s apart."""
    await asyncio.sleep(start_s)
    session = StreamlitSession(url, "lab", "", timeout=120)
    try:
        await session.open()
        await session.set_value("lab_src", "upload")
        for i, photo in enumerate(photos):
            begin = clock()
            run = await session.upload("lab_upload", f"photo{i}.jpg", photo, "image/jpeg")
            windows.append((begin, clock(), run.ok, run.exceptions))
            await asyncio.sleep(gap_s)
    finally:
        await session.close()


# --- reporting -----------------------------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else (values or [0])[0]


def summary(records: list[Record]) -> str:
    ok = [r.seconds * 1000 for r in records if not r.error]
    if not ok:
        return f"n={len(records)} all failed"
    return f"n={len(records)} p50 {pct(ok, 50):.0f} ms p95 {pct(ok, 95):.0f} ms max {max(ok):.0f} ms"


def load() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def report_errors(tally: Tally) -> str:
    errors = [r for r in tally.records if r.error]
    lines = [f"errors: {len(errors)} of {len(tally.records)} interactions, {len(tally.open_errors)} failed opens"]
    for text in sorted({r.error for r in errors})[:5] + sorted(set(tally.open_errors))[:3]:
        lines.append(f"  e.g. {text[:200]}")
    return "\n".join(lines)


# --- scenarios -----------------------------------------------------------------------------------------------------

async def warm_up(url: str) -> None:
    """The first run of a fresh server imports plotly/scipy: one student first, so arrivals measure sessions."""
    student = Student(url, -1, time.perf_counter)
    await student.open()
    await student.interact("step")
    await student.interact("control")
    await student.session.close()


def class_scenario(name: str, students: int, arrive_s: float, every_s: float, interact_s: float, setup: Servers,
                   upload: bool = False) -> dict:
    students = min(students, MAX_STUDENTS)
    tally, samples, windows = Tally(), {}, []
    photos = photos_12mp(5) if upload else []
    with setup as servers:
        for url in servers.replica_urls:
            asyncio.run(warm_up(url))
        time.sleep(1)
        samples["start"] = (time.perf_counter(), servers.cpu(), servers.rss())

        def on_phase(phase: str) -> None:
            samples[phase] = (time.perf_counter(), servers.cpu(), servers.rss())

        async def main() -> None:
            t0 = time.perf_counter()
            jobs = [class_session(servers.url_for, students, arrive_s, every_s, interact_s, tally, on_phase)]
            if upload:
                jobs.append(uploader(servers.url_for(0), photos, 5, arrive_s + 5, lambda: time.perf_counter() - t0,
                                     windows))
            await asyncio.wait_for(asyncio.gather(*jobs), MAX_SECONDS)

        asyncio.run(main())
    return report(name, setup.describe(), students, tally, samples, windows)


def report(name: str, where: str, students: int, tally: Tally, samples: dict, windows: list) -> dict:
    print(f"\n== {name}: {students} students, {where}; {load()}")
    recs = tally.records
    print(f"all interactions: {summary(recs)}")
    for kind in ("step", "control"):
        print(f"  {kind}: {summary([r for r in recs if r.kind == kind])}")
    print(report_errors(tally))
    (_, cpu0, rss0), (_, cpu1, rss1), (_, cpu2, _) = samples["start"], samples["arrived"], samples["done"]
    interacted = [r for r in recs if r.start >= 0]
    reruns = len(interacted)
    mb_per_session = (rss1 - rss0) / max(tally.opened, 1)
    cpu_ms = (cpu2 - cpu1) * 1000 / max(reruns, 1)
    print(f"server CPU per rerun (interaction phase, mixed kinds): {cpu_ms:.1f} ms over {reruns} reruns; "
          f"memory: {rss0:.0f} MB before, {rss1:.0f} MB with {tally.opened} sessions = {mb_per_session:.2f} MB per "
          f"session (after one run each)")
    result = {"p95": pct([r.seconds for r in recs if not r.error] or [0], 95), "cpu_ms": cpu_ms,
              "mb_per_session": mb_per_session, "errors": sum(1 for r in recs if r.error) + len(tally.open_errors)}
    if windows:
        during = [r for r in recs if any(a <= r.start <= b for a, b, *_ in windows)]
        outside = [r for r in recs if r not in during]
        print(f"uploads: {[f'{b - a:.1f} s ok={ok} {exc[:1]}' for a, b, ok, exc in windows]}")
        print(f"  others during the uploads: {summary(during)}")
        print(f"  others outside them:       {summary(outside)}")
        ok_during = [r.seconds for r in during if not r.error]
        ok_out = [r.seconds for r in outside if not r.error]
        if ok_during and ok_out:
            print(f"  p95 ratio during / outside: {pct(ok_during, 95) / pct(ok_out, 95):.2f}")
    return result


def cpu_scenario(setup: Servers, students: int = 10, seconds: float = 20, every_s: float = 1.0) -> None:
    """Server CPU per rerun by kind: each phase, every student does one kind only; CPU over the phase / reruns."""
    with setup as servers:
        for url in servers.replica_urls:
            asyncio.run(warm_up(url))

        async def main() -> None:
            t0 = time.perf_counter()
            clock = lambda: time.perf_counter() - t0  # noqa: E731
            group = [Student(servers.url_for(i), i, clock) for i in range(students)]
            try:
                await asyncio.gather(*(s.open() for s in group))
                await asyncio.sleep(1)
                print(f"\n== server CPU per rerun by kind: {students} students, "
                      f"{servers.describe()}; {load()}")
                print(f"  step (a fragment rerun): {await phase(group, servers, 'step', seconds, every_s)}")
                print(f"  control change to a configuration the server has built (kernel width 3 <-> 4): "
                      f"{await phase(group, servers, 'toggle', seconds, every_s)}")
                print(f"  control change, random (kernel, padding, stride: often a configuration new to the server): "
                      f"{await phase(group, servers, 'control', seconds, every_s)}")
                print(f"  new config (a control change to a configuration no one had): "
                      f"{await new_configs(group, servers)}")
            finally:
                await asyncio.gather(*(s.session.close() for s in group), return_exceptions=True)

        asyncio.run(main())


async def phase(group: list[Student], servers: Servers, kind: str, seconds: float, every_s: float) -> str:
    records: list[Record] = []
    end = time.perf_counter() + seconds

    async def one(student: Student) -> None:
        await asyncio.sleep(student.rng.uniform(0, every_s))
        while time.perf_counter() < end:
            if kind == "toggle":
                records.append(await student.set_control("c2_k_w", 4 if student.values["c2_k_w"] == 3 else 3))
            else:
                records.append(await student.interact(kind))
            await asyncio.sleep(max(every_s - records[-1].seconds, 0))

    if kind == "toggle":  # both configurations built (at the students' steps) before the CPU counts
        for student in group:
            for value in (4, 3):
                await student.set_control("c2_k_w", value)
    cpu0 = servers.cpu()
    await asyncio.gather(*(one(s) for s in group))
    cpu_ms = (servers.cpu() - cpu0) * 1000 / max(len(records), 1)
    errors = sum(1 for r in records if r.error)
    return f"CPU {cpu_ms:.1f} ms per rerun; {summary(records)}; {errors} errors"


async def walk_new_configurations(student: Student) -> list[Record]:
    """A snake through kernel width 1..5 x padding width 0..4 at the student's kernel and padding height: each step
    one control change, to a configuration the server has not built yet when (k_h, p_h) is new to it."""
    records = []
    for p_w in (0, 1, 2, 3, 4):
        if p_w != student.values["c2_p_w"]:
            records.append(await student.set_control("c2_p_w", p_w))
        for k_w in (1, 2, 3, 4, 5) if p_w % 2 == 0 else (5, 4, 3, 2, 1):
            if k_w != student.values["c2_k_w"]:
                records.append(await student.set_control("c2_k_w", k_w))
    return records


async def new_configs(group: list[Student], servers: Servers) -> str:
    """One student after the other (the CPU is then that student's alone) walks a snake through (k_w, p_w) at its
    own (k_h, p_h): every change is a configuration the server has not built yet (trace, figure, forward)."""
    records: list[Record] = []
    cpu = 0.0
    for i, student in enumerate(group):
        await student.set_control("c2_p_h", 2 + i // 5)  # p_h >= 2: the phases before used 0..2, at other k_h
        await student.set_control("c2_k_h", 1 + i % 5)
        cpu0 = servers.cpu()
        records += await walk_new_configurations(student)
        cpu += servers.cpu() - cpu0
    errors = sum(1 for r in records if r.error)
    return f"CPU {cpu * 1000 / max(len(records), 1):.1f} ms per rerun; {summary(records)}; {errors} errors"


def idle_scenario(setup: Servers, students: int = 50) -> None:
    students = min(students, MAX_STUDENTS)
    with setup as servers:
        for url in servers.replica_urls:
            asyncio.run(warm_up(url))
        time.sleep(1)

        async def main() -> None:
            group = [StreamlitSession(servers.url_for(i), LESSON, SHARED_LINK) for i in range(students)]
            rss0 = servers.rss()
            try:
                for i in range(0, students, 10):
                    await asyncio.gather(*(s.open() for s in group[i:i + 10]))
                await asyncio.sleep(5)
                rss1 = servers.rss()
                print(f"\n== idle sessions: {students} students opened the lesson and wait, "
                      f"{servers.describe()}; {load()}")
                print(f"  memory {rss0:.0f} MB before, {rss1:.0f} MB after = {(rss1 - rss0) / students:.2f} MB per "
                      f"idle session")
            finally:
                await asyncio.gather(*(s.close() for s in group), return_exceptions=True)

        asyncio.run(asyncio.wait_for(main(), MAX_SECONDS))


SCENARIOS = {
    "class30": lambda setup, d: class_scenario("30 students arriving within 10 s, one interaction every 5 s", 30,
                                               10, 5, d, setup),
    "class100": lambda setup, d: class_scenario("100 students arriving within 20 s, one interaction every 10 s",
                                                100, 20, 10, d, setup),
    "upload": lambda setup, d: class_scenario("30 students every 5 s while one uploads five 12 MP photos", 30, 10,
                                              5, d, setup, upload=True),
    "cpu": lambda setup, d: cpu_scenario(setup),
    "idle": lambda setup, d: idle_scenario(setup),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--replicas", type=int, default=1, help="app processes (students split among them)")
    parser.add_argument("--nginx", action="store_true", help="the replicas behind nginx (deploy/), one shared URL")
    parser.add_argument("--seconds", type=float, default=60, help="interaction phase of the class scenarios")
    args = parser.parse_args()
    seconds = min(args.seconds, MAX_SECONDS - 60)
    for name in SCENARIOS if args.scenario == "all" else [args.scenario]:
        SCENARIOS[name](Servers(min(args.replicas, 8), args.nginx), seconds)


if __name__ == "__main__":
    main()
