"""The gallery of Dumoulin & Visin's figures: the guide's sizes (torch as the oracle), the transposed counterparts
back to the input size, the PyTorch code, the lesson links, and the page and the download buttons in AppTest."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from convcore.ui import gallery

# the guide's animations: input size, kernel, stride, padding, dilation -> output size
GUIDE = {
    "no_padding_no_strides": (4, 3, 1, 0, 1, 2),
    "arbitrary_padding_no_strides": (5, 4, 1, 2, 1, 6),
    "same_padding_no_strides": (5, 3, 1, 1, 1, 5),
    "full_padding_no_strides": (5, 3, 1, 2, 1, 7),
    "no_padding_strides": (5, 3, 2, 0, 1, 2),
    "padding_strides": (5, 3, 2, 1, 1, 3),
    "padding_strides_odd": (6, 3, 2, 1, 1, 3),
    "dilation": (7, 3, 1, 0, 2, 3),
}


def test_the_gallery_has_every_figure_of_the_guide_once():
    assert [p.guide for p in gallery.PAIRS] == list(GUIDE)


def shown_layer_output(cfg):
    """The torch layer the page's code builds (the code evaluated), and its output on the gallery's values."""
    layer = eval(gallery.module_code(cfg), {"nn": torch.nn})
    x, w = gallery.values(cfg)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
        return layer, layer(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("pair", gallery.PAIRS, ids=lambda p: p.guide)
def test_each_convolution_gives_the_guides_output_size_in_torch(pair):
    n, k, s, p, d, out = GUIDE[pair.guide]
    cfg = pair.conv
    assert (cfg.height, cfg.width, cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation) == \
        (n, n, (k, k), (s, s), (p, p), (d, d))
    layer, y = shown_layer_output(cfg)
    assert (layer.kernel_size, layer.stride, layer.padding, layer.dilation) == ((k, k), (s, s), (p, p), (d, d))
    assert y.shape == (1, 1, out, out)
    trace = gallery.pair_trace(cfg)
    np.testing.assert_array_equal(trace.output, y[0, 0])  # the animation's numbers are torch's
    assert trace.n_steps == out * out


@pytest.mark.parametrize("pair", gallery.PAIRS, ids=lambda p: p.guide)
def test_each_transposed_counterpart_returns_to_the_input_size_in_torch(pair):
    n, *_, out = GUIDE[pair.guide]
    cfg = pair.transposed
    assert (cfg.height, cfg.width) == (out, out)
    assert (cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation) == \
        (pair.conv.kernel_size, pair.conv.stride, pair.conv.padding, pair.conv.dilation)
    odd = pair.guide == "padding_strides_odd"
    assert cfg.output_padding == ((1, 1) if odd else (0, 0))  # only the odd case needs it
    layer, y = shown_layer_output(cfg)
    assert layer.output_padding == cfg.output_padding
    assert y.shape == (1, 1, n, n)
    trace = gallery.pair_trace(cfg)
    np.testing.assert_allclose(trace.output, y[0, 0], rtol=1e-6, atol=1e-5)


def test_the_odd_transposed_case_puts_output_padding_on_the_bottom_right():
    from convcore.teaching.trace import CellKind

    pair = next(p for p in gallery.PAIRS if p.guide == "padding_strides_odd")
    kinds = gallery.pair_trace(pair.transposed).grid_kinds
    assert (kinds[-1, :] == CellKind.OUTPUT_PADDING).all() and (kinds[:, -1] == CellKind.OUTPUT_PADDING).all()
    assert not (kinds[:-1, :-1] == CellKind.OUTPUT_PADDING).any()  # nowhere else: not on the top or left
    assert "bottom and right" in pair.note


def test_module_code_names_the_layer_in_pytorch_terms():
    pair = next(p for p in gallery.PAIRS if p.guide == "padding_strides")
    assert gallery.module_code(pair.conv) == "nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=1, bias=False)"
    odd = next(p for p in gallery.PAIRS if p.guide == "padding_strides_odd")
    assert gallery.module_code(odd.transposed) == \
        "nn.ConvTranspose2d(1, 1, kernel_size=3, stride=2, padding=1, output_padding=1, bias=False)"


# ---- AppTest -------------------------------------------------------------------------------------------------

PAGE = "pages/gallery/gallery.py"


def labels(at, kind="download_button") -> list[str]:
    return [e.proto.label for e in at.get(kind)]


def test_the_gallery_page_shows_the_first_pair_live_with_code_links_and_downloads(app_test):
    at = app_test(page=PAGE)
    assert not at.exception
    assert at.title[0].value == "Classic figures"
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # only the open tab is built: the conv and its transposed counterpart
    import json

    specs = [json.loads(chart.proto.spec) for chart in charts]
    assert all(spec["layout"]["meta"]["animated"] for spec in specs)  # they play live
    assert [len(spec["frames"]) for spec in specs] == [4, 16]  # a step per output cell: 2x2, then 4x4
    text = " ".join(m.value for m in at.markdown)
    assert "nn.Conv2d(1, 1, kernel_size=3, bias=False)" in text
    assert "nn.ConvTranspose2d(1, 1, kernel_size=3, bias=False)" in text
    assert "labelled on every picture" in " ".join(c.value for c in at.caption)
    links = at.get("page_link")
    assert [link.proto.page for link in links] == ["conv2d", "conv_transpose2d"]
    assert labels(at) == ["PNG", "SVG", "PNG", "SVG"]
    assert labels(at, "button") == ["Present"] + ["Prepare GIF", "Prepare MP4"] * 2  # Present: tests/test_present.py


def test_a_gallery_tab_from_the_link_and_its_gif(app_test):
    at = app_test(page=PAGE, query_params={"gal_figure": "Padding, strides (odd)"})
    assert not at.exception
    assert "output_padding=1" in " ".join(m.value for m in at.markdown)
    assert any("bottom and right" in c.value for c in at.caption)
    at.button(key="gal_padding_strides_odd_transposed_gif_prepare").click().run()
    assert not at.exception
    assert "GIF (" in " ".join(labels(at))


@pytest.mark.parametrize("pair", [gallery.PAIRS[1], gallery.PAIRS[6], gallery.PAIRS[7]], ids=lambda p: p.guide)
def test_the_lesson_link_opens_the_lesson_at_that_configuration(app_test, pair):
    for cfg in (pair.conv, pair.transposed):
        at = app_test(page=gallery.LESSON_PAGES[cfg.op], query_params=gallery.lesson_query(cfg))
        assert not at.exception
        assert not at.warning, [w.value for w in at.warning]  # every link value was taken
        ho, wo = cfg.output_hw()
        line = next(m.value for m in at.markdown if m.value.startswith("input `"))
        assert f"`(1, 1, {cfg.height}, {cfg.width})`" in line and f"output `(1, 1, {ho}, {wo})`" in line
        assert f"`{tuple(cfg.weight_shape)}`" in line


def test_a_lesson_offers_gif_mp4_png_and_svg_of_its_animation(app_test):
    at = app_test(page="pages/lessons/conv2d.py")
    assert not at.exception
    assert labels(at) == [] and "c2_window_export_fps" not in at.session_state  # built only once asked for
    at.session_state["c2_window_export_open"] = True  # the expander is open
    at.run()
    assert labels(at) == ["PNG", "SVG"]
    assert {"Prepare GIF", "Prepare MP4"} <= set(labels(at, "button"))
    at.radio(key="c2_window_export_fps").set_value(4).run()
    at.button(key="c2_window_export_mp4_prepare").click().run()
    assert not at.exception
    assert any(label.startswith("MP4 (") for label in labels(at))
    at.run()  # prepared files stay offered on later reruns (cached per configuration and frame rate)
    assert any(label.startswith("MP4 (") for label in labels(at))
    at.radio(key="c2_window_export_fps").set_value(10).run()  # another frame rate: another file to prepare
    assert not any(label.startswith("MP4 (") for label in labels(at))


def test_the_transposed_lessons_views_offer_downloads(app_test):
    at = app_test(page="pages/lessons/conv_transpose2d.py", query_params={"ct_view": "Scatter"}, run=False)
    at.session_state["ct_scatter_export_open"] = True
    at.run()
    assert not at.exception
    at.button(key="ct_scatter_export_gif_prepare").click().run()
    assert not at.exception
    assert any(label.startswith("GIF (") for label in labels(at))


def test_a_lesson_too_long_for_a_gif_says_so_on_a_disabled_button(app_test):
    # ConvTranspose2d 12x12, kernel 7, stride 4: a 51x51 output, 2601 steps (more than a GIF or an MP4 holds)
    query = {"ct_in_h": "12", "ct_in_w": "12", "ct_k_h": "7", "ct_k_w": "7", "ct_s_h": "4", "ct_s_w": "4",
             "ct_p_h": "0", "ct_p_w": "0"}
    at = app_test(page="pages/lessons/conv_transpose2d.py", query_params=query, run=False)
    at.session_state["ct_window_export_open"] = True
    at.run()
    assert not at.exception
    buttons = {b.key: b for b in at.button if b.key and b.key.startswith("ct_window_export")}
    gif = buttons["ct_window_export_gif_prepare"]
    assert gif.disabled and gif.label == "GIF: too long"
    assert "a GIF holds at most 625 steps; this animation has 2601" in gif.help.replace("A GIF", "a GIF")
    assert buttons["ct_window_export_mp4_prepare"].disabled
    assert labels(at) == ["PNG", "SVG"]  # one step still exports
