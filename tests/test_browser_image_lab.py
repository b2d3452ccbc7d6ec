"""The image lab in headless Chromium: upload a file, see the engine's result image, hover a value, survive bad files."""
import base64
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from browser import EXCEPTION, open_app_page, wait_for_idle
from convcore.images.kernels import gaussian

pytestmark = pytest.mark.browser

ERROR = "[data-testid='stAlertContentError']"
UPLOAD = "[data-testid='stFileUploaderDropzoneInput']"


def photo(width: int = 90, height: int = 60) -> np.ndarray:
    """A small picture with edges and colours (built here, no binary fixture)."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // width, y * 255 // height, ((x // 10 + y // 10) % 2) * 200], axis=-1)
    return rgb.astype(np.uint8)


def open_lab(page, app_url, query: dict) -> None:
    open_app_page(page, app_url, "lab", query)


def panel_png(page, index: int) -> np.ndarray:
    """The pixels of the index-th image panel as the browser received it (a PNG data URI in the SVG)."""
    href = page.locator(".js-plotly-plot .imagelayer image").nth(index).get_attribute("href")
    assert href.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))))


def test_upload_shows_the_engines_result_image(page, app_url, tmp_path):
    rgb = photo()
    path = tmp_path / "upload.png"
    Image.fromarray(rgb).save(path)
    open_lab(page, app_url, {"lab_src": "upload"})
    page.locator(UPLOAD).set_input_files(str(path))
    page.get_by_text("output (3, 60, 90)").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot .imagelayer image").nth(1).wait_for(state="attached", timeout=60_000)
    wait_for_idle(page)
    assert page.locator(EXCEPTION).count() == 0 and page.locator(ERROR).count() == 0

    shown_input, shown_output = panel_png(page, 0), panel_png(page, 1)
    assert np.array_equal(shown_input, rgb)  # small images are sent at full size
    # The default layer: 7x7 Gaussian (sigma 2) per channel, padding 'same', shown clipped to 0..255. Same in torch:
    x = torch.from_numpy(np.moveaxis(rgb, -1, 0).astype(np.float32))[None]
    w = torch.from_numpy(np.broadcast_to(gaussian(7, 2.0), (3, 1, 7, 7)).astype(np.float32).copy())
    expected = np.clip(np.rint(F.conv2d(x, w, padding="same", groups=3)[0].numpy()), 0, 255)
    assert shown_output.shape == (60, 90, 3)
    assert np.abs(shown_output.astype(int) - np.moveaxis(expected, 0, -1).astype(int)).max() <= 1

    area = page.locator(".js-plotly-plot .nsewdrag").nth(1)  # the output panel's plot area
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    for dx in (0, 3, 6):  # a few moves: Plotly hovers on mousemove
        page.mouse.move(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dx)
    hover = page.locator(".js-plotly-plot .hoverlayer .hovertext").first
    hover.wait_for(timeout=10_000)
    text = hover.text_content()  # e.g. "x=45, y=30R=... G=... B=...output (3, 60, 90)": the real output values
    assert "x=" in text and "R=" in text and "G=" in text and "B=" in text, text
    page.screenshot(path=str(tmp_path / "image_lab.png"))


def test_bad_upload_shows_an_error_then_a_good_one_works(page, app_url, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not a picture\n" * 20)
    good = tmp_path / "good.png"
    Image.fromarray(photo(40, 30)).save(good)
    open_lab(page, app_url, {"lab_src": "upload", "lab_kernel": "sobel x", "lab_show": "diverging"})
    page.locator(UPLOAD).set_input_files(str(bad))
    page.locator(ERROR).first.wait_for(timeout=60_000)
    wait_for_idle(page)
    assert "not an image" in page.locator(ERROR).first.inner_text()
    assert page.locator(EXCEPTION).count() == 0
    page.locator(UPLOAD).set_input_files(str(good))
    page.get_by_text("output (3, 30, 40) R").wait_for(timeout=60_000)  # diverging: one panel per channel
    wait_for_idle(page)
    assert page.locator(ERROR).count() == 0 and page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(tmp_path / "image_lab_diverging.png"))
