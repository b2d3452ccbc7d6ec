"""A two-replica cluster behind nginx for deploy tests; its teardown checks that no process it started is left."""
from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from deploy import Cluster


def need_nginx() -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        reason = "deploy tests need Debian's nginx (apt-get install nginx)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; CI=true, so this is a failure, not a skip")
        pytest.skip(reason)


def alive(pids) -> list[int]:
    """The pids that still name a running (not zombie) process."""
    left = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            left.append(pid)
    return left


def cluster_fixture(**options):
    """Yield a started 2-replica Cluster; afterwards stop it and assert nothing it started still runs."""
    need_nginx()
    cluster = Cluster(replicas=2, health_interval=0.5, **options).start()
    seen = set(cluster.pids())
    try:
        yield cluster
    finally:
        seen |= cluster.pids()
        cluster.stop()
        assert alive(seen) == [], f"processes left after stop(): {alive(seen)}"
        assert not cluster.workdir.exists(), "stop() leaves no temporary directory"


def get(url: str, cookie: str | None = None, timeout: float = 10):
    """(status, X-Replica, route cookie set by the balancer or None) of one GET."""
    request = urllib.request.Request(url, headers={"Cookie": f"cs_route={cookie}"} if cookie else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        set_cookie = [c for c in response.headers.get_all("Set-Cookie") or [] if c.startswith("cs_route=")]
        route = set_cookie[0].split(";")[0].split("=", 1)[1] if set_cookie else None
        return response.status, response.headers["X-Replica"], route
