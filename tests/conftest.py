"""Shared fixtures: AppTest of the real app, and a running app + headless Chromium for browser tests.

AppTest:  app_test(page="pages/lessons/conv2d.py", query_params={"c2_k_h": "5"}) -> AppTest, already run;
          url_of(at, prefix) -> the query params a browser would hold now (for URL round-trip tests).
Browser:  mark the test `@pytest.mark.browser` and use `page` and `app_url`, with tests/browser.py's
          open_app_page(page, app_url, url_path) and wait_for_idle(page). Unexpected page errors (uncaught JS
          exceptions) fail the test at teardown; they are also in the `page_errors` list.
Browser tests skip when /usr/bin/chromium is missing, except when CI=true: then they fail.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    VIEWPORT,
    is_harmless_page_error,
    start_app,
    stop_app,
)

APP = str(ROOT / "app.py")


def load_app(page: str | None = None, query_params: dict | None = None, run: bool = True) -> AppTest:
    """AppTest of app.py (generous timeout: the first run imports plotly/scipy), switched to `page`, run."""
    at = AppTest.from_file(APP, default_timeout=30)
    if page is not None:
        at.switch_page(page)
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    return at.run() if run else at


@pytest.fixture
def app_test():
    """Factory: app_test(page=None, query_params=None, run=True) -> AppTest of the real app (see load_app)."""
    return load_app


WIDGET_KINDS = ("number_input", "slider", "select_slider", "selectbox", "radio", "toggle", "checkbox", "text_input",
                "multiselect")


def query_params_of(at: AppTest, prefix: str = "") -> dict[str, str]:
    """The query string a browser would show now: keyed widgets as bind="query-params" writes them, plus the
    non-widget parameters the page set with st.query_params (AppTest does not update the URL for bound widgets).

    Bound widgets at their default are left out of a browser's URL; including them here restores the same state.
    """
    def text(v):
        return str(v).lower() if isinstance(v, bool) else str(v)

    params = {k: at.query_params[k][-1] if isinstance(at.query_params[k], list) else at.query_params[k]
              for k in at.query_params if k.startswith(prefix)}
    for kind in WIDGET_KINDS:
        for widget in at.get(kind):
            key = getattr(widget, "key", None)
            if key and key.startswith(prefix) and widget.value is not None:
                value = widget.value
                params[key] = [text(v) for v in value] if isinstance(value, (list, tuple)) else text(value)
    return params


@pytest.fixture
def url_of():
    """query_params_of as a fixture: url_of(at, prefix="") -> dict for a second AppTest's query_params."""
    return query_params_of


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        reason = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; CI=true, so this is a failure, not a skip")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """Base URL of the real app run by `streamlit run app.py` on a free port for the whole session."""
    _need_chromium()  # only browser tests need the server
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    proc, url = start_app("app.py", log_path=log)
    yield url
    stop_app(proc)


@pytest.fixture(scope="session")
def chromium():
    """A Playwright Browser: Debian's Chromium, headless, with the flags that work here (fresh profile)."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught page errors seen by `page` (harmless Plotly.animate rejections on pause left out)."""
    return []


@pytest.fixture(scope="session")
def browser_context(chromium):
    """One 1280x720 context for the session: pages share its HTTP cache (Streamlit's and Plotly's bundles load once)."""
    context = chromium.new_context(viewport=VIEWPORT)
    yield context
    context.close()


@pytest.fixture
def page(browser_context, page_errors):
    """A new tab (its own Streamlit session) at 1280x720; fails the test at teardown if the page threw an error.

    For a cold start (empty cache) open a page in `chromium.new_context(viewport=VIEWPORT)` instead.
    """
    pg = browser_context.new_page()
    pg.on("pageerror", lambda err: None if is_harmless_page_error(str(err)) else page_errors.append(str(err)))
    yield pg
    pg.close()
    if page_errors:
        pytest.fail(f"uncaught page errors: {page_errors}")
