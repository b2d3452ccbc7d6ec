"""convcore.ui in a real browser: bound widgets write the URL, a copied URL restores them, bad links explain."""
import pytest
from playwright.sync_api import expect

from browser import EXCEPTION, open_app_page, start_app, stop_app, wait_for_idle

pytestmark = pytest.mark.browser

WARNING = "[data-testid='stAlertContentWarning']"


@pytest.fixture(scope="module")
def demo_url(chromium, tmp_path_factory):  # chromium first: skips (or fails on CI) without a browser
    proc, url = start_app("tests/apps/ui_demo.py", log_path=tmp_path_factory.mktemp("demo") / "server.log")
    yield url
    stop_app(proc)


def set_number(page, label: str, key: str, value: int) -> None:
    """Type into a number box, then wait until the URL holds the new value and the rerun is over."""
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('{key}') === '{value}'", timeout=30_000)
    wait_for_idle(page)


def test_widgets_write_the_url_and_the_copied_url_restores_them(page, demo_url):
    open_app_page(page, demo_url)
    set_number(page, "kernel H", "dc_k_h", 5)
    set_number(page, "input W", "dc_in_w", 9)
    page.get_by_text("PyTorch code").first.wait_for()
    assert "dc_k_h=5" in page.url and "dc_in_w=9" in page.url
    assert page.locator(WARNING).count() == 0  # the URL following the widgets is not "a bad link"
    copied = page.url

    fresh = page.context.new_page()
    open_app_page(fresh, demo_url, query=copied.split("?", 1)[1])
    expect(fresh.get_by_label("kernel H", exact=True)).to_have_value("5")
    expect(fresh.get_by_label("input W", exact=True)).to_have_value("9")
    expect(fresh.locator("[data-testid='stMain']")).to_contain_text("(1, 1, 1, 7)")  # the output shape
    assert fresh.locator(WARNING).count() == 0 and fresh.locator(EXCEPTION).count() == 0
    fresh.close()


def test_a_bad_link_falls_back_to_defaults_with_a_message(page, demo_url):
    open_app_page(page, demo_url, query="dc_k_h=abc&dc_groups=7&dc_bias=maybe")
    warning = page.locator(WARNING).first
    warning.wait_for(timeout=30_000)
    text = warning.inner_text()
    assert "dc_k_h=abc" in text and "dc_groups=7" in text and "dc_bias=maybe" in text
    expect(page.get_by_label("kernel H", exact=True)).to_have_value("3")
    assert page.locator(EXCEPTION).count() == 0
    assert "dc_k_h" not in page.url  # Streamlit drops the unusable values from the address bar
