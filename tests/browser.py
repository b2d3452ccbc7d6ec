"""Helpers for browser tests: start the real app, open a page in headless Chromium, wait for Streamlit to settle.

Fixtures using these live in conftest.py (app_url, chromium, page, page_errors).
"""
from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1280, "height": 720}
# Streamlit is idle when the app is connected and no script runs.
IDLE = "[data-testid='stApp'][data-test-connection-state='CONNECTED'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
RENDERED = "[data-testid='stMain'] [data-testid='stElementContainer']"
SIDEBAR_NAV = "[data-testid='stSidebarNav']"
# Streamlit's modal for a URL its routing did not find (it makes the page inert until closed).
PAGE_NOT_FOUND = "Page not found"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(script: str = "app.py", log_path: Path | None = None, timeout: float = 60, cwd: Path = ROOT,
              launcher: tuple[str, ...] = ("-m", "streamlit")) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run script` on a free local port; returns (process, base URL) once /_stcore/health answers.
    cwd: the checkout to serve; launcher: Python's arguments before `run` (a benchmark's wrapper script instead)."""
    port = free_port()
    cmd = [sys.executable, *launcher, "run", script, "--server.headless", "true", "--server.address",
           "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    stop_app(proc)
    raise RuntimeError(f"streamlit did not answer /_stcore/health within {timeout} s; see {log_path}")


def stop_app(proc: subprocess.Popen) -> None:
    """Stop the server we started (by its own handle)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class AppPage(NamedTuple):
    url_path: str
    file: str
    title: str
    default: bool

    @property
    def path(self) -> str:
        """The path a user opens: the default page lives at the root."""
        return "" if self.default else self.url_path


def app_pages() -> list[AppPage]:
    """Every st.Page in app.py (url_path, file, title, default), read from its source (app.py needs a Streamlit run)."""
    tree = ast.parse((ROOT / "app.py").read_text())
    pages = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            kwargs = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            pages.append(AppPage(kwargs["url_path"], node.args[0].value, kwargs["title"], kwargs.get("default", False)))
    return pages


def wait_for_idle(page, timeout: float = 30_000) -> None:
    """Wait until Streamlit is connected and no script runs, twice in a row (idle can match before a rerun starts)."""
    for _ in range(2):
        page.wait_for_selector(IDLE, timeout=timeout, state="attached")
        page.wait_for_timeout(150)
    page.wait_for_selector(IDLE, timeout=timeout, state="attached")


def open_app_page(page, app_url: str, url_path: str = "", query: str | dict = "", timeout: float = 60_000):
    """Open a page of the running app (url_path as in app.py; query as a string or dict) and wait until it settles.

    Widgets may show their default for a moment before a value from the URL: check values with Playwright's
    auto-retrying `expect(locator).to_have_value(...)`, not a single read.
    """
    if isinstance(query, dict):
        query = urllib.parse.urlencode(query)
    url = f"{app_url}/{url_path}" + (f"?{query}" if query else "")
    page.goto(url, wait_until="domcontentloaded", timeout=timeout)
    wait_for_idle(page, timeout)
    # The frontend draws elements a while after the script finished (lazy bundles): wait for the first one.
    page.wait_for_selector(RENDERED, timeout=timeout)
    wait_for_idle(page, timeout)
    assert_no_page_not_found(page)
    return page


def assert_no_page_not_found(page) -> None:
    """No "Page not found" dialog: a shared link to any page of app.py works, also as a fresh server's first request."""
    dialog = page.get_by_role("dialog").filter(has_text=PAGE_NOT_FOUND)
    assert dialog.count() == 0, dialog.first.inner_text()


def is_harmless_page_error(message: str) -> bool:
    """Pausing a Plotly animation mid-play rejects Plotly.animate's promise with `undefined`: not a bug."""
    return message.strip() in ("", "undefined") or "Plotly.animate" in message
