"""The layer-chain lab in headless Chromium: build a two-layer chain with the page's own table (add rows, type their
cells) or pick a preset, see both steps' pictures, and check them against the same torch nn.Sequential."""
import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image
from playwright.sync_api import expect

from browser import EXCEPTION, open_app_page, wait_for_idle
from convcore.images import imaging
from convcore.teaching.chain import PRESET_CHAINS, STEP_FIELDS, chain_text, parse_chain, sequential_code
from convcore.ui.chain import COLUMN_WIDTHS
from convcore.ui.lab import sample_path

pytestmark = pytest.mark.browser

PRESET = "bilinear upsampling x2"


def panel_png(page, index: int) -> np.ndarray:
    href = page.locator(".js-plotly-plot .imagelayer image").nth(index).get_attribute("href")
    assert href.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))))


def torch_steps(text: str, channels: int, x: np.ndarray) -> list[np.ndarray]:
    """Each step's output of torch's nn.Sequential for the chain (the page's own export) on x (C, H, W)."""
    scope: dict = {}
    exec(sequential_code(parse_chain(text), channels), scope)
    outputs, current = [], torch.from_numpy(x[None].copy())
    with torch.no_grad():
        for module in scope["model"]:
            current = module(current)
            outputs.append(current[0].numpy())
    return outputs


def assert_shown_min_max(shown: np.ndarray, ref: np.ndarray) -> None:
    """The page's default min-max display: the output's range stretched to 0..255."""
    expected = (ref - ref.min()) / (ref.max() - ref.min()) * 255
    expected = expected[0] if ref.shape[0] == 1 else np.moveaxis(expected, 0, -1)
    assert shown.shape == expected.shape
    assert np.abs(shown.astype(float) - expected).max() <= 1.01


# The table is a canvas (glide data grid): cells are found from the page's column widths (COLUMN_WIDTHS, left to right)
# after the row-marker column (the grid scrolled back to its left end), rows from Streamlit's row height.
ROW_MARKER, HEADER, ROW = 33, 35, 35
COLUMNS = list(COLUMN_WIDTHS)


def edit_cell(page, table, row: int, column: str, value: str) -> None:
    """Select a cell of the steps table, type over it and press Enter, as a user does, until the grid shows the value.

    The grid mirrors its cells in an accessible table (glide-cell-<column>-<row>, column 0 the row marker): that is
    where the value is checked. On this busy machine a keystroke can land while the last edit's rerun redraws the
    grid, and the grid then drops it; a user would see the cell still empty and type again, and so does this (at most
    three times).
    """
    mirror = table.locator(f"#glide-cell-{COLUMNS.index(column) + 1}-{row}")
    left = sum(COLUMN_WIDTHS[name] for name in COLUMNS[: COLUMNS.index(column)])
    for _ in range(3):
        table.locator(".dvn-scroller").evaluate("e => { e.scrollLeft = 0; }")  # it scrolls to edit a right-hand cell
        page.wait_for_timeout(100)
        box = table.bounding_box()
        page.mouse.click(box["x"] + ROW_MARKER + left + COLUMN_WIDTHS[column] / 2, box["y"] + HEADER + ROW * row + ROW / 2)
        page.wait_for_timeout(200)
        page.keyboard.type(value, delay=20)  # typing on a selected cell opens its editor with what is typed
        page.keyboard.press("Enter")
        try:
            expect(mirror).to_have_text(value, timeout=5_000)
            break
        except AssertionError:
            wait_for_idle(page)
    expect(mirror).to_have_text(value)
    page.wait_for_timeout(300)  # the edit's rerun has started
    wait_for_idle(page)


def test_building_a_two_layer_chain_in_the_table_shows_both_pictures(page, app_url):
    open_app_page(page, app_url, "chain", {"chain_steps": "", "chain_side": "64", "chain_chan": "grayscale"})
    page.get_by_text("The chain is empty").wait_for(timeout=60_000)
    table = page.locator("[data-testid='stDataFrame']").first
    # every field is a column; those a Conv2d row needs, up to output_padding, show without scrolling
    assert sorted(COLUMNS) == sorted(STEP_FIELDS)
    shown = ROW_MARKER + sum(COLUMN_WIDTHS[name] for name in COLUMNS[: COLUMNS.index("output_padding") + 1])
    assert table.bounding_box()["width"] >= shown, (table.bounding_box(), shown)
    rows = [{"step": "Conv2d", "out_channels": "1", "kernel_size": "3", "padding": "1", "weights": "gaussian@1"},
            {"step": "ConvTranspose2d", "out_channels": "1", "kernel_size": "4", "stride": "2", "padding": "1",
             "weights": "b"}]
    for row, cells in enumerate(rows):
        table.hover(position={"x": 20, "y": 20})  # the left end: a column's help tooltip would cover the toolbar
        page.get_by_role("button", name="Add row").click()  # no rerun: the new row is sent once its step is set
        for column, value in cells.items():
            edit_cell(page, table, row, column, value)

    page.get_by_text("Step 2: ConvTranspose2d").wait_for(timeout=60_000)
    wait_for_idle(page)
    assert page.locator(EXCEPTION).count() == 0
    page.get_by_text("(1, 64, 64) -> (1, 64, 64)").wait_for(timeout=30_000)
    page.get_by_text("(1, 64, 64) -> (1, 128, 128)").wait_for(timeout=30_000)
    text = "C1k3p1~gaussian@1.T1k4s2p1~b"
    assert chain_text(parse_chain(page.evaluate("new URLSearchParams(location.search).get('chain_steps')"))) == text

    first, second = panel_png(page, 1), panel_png(page, 2)  # after the input's picture
    x = imaging.to_channels(imaging.fit_within(imaging.load_path(sample_path("astronaut")).pixels, 64), 1)
    for shown, ref in zip((first, second), torch_steps(text, 1, x)):
        assert_shown_min_max(shown, ref)


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
    x = imaging.to_channels(imaging.fit_within(imaging.load_path(sample_path("astronaut")).pixels, 64), 3)
    for shown, ref in zip((first, second), torch_steps(PRESET_CHAINS[PRESET][1], 3, x)):
        assert_shown_min_max(shown, ref)
