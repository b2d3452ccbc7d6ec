"""The layer-chain lab page through AppTest: presets, adding, editing and reordering steps, each bad chain (named
step, rule and numbers; earlier steps keep their pictures; the table keeps what was typed), and the planner -> lab
-> planner round trip through the pages' own links."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from convcore.teaching.chain import PRESET_CHAINS, chain_text, parse_chain

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "pages/lab/chain.py"
DEFAULT = PRESET_CHAINS["blur then Sobel"][1]


def open_lab(steps: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if steps is not None:
        at.query_params["chain_steps"] = steps
    at.query_params["chain_side"] = "64"
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def step_titles(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Step ")]


def editor_key(at) -> str:
    version = at.session_state["chain_version"] if "chain_version" in at.session_state else 0
    return f"chain_editor_{version}"


def edit(at, edited=None, added=None, deleted=None) -> AppTest:
    at.session_state[editor_key(at)] = {"edited_rows": edited or {}, "added_rows": added or [],
                                        "deleted_rows": deleted or []}
    at.run()
    assert not at.exception, at.exception
    return at


def step_spec(at, index: int) -> dict:
    return json.loads(at.get("plotly_chart")[1 + 2 * index].proto.spec)  # after the input; picture, histogram


def test_default_chain_shows_every_step_with_shape_range_and_histogram():
    at = open_lab()
    titles = step_titles(at)
    assert len(titles) == 3 and "gaussian@1" in titles[0] and "sobel x" in titles[1] and "abs" in titles[2]
    assert all("(1, 64, 64) -> (1, 64, 64)" in t and "values" in t for t in titles)
    assert len(at.get("plotly_chart")) == 1 + 2 * 3
    assert not at.error


@pytest.mark.parametrize("name", list(PRESET_CHAINS))
def test_every_preset_runs(name):
    at = open_lab()
    at.selectbox(key="chain_preset").set_value(name).run()
    assert not at.exception and not at.error
    assert at.query_params.get("chain_steps", DEFAULT) == PRESET_CHAINS[name][1]
    assert len(step_titles(at)) == len(parse_chain(PRESET_CHAINS[name][1]))


def test_encoder_decoder_presets_show_the_reconstruction_and_the_checkerboard_measure():
    at = open_lab(PRESET_CHAINS["stride-2 encoder, kernel-3 decoder (checkerboard)"][1], chain_chan="RGB")
    metrics = {m.label: m.value for m in at.metric}
    assert "dB" in metrics["PSNR (output vs input)"]
    assert float(metrics["checkerboard strength (flat input, period 4)"]) > 0.5
    at = open_lab(PRESET_CHAINS["stride-2 encoder, kernel-4 decoder (no checkerboard)"][1], chain_chan="RGB")
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["checkerboard strength (flat input, period 4)"]) < 1e-3


def test_adding_a_step():
    at = open_lab()
    edit(at, added=[{"step": "scale/offset", "scale": "0.5", "offset": "10"}])
    titles = step_titles(at)
    assert len(titles) == 4 and "scale/offset" in titles[3]
    assert at.query_params["chain_steps"] == "C1k5p2~gaussian@1.C1k3p1~sobel x.A.S0.5o10"


def test_an_empty_chain_keeps_the_tables_columns_and_builds_from_added_rows():
    at = open_lab("")
    assert [i.value for i in at.info] == ["The chain is empty: add a row to the table or choose a preset."]
    assert not step_titles(at)
    edit(at, added=[{"step": "Conv2d", "out_channels": 2, "kernel_size": "3", "padding": "1", "weights": "box blur"},
                    {"step": "ReLU"}])
    assert at.query_params["chain_steps"] == "C2k3p1~box blur.R"
    titles = step_titles(at)
    assert len(titles) == 2 and "(1, 64, 64) -> (2, 64, 64)" in titles[0] and "ReLU" in titles[1]
    assert not at.error


def test_editing_a_layer_changes_its_output_and_the_url():
    at = open_lab()
    before = step_spec(at, 1)
    edit(at, edited={1: {"weights": "sobel y", "out_channels": 2}})
    assert at.query_params["chain_steps"] == "C1k5p2~gaussian@1.C2k3p1~sobel y.A"
    titles = step_titles(at)
    assert "(1, 64, 64) -> (2, 64, 64)" in titles[1] and "feature maps" in json.dumps(step_spec(at, 1))
    assert step_spec(at, 1) != before


def test_reordering_steps_keeps_every_cell():
    at = open_lab("C1k5p2~gaussian@1.C1k3p1~sobel x.A")
    at.number_input(key="chain_pick").set_value(3).run()
    at.button(key="chain_up").click().run()
    assert not at.exception
    assert at.query_params["chain_steps"] == "C1k5p2~gaussian@1.A.C1k3p1~sobel x"
    assert at.number_input(key="chain_pick").value == 2
    at.button(key="chain_up").click().run()
    assert at.query_params["chain_steps"] == "A.C1k5p2~gaussian@1.C1k3p1~sobel x"


@pytest.mark.parametrize("edited,words", [
    ({1: {"groups": 2, "out_channels": 2}}, ["step 2", "groups", "in_channels"]),  # 1 input channel, groups 2
    ({1: {"kernel_size": "99", "padding": "0"}}, ["step 2", "99"]),  # an empty output
    ({1: {"step": "ConvTranspose2d", "kernel_size": "512", "stride": "512", "padding": "0", "weights": "r1"}},
     ["step 2", "cap", "32768 x 32768"]),  # larger than the size cap
    ({1: {"kernel_size": "3,x"}}, ["step 2", "kernel_size", "3,x"]),  # a cell the table cannot read
    ({1: {"weights": "sobel q"}}, ["step 2", "unknown kernel", "sobel q"]),
])
def test_bad_chains_name_the_step_keep_the_others_and_what_was_typed(edited, words):
    at = open_lab()
    edit(at, edited=edited)
    assert len(at.error) == 1
    message = at.error[0].value
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    assert len(step_titles(at)) == 1  # step 1 still shows its picture
    rows = at.session_state["chain_rows"]
    for column, value in edited[1].items():
        assert rows[1][column] == value  # nothing typed is lost


def test_planner_to_lab_to_planner_keeps_the_chain():
    at = AppTest.from_file(APP, default_timeout=60)
    original = "C8k3s2p1.C16k3s2p1.T8k4s2p1.T3k4s2p1"
    at.query_params.update({"plan_layers": original, "plan_c": "3", "plan_h": "64", "plan_w": "64"})
    at.run()
    at.switch_page("pages/concepts/planner.py").run()
    (link,) = [p for p in at.get("page_link") if p.proto.page == "chain"]
    query = {k: v[0] for k, v in parse_qs(link.proto.query_string).items()}
    assert query["chain_chan"] == "RGB"

    lab = open_lab(query["chain_steps"], chain_chan=query["chain_chan"])
    assert len(step_titles(lab)) == 4 and not lab.error
    (back,) = [p for p in lab.get("page_link") if p.proto.page == "planner"]
    params = {k: v[0] for k, v in parse_qs(back.proto.query_string).items()}
    assert params["plan_layers"] == original

    # the lab's weights and elementwise steps survive a trip through the planner, which edits only layers
    lab = open_lab("C8k3s2p1~gaussian@1.R.C16k3s2p1~r4.T8k4s2p1~b.A.T3k4s2p1~r9", chain_chan="RGB")
    (back,) = [p for p in lab.get("page_link") if p.proto.page == "planner"]
    params = {k: v[0] for k, v in parse_qs(back.proto.query_string).items()}
    planner = AppTest.from_file(APP, default_timeout=60)
    planner.query_params.update(params)
    planner.run()
    planner.switch_page("pages/concepts/planner.py").run()
    (link,) = [p for p in planner.get("page_link") if p.proto.page == "chain"]
    query = {k: v[0] for k, v in parse_qs(link.proto.query_string).items()}
    assert query["chain_steps"] == "C8k3s2p1~gaussian@1.R.C16k3s2p1~r4.T8k4s2p1~b.A.T3k4s2p1~r9"


def test_a_bad_link_is_noted_and_the_default_chain_runs():
    at = open_lab("C3k3.Xyz")
    assert len(step_titles(at)) == 3
    assert any("chain_steps" in w.value or "Xyz" in w.value for w in list(at.warning) + list(at.caption) + list(at.info))


def test_ab_compares_two_chains_with_linked_zoom_difference_and_numbers():
    at = open_lab("C3k3p1g3~box blur", chain_chan="RGB")
    at.toggle(key="chain_ab").set_value(True).run()
    assert not at.exception
    assert at.text_input(key="chain_b").value == "C3k3p1g3~box blur"  # B starts as A
    at.text_input(key="chain_b").set_value("C3k3p1g3~sharpen").run()
    assert not at.exception and not at.error
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.key == "chain_abfig").proto.spec)
    assert spec["layout"]["xaxis2"]["matches"] == "x" and spec["layout"]["yaxis2"]["matches"] == "y"
    assert any(c.key == "chain_abdiff" for c in at.get("plotly_chart"))
    numbers = at.dataframe[-1].value
    assert "max |B - A|" in list(numbers.iloc[:, 0]) and "shape" not in list(numbers.iloc[:, 0])
    assert any("step 1: C3k3p1g3~box blur vs C3k3p1g3~sharpen" in c.value for c in at.caption)


def test_ab_with_a_bad_chain_b_names_its_step():
    at = open_lab("C3k3p1g3~box blur", chain_chan="RGB", chain_ab="true", chain_b="C3k3p1g3~box blur.C3k3g2")
    assert len(at.error) == 1 and "Chain B: step 2" in at.error[0].value
    assert len(step_titles(at)) == 1  # chain A still shows


def test_the_image_labs_layer_continues_as_a_chain():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"lab_side": "64", "lab_sample": "coffee"})
    at.run()
    at.switch_page("pages/lab/lab.py").run()
    assert not at.exception
    (link,) = [p for p in at.get("page_link") if p.proto.page == "chain"]
    query = {k: v[0] for k, v in parse_qs(link.proto.query_string).items()}
    assert query["chain_sample"] == "coffee" and query["chain_chan"] == "RGB"
    steps = parse_chain(query["chain_steps"])
    assert len(steps) == 1 and steps[0].layer.groups == 3 and steps[0].weights.startswith("v")
    chain = open_lab(query["chain_steps"], chain_chan="RGB", chain_sample="coffee")
    assert not chain.error and len(step_titles(chain)) == 1


def test_a_step_summary_keeps_no_reference_to_the_full_output():
    """The summaries (48 kept) hold display copies and statistics only: the full outputs live in the prefix cache,
    whose byte bound would mean nothing if a summary kept an evicted 144 MB output alive."""
    import gc
    import weakref

    from convcore.ui import chain as ui_chain

    out = np.random.default_rng(0).normal(100, 50, (3, 600, 900)).astype(np.float32)
    shown = ui_chain.summary("summary-test", "C3k3p1g3~box blur", out)
    assert shown.shape == out.shape and shown.display.shape == (3, 341, 512)
    assert (shown.low, shown.high) == (float(out.min()), float(out.max()))
    assert shown.histogram.counts.sum() == 3 * out[0].size
    assert shown.value_range("min-max") == (shown.low, shown.high)
    gone = weakref.ref(out)
    del out
    gc.collect()
    assert gone() is None
