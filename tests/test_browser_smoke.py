"""Every page listed in app.py loads in headless Chromium without an exception element; a screenshot of each."""
import pytest

from browser import EXCEPTION, app_pages, open_app_page

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("url_path", [url_path for url_path, _ in app_pages()])
def test_page_loads_without_exception(page, app_url, url_path, tmp_path):
    open_app_page(page, app_url, url_path)
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    assert page.url.rstrip("/").endswith(url_path) or url_path == "home"
    shot = tmp_path / f"{url_path}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page


def test_home_links_open_their_page(page, app_url):
    open_app_page(page, app_url)
    page.locator("[data-testid='stMain'] [data-testid='stPageLink'] a").filter(has_text="Conv2d").first.click()
    page.wait_for_url("**/conv2d", timeout=30_000)
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0
