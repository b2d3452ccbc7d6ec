"""The Practice page in headless Chromium: a 'which input cells feed this output' question answered by clicking
cells on the input grid (a second click unselects), checked and graded; screenshots under tmp_path."""
import pytest

from browser import EXCEPTION, open_app_page, wait_for_idle
from convcore.teaching.practice import question
from test_browser_lessons import click_cell

pytestmark = pytest.mark.browser

CHART = ".js-plotly-plot .main-svg"


def test_clicking_cells_answers_a_question_and_it_is_graded(page, app_url, tmp_path):
    q = question(12, 0, 1, ("sources",))
    answer = sorted(q.parts[0].answer)
    open_app_page(page, app_url, "practice", {"pr_seed": 12, "pr_level": 1, "pr_kinds": "sources"})
    page.wait_for_selector(CHART, timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    page.get_by_text(f"Which input cells feed output cell {q.cell}").wait_for()
    wrong = next((r, c) for r in range(q.config["height"]) for c in range(q.config["width"]) if (r, c) not in answer)
    click_cell(page, "input", *wrong)  # selected, then unselected by a second click
    page.get_by_text(f"Selected input cells: ({wrong[0]}, {wrong[1]})").wait_for()
    click_cell(page, "input", *wrong)
    page.get_by_text("Selected input cells: none yet").wait_for()
    for r, c in answer:
        click_cell(page, "input", r, c)
    listed = ", ".join(f"({r}, {c})" for r, c in answer)
    page.get_by_text(f"Selected input cells: {listed}").wait_for()
    page.screenshot(path=str(tmp_path / "practice_selected.png"), full_page=True)
    page.get_by_role("button", name="Check").click()
    wait_for_idle(page)
    page.get_by_text(f"Right: {listed}.").wait_for()
    page.get_by_text("Open the Conv2d lesson at this configuration").wait_for()
    page.screenshot(path=str(tmp_path / "practice_graded.png"), full_page=True)
    assert page.locator(EXCEPTION).count() == 0


def test_predict_mode_in_the_conv2d_lesson(page, app_url, tmp_path):
    """The toggle from the URL hides the cell and the ones after it; a wrong guess (written-out terms) highlights
    the term that differs; the right value reveals the cell."""
    from convcore.teaching.practice.predict import step_terms
    from test_predict import _lesson_args
    from convcore.ui.lesson import window_trace

    trace = window_trace(*_lesson_args(None, "c2"))
    terms = step_terms(trace, 1)
    open_app_page(page, app_url, "conv2d", {"c2_predict": "true", "c2_step": 1})
    page.wait_for_selector(CHART, timeout=60_000)
    box = page.get_by_label("Your prediction for out[0,0,0,1]")
    box.wait_for()
    assert page.locator(".js-plotly-plot text", has_text="?").count() >= 1
    wrong = " + ".join(["99*1"] + [str(t.value) for t in terms[1:]])
    box.fill(wrong)
    box.press("Enter")
    page.locator(".cs-differs").wait_for()
    assert terms[0].text in page.locator(".cs-differs").inner_text()
    page.locator(".cs-differs").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "predict_wrong.png"), full_page=True)
    box.fill(f"{float(trace.results[1]):g}")
    box.press("Enter")
    page.get_by_text(f"Right: {float(trace.results[1]):g}.").wait_for()
    page.get_by_role("button", name="Next cell").wait_for()
    page.screenshot(path=str(tmp_path / "predict_right.png"), full_page=True)
    assert page.locator(EXCEPTION).count() == 0
