"""The image lab in headless Chromium: replacing an uploaded file keeps the last result until the new one is drawn.

Streamlit reruns twice when a file replaces another (once without the old file, once the new one has arrived); the
lab lets the second run take over from the first, so the figure is never cleared in between.
"""
import numpy as np
import pytest
from PIL import Image

from browser import EXCEPTION, open_app_page, wait_for_idle

pytestmark = pytest.mark.browser

UPLOAD = "[data-testid='stFileUploaderDropzoneInput']"
# Notes in the page whatever the test must not see: the figure gone, or the "no file" message shown.
WATCH = """() => {
  window.__gaps = [];
  new MutationObserver(() => {
    if (!document.querySelector('.js-plotly-plot')) window.__gaps.push('figure cleared');
    if ([...document.querySelectorAll("[data-testid='stAlertContentInfo']")]
        .some((e) => e.textContent.includes('Choose an image file'))) window.__gaps.push('no-file message');
  }).observe(document.body, {subtree: true, childList: true});
}"""


def picture(width: int, height: int, seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def test_replacing_the_file_keeps_the_result_until_the_new_one(page, app_url, tmp_path):
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    picture(90, 60, 1).save(first)
    picture(80, 50, 2).save(second)
    open_app_page(page, app_url, "lab", {"lab_src": "upload"})
    page.locator(UPLOAD).set_input_files(str(first))
    page.get_by_text("output (3, 60, 90)").wait_for(timeout=60_000)
    wait_for_idle(page)

    page.evaluate(WATCH)
    page.locator(UPLOAD).set_input_files(str(second))
    page.get_by_text("output (3, 50, 80)").wait_for(timeout=60_000)
    wait_for_idle(page)
    assert page.evaluate("window.__gaps") == []
    assert page.locator(EXCEPTION).count() == 0

    page.get_by_role("button", name="Remove second.png").click()  # a file really removed: the message
    page.get_by_text("Choose an image file").wait_for(timeout=60_000)
    assert page.locator(".js-plotly-plot").count() == 0
