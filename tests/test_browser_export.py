"""The gallery and the downloads in headless Chromium at 1280x720: the gallery renders its live figures, a prepared
GIF downloads (page.expect_download) and decodes to a frame per step, the lesson link opens that configuration; a
lesson's SVG downloads and parses."""
import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from browser import EXCEPTION, open_app_page, wait_for_idle

pytestmark = pytest.mark.browser

CHART = ".js-plotly-plot .main-svg"


def no_exception(page) -> None:
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()


def download(page, button) -> tuple[str, bytes]:
    with page.expect_download(timeout=60_000) as info:
        button.click()
    dl = info.value
    with open(dl.path(), "rb") as f:
        return dl.suggested_filename, f.read()


def test_the_gallery_renders_live_figures_and_a_gif_downloads(page, app_url, tmp_path):
    open_app_page(page, app_url, "gallery", {"gal_figure": "Padding, strides"})
    page.wait_for_selector(CHART, timeout=60_000)
    no_exception(page)
    assert page.get_by_role("heading", name="Classic figures").count() == 1
    assert page.locator(".js-plotly-plot").count() == 2  # the open tab: the conv and its transposed counterpart
    assert page.locator(".updatemenu-button").filter(has_text="Play").count() == 2  # both play live
    page.get_by_text("Open in the Conv2d lesson at this configuration").wait_for()
    page.screenshot(path=str(tmp_path / "gallery.png"))
    page.get_by_role("button", name="Prepare GIF").first.click()
    ready = page.get_by_role("button", name="GIF (")
    ready.first.wait_for(timeout=60_000)
    wait_for_idle(page)
    name, data = download(page, ready.first)
    assert name == "padding_strides-2fps.gif"
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames == 9  # 5x5, k3, stride 2, padding 1: a 3x3 output
    no_exception(page)
    # the link opens the lesson at this configuration
    page.get_by_text("Open in the Conv2d lesson at this configuration").click()
    page.wait_for_url("**/conv2d?**")
    page.wait_for_selector(CHART, timeout=60_000)
    wait_for_idle(page)
    assert "c2_s_h=2" in page.url and "c2_bias=false" in page.url
    shape_line = page.locator("[data-testid='stMarkdownContainer']").filter(has_text="→ Conv2d").first.inner_text()
    assert "(1, 1, 5, 5)" in shape_line and "(1, 1, 3, 3)" in shape_line
    no_exception(page)


def test_a_lesson_svg_downloads_and_parses(page, app_url):
    open_app_page(page, app_url, "conv2d")
    page.wait_for_selector(CHART, timeout=60_000)
    page.get_by_text("Download this animation").click()
    button = page.get_by_role("button", name="SVG")
    button.wait_for()
    name, data = download(page, button)
    assert name == "conv2d-window-step0.svg"
    texts = [t.text for t in ET.fromstring(data).iter("{http://www.w3.org/2000/svg}text")]
    assert {"input", "padded input", "kernel", "output"} <= set(texts)
    no_exception(page)


def test_a_checkerboard_picture_downloads_as_png_from_the_page(page, app_url):
    """A figure on Plotly axes (the upsampled images): its PNG is built on click and holds the page's sample."""
    open_app_page(page, app_url, "checkerboards", {"chk_side": "16"})
    page.wait_for_selector(CHART, timeout=60_000)
    button = page.get_by_role("button", name="PNG").nth(1)  # the overlap map's first, the images' second
    name, data = download(page, button)
    assert name == "upsampled-k3-s2.png"
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size[0] == 2 * 900  # STILL_SCALE x the export width
    assert len(image.convert("L").getcolors(1 << 16)) > 16  # the photo's greys, not an empty frame
    no_exception(page)
