"""The lessons build their "Edit cells" data editors and their PyTorch code only while the expander is open (a rerun
opens it): in Chromium the editor appears on opening, shows the link's edited cells, and goes away on closing; the code
appears with the page's configuration."""
import pytest

from browser import open_app_page, wait_for_idle

pytestmark = pytest.mark.browser

EDITOR = "[data-testid='stSidebar'] [data-testid='stDataFrame']"


def test_the_input_editor_is_built_when_its_expander_opens(page, app_url):
    open_app_page(page, app_url, "conv2d", {"c2_x_cells": "1x1x5x5;1:9.5"})
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    assert page.locator(EDITOR).count() == 0  # closed: no editor sent
    page.get_by_text("Edit input cells").click()
    page.wait_for_selector(EDITOR, timeout=20_000)
    wait_for_idle(page)
    assert page.locator(EDITOR).count() == 1
    cells = page.locator(f"{EDITOR} [role=gridcell]").all_text_contents()  # glide grid: its accessible table
    assert "9.5" in cells, cells  # the link's edited cell, in the editor too
    page.get_by_text("Edit input cells").click()
    page.wait_for_selector(EDITOR, state="detached", timeout=20_000)
    wait_for_idle(page)
    assert "c2_x_cells=1x1x5x5" in page.url  # closing the editor keeps the edit in the link


def test_the_lesson_code_panel_is_built_when_opened(page, app_url):
    open_app_page(page, app_url, "conv2d", {"c2_k_w": "2"})
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    code = "[data-testid='stMain'] [data-testid='stCode']"
    assert page.locator(code).count() == 0  # closed: no code (and no syntax highlighter) on the first load
    page.get_by_text("PyTorch code").click()
    page.wait_for_selector(code, timeout=20_000)
    wait_for_idle(page)
    text = page.locator(code).inner_text()
    assert "import torch" in text and "kernel_size=(3, 2)" in text  # the page's configuration, from its link
