"""Serve the app to a class: `python -m deploy.serve [--replicas N] [--port P] [--host H]`.

Starts N `streamlit run app.py` replicas (default: one per core) on free loopback ports behind nginx with cookie
affinity, prints the address to share, and stops everything on Ctrl-C or SIGTERM.
"""
from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from urllib.parse import urlsplit

import streamlit.logger

from deploy.cluster import Cluster

streamlit.logger.set_log_level("error")  # importing convcore.ui warns "No runtime found": this process runs none
from convcore.ui.present import PUBLIC_URL_ENV, is_loopback, network_address  # noqa: E402


def shared_address(host: str, port: int) -> str:
    """The address students type: listening on every interface, this computer's network address (phones seldom
    resolve a laptop's name; its name without a network), else the host itself."""
    if host in ("0.0.0.0", ""):
        host = network_address() or socket.gethostname()
    return f"http://{host}:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=None, help="app processes (default: one per core)")
    parser.add_argument("--port", type=int, default=8080, help="the balancer's port (0: a free one; default 8080)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the balancer's address (0.0.0.0 to serve a classroom network; default 127.0.0.1)")
    args = parser.parse_args(argv)
    if args.replicas is not None and args.replicas < 1:
        parser.error(f"--replicas={args.replicas} must be at least 1")

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        # the replicas' share links give the address students can open, also to a teacher's browser on localhost
        address = shared_address(args.host, args.port)
        env = {PUBLIC_URL_ENV: address} if args.port and not is_loopback(urlsplit(address).hostname) else {}
        cluster = Cluster(replicas=args.replicas, port=args.port, host=args.host, replica_env=env).start()
    except RuntimeError as error:  # e.g. the port is taken, nginx is missing: say so, no traceback
        print(f"Could not start: {error}", file=sys.stderr)
        return 1
    with cluster:
        ports = ", ".join(str(r.port) for r in cluster.members)
        print(f"Convolution Studio: {len(cluster.members)} replicas (ports {ports}) behind nginx.", flush=True)
        print(f"Share this address with the class: {shared_address(args.host, cluster.port)}", flush=True)
        print("Ctrl-C stops everything.", flush=True)
        try:
            done.wait()
        except KeyboardInterrupt:
            pass
        print("Stopping the balancer and the replicas...", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
