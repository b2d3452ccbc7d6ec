"""deploy/: the balancer's nginx config is valid, affinity pins a client to its replica, a replica that fails its
health check leaves the rotation, a dead one is restarted, and nothing is left running afterwards."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from convcore.images.imaging import MAX_UPLOAD_MB
from deploy import Cluster, render, serve
from deploy.cluster import NGINX, ROOT, healthy
from deploy_fixtures import alive, cluster_fixture, get, need_nginx

CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


@pytest.fixture
def cluster():
    yield from cluster_fixture()


def wait_until(predicate, timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)


def test_streamlit_config_is_the_deployment_one():
    server = CONFIG["server"]
    assert server["maxUploadSize"] == MAX_UPLOAD_MB  # the image lab's cap
    assert server["fileWatcherType"] == "none" and server["headless"] is True
    assert server["enableXsrfProtection"] is True
    assert CONFIG["client"]["toolbarMode"] in ("viewer", "minimal")  # no developer options, no Deploy button


def test_rendered_nginx_config_passes_nginx_t(tmp_path):
    need_nginx()
    (tmp_path / "balancer.conf").write_text(render.balancer_conf(["127.0.0.1:9001", "127.0.0.1:9002"],
                                                                  "127.0.0.1:9000", down={"127.0.0.1:9002"}))
    (tmp_path / "nginx.conf").write_text(render.main_conf(tmp_path))
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr
    conf = (tmp_path / "balancer.conf").read_text()
    directives = [line.split("#")[0].strip() for line in conf.splitlines()]
    assert "hash $cs_route_key consistent;" in directives and not any(d.startswith("ip_hash") for d in directives)
    assert "server 127.0.0.1:9002 max_fails=2 fail_timeout=10s down;" in conf
    assert int(re.search(r"client_max_body_size (\d+)m;", conf).group(1)) >= MAX_UPLOAD_MB
    assert re.search(r"proxy_read_timeout 1d;", conf) and "proxy_set_header Host $http_host;" in conf


def test_a_client_keeps_its_replica_across_requests(cluster):
    status, first, route = get(cluster.url + "/")
    assert status == 200 and route == f"r{cluster.replica_of(first).index}", "the first response names its replica"
    for path in ["/", "/conv2d?c2_k_h=5", "/_stcore/health", "/lab"] * 3:
        status, replica, again = get(cluster.url + path, cookie=route)
        assert (status, replica, again) == (200, first, None)  # same replica, cookie not set again
    # Different students spread over both replicas (20 random keys all on one replica: chance 2**-19).
    assert {get(cluster.url + "/")[1] for _ in range(20)} == {r.address for r in cluster.members}


def test_every_replica_has_the_apps_modules_before_its_first_student(cluster):
    """deploy/replica.py imports convcore before the server starts (else the first session on each replica imports
    it: about a second). No session has run yet (the cluster only asked /_stcore/health), and Streamlit itself maps
    neither scipy's nor PyAV's libraries, so finding them mapped in each replica shows the preload ran."""
    for pid in cluster.app_pids:
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "/scipy/" in maps and "/av/" in maps, f"replica {pid} has not imported convcore's dependencies"


def test_a_replica_that_stops_answering_its_health_check_leaves_the_rotation(cluster):
    _, replica_address, route = get(cluster.url + "/")
    replica = cluster.replica_of(replica_address)
    other = next(r for r in cluster.members if r is not replica)
    os.kill(replica.proc.pid, signal.SIGSTOP)  # alive, port open, but answers nothing (a hung replica)
    try:
        wait_until(lambda: cluster.in_rotation() == [other.index], what="the hung replica to be marked down")
        # in_rotation() changes only once nginx's old workers stopped taking connections (they accept for ~100 ms
        # after a reload), so from the first request on its students go to the live replica, which re-pins them.
        for _ in range(20):
            answer = get(cluster.url + "/_stcore/health", cookie=route, timeout=3)
            assert answer == (200, other.address, f"r{other.index}")
        assert f"server {replica.address} max_fails=2 fail_timeout=10s down;" in (
            cluster.workdir / "balancer.conf").read_text()
    finally:
        os.kill(replica.proc.pid, signal.SIGCONT)
    wait_until(lambda: len(cluster.in_rotation()) == 2, what="the replica to rejoin")
    # The student's cookie leads back to its replica.
    assert get(cluster.url + "/_stcore/health", cookie=route, timeout=3)[1] == replica.address
    # A student re-pinned during the outage stays where their session now is.
    assert get(cluster.url + "/_stcore/health", cookie=f"r{other.index}") == (200, other.address, None)
    assert replica.restarts == 0


def test_a_second_cluster_on_a_port_a_balancer_holds_refuses_to_start(cluster):
    """Started twice on one port (a teacher runs serve again): the running balancer answers the new one's health
    checks, so only an answer from one of its own replicas counts; it says why and leaves nothing running."""
    second = Cluster(replicas=1, port=cluster.port)
    with pytest.raises(RuntimeError, match="nginx did not start: .*Address already in use"):
        second.start()
    started = [second.nginx.pid] + [replica.proc.pid for replica in second.members]
    assert len(started) == 2 and alive(started) == [] and not second.workdir.exists()
    assert get(cluster.url + "/_stcore/health")[0] == 200  # the first cluster still serves


def test_a_replica_that_dies_is_restarted_and_rejoins(cluster):
    replica = cluster.members[0]
    old_pid = replica.proc.pid
    replica.proc.kill()
    wait_until(lambda: cluster.in_rotation() == [1], what="the dead replica to leave the rotation")
    assert healthy(cluster.url)  # the balancer still serves
    wait_until(lambda: cluster.in_rotation() == [0, 1], timeout=60, what="the restarted replica to rejoin")
    assert replica.restarts == 1 and replica.proc.pid != old_pid and alive([old_pid]) == []


@pytest.fixture
def cluster_restarting_hung():
    # health_failures high: the hung replica stays in rotation until its restart, so the request below surely reaches it
    yield from cluster_fixture(restart_hung_after=3, health_failures=1000)


def test_a_replica_hung_for_restart_hung_after_is_restarted_and_lets_go_of_its_students(cluster_restarting_hung):
    """Taken out of rotation, a hung replica still holds what reached it (requests, websockets); restarting it lets
    them go: nginx retries the request on the live replica instead of waiting out proxy_read_timeout (300 s)."""
    cluster = cluster_restarting_hung
    _, replica_address, route = get(cluster.url + "/")
    replica = cluster.replica_of(replica_address)
    other = next(r for r in cluster.members if r is not replica)
    old_pid = replica.proc.pid
    os.kill(old_pid, signal.SIGSTOP)
    started = time.monotonic()
    # It reaches the hung replica, then, once that is killed, is retried on the live one.
    status, answered, _ = get(cluster.url + "/_stcore/health", cookie=route, timeout=30)
    waited = time.monotonic() - started
    assert status == 200 and answered == f"{replica.address}, {other.address}", answered
    assert 2.5 <= waited < 15, f"answered after {waited:.1f} s: restart_hung_after is 3 s"
    wait_until(lambda: replica.restarts == 1 and cluster.in_rotation() == [0, 1], timeout=60,
               what="the hung replica to be restarted and rejoin")
    assert replica.proc.pid != old_pid and alive([old_pid]) == []


def test_serve_prints_the_address_and_stops_cleanly_on_sigterm_and_ctrl_c():
    need_nginx()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen([sys.executable, "-m", "deploy.serve", "--replicas", "2", "--port", "0"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            lines = []
            while not any("Share this address" in line for line in lines):
                line = proc.stdout.readline()
                assert line, "".join(lines)
                lines.append(line)
            url = re.search(r"(http://\S+)", lines[-1]).group(1)
            assert get(url + "/")[0] == 200
            started = [proc.pid, *_descendants(proc.pid)]
            assert len(started) >= 1 + 2 + 2  # serve, two replicas, nginx's master and a worker
            proc.send_signal(stop_signal)
            assert proc.wait(timeout=30) == 0
            wait_until(lambda: alive(started) == [], timeout=10, what="every process to end")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _descendants(pid: int) -> list[int]:
    from deploy.cluster import _children
    return _children(pid)


def test_serve_shares_the_network_address_when_it_serves_the_classroom_network(monkeypatch):
    """Phones seldom resolve a laptop's name: listening on every interface, the address printed (and put into the
    replicas' share links) is this computer's network address."""
    monkeypatch.setattr(serve, "network_address", lambda: "10.1.2.3")
    assert serve.shared_address("0.0.0.0", 8080) == "http://10.1.2.3:8080"
    assert serve.shared_address("192.0.2.7", 8080) == "http://192.0.2.7:8080"  # the address it was given
    monkeypatch.setattr(serve, "network_address", lambda: None)  # no network: its name, the best left
    assert serve.shared_address("0.0.0.0", 8080) == f"http://{socket.gethostname()}:8080"


def test_serve_refuses_zero_replicas():
    result = subprocess.run([sys.executable, "-m", "deploy.serve", "--replicas", "0"], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2 and "--replicas=0 must be at least 1" in result.stderr


def test_serve_says_why_it_cannot_start_and_leaves_nothing_running():
    need_nginx()
    import socket
    import uuid

    mark = f"CS_DEPLOY_TEST={uuid.uuid4().hex}"  # inherited by everything serve starts
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "deploy.serve", "--replicas", "1", "--port", str(port)],
                                cwd=ROOT, capture_output=True, text=True, timeout=120,
                                env={**os.environ, mark.split("=")[0]: mark.split("=")[1]})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Could not start: nginx did not start:") and "Address already in use" in result.stderr
    assert alive(_marked(mark)) == [], "serve left processes behind"


def _marked(mark: str) -> list[int]:
    """Processes whose environment holds `mark`."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if mark.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            pass
    return found
