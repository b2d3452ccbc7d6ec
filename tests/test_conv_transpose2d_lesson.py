"""AppTest of the ConvTranspose2d lesson: defaults, every control, the three views (zero insertion, scatter, matrix)
against the engine and torch, output_padding and the overlap map, invalid combinations, the URL round trip."""
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convcore.ui import ConvConfig
from lesson_checks import (
    arithmetic,
    assert_frames_list_every_trace,
    check_arithmetic,
    close_to_shown,
    code_output,
    code_text,
    figure,
    figure_step,
    held_values,
    no_exception,
    shape_line,
    values,
)

PAGE = "pages/lessons/conv_transpose2d.py"
DEFAULT = ConvConfig(op="conv_transpose2d", height=3, width=3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))


def torch_output(cfg: ConvConfig, x, w, b, **overrides) -> np.ndarray:
    args = dict(stride=cfg.stride, padding=cfg.padding, output_padding=cfg.effective_output_padding(),
                groups=cfg.groups, dilation=cfg.dilation)
    args.update(overrides)
    return F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b),
                              **args).numpy()


def test_defaults_open_the_zero_insertion_view_with_the_engines_numbers(app_test):
    at = app_test(PAGE)
    no_exception(at)
    assert not at.error and not at.warning
    assert at.title[0].value == "ConvTranspose2d"
    assert shape_line(at).endswith("output `(1, 1, 5, 5)`")
    assert [t.label for t in at.tabs] == ["Zero insertion", "Scatter", "Matrix", "output_padding",
                                          "Overlap and checkerboards"]
    meta = figure(at)["layout"]["meta"]
    assert meta["view"] == "window" and meta["op"] == "conv_transpose2d" and meta["n_steps"] == 25
    assert_frames_list_every_trace(figure(at))
    assert arithmetic(at)[0] == "Output cell (0, 0), step 0 of 24"
    check_arithmetic(at, DEFAULT)
    assert not dict(at.query_params)


# (widget kind, key, value, the configuration's fields that change); one session, each control set and put back
CONTROLS = [
    ("number_input", "ct_cin", 2, 1, {"in_channels": 2}),
    ("number_input", "ct_cout", 3, 1, {"out_channels": 3}),
    ("number_input", "ct_in_h", 4, 3, {"height": 4}),
    ("number_input", "ct_in_w", 2, 3, {"width": 2}),
    ("number_input", "ct_k_h", 2, 3, {"kernel_size": (2, 3)}),
    ("number_input", "ct_k_w", 4, 3, {"kernel_size": (3, 4)}),
    ("number_input", "ct_s_h", 3, 2, {"stride": (3, 2)}),
    ("number_input", "ct_s_w", 1, 2, {"stride": (2, 1)}),
    ("number_input", "ct_p_h", 0, 1, {"padding": (0, 1)}),
    ("number_input", "ct_p_w", 2, 1, {"padding": (1, 2)}),
    ("number_input", "ct_d_h", 2, 1, {"dilation": (2, 1)}),
    ("number_input", "ct_d_w", 3, 1, {"dilation": (1, 3)}),
    ("toggle", "ct_bias", False, True, {"bias": False}),
    ("number_input", "ct_op_h", 1, 0, {"output_padding": (1, 0)}),
    ("number_input", "ct_op_w", 1, 0, {"output_padding": (0, 1)}),
]


def test_each_control_changes_the_configuration_shapes_and_arithmetic(app_test):
    at = app_test(PAGE)
    for kind, key, value, default, change in CONTROLS:
        getattr(at, kind)(key=key).set_value(value).run()
        no_exception(at)
        assert not at.error, f"{key}={value}: {at.error[0].value}"
        cfg = replace(DEFAULT, **change)
        assert shape_line(at).endswith(f"output `{cfg.output_shape()}`"), key
        assert figure(at)["layout"]["meta"]["n_steps"] == int(np.prod(cfg.output_hw())), key
        check_arithmetic(at, cfg)
        getattr(at, kind)(key=key).set_value(default).run()


def test_output_size_replaces_output_padding(app_test):
    at = app_test(PAGE)
    at.toggle(key="ct_osz").set_value(True).run()
    no_exception(at)
    assert at.number_input(key="ct_os_h").value is None  # empty: the smallest size, 5
    at.number_input(key="ct_os_h").set_value(6).run()
    no_exception(at)
    cfg = replace(DEFAULT, output_size=(6, 5))
    assert cfg.effective_output_padding() == (1, 0)
    assert shape_line(at).endswith("output `(1, 1, 6, 5)`")
    check_arithmetic(at, cfg)
    assert "output_size=(6, 5)" in code_text(at)


def test_groups_pick_the_input_channels_of_the_traced_output_channel(app_test):
    at = app_test(PAGE, {"ct_cin": "4", "ct_cout": "2", "ct_groups": "2", "ct_oc": "1"})
    no_exception(at)
    cfg = replace(DEFAULT, in_channels=4, out_channels=2, groups=2)
    assert check_arithmetic(at, cfg, out_channel=1)[1] == 1
    assert "Output channel 1 reads input channels 2, 3 (group 1 of 2)." in [c.value for c in at.caption]


def test_zero_insertion_steps_match_the_engine_at_every_button(app_test):
    at = app_test(PAGE, {"ct_op_h": "1"})
    cfg = replace(DEFAULT, output_padding=(1, 0))
    for button, step in (("last", 29), ("prev", 28), ("first", 0), ("next", 1)):
        at.button(key=f"ct_step_{button}").click().run()
        assert figure_step(at) == step
        assert check_arithmetic(at, cfg)[2:] == divmod(step, 5)


def test_scatter_view_stamps_add_up_to_torchs_uncropped_output(app_test):
    """After scatter step s the canvas holds the transposed conv of the first s+1 input cells, before the crop."""
    at = app_test(PAGE, {"ct_view": "Scatter", "ct_stamp": "4"})
    no_exception(at)
    assert figure(at)["layout"]["meta"]["view"] == "scatter" and figure_step(at) == 4
    assert_frames_list_every_trace(figure(at))
    title, lines = arithmetic(at)
    assert title == "Input cell (1, 1), step 4 of 8"
    x, w, b = values(DEFAULT)
    assert lines[0].startswith(f"input[0,0,1,1] = {x[0, 0, 1, 1]:g} adds")
    first = np.where(np.arange(9).reshape(1, 1, 3, 3) <= 4, x, 0).astype(np.float32)
    canvas = torch_output(DEFAULT, first, w, None, padding=0, output_padding=0)[0, 0]
    shown = held_values(lines[2])
    r0, r1, c0, c1 = (int(v) for v in re.search(r"canvas rows (\d+)\.\.(\d+), cols (\d+)\.\.(\d+)", lines[2]).groups())
    expect = canvas[r0 : r1 + 1, c0 : c1 + 1].ravel()
    assert all(close_to_shown(float(e), s) for e, s in zip(expect, shown, strict=True))
    stamp = [float(v) for v in lines[1].split(": ")[1].split(", ")]
    assert stamp == (x[0, 0, 1, 1] * w[0, 0]).ravel().tolist()


def test_scatter_steps_move_over_input_cells(app_test):
    at = app_test(PAGE, {"ct_view": "Scatter"})
    at.button(key="ct_stamp_last").click().run()
    assert figure_step(at) == 8 and at.query_params["ct_stamp"] == "8"
    assert arithmetic(at)[0] == "Input cell (2, 2), step 8 of 8"
    # the last stamp completes the canvas: cropped by padding, plus the bias, it is the output
    x, w, b = values(DEFAULT)
    full = torch_output(DEFAULT, x, w, None, padding=0, output_padding=0)[0, 0]
    shown = held_values(arithmetic(at)[1][2])
    assert all(close_to_shown(float(e), s) for e, s in zip(full[4:7, 4:7].ravel(), shown, strict=True))
    assert np.allclose(full[1:6, 1:6] + b[0], code_output(at)[0, 0])


def test_matrix_view_computes_each_output_as_a_column_of_c(app_test):
    at = app_test(PAGE, {"ct_view": "Matrix", "ct_step": "12"})
    no_exception(at)
    assert figure(at)["layout"]["meta"]["view"] == "matrix" and figure_step(at) == 12
    assert_frames_list_every_trace(figure(at))
    title, lines = arithmetic(at)
    assert title == "Output cell (2, 2), step 12 of 24"
    match = re.fullmatch(r"y\[12\] = out\[0,2,2\] = .* = (\S+)", lines[0])
    assert match, lines
    x, w, b = values(DEFAULT)
    assert close_to_shown(float(torch_output(DEFAULT, x, w, b)[0, 0, 2, 2]), float(match.group(1)))
    assert close_to_shown(float(code_output(at)[0, 0, 2, 2]), float(match.group(1)))


def test_the_three_views_share_the_output_step_and_show_the_same_cell(app_test):
    at = app_test(PAGE, {"ct_step": "7"})
    window_value = arithmetic(at)[1][-1].rsplit("= ", 1)[1]
    at.query_params["ct_view"] = "Matrix"
    at.run()
    assert figure(at)["layout"]["meta"]["view"] == "matrix" and figure_step(at) == 7
    assert arithmetic(at)[1][0].rsplit("= ", 1)[1] == window_value


def test_the_matrix_view_explains_its_size_limit(app_test):
    at = app_test(PAGE, {"ct_view": "Matrix", "ct_in_h": "8", "ct_in_w": "8"})
    no_exception(at)
    assert not at.error and not at.get("plotly_chart")
    assert "at most" in at.info[0].value and "entries" in at.info[0].value


def test_output_padding_panel_names_two_conv2d_sizes_and_what_the_extra_row_holds(app_test):
    at = app_test(PAGE, {"ct_view": "output_padding"})
    no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "maps inputs of height 5 and 6 all to height 3" in text
    for size in (5, 6):  # torch agrees: both sizes give 3
        assert torch.nn.Conv2d(1, 1, 3, stride=2, padding=1)(torch.zeros(1, 1, size, size)).shape[-1] == 3
    assert "| **0** (now) | 5 | 3 |" in text and "| 1 | 6 | 3 |" in text
    assert "extra rows go at the **bottom** and the extra columns on the **right**" in text
    assert "The first rows and columns are exactly the `output_padding=0` output." in text
    x, w, b = values(DEFAULT)
    y = torch_output(DEFAULT, x, w, b, output_padding=1)[0, 0]
    row = ", ".join(f"{v:g}" for v in y[5])
    assert f"New row 5 is computed like any other" in text and f"[{row}]" in text


def test_output_padding_with_padding_0_holds_only_the_bias(app_test):
    at = app_test(PAGE, {"ct_view": "output_padding", "ct_p_h": "0", "ct_p_w": "0", "ct_op_h": "1"})
    no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    x, w, b = values(replace(DEFAULT, padding=(0, 0)))
    y = torch_output(replace(DEFAULT, padding=(0, 0)), x, w, b, output_padding=(1, 0))[0, 0]
    assert np.all(y[-1] == b[0])
    assert "New row 7 lies past the last row any kernel tap reaches" in text and "only the bias" in text


def test_output_padding_panel_with_stride_1_says_there_is_nothing_to_choose(app_test):
    at = app_test(PAGE, {"ct_view": "output_padding", "ct_s_h": "1", "ct_s_w": "1"})
    no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "nothing to choose: output_padding must be 0 here" in text


def test_overlap_map_counts_kernel_taps_like_torch(app_test):
    at = app_test(PAGE, {"ct_view": "Overlap and checkerboards"})
    no_exception(at)
    fig = figure(at)
    taps = [t for t in fig["data"] if t.get("customdata") and t["customdata"][0][0] == "overlap"]
    assert len(taps) == 1
    counts = F.conv_transpose2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3), stride=2, padding=1)[0, 0]
    shown = np.zeros((5, 5))
    for (_, _, r, c), text in zip(taps[0]["customdata"], taps[0]["text"]):
        shown[r, c] = float(text)
    assert np.array_equal(shown, counts.numpy())
    text = " ".join(m.value for m in at.markdown)
    assert "between 1 and 4 kernel taps" in text and "2, 1, 2, 1" in text and "checkerboard" in text


def test_an_even_overlap_is_called_even(app_test):
    at = app_test(PAGE, {"ct_view": "Overlap and checkerboards", "ct_k_h": "4", "ct_k_w": "4"})
    no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "every cell gets the same number of taps" in text and "**checkerboard artifact**" not in text


@pytest.mark.parametrize("params, words", [
    ({"ct_in_h": "1", "ct_k_h": "1", "ct_p_h": "1"}, ["output", "size"]),
    ({"ct_s_h": "1", "ct_k_h": "2", "ct_p_h": "3"}, ["output", "size"]),
])
def test_invalid_combinations_explain_the_rule_without_a_traceback(app_test, params, words):
    at = app_test(PAGE, params)
    no_exception(at)
    assert len(at.error) == 1
    message = at.error[0].value.lower()
    assert all(word in message for word in words) and any(ch.isdigit() for ch in message)
    assert not at.get("plotly_chart")


def test_url_round_trip_restores_configuration_view_steps_and_focus(app_test):
    changes = [("number_input", "ct_cin", 2), ("number_input", "ct_k_w", 2), ("number_input", "ct_s_h", 3),
               ("number_input", "ct_op_h", 2), ("toggle", "ct_bias", False), ("selectbox", "ct_x", "ramp")]
    first = app_test(PAGE)
    for kind, key, value in changes:
        getattr(first, kind)(key=key).set_value(value).run()
    first.button(key="ct_step_last").click().run()
    first.button(key="ct_step_prev").click().run()
    no_exception(first)
    link = {key: str(value).lower() if isinstance(value, bool) else str(value) for _, key, value in changes}
    link.update(dict(first.query_params))
    link.update({"ct_focus": "1,0", "ct_view": "Zero insertion"})
    second = app_test(PAGE, link)
    no_exception(second)
    assert not second.warning
    for kind, key, value in changes:
        assert getattr(second, kind)(key=key).value == value
    cfg = replace(DEFAULT, in_channels=2, kernel_size=(3, 2), stride=(3, 2), output_padding=(2, 0), bias=False)
    n = int(np.prod(cfg.output_hw()))
    assert figure_step(second) == n - 2 == int(link["ct_step"])
    assert arithmetic(second) == arithmetic(first)
    assert any(t.get("name") == "focus" for t in figure(second)["data"])
    check_arithmetic(second, cfg, {"x": "ramp"})


def test_a_bad_link_falls_back_with_a_message(app_test):
    at = app_test(PAGE, {"ct_op_h": "7", "ct_step": "-3", "ct_stamp": "x", "ct_focus": "99,99"})
    no_exception(at)
    text = " ".join(w.value for w in at.warning)
    for key in ("ct_op_h=7", "ct_step=-3", "ct_focus=99,99"):
        assert key in text, f"{key} not reported in {text!r}"
    assert figure_step(at) == 0
    check_arithmetic(at, DEFAULT)


BIG = {"ct_in_h": "12", "ct_in_w": "12", "ct_s_h": "4", "ct_s_w": "4", "ct_k_h": "7", "ct_k_w": "7"}


def test_past_the_frame_cap_the_page_steps_and_plays_on_the_server(app_test):
    at = app_test(PAGE, BIG)
    no_exception(at)
    meta = figure(at)["layout"]["meta"]
    assert not meta["animated"] and meta["n_steps"] == 49 * 49
    at.select_slider(key="ct_step_slider").set_value(100).run()
    assert figure_step(at) == 100 and arithmetic(at)[0] == "Output cell (2, 2), step 100 of 2400"
    at.toggle(key="ct_step_play").set_value(True).run()  # Play: each run of the playing fragment is one step
    no_exception(at)
    played = figure_step(at)
    assert played > 100
    at.run()
    assert figure_step(at) == played + 1
    at.button(key="ct_step_prev").click().run()  # a manual step pauses
    assert not at.toggle(key="ct_step_play").value
    assert figure_step(at) == played
    at.run()
    assert figure_step(at) == played
    check_arithmetic(at, replace(DEFAULT, height=12, width=12, stride=(4, 4), kernel_size=(7, 7)))


def test_overlap_tab_offers_png_and_svg_of_both_figures(app_test):
    at = app_test(PAGE, {"ct_view": "Overlap and checkerboards"})
    no_exception(at)
    keys = {b.key for b in at.get("download_button")}
    assert {"ct_overlap_export_png", "ct_overlap_export_svg", "ct_constant_export_png",
            "ct_constant_export_svg"} <= keys, keys
