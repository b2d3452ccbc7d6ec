"""The concept pages in headless Chromium: each loads, its charts render, a screenshot is saved; a click on a padded
cell traces it, a changed control lands in the URL and survives a reload, and the planner's fix applies."""
from __future__ import annotations

import re
import urllib.parse

import pytest

from browser import EXCEPTION, app_pages, open_app_page, wait_for_idle

pytestmark = pytest.mark.browser

CHART = "[data-testid='stPlotlyChart'] .main-svg"
URL = {p.file: p.url_path for p in app_pages()}  # app.py owns the url_paths
PAGES = {  # page file: (title, charts the page draws with its defaults)
    "pages/concepts/groups-depthwise.py": ("Groups and depthwise convolution", 2),
    "pages/concepts/padding.py": ("Padding modes", 2),
    "pages/concepts/matrix.py": ("Matrix view and gradient", 4),
    "pages/concepts/checkerboards.py": ("Checkerboard artifacts", 2),
    "pages/concepts/planner.py": ("Shape planner", 1),
}


def settle(page, text: str | None = None) -> None:
    if text is not None:
        page.get_by_text(text).first.wait_for(timeout=60_000)
    wait_for_idle(page)


def href(page) -> str:
    """The address bar now (page.url can lag behind Streamlit's history.replaceState)."""
    return page.evaluate("location.href")


def query(page) -> dict[str, str]:
    return {k: v[-1] for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(href(page)).query).items()}


def number_input(page, label: str):
    return page.locator("[data-testid='stNumberInput']").filter(has_text=label).locator("input")


def test_each_page_loads_and_draws_its_charts(page, app_url, tmp_path):
    """One browser context for all five pages (Plotly's bundle loads once); a screenshot of each."""
    for file, (title, charts) in PAGES.items():
        url_path = URL[file]
        open_app_page(page, app_url, url_path)
        page.get_by_role("heading", name=title).wait_for(timeout=60_000)
        page.locator(CHART).nth(charts - 1).wait_for(timeout=60_000)  # plotly drew every chart
        assert page.locator("[data-testid='stPlotlyChart']").count() == charts, file
        assert page.locator(EXCEPTION).count() == 0, file
        assert page.locator("[data-testid='stAlertContentError']").count() == 0, file
        shot = tmp_path / f"{url_path}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000, file


def test_padding_click_traces_a_cell_and_the_url_keeps_it(page, app_url, tmp_path):
    open_app_page(page, app_url, URL["pages/concepts/padding.py"])
    page.locator(CHART).first.wait_for(timeout=60_000)
    # traces with cells: input, then per mode its input cells and its padding cells: nth(4) = reflect's padding
    cell = page.locator("[data-testid='stPlotlyChart']").first.locator(".scatterlayer .trace").filter(
        has=page.locator("path.point")).nth(4).locator("path.point").nth(12)
    for attempt in range(3):  # a click on a chart that is still settling after the first render can be lost
        cell.hover(force=True)
        page.wait_for_timeout(300)
        cell.click(force=True)
        try:
            page.wait_for_function("() => new URL(location.href).searchParams.has('pad_row')", timeout=20_000)
            break
        except Exception:
            if attempt == 2:
                page.screenshot(path=str(tmp_path / "padding-click-failed.png"))
                raise
    settle(page)
    params = query(page)
    row, col = int(params["pad_row"]), int(params.get("pad_col", 0))
    settle(page, f"padded[{row}, {col}]")
    line = page.locator("[data-testid='stMarkdown']").filter(has_text=f"padded[{row}, {col}]").first.inner_text()
    assert "zeros: 0 (a zero); reflect: x[" in line  # a padding cell: zero in one mode, a copy in reflect
    assert not (2 <= row < 6 and 2 <= col < 7)  # outside the 4x5 input placed at (2, 2)
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(tmp_path / "padding-clicked.png"), full_page=True)
    page.goto(href(page))  # a fresh load of the same link shows the same traced cell
    settle(page, f"padded[{row}, {col}]")
    assert number_input(page, "traced row").input_value() == str(row)


def test_groups_control_goes_to_the_url_and_back(page, app_url):
    open_app_page(page, app_url, URL["pages/concepts/groups-depthwise.py"])
    page.locator(CHART).first.wait_for(timeout=60_000)
    page.locator("[data-testid='stRadio']").filter(has_text="groups (").get_by_text("8", exact=True).click()
    page.wait_for_function("() => new URL(location.href).searchParams.get('grp_groups') === '8'", timeout=60_000)
    settle(page, "weight shapes and counts".capitalize())
    assert page.get_by_text("(8, 1, 3, 3)").count() >= 1  # depthwise: one input channel per filter
    link = href(page)
    page.goto(app_url)
    open_app_page(page, app_url, URL["pages/concepts/groups-depthwise.py"], urllib.parse.urlparse(link).query)
    settle(page, "(8, 1, 3, 3)")
    checked = page.locator("[data-testid='stRadio']").filter(has_text="groups (").locator("label").filter(
        has=page.locator("input:checked"))
    assert checked.inner_text().strip() == "8"


def test_planner_fix_applies_and_lands_in_the_url(page, app_url, tmp_path):
    open_app_page(page, app_url, URL["pages/concepts/planner.py"])
    page.locator(CHART).first.wait_for(timeout=60_000)
    assert page.get_by_text("but layer 2 received").count() == 1  # the mismatch warning for layer 3
    page.get_by_role("button", name=re.compile("Apply the fix")).click()
    settle(page, "The chain returns to the input shape (1, 28, 28).")
    assert query(page)["plan_layers"] == "C16k3s2p1.C32k3s2p1.T16k3s2p1o1.T1k3s2p1o1"
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(tmp_path / "planner-fixed.png"), full_page=True)
    page.goto(href(page))
    settle(page, "The chain returns to the input shape (1, 28, 28).")


# The captions under the planner's tensors ("layer 5" / "ConvT2d s=2") and the legend under them, as drawn.
CHAIN_TEXTS = """() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const gd = document.querySelector('.js-plotly-plot');
  const captions = [...gd.querySelectorAll('.annotation-text')]
    .filter((t) => /^(input|layer \\d)/.test(t.textContent)).map((t) => [t.textContent, box(t)]);
  return {captions, legend: box(gd.querySelector('.legend'))};
}"""


@pytest.mark.parametrize("width", [1024, 1280])
def test_planner_captions_of_six_layers_do_not_overlap(page, app_url, tmp_path, width):
    """On one line ("layer 5: ConvT2d s=2") six layers' captions ran into each other at 1280x720 beside the sidebar."""
    page.set_viewport_size({"width": width, "height": 720})
    open_app_page(page, app_url, URL["pages/concepts/planner.py"],
                  {"plan_layers": "C16k3s2p1.C32k3s2p1.C64k3s2p1.T32k3s2p1.T16k3s2p1.T3k3s2p1"})
    page.locator(CHART).first.wait_for(timeout=60_000)
    page.locator(CHART).first.scroll_into_view_if_needed()
    got = page.evaluate(CHAIN_TEXTS)
    page.screenshot(path=str(tmp_path / f"planner-six-layers-{width}.png"))
    captions = sorted(got["captions"], key=lambda c: c[1][0])
    assert len(captions) == 7 and captions[-1][0].startswith("layer 6"), captions
    for (left_text, left), (right_text, right) in zip(captions, captions[1:]):
        assert left[2] < right[0], f"{left_text!r} ends at {left[2]:.0f} px, {right_text!r} starts at {right[0]:.0f}"
    assert got["legend"][1] >= max(box[3] for _, box in captions), got  # the legend lies below the captions
