"""nginx configuration for the balancer, rendered from the templates in deploy/nginx/ (one source for every target)."""
from __future__ import annotations

import os
import re
import pwd
import grp
from pathlib import Path

from convcore.images.imaging import MAX_UPLOAD_MB

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


def route_lines(addresses: list[str], down: set[str] = frozenset()) -> dict[str, str]:
    """The named routes: cookie r<i> -> upstream cs_r<i> (replica i, the others as backups); answering address -> r<i>."""
    upstreams, names, blocks = [], [], []
    for i, address in enumerate(addresses):
        upstreams.append(f"    r{i} cs_r{i};")
        names.append(f'    "~(^|, ){re.escape(address)}$" r{i};')
        others = [a for a in addresses if a != address]
        lines = [f"    server {address} max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT_S}s"
                 f"{' down' if address in down else ''};"]
        lines += [f"    server {a}{' down' if a in down else ' backup'};" for a in others]
        blocks.append(f"upstream cs_r{i} {{\n" + "\n".join(lines) + "\n}")
    return {"ROUTE_UPSTREAMS": "\n".join(upstreams), "ROUTE_NAMES": "\n".join(names),
            "ROUTE_BLOCKS": "\n".join(blocks)}


def static_location(static_root: Path | None) -> str:
    """nginx serving /static/ itself from `static_root` (deploy/static_files.py), or nothing: the replicas serve it."""
    if static_root is None:
        return "    # /static/ goes to the replicas like every other path (Streamlit's files are not on the balancer)."
    return _fill((TEMPLATES / "static.conf").read_text(), {"STATIC_ROOT": str(static_root)}).rstrip("\n")


def balancer_conf(addresses: list[str], listen: str, down: set[str] = frozenset(), named: bool = True,
                  static_root: Path | None = None) -> str:
    """The http-level part: affinity maps, the upstreams, the proxy server (deploy/nginx/balancer.conf).

    named: the addresses are the replicas' own (so a cookie can name each); False where a name stands for several
    (compose's `app` service): the cookie is then only a hash key.
    static_root: Streamlit's static files, precompressed, for nginx to serve itself (None: through the replicas).
    """
    routes = route_lines(addresses, down) if named else dict.fromkeys(("ROUTE_UPSTREAMS", "ROUTE_NAMES", "ROUTE_BLOCKS"), "")
    return _fill((TEMPLATES / "balancer.conf").read_text(),
                 {"SERVERS": server_lines(addresses, down), "LISTEN": listen, "MAX_BODY_MB": str(MAX_BODY_MB),
                  "STATIC": static_location(static_root), **routes})


def main_conf(prefix: Path) -> str:
    """The whole nginx.conf for a foreground nginx whose pid, logs and temp files live under `prefix`."""
    user = ""
    if os.geteuid() == 0:  # workers would drop to `nobody` and could not write the (private) temp directory
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    return _fill((TEMPLATES / "main.conf").read_text(), {"PREFIX": str(prefix), "USER": user})


def compose_conf() -> str:
    """The balancer for deploy/compose.yaml: the `app` service's replicas (nginx resolves its name to all of them)."""
    return balancer_conf([f"app:{REPLICA_PORT}"], "80", named=False)


if __name__ == "__main__":  # python -m deploy.render compose: rewrite deploy/compose/balancer.conf
    import sys

    if sys.argv[1:] != ["compose"]:
        sys.exit("usage: python -m deploy.render compose")
    COMPOSE_CONF.write_text(compose_conf())
    print(f"wrote {COMPOSE_CONF}")
