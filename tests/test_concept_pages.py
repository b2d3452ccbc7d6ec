"""AppTest of the five concept pages: defaults (numbers checked against torch), every control changed, invalid
settings shown as st.error (never an exception), and the URL round trip."""
from __future__ import annotations

import base64
import contextlib
import io
import json
import re

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from conftest import load_app
from convcore.teaching.planner import chain_from_text

torch.set_num_threads(1)

GROUPS, PADDING, MATRIX, CHECKER, PLANNER = (f"pages/concepts/{name}.py" for name in
                                             ("groups-depthwise", "padding", "matrix", "checkerboards", "planner"))


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A plotly array from a figure spec: plain lists, or plotly 7's base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return data.reshape([int(v) for v in str(shape).split(",")]) if shape else data
    return np.asarray(value)


def hover_values(spec: dict, pattern: str) -> dict[tuple[int, int], float]:
    """{(row, col): value} from hover texts such as 'zeros: out[1, 2] = 0.333333' matching pattern's prefix."""
    found = {}
    for trace in spec["data"]:
        for text in trace.get("hovertext") or []:
            m = re.match(pattern + r"\[(\d+), (\d+)\] = (-?[\d.e+-]+)", str(text))
            if m:
                found[(int(m.group(1)), int(m.group(2)))] = float(m.group(3))
    return found


def widgets(at: AppTest, prefix: str, kinds=("radio", "number_input", "selectbox")) -> dict:
    """{key: value} of the page's keyed widgets whose key starts with prefix."""
    return {w.key: w.value for kind in kinds for w in getattr(at, kind) if w.key and w.key.startswith(prefix)}


def table(at: AppTest, index: int = 0) -> list[dict]:
    return at.dataframe[index].value.to_dict("records")


def reload(url_of, at: AppTest, page: str, prefix: str) -> AppTest:
    """A second session opened from the URL the first one would show."""
    return ok(load_app(page, url_of(at, prefix)))


# ---- groups -----------------------------------------------------------------------------------------------------------


def torch_counts(op, cin, cout, k, size, stride, padding, groups):
    cls = torch.nn.Conv2d if op == "Conv2d" else torch.nn.ConvTranspose2d
    m = cls(cin, cout, k, stride, padding, groups=groups)
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        m(torch.zeros(1, cin, size, size))
    return tuple(m.weight.shape), sum(p.numel() for p in m.parameters()), counter.get_total_flops() // 2


def groups_state(at: AppTest) -> tuple:
    value = widgets(at, "grp_")
    return (value["grp_op"], value["grp_cin"], value["grp_cout"], value["grp_k"], value["grp_size"], value["grp_s"],
            value["grp_p"], value["grp_groups"])


def check_groups_numbers(at: AppTest) -> None:
    op, cin, cout, k, size, stride, padding, groups = groups_state(at)
    first = table(at)[0]
    shape, params, macs = torch_counts(op, cin, cout, k, size, stride, padding, groups)
    assert (first["weight shape"], first["parameters"], first["multiply-adds"]) == (str(shape), params, macs)
    channels = specs(at)[0]
    lines = sum(len(trace["x"]) // 3 for trace in channels["data"] if trace.get("mode") == "lines")
    assert lines == cin * cout // groups  # one line per (input, output) pair that is connected


def test_groups_defaults_match_torch():
    at = ok(load_app(GROUPS))
    check_groups_numbers(at)
    sep = table(at, 1)
    assert sep[0]["parameters"] == 8 * 8 * 9 + 8 and sep[3]["parameters"] == (8 * 9 + 8) + (8 * 8 + 8)
    text = " ".join(m.value for m in at.markdown)
    assert "3.84x fewer parameters" in text and "4.24x fewer multiply-adds" in text


@pytest.mark.parametrize("kind, key, value", [
    ("radio", "grp_op", "ConvTranspose2d"), ("number_input", "grp_cin", 12), ("number_input", "grp_cout", 6),
    ("radio", "grp_groups", 8), ("number_input", "grp_k", 5), ("number_input", "grp_s", 2),
    ("number_input", "grp_p", 0), ("number_input", "grp_size", 100), ("radio", "grp_focus", 3),
    ("number_input", "grp_mult", 3),
])
def test_groups_each_control(kind, key, value):
    at = ok(load_app(GROUPS))
    getattr(at, kind)(key=key).set_value(value).run()
    ok(at)
    check_groups_numbers(at)
    if key == "grp_focus":
        assert "Output channel 3 is in group 1: it reads input channels 2..3" in " ".join(c.value for c in at.caption)
    if key == "grp_mult":
        assert table(at, 1)[1]["weight shape"] == "(24, 1, 3, 3)"


def test_groups_offers_only_common_divisors_and_explains_a_kernel_too_large():
    at = ok(load_app(GROUPS, {"grp_cin": "12", "grp_cout": "18"}))
    assert at.radio(key="grp_groups").options == ["1", "2", "3", "6"]
    at = load_app(GROUPS, {"grp_k": "11", "grp_size": "5"})
    assert not at.exception
    assert len(at.error) == 1 and "dilated kernel 1*(11-1)+1 = 11 is larger than the padded input 5+1+1 = 7" in at.error[0].value
    at = load_app(GROUPS, {"grp_groups": "5"})  # not a divisor: the link value falls back, with a note
    assert not at.exception and "`grp_groups=5`" in at.warning[0].value


def test_groups_url_round_trip(url_of):
    at = ok(load_app(GROUPS))
    at.radio(key="grp_op").set_value("ConvTranspose2d").run()
    at.number_input(key="grp_cin").set_value(6).run()
    at.number_input(key="grp_cout").set_value(12).run()
    at.radio(key="grp_groups").set_value(3).run()
    at.radio(key="grp_focus").set_value(5).run()
    again = reload(url_of, at, GROUPS, "grp_")
    assert groups_state(again) == groups_state(at) and table(again) == table(at)
    assert again.radio(key="grp_focus").value == 5


# ---- padding modes ------------------------------------------------------------------------------------------------

TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def padding_state(at: AppTest) -> dict:
    return widgets(at, "pad_")


def check_padding_against_torch(at: AppTest) -> None:
    """The traced cell's description and the convolution outputs (hover texts) equal torch's numbers."""
    s = padding_state(at)
    h, w, kh, kw, row, col = s["pad_h"], s["pad_w"], s["pad_kh"], s["pad_kw"], s["pad_row"], s["pad_col"]
    x = torch.arange(1, h * w + 1, dtype=torch.float64).reshape(1, 1, h, w)
    if s["pad_values"] != "ramp":
        return
    if s["pad_kind"] == "same":
        d = s["pad_dil"]
        pads = [(d * (k - 1)) // 2 for k in (kh, kw)]
        pads = (pads[1], d * (kw - 1) - pads[1], pads[0], d * (kh - 1) - pads[0])  # left, right, top, bottom
        padding = "same"
    else:
        d = 1
        pads = (s["pad_pw"], s["pad_pw"], s["pad_ph"], s["pad_ph"])
        padding = (s["pad_ph"], s["pad_pw"])
    line = next(m.value for m in at.markdown if m.value.startswith(f"**padded[{row}, {col}]**"))
    conv = specs(at)[1]
    for mode, torch_mode in TORCH_MODE.items():
        try:
            padded = torch.nn.functional.pad(x, pads, mode=torch_mode)[0, 0]
        except (RuntimeError, NotImplementedError):
            assert f"{mode}: not allowed here" in line
            continue
        value = padded[row, col].item()
        assert re.search(rf"{mode}: (0 \(a zero\)|x\[\d+, \d+\] = {value:g})", line), (mode, value, line)
        if value == 0 and mode != "zeros":
            assert f"{mode}: 0 (a zero)" not in line
        layer = torch.nn.Conv2d(1, 1, (kh, kw), padding=padding, dilation=d, bias=False, padding_mode=mode,
                                dtype=torch.float64)
        with torch.no_grad():
            layer.weight.fill_(1 / (kh * kw))
            ref = layer(x)[0, 0].numpy()
        shown = hover_values(conv, f"{mode}: out")
        assert len(shown) == ref.size
        for (r, c), v in shown.items():
            assert v == pytest.approx(ref[r, c], rel=1e-5, abs=1e-9)


def test_padding_defaults_trace_sources_like_torch():
    at = ok(load_app(PADDING))
    line = next(m.value for m in at.markdown if m.value.startswith("**padded[0, 0]**"))
    assert line.endswith("zeros: 0 (a zero); reflect: x[2, 2] = 13; replicate: x[0, 0] = 1; circular: x[2, 3] = 14")
    check_padding_against_torch(at)
    fig = specs(at)[0]
    assert fig["layout"]["meta"]["selected"] == [0, 0]
    # the arrows point from the selected padded cell to the copied one: reflect, replicate (same cell? no: corner),
    # circular -- zeros copies nothing, so three arrows at most
    assert 1 <= len(fig["layout"].get("annotations", [])) <= 3


@pytest.mark.parametrize("kind, key, value", [
    ("number_input", "pad_h", 6), ("number_input", "pad_w", 3), ("number_input", "pad_kh", 2),
    ("number_input", "pad_kw", 5), ("selectbox", "pad_values", "random integers"), ("number_input", "pad_ph", 1),
    ("number_input", "pad_pw", 3), ("number_input", "pad_row", 3), ("number_input", "pad_col", 8),
    ("radio", "pad_kind", "same"),
])
def test_padding_each_control(kind, key, value):
    at = ok(load_app(PADDING))
    getattr(at, kind)(key=key).set_value(value).run()
    ok(at)
    assert padding_state(at)[key] == value
    check_padding_against_torch(at)


def test_padding_same_with_even_kernel_puts_the_extra_row_bottom_right():
    at = ok(load_app(PADDING, {"pad_kind": "same", "pad_kh": "4", "pad_kw": "2", "pad_dil": "1"}))
    info = at.info[0].value
    assert "3 rows and 1 columns in total, split top 1 / bottom 2, left 0 / right 1" in info
    check_padding_against_torch(at)
    at.number_input(key="pad_dil").set_value(3).run()
    assert not at.exception
    assert "split top 4 / bottom 5, left 1 / right 2" in at.info[0].value
    assert [e.value.split(":")[0] for e in at.error] == ["PyTorch refuses padding_mode='reflect' here",
                                                         "PyTorch refuses padding_mode='circular' here"]
    check_padding_against_torch(at)


def test_padding_limits_are_explained_not_raised():
    at = load_app(PADDING, {"pad_h": "3", "pad_ph": "3", "pad_pw": "6"})
    assert not at.exception
    errors = " | ".join(e.value for e in at.error)
    assert "padding_mode='reflect'" in errors and "padding (3, 3) on an axis of size 3" in errors
    assert "padding_mode='circular'" in errors and "wrap around at most once: padding (6, 6) on an axis of size 5" in errors
    check_padding_against_torch(at)
    at = load_app(PADDING, {"pad_h": "1", "pad_ph": "0", "pad_kh": "3"})  # the kernel is taller than the input
    assert not at.exception
    assert any("kernel can't be greater than the padded input" in e.value for e in at.error)


def test_padding_url_round_trip(url_of):
    at = ok(load_app(PADDING))
    at.number_input(key="pad_h").set_value(5).run()
    at.radio(key="pad_kind").set_value("same").run()
    at.number_input(key="pad_kh").set_value(4).run()
    at.number_input(key="pad_row").set_value(5).run()
    again = reload(url_of, at, PADDING, "pad_")
    assert padding_state(again) == padding_state(at)
    assert [m.value for m in again.markdown] == [m.value for m in at.markdown]


# ---- matrix view -------------------------------------------------------------------------------------------------


def matrix_state(at: AppTest) -> dict:
    return widgets(at, "mat_")


def check_matrix_against_torch(at: AppTest) -> None:
    s = matrix_state(at)
    h, w, k, stride, p, d = (s[f"mat_{n}"] for n in ("h", "w", "k", "s", "p", "d"))
    C = array(next(sp for sp in specs(at) if sp["layout"].get("title", {}).get("text", "").startswith("C:"))["data"][0]["z"])
    # C must be the Jacobian of torch's conv2d (with the page's kernel) with respect to its input
    x = torch.zeros(1, 1, h, w, dtype=torch.float64)
    kernel = torch.from_numpy(_page_kernel(at, k))
    jac = torch.autograd.functional.jacobian(
        lambda t: torch.nn.functional.conv2d(t, kernel, stride=stride, padding=p, dilation=d), x)
    np.testing.assert_array_equal(C, jac.reshape(C.shape).numpy())
    gap = float(at.metric[0].value)
    assert gap < 1e-6
    assert float(at.metric[1].value) == pytest.approx(0, abs=1e-9)


def _page_kernel(at: AppTest, k: int) -> np.ndarray:
    from convcore.ui.values import named_values

    return named_values(matrix_state(at)["mat_wv"], (1, 1, k, k), seed=1, kind="weight").astype(np.float64)


def test_matrix_defaults():
    at = ok(load_app(MATRIX))
    check_matrix_against_torch(at)
    text = " ".join(m.value for m in at.markdown)
    assert "max |C x - conv2d(x)| = **0.0e+00**" in text and "max |T - C^T| = **0.0e+00**" in text


@pytest.mark.parametrize("key, value", [("mat_h", 6), ("mat_w", 4), ("mat_k", 2), ("mat_s", 2), ("mat_p", 2),
                                        ("mat_d", 2), ("mat_orow", 1), ("mat_ocol", 1)])
def test_matrix_each_number(key, value):
    at = ok(load_app(MATRIX, {"mat_h": "5", "mat_w": "5"}))  # room for a dilated 3x3 kernel
    at.number_input(key=key).set_value(value).run()
    ok(at)
    check_matrix_against_torch(at)


@pytest.mark.parametrize("key, value", [("mat_wv", "edge x"), ("mat_g", "ones")])
def test_matrix_each_choice(key, value):
    at = ok(load_app(MATRIX))
    at.selectbox(key=key).set_value(value).run()
    ok(at)
    check_matrix_against_torch(at)


def test_matrix_output_padding_appears_when_conv2d_drops_rows():
    at = ok(load_app(MATRIX, {"mat_h": "6", "mat_w": "5", "mat_s": "2", "mat_k": "3", "mat_p": "0"}))
    assert "output_padding = (1, 0)" in at.info[0].value
    check_matrix_against_torch(at)


def test_matrix_invalid_settings_are_explained():
    at = load_app(MATRIX, {"mat_h": "1", "mat_k": "4"})
    assert not at.exception
    assert "dilated kernel height d*(k-1)+1 = 1*(4-1)+1 = 4 is larger than the padded input height 1+0+0 = 1" in at.error[0].value


def test_matrix_url_round_trip(url_of):
    at = ok(load_app(MATRIX))
    for key, value in (("mat_h", 5), ("mat_s", 2), ("mat_p", 1), ("mat_orow", 2)):
        at.number_input(key=key).set_value(value).run()
    at.selectbox(key="mat_wv").set_value("random integers").run()
    again = reload(url_of, at, MATRIX, "mat_")
    assert matrix_state(again) == matrix_state(at)
    assert specs(again)[0]["data"] == specs(at)[0]["data"]


# ---- checkerboard -----------------------------------------------------------------------------------------------


def checker_state(at: AppTest) -> dict:
    return widgets(at, "chk_")


def check_counts_against_torch(at: AppTest) -> None:
    s = checker_state(at)
    k = s["chk_k"] if s["chk_kernel"] != "bilinear" else 2 * s["chk_s"] - s["chk_s"] % 2
    ref = torch.nn.functional.conv_transpose2d(torch.ones(1, 1, 5, 5), torch.ones(1, 1, k, k), stride=s["chk_s"])[0, 0]
    shown = {}
    for trace in specs(at)[0]["data"]:
        for text in trace.get("hovertext") or []:
            m = re.fullmatch(r"output\[(\d+), (\d+)\]: (\d+) taps", str(text))
            if m:
                shown[(int(m.group(1)), int(m.group(2)))] = int(m.group(3))
    assert len(shown) == ref.numel()
    for (r, c), v in shown.items():
        assert v == ref[r, c].item()


def strengths(at: AppTest) -> dict[str, float]:
    return {m.label: float(m.value) for m in at.metric}


def test_checkerboard_defaults():
    at = ok(load_app(CHECKER))
    check_counts_against_torch(at)
    assert "alternate between 1 and 4" in at.warning[0].value
    values = strengths(at)
    assert values["ConvTranspose2d"] > 1.0  # counts 1, 2, 2, 4: a strong stride-2 pattern
    assert values["nearest resize + Conv2d"] < 0.01 and values["bilinear resize + Conv2d"] < 0.01
    images = specs(at)[1]
    assert array(images["data"][1]["z"]).shape == (128, 128)  # the 64 px sample, upsampled by 2


@pytest.mark.parametrize("kind, key, value", [
    ("number_input", "chk_s", 3), ("number_input", "chk_k", 4), ("radio", "chk_kernel", "random"),
    ("radio", "chk_kernel", "bilinear"), ("selectbox", "chk_img", "astronaut"), ("number_input", "chk_side", 40),
])
def test_checkerboard_each_control(kind, key, value):
    at = ok(load_app(CHECKER))
    getattr(at, kind)(key=key).set_value(value).run()
    ok(at)
    check_counts_against_torch(at)
    s = checker_state(at)
    k = s["chk_k"] if s["chk_kernel"] != "bilinear" else 2 * s["chk_s"] - s["chk_s"] % 2
    even = k % s["chk_s"] == 0
    assert bool(at.success) == even
    if key == "chk_k":  # k=4, s=2: even overlap, and the image shows no stride pattern
        assert strengths(at)["ConvTranspose2d"] < 0.05
    if value == "bilinear":
        assert at.number_input(key="chk_k").proto.disabled


def test_checkerboard_impossible_settings_are_errors_not_crashes():
    at = load_app(CHECKER, {"chk_side": "16", "chk_k": "7", "chk_s": "1"})
    assert not at.exception
    assert any("Too small to measure" in e.value for e in at.error)
    at = load_app(CHECKER, {"chk_k": "8", "chk_s": "1"})  # even kernel, stride 1: the size moves in steps of 2
    assert not at.exception
    assert "No padding makes this ConvTranspose2d exactly 1x larger" in at.error[0].value
    assert "only 71, 69, 67, ... are reachable" in at.error[0].value


def test_checkerboard_url_round_trip(url_of):
    at = ok(load_app(CHECKER))
    at.number_input(key="chk_s").set_value(3).run()
    at.radio(key="chk_kernel").set_value("random").run()
    at.selectbox(key="chk_img").set_value("coffee").run()
    again = reload(url_of, at, CHECKER, "chk_")
    assert checker_state(again) == checker_state(at) and strengths(again) == strengths(at)


# ---- shape planner ------------------------------------------------------------------------------------------------


EDITOR = "plan_editor_0"  # the layer table's key in a fresh session


def planner_rows(at: AppTest) -> list[dict]:
    return table(at, 1)  # dataframe 0 is the editable layer table


def model_code(at: AppTest) -> str:
    return next(c.value for c in at.code if "import torch" in c.value)  # not the share panel's link


def run_export(at: AppTest):
    scope: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(model_code(at), "<planner page export>", "exec"), scope)  # noqa: S102 - the page's own code
    return scope


def test_planner_defaults_find_the_mismatch_and_the_fix_works_in_torch():
    at = ok(load_app(PLANNER))
    rows = planner_rows(at)
    assert [r["output (C, H, W)"] for r in rows] == ["(16, 14, 14)", "(32, 7, 7)", "(16, 13, 13)", "(1, 25, 25)"]
    assert [r["status"] for r in rows] == ["ok", "ok", "misses its mirror", "misses its mirror"]
    assert len(at.warning) == 2 and "all input heights 13 to 14 and widths 13 to 14 give 7x7" in at.warning[0].value
    fixes = " ".join(m.value for m in at.markdown)
    assert "layer 3: output_padding 0 -> 1" in fixes and "layer 4: output_padding 0 -> 1" in fixes
    broken = run_export(at)
    assert tuple(broken["y"].shape) == (1, 1, 25, 25)
    at.button(key="plan_apply").click().run()
    ok(at)
    assert at.success and "(1, 28, 28)" in at.success[0].value
    assert at.query_params["plan_layers"] == "C16k3s2p1.C32k3s2p1.T16k3s2p1o1.T1k3s2p1o1"
    fixed = run_export(at)
    assert tuple(fixed["y"].shape) == (1, 1, 28, 28)


def test_planner_table_edits_add_and_delete_rows():
    at = ok(load_app(PLANNER))
    at.session_state[EDITOR] = {
        "edited_rows": {0: {"out_channels": 8, "stride": "1"}},
        "added_rows": [{"layer": "Conv2d", "out_channels": 3, "kernel_size": "1"}],
        "deleted_rows": [2],
    }
    at.run()
    ok(at)
    rows = planner_rows(at)
    assert [r["output (C, H, W)"] for r in rows] == ["(8, 28, 28)", "(32, 14, 14)", "(1, 27, 27)", "(3, 27, 27)"]
    assert at.query_params["plan_layers"] == "C8k3p1.C32k3s2p1.T1k3s2p1.C3k1"


def test_planner_bad_cells_and_invalid_layers_are_explained():
    at = ok(load_app(PLANNER))
    at.session_state[EDITOR] = {"edited_rows": {1: {"stride": "2,a"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert "layer 2: stride '2,a' is not a whole number (3) or a height,width pair (3,5)" in at.error[0].value
    at = load_app(PLANNER, {"plan_layers": "C16k3s2p1.C32k3g3"})
    assert not at.exception
    assert "Layer 2 (Conv2d) is rejected by PyTorch: in_channels must be divisible by groups" in at.error[0].value
    at = load_app(PLANNER, {"plan_layers": "C16k3.T1k3s2p1o5"})
    assert not at.exception and "output_padding must be smaller than either stride or dilation" in at.error[0].value
    at = load_app(PLANNER, {"plan_layers": "nonsense"})
    assert not at.exception and "`plan_layers=nonsense`" in at.warning[0].value
    assert len(planner_rows(at)) == 4  # the example chain stands in


def test_planner_input_shape_example_picker_and_activation():
    at = ok(load_app(PLANNER))
    at.number_input(key="plan_h").set_value(32).run()
    at.number_input(key="plan_w").set_value(30).run()
    ok(at)
    # even sizes halve exactly, but k=3, s=2, p=1 still gives back 2n - 1 without output_padding
    assert [r["output (C, H, W)"] for r in planner_rows(at)] == ["(16, 16, 15)", "(32, 8, 8)", "(16, 15, 15)",
                                                                  "(1, 29, 29)"]
    assert "layer 3: output_padding 0 -> (1, 0)" in " ".join(m.value for m in at.markdown)  # 8 -> 16 high, 15 wide
    at.number_input(key="plan_c").set_value(3).run()
    assert "out_channels should be 3, not 1" in at.warning[-1].value
    at.selectbox(key="plan_example").set_value("DCGAN-style 4x4 kernels: 64 -> 8 -> 64 (fits)").run()
    ok(at)
    assert at.number_input(key="plan_h").value == 64 and at.success
    assert at.selectbox(key="plan_example").value is None
    at.radio(key="plan_act").set_value("none").run()
    assert "nn.ReLU" not in model_code(at) and tuple(run_export(at)["y"].shape) == (1, 3, 64, 64)


def test_planner_unsolvable_chain_says_why():
    at = load_app(PLANNER, {"plan_layers": "C4k4s4.T1k2s2", "plan_h": "32", "plan_w": "32"})
    assert not at.exception and "plan_apply" not in {b.key for b in at.button}  # no fix to apply
    assert "Not solvable by padding / output_padding alone" in at.error[0].value
    assert "cannot reach an output height of 32 from 8" in at.error[0].value


def test_planner_url_round_trip(url_of):
    at = ok(load_app(PLANNER, {"plan_layers": "C8k3x5s2p1x2.T1k3x5s2p1x2o1x0", "plan_h": "20", "plan_w": "21"}))
    rows = planner_rows(at)
    assert [r["output (C, H, W)"] for r in rows] == ["(8, 10, 11)", "(1, 20, 21)"]
    again = reload(url_of, at, PLANNER, "plan_")
    assert planner_rows(again) == rows
    assert chain_from_text(url_of(at, "plan_")["plan_layers"])[0].kernel_size == (3, 5)
