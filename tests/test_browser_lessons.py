"""The two lessons in headless Chromium at 1280x720: they load without an exception, the chart renders, Play
advances the frame, clicks on cells move the step / focus, a link opens its step; screenshots under tmp_path."""
import pytest

from browser import EXCEPTION, open_app_page, wait_for_idle

pytestmark = pytest.mark.browser

CHART = ".js-plotly-plot .main-svg"
STEP_LABEL = ".slider-group > text.slider-label"  # Plotly's "current value" label of the step slider
CELL_CENTRE = """([grid, row, col]) => {
  // the on-screen centre of a grid cell, found through the customdata [grid, channel, row, col] of its marker
  const gd = document.querySelector('.js-plotly-plot');
  for (let t = 0; t < gd.data.length; t++) {
    const cd = gd.data[t].customdata || [];
    for (let j = 0; j < cd.length; j++) {
      if (cd[j][0] === grid && cd[j][2] === row && cd[j][3] === col) {
        const box = gd.querySelectorAll('.scatterlayer .trace')[t].querySelectorAll('path.point')[j]
          .getBoundingClientRect();
        return [box.x + box.width / 2, box.y + box.height / 2];
      }
    }
  }
  return null;
}"""


def open_lesson(page, app_url: str, url_path: str, query: str | dict = "") -> None:
    open_app_page(page, app_url, url_path, query)
    page.wait_for_selector(CHART, timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()


def step_label(page) -> str:
    return page.locator(STEP_LABEL).first.text_content()


def click_cell(page, grid: str, row: int, col: int) -> None:
    """Hover, then click a cell (Plotly picks the point under the last hover) and wait for the rerun."""
    x, y = page.evaluate(CELL_CENTRE, [grid, row, col])
    page.mouse.move(x, y)
    page.wait_for_timeout(200)
    page.mouse.click(x, y)
    page.wait_for_timeout(300)
    wait_for_idle(page)


def markdown_strong(page) -> list[str]:
    return page.locator("[data-testid='stMain'] [data-testid='stMarkdownContainer'] strong").all_inner_texts()


def play_advances_the_frame(page, shot) -> None:
    """Play moves Plotly's step label off step 0; Pause stops it there."""
    assert step_label(page) == "step 0 · out[0,0]"
    page.locator(".updatemenu-button").filter(has_text="Play").click()
    page.wait_for_function(f"() => document.querySelector('{STEP_LABEL}').textContent !== 'step 0 · out[0,0]'",
                           timeout=20_000)
    page.locator(".updatemenu-button").filter(has_text="Pause").click()
    assert step_label(page).startswith("step ") and step_label(page) != "step 0 · out[0,0]"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000


# One page per lesson, several checks each: a fresh browser context loads Plotly's 4.7 MB bundle, which dominates.

def test_conv2d_loads_plays_steps_on_clicks_and_opens_a_link_at_its_step(page, app_url, tmp_path):
    open_lesson(page, app_url, "conv2d")
    play_advances_the_frame(page, tmp_path / "conv2d-playing.png")

    click_cell(page, "output", 2, 3)  # an output cell jumps to its step
    page.wait_for_function(f"() => document.querySelector('{STEP_LABEL}').textContent === 'step 13 · out[2,3]'",
                           timeout=20_000)
    assert "Output cell (2, 3), step 13 of 24" in markdown_strong(page)
    assert "c2_step=13" in page.url

    click_cell(page, "input", 0, 4)  # an input cell shows the outputs it feeds
    info = page.locator("[data-testid='stAlert']").filter(has_text="feeds")
    info.wait_for(timeout=20_000)
    assert "feeds 4 output cells" in info.inner_text()  # windows at rows 0-1 and columns 3-4 read it
    assert "c2_focus=0%2C4" in page.url or "c2_focus=0,4" in page.url
    page.screenshot(path=str(tmp_path / "conv2d-focus.png"))

    # a copied link opens the configuration at its step: kernel 2x3, stride (1, 2), padding 1 on 5x5 gives a 6x3
    # output, so step 7 is out[2, 1]
    open_lesson(page, app_url, "conv2d", {"c2_k_h": "2", "c2_s_w": "2", "c2_step": "7"})
    assert step_label(page) == "step 7 · out[2,1]"
    assert "Output cell (2, 1), step 7 of 17" in markdown_strong(page)
    assert page.locator("[data-testid='stNumberInput'] input[aria-label='kernel H']").input_value() == "2"
    assert page.locator(EXCEPTION).count() == 0


def test_conv_transpose2d_plays_and_its_views_open_in_tabs_synced_by_clicks(page, app_url, tmp_path):
    open_lesson(page, app_url, "conv_transpose2d")
    play_advances_the_frame(page, tmp_path / "conv_transpose2d-playing.png")

    page.get_by_role("tab", name="Scatter").click()
    page.wait_for_function(f"() => document.querySelector('{STEP_LABEL}')?.textContent === 'step 0 · input[0,0]'",
                           timeout=30_000)
    wait_for_idle(page)
    click_cell(page, "input", 1, 2)  # an input cell moves the scatter view to its stamp
    page.wait_for_function(f"() => document.querySelector('{STEP_LABEL}').textContent === 'step 5 · input[1,2]'",
                           timeout=20_000)
    assert "Input cell (1, 2), step 5 of 8" in markdown_strong(page)
    assert "ct_stamp=5" in page.url and "ct_view=Scatter" in page.url
    page.screenshot(path=str(tmp_path / "scatter.png"))

    click_cell(page, "output", 3, 1)  # an output cell sets the step the other two views open at
    page.wait_for_function("() => location.search.includes('ct_step=16')", timeout=20_000)
    page.get_by_role("tab", name="Matrix").click()
    page.wait_for_function(f"() => document.querySelector('{STEP_LABEL}')?.textContent === 'step 16 · out[3,1]'",
                           timeout=30_000)
    assert page.evaluate("() => document.querySelector('.js-plotly-plot').layout.meta.view") == "matrix"
    page.screenshot(path=str(tmp_path / "matrix.png"))
    assert page.locator(EXCEPTION).count() == 0
