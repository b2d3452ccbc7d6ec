"""Predict mode: the step's terms add up to torch's output cell; guesses (numbers or written-out arithmetic) are
graded, wrong ones mark the term that differs; the lessons' toggle hides the future outputs and asks first."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from convcore.teaching.practice import Unreadable
from convcore.teaching.practice.predict import check_prediction, parse_terms, step_terms
from convcore.teaching.trace import trace_conv2d, trace_conv_transpose2d

torch.set_num_threads(1)


@pytest.mark.parametrize("seed", range(40))
def test_terms_add_up_to_torchs_output(seed):
    rng = np.random.default_rng(seed)
    transposed = seed % 2 == 1
    x = rng.integers(-3, 5, (1, 2, 4, 5)).astype(np.float32)
    w = rng.integers(-2, 3, (2, 1, 3, 2) if transposed else (1, 2, 3, 2)).astype(np.float32)
    b = rng.integers(-3, 3, (1,)).astype(np.float32)
    if transposed:
        trace = trace_conv_transpose2d(x, w, b, 2, 1, 1).zero_insertion
        ref = torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), 2, 1, 1)
    else:
        trace = trace_conv2d(x, w, b, 1, 1)
        ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), 1, 1)
    for step in range(trace.n_steps):
        r, c = trace.cell_of(step)
        assert sum(t.value for t in step_terms(trace, step)) == pytest.approx(float(ref[0, 0, r, c]))
        assert check_prediction(trace, step, str(float(ref[0, 0, r, c]))).status == "right"


@pytest.fixture
def trace():
    x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    w = np.array([[[[1, -1], [2, 0]]]], np.float32)
    return trace_conv2d(x, w, np.array([0.5], np.float32))  # out[0,0] = 0*1 + 1*(-1) + 3*2 + 4*0 + 0.5 = 5.5


def marks(p):
    return [(t.text, t.mark) for t in p.terms if t.mark]


def test_right_guesses(trace):
    for text in ("5.5", " 5.50 ", "0*1 + 1*(-1) + 3*2 + 4*0 + 0.5", "0·1 + 1·(-1) + 3·2 + 4·0 + 0.5 (bias)", "6 - 1 + 0.5"):
        assert check_prediction(trace, 0, text).status == "right", text


def test_a_left_out_term_a_flipped_sign_and_the_forgotten_bias_are_marked(trace):
    assert marks(check_prediction(trace, 0, "6.5")) == [("1·(-1)", "left out")]
    assert marks(check_prediction(trace, 0, "5")) == [("0.5 (bias)", "left out")]
    assert marks(check_prediction(trace, 0, "7.5")) == [("1·(-1)", "sign")]


def test_written_terms_mark_the_first_that_differs(trace):
    p = check_prediction(trace, 0, "0*1 + 1*1 + 3*2 + 4*0 + 0.5")
    assert p.status == "wrong" and marks(p) == [("1·(-1)", "differs")]
    assert "term 2 is 1" in p.message


def test_unreadable_guesses_raise_with_a_message(trace):
    for text in ("", "five", "2 3", "1*", "__import__('os')"):
        with pytest.raises(Unreadable, match="."):
            check_prediction(trace, 0, text)
    assert parse_terms("1*2 - 3*(-1) + .5") == [2.0, 3.0, 0.5]


# ---- the lessons ---------------------------------------------------------------------------------------------------

def chart_spec(at, key):
    """The window figure's spec (the lesson's only chart with an 'output' grid on this tab)."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return next(spec for spec in specs if any(t.get("name") == "output" for t in spec["data"]))


def output_texts(spec):
    return next(t for t in spec["data"] if t.get("name") == "output")["text"]


@pytest.mark.parametrize("page, p", [("pages/lessons/conv2d.py", "c2"), ("pages/lessons/conv_transpose2d.py", "ct")])
def test_predict_mode_asks_before_showing_and_highlights_the_differing_term(app_test, page, p):
    at = app_test(page, {f"{p}_predict": "true", f"{p}_step": "2"})
    assert not at.exception
    texts = output_texts(chart_spec(at, f"{p}_chart_window"))
    assert texts[2] == "?" and not any(texts[3:]) and all(texts[:2])  # cells 0, 1 shown; 2 asked; the rest hidden
    assert not [m for m in at.markdown if "cs-arithmetic" in m.value]  # the arithmetic waits for the guess
    at.text_input(key=f"{p}_guess_2").input("1000")
    at.button(key=f"FormSubmitter:{p}_guess_form_2-Check").click().run()
    assert at.error and "is not it" in at.error[0].value
    # written-out terms: the first differing term is highlighted in the arithmetic
    from convcore.ui.lesson import window_trace  # the lesson's own trace of this configuration
    trace = window_trace(*_lesson_args(at, p))
    terms = step_terms(trace, 2)
    wrong = " + ".join(["1000*1"] + [str(t.value) for t in terms[1:]])
    at.text_input(key=f"{p}_guess_2").input(wrong)
    at.button(key=f"FormSubmitter:{p}_guess_form_2-Check").click().run()
    shown = [m.value for m in at.markdown if "cs-differs" in m.value]
    assert shown and terms[0].text.replace("(", "") in shown[0].replace("(", "")
    at.text_input(key=f"{p}_guess_2").input(str(float(trace.results[2])))
    at.button(key=f"FormSubmitter:{p}_guess_form_2-Check").click().run()
    assert at.success and [m for m in at.markdown if "cs-arithmetic" in m.value]  # revealed: the arithmetic shows
    assert output_texts(chart_spec(at, f"{p}_chart_window"))[2] not in ("", "?")
    at.button(key=f"{p}_predict_next_2").click().run()
    assert output_texts(chart_spec(at, f"{p}_chart_window"))[3] == "?"


def test_predict_mode_off_shows_everything(app_test):
    at = app_test("pages/lessons/conv2d.py", {"c2_step": "2"})
    assert at.toggle(key="c2_predict").value is False
    assert "?" not in output_texts(chart_spec(at, "c2_chart_window"))


def _lesson_args(at, p):
    """(cfg, x, w, b, out_channel) of the lesson's default configuration, as the page builds them."""
    from convcore.ui import ConvConfig, named_values
    defaults = {"c2": {"height": 5, "width": 5, "kernel_size": (3, 3), "padding": (1, 1)},
                "ct": {"op": "conv_transpose2d", "height": 3, "width": 3, "kernel_size": (3, 3), "stride": (2, 2),
                       "padding": (1, 1)}}[p]
    cfg = ConvConfig(**defaults)
    x = named_values("small integers", cfg.input_shape)
    w = named_values("small integers", cfg.weight_shape, kind="weight")
    b = named_values("small integers", cfg.bias_shape, kind="weight")
    return cfg, x, w, b, 0
