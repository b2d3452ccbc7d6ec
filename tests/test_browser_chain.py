"""The layer-chain lab in headless Chromium: pick a two-layer chain in the page, see both steps' pictures, and check
the second against the same torch nn.Sequential on the same image."""
import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from browser import EXCEPTION, open_app_page, wait_for_idle
from convcore.images import imaging
from convcore.teaching.chain import PRESET_CHAINS, parse_chain, sequential_code
from convcore.ui.lab import sample_path

pytestmark = pytest.mark.browser

PRESET = "bilinear upsampling x2"


def panel_png(page, index: int) -> np.ndarray:
    href = page.locator(".js-plotly-plot .imagelayer image").nth(index).get_attribute("href")
    assert href.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))))


def test_a_two_layer_chain_shows_both_pictures(page, app_url):
    open_app_page(page, app_url, "chain", {"chain_side": "64"})
    page.get_by_text("Step 3: abs").wait_for(timeout=60_000)  # the default chain
    page.locator("[data-testid='stSelectbox']").filter(has_text="Start from a preset").click()
    page.get_by_role("option", name=PRESET).click()
    page.get_by_text("Step 2: ConvTranspose2d").wait_for(timeout=60_000)
    wait_for_idle(page)
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text("Step 3:").count() == 0
    page.get_by_text("(3, 64, 64) -> (3, 32, 32)").wait_for(timeout=30_000)
    page.get_by_text("(3, 32, 32) -> (3, 64, 64)").wait_for(timeout=30_000)

    first, second = panel_png(page, 1), panel_png(page, 2)  # after the input's picture
    assert first.shape == (32, 32, 3) and second.shape == (64, 64, 3)
    steps = parse_chain(PRESET_CHAINS[PRESET][1])
    scope: dict = {}
    exec(sequential_code(steps, 3), scope)
    x = imaging.to_channels(imaging.fit_within(imaging.load_path(sample_path("astronaut")).pixels, 64), 3)
    with torch.no_grad():
        hidden = scope["model"][0](torch.from_numpy(x[None].copy()))
        out = scope["model"][1](hidden)
    for shown, ref in ((first, hidden[0].numpy()), (second, out[0].numpy())):  # min-max display: ends at 0 and 255
        expected = np.moveaxis((ref - ref.min()) / (ref.max() - ref.min()) * 255, 0, -1)
        assert np.abs(shown.astype(float) - expected).max() <= 1.01
