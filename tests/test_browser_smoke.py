"""Every page listed in app.py loads in headless Chromium without an exception element; a screenshot of each."""
import pytest
from playwright.sync_api import expect

from browser import (
    EXCEPTION,
    SIDEBAR_NAV,
    app_pages,
    assert_no_page_not_found,
    open_app_page,
    start_app,
    stop_app,
    wait_for_idle,
)

pytestmark = pytest.mark.browser
PAGES = app_pages()


@pytest.mark.parametrize("app_page", PAGES, ids=[p.url_path for p in PAGES])
def test_page_loads_without_exception(page, app_url, app_page, tmp_path):
    open_app_page(page, app_url, app_page.path)
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    expect(page.locator(SIDEBAR_NAV)).to_contain_text(app_page.title)  # app.py's navigation, not pages/ discovery
    if not app_page.default:
        assert page.url.split("?")[0].endswith("/" + app_page.url_path)
    shot = tmp_path / f"{app_page.url_path}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page


def test_home_links_open_their_page(page, app_url):
    open_app_page(page, app_url)
    page.locator("[data-testid='stMain'] [data-testid='stPageLink'] a").filter(has_text="Conv2d").first.click()
    page.wait_for_url("**/conv2d", timeout=30_000)
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0


def test_a_shared_link_works_as_the_first_request_to_a_fresh_server(page, tmp_path):
    """Streamlit's pages/ discovery is active until a session runs app.py: the first request must still get it."""
    target = next(p for p in reversed(PAGES) if not p.default)
    proc, url = start_app("app.py", log_path=tmp_path / "server.log")
    try:
        open_app_page(page, url, target.path)
        expect(page.locator(SIDEBAR_NAV)).to_contain_text(PAGES[0].title)
        expect(page.locator(SIDEBAR_NAV)).not_to_contain_text("checkerboards")  # an entry file name in pages/
        assert page.url.split("?")[0].endswith("/" + target.url_path)
    finally:
        stop_app(proc)


def test_a_shared_link_with_settings_opens_without_page_not_found_on_a_fresh_server(page, tmp_path):
    """A teacher's link to a page and its settings, as a fresh server's first request: that page with those settings,
    no "Page not found" dialog (streamlit/streamlit#9992; see app.py), and the session works on afterwards."""
    proc, url = start_app("app.py", log_path=tmp_path / "server.log")
    try:
        open_app_page(page, url, "conv2d", {"c2_k_h": "5"})
        assert_no_page_not_found(page)
        expect(page.locator(".st-key-c2_k_h input")).to_have_value("5")
        expect(page.locator(SIDEBAR_NAV)).to_contain_text("Padding modes")
        page.locator(SIDEBAR_NAV).get_by_text("Padding modes").click()
        page.wait_for_url("**/padding", timeout=30_000)
        page.wait_for_selector("[data-testid='stMain'] h1", timeout=30_000)
        wait_for_idle(page)
        assert_no_page_not_found(page)
        assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    finally:
        stop_app(proc)
