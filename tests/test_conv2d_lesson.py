"""AppTest of the Conv2d lesson: defaults, every control, invalid combinations, the URL round trip, and the
arithmetic shown against the engine and torch (the page's own PyTorch code run with torch)."""
import json
from dataclasses import replace

import numpy as np
import pytest

from convcore.ui import ConvConfig
from lesson_checks import (
    arithmetic,
    assert_frames_list_every_trace,
    check_arithmetic,
    code_output,
    figure,
    figure_step,
    no_exception,
    shape_line,
    values,
)

PAGE = "pages/lessons/conv2d.py"
DEFAULT = ConvConfig(height=5, width=5, kernel_size=(3, 3), padding=(1, 1))


def test_defaults_show_the_window_at_step_0_with_the_engines_numbers(app_test):
    at = app_test(PAGE)
    no_exception(at)
    assert not at.error and not at.warning
    assert at.title[0].value == "Conv2d"
    assert shape_line(at) == ("input `(1, 1, 5, 5)` → **Conv2d** with weight `(1, 1, 3, 3)` → output "
                              "`(1, 1, 5, 5)`")
    meta = figure(at)["layout"]["meta"]
    assert meta["animated"] and meta["n_steps"] == 25 and meta["step"] == 0 and meta["op"] == "conv2d"
    assert_frames_list_every_trace(figure(at))
    title, lines = arithmetic(at)
    assert title == "Output cell (0, 0), step 0 of 24"
    # the step line above the figure counts the same way as the arithmetic's title (last step 24, not 25 steps)
    assert any(m.value.startswith("**Step 0") and "(of 24)" in m.value for m in at.markdown)
    assert check_arithmetic(at, DEFAULT) == (0, 0, 0, 0)
    assert not dict(at.query_params)  # defaults keep the link clean


# (widget kind, key, value, its default, the configuration's fields that change); one session: set, check, put back
CONTROLS = [
    ("number_input", "c2_cin", 3, 1, {"in_channels": 3}),
    ("number_input", "c2_cout", 2, 1, {"out_channels": 2}),
    ("number_input", "c2_in_h", 7, 5, {"height": 7}),
    ("number_input", "c2_in_w", 4, 5, {"width": 4}),
    ("number_input", "c2_k_h", 2, 3, {"kernel_size": (2, 3)}),
    ("number_input", "c2_k_w", 5, 3, {"kernel_size": (3, 5)}),
    ("number_input", "c2_s_h", 2, 1, {"stride": (2, 1)}),
    ("number_input", "c2_s_w", 3, 1, {"stride": (1, 3)}),
    ("number_input", "c2_p_h", 0, 1, {"padding": (0, 1)}),
    ("number_input", "c2_p_w", 3, 1, {"padding": (1, 3)}),
    ("radio", "c2_pkind", "same", "numbers", {"padding": "same"}),
    ("radio", "c2_pkind", "valid", "numbers", {"padding": "valid"}),
    ("number_input", "c2_d_h", 2, 1, {"dilation": (2, 1)}),
    ("number_input", "c2_d_w", 2, 1, {"dilation": (1, 2)}),
    ("toggle", "c2_bias", False, True, {"bias": False}),
    ("selectbox", "c2_pmode", "reflect", "zeros", {"padding_mode": "reflect"}),
    ("selectbox", "c2_pmode", "replicate", "zeros", {"padding_mode": "replicate"}),
    ("selectbox", "c2_pmode", "circular", "zeros", {"padding_mode": "circular"}),
]
VALUE_CHOICES = [("c2_x", "ramp"), ("c2_x", "checkerboard"), ("c2_w", "edge x"), ("c2_w", "box average"),
                 ("c2_b", "ramp")]


def test_each_control_changes_the_configuration_shapes_and_arithmetic(app_test):
    at = app_test(PAGE)
    for kind, key, value, default, change in CONTROLS:
        getattr(at, kind)(key=key).set_value(value).run()
        no_exception(at)
        assert not at.error, f"{key}={value}: {at.error[0].value}"
        cfg = replace(DEFAULT, **change)
        assert f"output `{cfg.output_shape()}`" in shape_line(at), key
        assert figure(at)["layout"]["meta"]["n_steps"] == int(np.prod(cfg.output_hw())), key
        check_arithmetic(at, cfg)
        getattr(at, kind)(key=key).set_value(default).run()


def test_value_choices_reach_the_arithmetic(app_test):
    at = app_test(PAGE)
    for key, choice in VALUE_CHOICES:
        default = at.selectbox(key=key).value
        at.selectbox(key=key).set_value(choice).run()
        no_exception(at)
        check_arithmetic(at, DEFAULT, {key[3:]: choice})
        at.selectbox(key=key).set_value(default).run()


def test_random_values_follow_the_seed(app_test):
    at = app_test(PAGE)
    at.selectbox(key="c2_x").set_value("random integers").run()
    first = arithmetic(at)[1]
    at.number_input(key="c2_x_seed").set_value(5).run()
    no_exception(at)
    assert arithmetic(at)[1] != first
    _, lines = arithmetic(at)
    x = np.random.default_rng(5).integers(0, 10, (1, 1, 5, 5)).astype(np.float32)
    w, b = values(DEFAULT)[1:]
    assert float(lines[-1].rsplit("=", 1)[1]) == DEFAULT.forward(x, w, b)[0, 0, 0, 0]


def test_groups_and_output_channel_pick_the_traced_channel(app_test):
    at = app_test(PAGE)
    at.number_input(key="c2_cin").set_value(4).run()
    at.number_input(key="c2_cout").set_value(6).run()
    at.radio(key="c2_groups").set_value(2).run()
    at.radio(key="c2_oc").set_value(4).run()
    no_exception(at)
    cfg = replace(DEFAULT, in_channels=4, out_channels=6, groups=2)
    assert check_arithmetic(at, cfg, out_channel=4) == (0, 4, 0, 0)
    _, lines = arithmetic(at)
    assert lines[0].startswith("input channel 2: ") and lines[1].startswith("input channel 3: ")
    assert "Output channel 4 reads input channels 2, 3 (group 1 of 2)." in [c.value for c in at.caption]
    assert figure(at)["layout"]["meta"]["n_steps"] == 25


def test_step_buttons_move_the_figure_and_the_arithmetic(app_test):
    at = app_test(PAGE)
    for button, step in (("next", 1), ("next", 2), ("last", 24), ("prev", 23), ("first", 0), ("next", 1)):
        at.button(key=f"c2_step_{button}").click().run()
        no_exception(at)
        r, c = divmod(step, 5)
        assert figure_step(at) == step
        assert arithmetic(at)[0] == f"Output cell ({r}, {c}), step {step} of 24"
        assert check_arithmetic(at, DEFAULT)[2:] == (r, c)
        assert at.query_params.get("c2_step", "0") == str(step)


def test_an_unrelated_rerun_sends_the_identical_figure(app_test):
    """A paused animation survives reruns that change nothing it shows (Plotly resets when the JSON changes)."""
    at = app_test(PAGE, {"c2_step": "7"})
    spec = at.get("plotly_chart")[0].proto.spec
    at.run()
    at.toggle(key="c2_bias").set_value(True).run()  # already on: nothing changes
    assert at.get("plotly_chart")[0].proto.spec == spec


@pytest.mark.parametrize("params, rule", [
    ({"c2_in_h": "3", "c2_p_h": "0", "c2_k_h": "5"}, "kernel"),
    ({"c2_in_h": "3", "c2_d_h": "4"}, "dilat"),
    ({"c2_pmode": "reflect", "c2_in_w": "2", "c2_p_w": "3"}, "padding"),
    ({"c2_pmode": "circular", "c2_in_h": "2", "c2_p_h": "4"}, "padding"),
])
def test_invalid_combinations_explain_the_rule_without_a_traceback(app_test, params, rule):
    at = app_test(PAGE, params)
    no_exception(at)
    assert len(at.error) == 1
    message = at.error[0].value
    assert "PyTorch would reject this configuration" in message and rule in message.lower()
    assert any(ch.isdigit() for ch in message)  # the numbers are named
    assert not at.get("plotly_chart")  # no animation of an invalid layer
    assert "output `-`" in shape_line(at)


def test_an_error_is_fixed_by_changing_the_control_back(app_test):
    at = app_test(PAGE, {"c2_in_h": "3", "c2_p_h": "0", "c2_k_h": "5"})
    assert at.error
    at.number_input(key="c2_k_h").set_value(3).run()
    no_exception(at)
    assert not at.error
    check_arithmetic(at, replace(DEFAULT, height=3, padding=(0, 1)))


def test_url_round_trip_restores_configuration_values_and_step(app_test):
    """Change controls and step in one session; a second session opened with that link shows the same page."""
    changes = [("number_input", "c2_cin", 2), ("number_input", "c2_in_w", 7), ("number_input", "c2_k_h", 2),
               ("number_input", "c2_s_w", 2), ("number_input", "c2_d_h", 2), ("selectbox", "c2_pmode", "reflect"),
               ("toggle", "c2_bias", False), ("selectbox", "c2_x", "ramp"), ("selectbox", "c2_w", "edge y")]
    first = app_test(PAGE)
    for kind, key, value in changes:
        getattr(first, kind)(key=key).set_value(value).run()
    for _ in range(3):
        first.button(key="c2_step_next").click().run()
    no_exception(first)
    # the link: bound widgets write their key (AppTest does not update its URL for them), the page writes the step
    link = {key: str(value).lower() if isinstance(value, bool) else str(value) for _, key, value in changes}
    link.update(dict(first.query_params))
    assert link["c2_step"] == "3"

    second = app_test(PAGE, link)
    no_exception(second)
    assert not second.warning
    for kind, key, value in changes:
        assert getattr(second, kind)(key=key).value == value
    assert second.get("plotly_chart")[0].proto.spec == first.get("plotly_chart")[0].proto.spec
    assert arithmetic(second) == arithmetic(first)
    cfg = replace(DEFAULT, in_channels=2, width=7, kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1),
                  padding_mode="reflect", bias=False)
    assert check_arithmetic(second, cfg, {"x": "ramp", "w": "edge y"})[2:] == divmod(3, cfg.output_hw()[1])


def test_a_bad_link_falls_back_to_defaults_with_a_message(app_test):
    at = app_test(PAGE, {"c2_k_h": "abc", "c2_pmode": "mirror", "c2_step": "999", "c2_focus": "9,x",
                         "c2_x": "nonsense"})
    no_exception(at)
    assert not at.error
    text = " ".join(w.value for w in at.warning)
    for key in ("c2_k_h=abc", "c2_pmode=mirror", "c2_step=999", "c2_focus=9,x", "c2_x=nonsense"):
        assert key in text, f"{key} not reported in {text!r}"
    assert figure_step(at) == 0
    check_arithmetic(at, DEFAULT)


def test_a_step_out_of_range_for_a_new_configuration_is_clamped(app_test):
    at = app_test(PAGE, {"c2_step": "24"})
    assert figure_step(at) == 24
    at.number_input(key="c2_p_h").set_value(0).run()  # 3x5 output: 15 steps
    no_exception(at)
    assert figure_step(at) == 14 and at.query_params["c2_step"] == "14"
    check_arithmetic(at, replace(DEFAULT, padding=(0, 1)))


def test_a_focused_input_cell_lists_exactly_the_outputs_it_feeds(app_test):
    at = app_test(PAGE, {"c2_focus": "0,4", "c2_s_h": "2"})
    no_exception(at)
    cfg = replace(DEFAULT, stride=(2, 1))
    x, w, b = values(cfg)
    bumped = x.copy()
    bumped[0, 0, 0, 4] += 1
    changed = np.argwhere(cfg.forward(bumped, w, b)[0, 0] != cfg.forward(x, w, b)[0, 0])
    info = [i.value for i in at.info if "feeds" in i.value]
    assert len(info) == 1
    assert f"feeds {len(changed)} output cells" in info[0]
    listed = info[0].split("green: ")[1].split(".")[0]
    assert listed == ", ".join(f"({r}, {c})" for r, c in changed)
    assert any(t.get("name") == "focus" for t in figure(at)["data"])
    at.button(key="c2_focus_clear").click().run()
    assert not [i for i in at.info if "feeds" in i.value] and "c2_focus" not in at.query_params


def test_a_sent_figure_sends_exactly_what_plotly_would():
    """The lesson figures skip plotly's constructor (viz.animation.BoardFigure): what st.plotly_chart sends must be
    the JSON plotly would send for the same figure (template included), and the same object every rerun."""
    import plotly.graph_objects as go
    import plotly.io as pio

    from convcore.teaching.trace import trace_conv2d, trace_conv_transpose2d
    from convcore.ui import lesson_chart
    from convcore.viz import conv2d_figure, matrix_figure, scatter_figure

    cfg = replace(DEFAULT, height=6, width=6, stride=(2, 1))
    x, w, _ = values(cfg)
    conv = trace_conv2d(x, w, None, (2, 1), (1, 1))
    transposed = trace_conv_transpose2d(x, np.ones((1, 1, 3, 3), np.float32), np.float32([1.5]), 2, 1)
    for build in (lambda: conv2d_figure(conv, 3, focus_input=(1, 2)), lambda: scatter_figure(transposed, 2),
                  lambda: matrix_figure(transposed, 5)):
        sent = lesson_chart.clickable_frames(build())
        plain = lesson_chart.clickable_frames(build())
        expected = pio.to_json(go.Figure.to_dict(plain), validate=False)  # plotly's objects, built from the spec
        assert plain.built and not sent.built
        assert '"template"' in expected and '"frames"' in expected
        assert json.loads(pio.to_json(sent.to_dict(), validate=False)) == json.loads(expected)  # keys in another order
        assert sent.to_dict() is sent.to_dict()  # nothing converted per rerun


def test_edited_input_cells_reach_the_arithmetic_and_the_link(app_test):
    from convcore.ui import editing_key, editor_key

    at = app_test(PAGE)
    assert not at.get("dataframe")  # the editors are built only while their expander is open
    at.session_state[editing_key("c2", "x")] = True
    at.session_state[editor_key("c2", "x", (1, 1, 5, 5))] = {"edited_rows": {0: {"1": 9.5}}, "added_rows": [],
                                                             "deleted_rows": []}
    at.run()
    no_exception(at)
    assert [e.key for e in at.get("dataframe")] == [editor_key("c2", "x", (1, 1, 5, 5))]  # only the open one
    assert at.query_params["c2_x_cells"] == "1x1x5x5;1:9.5"
    x, w, b = values(DEFAULT)
    x[0, 0, 0, 1] = 9.5
    _, lines = arithmetic(at)
    assert "9.5·1" in lines[0]  # at step 0, x[0,0,0,1] sits under kernel tap (1, 2), which is 1
    assert float(lines[-1].rsplit("=", 1)[1]) == DEFAULT.forward(x, w, b)[0, 0, 0, 0]
    assert code_output(at)[0, 0, 0, 0] == DEFAULT.forward(x, w, b)[0, 0, 0, 0]
    linked = app_test(PAGE, {"c2_x_cells": "1x1x5x5;1:9.5"})  # the link restores the edited cell
    assert arithmetic(linked) == arithmetic(at)
