"""nginx configuration for the balancer, rendered from the templates in deploy/nginx/ (one source for every target)."""
from __future__ import annotations

import os
import re
import pwd
import grp
from pathlib import Path

from convcore.imaging import MAX_UPLOAD_MB

TEMPLATES = Path(__file__).resolve().parent / "nginx"
COMPOSE_CONF = Path(__file__).resolve().parent / "compose" / "balancer.conf"
REPLICA_PORT = 8501  # a replica's port in a container or pod (on one machine each gets a free port)
# Passive health: after MAX_FAILS failed tries within FAIL_TIMEOUT a replica rests for FAIL_TIMEOUT.
MAX_FAILS = 2
FAIL_TIMEOUT_S = 10
# Streamlit checks its own cap (maxUploadSize) first; 1 MB more leaves room for the multipart framing.
MAX_BODY_MB = MAX_UPLOAD_MB + 1


def _fill(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    leftover = re.findall(r"@[A-Z_]+@", template)
    if leftover:
        raise ValueError(f"unfilled placeholders in the nginx template: {leftover}")
    return template


def server_lines(addresses: list[str], down: set[str] = frozenset()) -> str:
    """The upstream's `server` lines; a replica failing its health check is marked `down` (out of rotation)."""
    return "\n".join(f"    server {address} max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT_S}s"
                     f"{' down' if address in down else ''};" for address in addresses)


def balancer_conf(addresses: list[str], listen: str, down: set[str] = frozenset()) -> str:
    """The http-level part: affinity maps, the upstream, the proxy server (deploy/nginx/balancer.conf)."""
    return _fill((TEMPLATES / "balancer.conf").read_text(),
                 {"SERVERS": server_lines(addresses, down), "LISTEN": listen, "MAX_BODY_MB": str(MAX_BODY_MB)})


def main_conf(prefix: Path) -> str:
    """The whole nginx.conf for a foreground nginx whose pid, logs and temp files live under `prefix`."""
    user = ""
    if os.geteuid() == 0:  # workers would drop to `nobody` and could not write the (private) temp directory
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    return _fill((TEMPLATES / "main.conf").read_text(), {"PREFIX": str(prefix), "USER": user})


def compose_conf() -> str:
    """The balancer for deploy/compose.yaml: the `app` service's replicas (nginx resolves its name to all of them)."""
    return balancer_conf([f"app:{REPLICA_PORT}"], "80")


if __name__ == "__main__":  # python -m deploy.render compose: rewrite deploy/compose/balancer.conf
    import sys

    if sys.argv[1:] != ["compose"]:
        sys.exit("usage: python -m deploy.render compose")
    COMPOSE_CONF.write_text(compose_conf())
    print(f"wrote {COMPOSE_CONF}")
