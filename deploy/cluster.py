"""N replicas of the app on free loopback ports behind a foreground nginx, with a supervisor that health-checks them.

Open-source nginx has no active health checks, so the supervisor does them: every `health_interval` seconds it asks
each replica's /_stcore/health; after `health_failures` misses in a row the replica is marked `down` in the upstream
and nginx reloads (SIGHUP: new connections avoid it, open websockets stay where they are); once it answers again it
is put back. A replica that has not answered for `restart_hung_after` seconds is killed, as Kubernetes' liveness
probe would: its students' websockets and requests were still held by it, and now reconnect to a live replica with
their settings (all in the URL). A replica whose process exited is started again on the same port and rejoins when
healthy (its students were re-pinned by the balancer to the replica that took them over:
deploy/nginx/balancer.conf). nginx's passive checks (max_fails, proxy_next_upstream) cover the seconds before the
supervisor notices.

Every process is a child of this one, asked to die with it (PR_SET_PDEATHSIG), and stop() ends them all.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from deploy import render, static_files

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HEALTH_PATH = "/_stcore/health"
REPLICA_PORT = render.REPLICA_PORT


def replica_command(address: str = "0.0.0.0", port: int = REPLICA_PORT) -> list[str]:
    """The one command a replica runs: `streamlit run app.py` after importing the app's modules (deploy/replica.py);
    the rest of its settings are in .streamlit/config.toml. Dockerfile uses it."""
    return ["python", "-m", "deploy.replica", "--server.address", address, "--server.port", str(port)]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies, so a killed supervisor leaves no orphans."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except OSError:
        pass


def _accepting(pid: str) -> bool:
    """An nginx worker that still takes new connections: alive, and not "nginx: worker process is shutting down"."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return bool(title) and b"shutting down" not in title  # a zombie's title is empty


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url + HEALTH_PATH, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class Replica:
    index: int
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None
    in_rotation: bool = False
    misses: int = 0
    failing_since: float | None = None  # time.monotonic() of the first miss in a row, once it has answered
    restarts: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"


@dataclass
class Cluster:
    """`with Cluster(replicas=2) as c: c.url` (or start()/stop()); replicas default to one per core."""
    replicas: int | None = None
    port: int = 0  # the balancer's port; 0 = a free one
    host: str = "127.0.0.1"
    health_interval: float = 1.0
    health_failures: int = 2
    restart: bool = True
    restart_hung_after: float = 15.0  # seconds without a health answer before a live but hung replica is restarted
    startup_timeout: float = 90.0
    replica_env: dict[str, str] = field(default_factory=dict)  # added to each replica's environment
    serve_static: bool = True  # nginx serves Streamlit's bundles, precompressed (deploy/static_files.py)
    members: list[Replica] = field(default_factory=list, init=False)
    nginx: subprocess.Popen | None = field(default=None, init=False)
    workdir: Path | None = field(default=None, init=False)
    static_root: Path | None = field(default=None, init=False)

    def __post_init__(self):
        self.replicas = self.replicas or os.cpu_count() or 1
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self._routed: list[int] = []  # the replicas nginx's live workers route to (set once a reload has landed)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> "Cluster":
        return self if self.nginx is not None else self.start()  # `with Cluster(...).start() as c` starts once

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- starting and stopping ------------------------------------------------------------------------------------
    def start(self) -> "Cluster":
        if not Path(NGINX).exists():
            raise RuntimeError(f"nginx not found at {NGINX} (Debian: apt-get install nginx)")
        self.workdir = Path(tempfile.mkdtemp(prefix="convolution-studio-"))
        self.port = self.port or free_port(self.host)
        try:
            self.members = [Replica(i, free_port(), self.workdir / f"replica-{i}.log") for i in range(self.replicas)]
            for replica in self.members:
                self._spawn(replica)
            deadline = time.monotonic() + self.startup_timeout
            for replica in self.members:
                while not healthy(replica.url, timeout=1):
                    if replica.proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"replica {replica.index} did not start; see {replica.log_path}")
                    time.sleep(0.2)
                replica.in_rotation = True
            if self.serve_static:
                try:
                    self.static_root = static_files.precompressed()
                except OSError as error:  # e.g. no writable cache directory: the replicas serve the bundles
                    print(f"Serving Streamlit's bundles through the replicas ({error})", file=sys.stderr)
            self._write_config()
            self.nginx = subprocess.Popen(
                [NGINX, "-p", str(self.workdir), "-c", str(self.workdir / "nginx.conf")],
                stdout=subprocess.DEVNULL, stderr=open(self.workdir / "nginx.out", "wb"), preexec_fn=_die_with_parent)
            while not self._answered_by_member():
                if self.nginx.poll() is not None or time.monotonic() > deadline:
                    said = (self.workdir / "nginx.out").read_text().strip().splitlines() or ["no message"]
                    raise RuntimeError(f"nginx did not start: {said[0]}")
                time.sleep(0.1)
            self._routed = self._wanted()
        except BaseException:
            self.stop()
            raise
        self._monitor = threading.Thread(target=self._supervise, name="cluster-supervisor", daemon=True)
        self._monitor.start()
        return self

    def _answered_by_member(self) -> bool:
        """The balancer's health check answered, by one of our replicas (X-Replica): a port another balancer already
        holds answers too, until our nginx exits on "Address already in use"."""
        try:
            with urllib.request.urlopen(self.url + HEALTH_PATH, timeout=1) as response:
                answered = response.headers.get("X-Replica", "") if response.status == 200 else ""
        except OSError:  # refused, or an HTTP error status (urllib raises those)
            return False
        return any(answered.endswith(f":{replica.port}") for replica in self.members)

    def stop(self) -> None:
        """End nginx and every replica (by their own handles), then remove the temporary directory."""
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join(timeout=10)
        procs = [p for p in [self.nginx] + [r.proc for r in self.members] if p is not None]
        for proc in procs:
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGCONT)  # a stopped (SIGSTOP) process cannot act on SIGTERM
                    proc.terminate()
                except ProcessLookupError:
                    pass
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self.workdir is not None and not os.environ.get("CLUSTER_KEEP_LOGS"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _spawn(self, replica: Replica) -> None:
        replica.failing_since = None
        log = open(replica.log_path, "ab")
        env = {**os.environ, **self.replica_env} if self.replica_env else None
        replica.proc = subprocess.Popen(
            [sys.executable, *replica_command("127.0.0.1", replica.port)[1:]], cwd=ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        log.close()

    # -- the supervisor -------------------------------------------------------------------------------------------
    def _write_config(self) -> None:
        down = {r.address for r in self.members if not r.in_rotation}
        listen = f"{self.host}:{self.port}"
        (self.workdir / "balancer.conf").write_text(render.balancer_conf([r.address for r in self.members], listen, down,
                                                                         static_root=self.static_root))
        (self.workdir / "nginx.conf").write_text(render.main_conf(self.workdir))

    def _wanted(self) -> list[int]:
        return [r.index for r in self.members if r.in_rotation]

    def _workers(self) -> list[str]:
        try:
            return Path(f"/proc/{self.nginx.pid}/task/{self.nginx.pid}/children").read_text().split()
        except OSError:
            return []

    def _reload(self, timeout: float = 5.0) -> None:
        """Write the config and SIGHUP nginx; return once its old workers no longer take new connections.

        nginx's master starts the new workers and lets both generations accept for ~100 ms before it tells the old
        ones to stop: until then a request can still go to a replica just marked down (a hung one holds it for
        proxy_read_timeout). An old worker stops accepting when it exits or turns "shutting down" (it finishes the
        requests and websockets it holds)."""
        self._write_config()
        if self.nginx is None or self.nginx.poll() is not None:
            return
        old = self._workers()
        os.kill(self.nginx.pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while any(_accepting(pid) for pid in old) and time.monotonic() < deadline:
            time.sleep(0.01)
        self._routed = self._wanted()

    def _supervise(self) -> None:
        while not self._stopping.wait(self.health_interval):
            changed = False
            for replica in self.members:
                if self._stopping.is_set():
                    return
                exited = replica.proc.poll() is not None
                if exited and self.restart:
                    replica.restarts += 1
                    self._spawn(replica)
                ok = not exited and healthy(replica.url, timeout=self.health_interval)
                replica.misses = 0 if ok else replica.misses + 1
                if ok:
                    replica.failing_since = None
                elif replica.failing_since is None and replica.in_rotation:  # not one still starting
                    replica.failing_since = time.monotonic()
                if (replica.failing_since is not None and not exited and self.restart
                        and time.monotonic() - replica.failing_since >= self.restart_hung_after):
                    replica.proc.kill()  # hung: its connections close, the next round starts it again
                    replica.proc.wait(timeout=10)
                    exited = True
                # Out at once if its process died, after health_failures misses if it stopped answering.
                wanted = ok if not replica.in_rotation else not exited and replica.misses < self.health_failures
                if wanted != replica.in_rotation:
                    replica.in_rotation = wanted
                    changed = True
            if changed:
                with self._lock:
                    self._reload()

    # -- for tests and load scripts -------------------------------------------------------------------------------
    def in_rotation(self) -> list[int]:
        """The indexes of the replicas nginx routes new connections to (after the reload that says so has landed)."""
        return list(self._routed)

    def replica_of(self, address: str) -> Replica:
        """The replica whose address (as in the X-Replica header, "127.0.0.1:port") is given."""
        return next(r for r in self.members if r.address == address)

    @property
    def app_pids(self) -> list[int]:
        """The replicas' process ids now (a restarted replica has a new one)."""
        return [r.proc.pid for r in self.members if r.proc is not None and r.proc.poll() is None]

    @property
    def balancer_pids(self) -> list[int]:
        """nginx's master and worker process ids now."""
        if self.nginx is None or self.nginx.poll() is not None:
            return []
        return [self.nginx.pid, *_children(self.nginx.pid)]

    def pids(self) -> set[int]:
        """Every live process this cluster started: nginx's master and workers, the replicas."""
        roots = [p.pid for p in [self.nginx] + [r.proc for r in self.members] if p is not None and p.poll() is None]
        return {pid for root in roots for pid in [root, *_children(root)]}


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found += [int(child), *_children(int(child))]
    return found


def start_cluster(replicas: int | None = None, **options) -> Cluster:
    """Start `replicas` app processes behind nginx on free loopback ports; call .stop() (or use `with`) to end them."""
    return Cluster(replicas=replicas, port=0, **options).start()
