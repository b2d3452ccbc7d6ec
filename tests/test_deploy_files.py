"""The container and Kubernetes files (Docker cannot run here): they parse and agree with the app and deploy/:
the replica's command and port, the health path, the cookie, the body size, and the compose balancer is the same
nginx template as deploy/serve.py's, accepted by `nginx -t`."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from deploy import render
from deploy.cluster import HEALTH_PATH, NGINX, ROOT, replica_command
from deploy_fixtures import need_nginx

DEPLOY = ROOT / "deploy"
PORT = render.REPLICA_PORT


def dockerfile() -> dict[str, list[str]]:
    """Instruction -> its arguments (continuation lines joined), in order."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text())
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, rest = line.strip().partition(" ")
            found.setdefault(instruction.upper(), []).append(rest.strip())
    return found


def k8s() -> dict[str, dict]:
    docs = [doc for path in sorted((DEPLOY / "k8s").glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]
    return {doc["kind"]: doc for doc in docs}


def test_the_dockerfile_runs_the_replica_command_on_its_port_with_the_apps_files():
    instructions = dockerfile()
    assert json.loads(instructions["CMD"][-1]) == replica_command("0.0.0.0", PORT)
    assert instructions["EXPOSE"] == [str(PORT)]
    health = json.loads(instructions["HEALTHCHECK"][0].split("CMD", 1)[1])
    assert f"http://127.0.0.1:{PORT}{HEALTH_PATH}" in health[-1]
    copied = [arg.split()[0] for arg in instructions["COPY"]]
    for source in copied:
        assert (ROOT / source).exists(), source
    assert {"app.py", "pages", "convcore", "assets", ".streamlit"} <= set(copied)  # the config travels with the app
    assert {"deploy/__init__.py", "deploy/replica.py"} <= set(copied)  # the replica command's module
    # The build context lets exactly these through (<Dockerfile>.dockerignore: everything else is left out).
    allowed = {line[1:].rstrip("/") for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
               if line.startswith("!")}
    assert set(copied) <= allowed


def test_the_compose_file_runs_the_image_behind_the_rendered_balancer(tmp_path):
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    app, balancer = compose["services"]["app"], compose["services"]["balancer"]
    assert (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert app["expose"] == [str(PORT)] and app["deploy"]["replicas"] >= 2
    source, target = balancer["volumes"][0].split(":")[:2]
    assert target == "/etc/nginx/conf.d/default.conf" and (DEPLOY / source).resolve() == render.COMPOSE_CONF
    assert render.COMPOSE_CONF.read_text() == render.compose_conf(), "rerun: python -m deploy.render compose"
    assert balancer["depends_on"]["app"]["condition"] == "service_healthy"
    listen = int(re.search(r"listen (\d+);", render.COMPOSE_CONF.read_text()).group(1))
    assert balancer["ports"] == [f"8080:{listen}"]
    assert f"server app:{PORT} " in render.COMPOSE_CONF.read_text()

    # nginx -t on it (it binds no port), a local address standing for the service name (Docker's DNS resolves it).
    need_nginx()
    (tmp_path / "balancer.conf").write_text(render.COMPOSE_CONF.read_text().replace(f"app:{PORT}", f"127.0.0.1:{PORT}"))
    (tmp_path / "nginx.conf").write_text(render.main_conf(tmp_path))
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "test is successful" in result.stderr, result.stderr


def test_kubernetes_probes_service_and_ingress_agree():
    docs = k8s()
    deployment, service, ingress = docs["Deployment"], docs["Service"], docs["Ingress"]
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    assert "command" not in container and not container.get("args")  # the image's CMD: the replica command
    (port,) = container["ports"]
    assert port["containerPort"] == PORT
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": HEALTH_PATH, "port": port["name"]}
    assert container["readinessProbe"]["periodSeconds"] <= 10  # a failing pod leaves the Service within seconds

    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] == port["name"]

    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": service_port["name"]}}
    notes = {k.removeprefix("nginx.ingress.kubernetes.io/"): v for k, v in ingress["metadata"]["annotations"].items()}
    assert notes["affinity"] == "cookie" and notes["session-cookie-name"] == "cs_route"
    assert "cs_route=" in (DEPLOY / "nginx" / "balancer.conf").read_text()  # the same cookie as deploy/serve.py's
    assert notes["proxy-body-size"] == f"{render.MAX_BODY_MB}m"
    assert int(notes["proxy-read-timeout"]) >= 3600
