"""Through the balancer a fresh browser gets the Plotly chunk cut to the app's trace types (deploy/slim_plotly.py):
a lesson's chart draws and plays, the image lab's picture and the groups page's bars draw, nothing throws. Opening a
page's link, it connects at the root at once (the balancer's window.__streamlit): no request answered 404."""
from __future__ import annotations

import pytest

from browser import EXCEPTION, VIEWPORT, is_harmless_page_error, open_app_page
from deploy import slim_plotly
from deploy_fixtures import cluster_fixture
from test_browser_lessons import play_advances_the_frame

pytestmark = pytest.mark.browser

CHART = ".js-plotly-plot .main-svg"
REGISTERED = "() => Object.keys(window.Plotly.PlotSchema.get().traces).sort()"  # what plotly.js can draw


@pytest.fixture
def cluster():
    yield from cluster_fixture()


def test_a_fresh_browser_draws_plays_and_shows_pictures_and_bars_with_the_cut_plotly(cluster, chromium, tmp_path):
    context = chromium.new_context(viewport=VIEWPORT)  # empty cache: the chunk comes from the balancer's mirror
    errors = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: None if is_harmless_page_error(str(e)) else errors.append(str(e)))
        chunks = []
        page.on("response", lambda r: chunks.append(r) if "/PlotlyChart." in r.url else None)
        failed, sockets = [], []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("websocket", lambda ws: sockets.append(ws.url))

        open_app_page(page, cluster.url, "conv2d")
        page.wait_for_selector(CHART, timeout=60_000)
        assert page.evaluate(REGISTERED) == sorted(slim_plotly.TRACE_TYPES)  # the cut chunk, not Streamlit's whole
        assert chunks and chunks[0].status == 200 and "x-replica" not in chunks[0].headers  # nginx sent it
        assert page.locator(".js-plotly-plot .scatterlayer .point").count() > 25  # the 5x5 grids' cells
        play_advances_the_frame(page, tmp_path / "conv2d-playing.png")
        # the page's link did not send the frontend looking for the server under /conv2d/ first
        assert not failed, failed
        assert sockets == [cluster.url.replace("http://", "ws://") + "/_stcore/stream"], sockets

        open_app_page(page, cluster.url, "lab")  # the default photo: an image trace, and a heatmap for hover
        picture = page.locator(".js-plotly-plot .imagelayer image").first
        picture.wait_for(state="attached", timeout=60_000)
        assert picture.get_attribute("href", timeout=5_000).startswith("data:image/")
        assert picture.bounding_box()["width"] > 100
        assert page.locator(".js-plotly-plot .heatmaplayer").count() > 0
        page.screenshot(path=str(tmp_path / "lab.png"))

        open_app_page(page, cluster.url, "groups-depthwise")  # the parameter counts are a bar chart
        bars = page.locator(".js-plotly-plot .barlayer .point")
        bars.first.wait_for(state="attached", timeout=60_000)
        assert bars.count() >= 2
        assert page.locator(EXCEPTION).count() == 0
    finally:
        context.close()
    assert not errors, errors
