"""Predict mode in the lessons: a toggle kept in the URL (`<prefix>_predict`); before the next output cell is shown
the student types its value; a wrong guess shows the step's arithmetic with the differing term highlighted.

The lesson calls three functions: hidden_from() (the step from which the figure hides the outputs, or None when
predict mode is off), figure() (the window figure with those cells hidden) and panel() (the guess box; True while
the arithmetic must stay hidden). The checking is convcore.teaching.practice.predict's.
"""
from __future__ import annotations

import html

import streamlit as st

from ..teaching.practice import Unreadable
from ..teaching.practice.predict import check_prediction
from ..teaching.trace.text import format_number
from ..viz.conv_animation import window_figure
from .url_state import flag, widget_key

MARK_STYLE = "background: #F0E442; border: 2px solid #D55E00; border-radius: 4px; padding: 0 3px"


def _revealed(prefix: str) -> set:
    """Steps whose value the student has seen (predicted right, or revealed), this session."""
    return st.session_state.setdefault(widget_key(prefix, "predicted"), set())


def hidden_from(prefix: str, step: int) -> int | None:
    """Draw the toggle; the step from which the output cells stay hidden (None: predict mode is off)."""
    on = flag(prefix, "predict", "Predict mode", False,
              help="Type each output cell's value before it is shown; a wrong guess shows the arithmetic with the "
                   "term that differs highlighted.")
    if not on:
        return None
    return step + 1 if step in _revealed(prefix) else step


def figure(trace, step: int, hide_from: int, focus=None, max_width: int = 820, max_height: int = 430):
    """The window figure at `step` with the output cells of steps >= hide_from hidden (no frames: a few ms)."""
    return window_figure(trace, step, focus_input=focus, hide_outputs_from=hide_from, max_width=max_width,
                         max_height=max_height)


def _check(prefix: str, trace, step: int) -> None:
    text = st.session_state.get(widget_key(prefix, f"guess_{step}"), "")
    try:
        result = check_prediction(trace, step, text)
    except Unreadable as err:
        st.session_state[widget_key(prefix, "guess_result")] = (step, None, str(err))
        return
    st.session_state[widget_key(prefix, "guess_result")] = (step, result, text)
    if result.status == "right":
        _revealed(prefix).add(step)


def _reveal(prefix: str, step: int) -> None:
    _revealed(prefix).add(step)


def _next(prefix: str, step: int, n_steps: int) -> None:
    st.session_state[widget_key(prefix, "step")] = min(step + 1, n_steps - 1)


def terms_html(terms) -> str:
    """The step's terms joined by +, the marked one highlighted and labelled."""
    parts = []
    for t in terms:
        text = html.escape(t.text)
        if t.mark:
            text = f"<span class='cs-differs' style='{MARK_STYLE}' title='{html.escape(t.mark)}'>{text} ← {html.escape(t.mark)}</span>"
        parts.append(text)
    return " + ".join(parts)


def panel(prefix: str, trace, step: int) -> bool:
    """The guess box for the current cell and the verdict; True while the cell is still to be predicted (the
    lesson then keeps its arithmetic panel back)."""
    if not st.session_state.get(widget_key(prefix, "predict")):
        return False
    r, c = trace.cell_of(step)
    result = st.session_state.get(widget_key(prefix, "guess_result"))
    result = result if result is not None and result[0] == step else None
    revealed = step in _revealed(prefix)
    if not revealed:
        box, side = st.columns([5, 1], vertical_alignment="bottom")
        with box, st.form(widget_key(prefix, f"guess_form_{step}"), border=False):
            left, right = st.columns([4, 1], vertical_alignment="bottom")
            left.text_input(f"Your prediction for out[{trace.batch},{trace.out_channel},{r},{c}]",
                            key=widget_key(prefix, f"guess_{step}"), placeholder="a number, or 1*2 + 3*(-1) + ...")
            right.form_submit_button("Check", type="primary", on_click=_check, args=(prefix, trace, step),
                                     icon=":material/check:")
        side.button("Reveal", key=widget_key(prefix, f"reveal_{step}"), on_click=_reveal, args=(prefix, step),
                    icon=":material/visibility:")
    if result is not None:
        _, verdict, text = result
        if verdict is None:
            st.warning(f"{text} (not counted: try again)", icon=":material/help:")
        elif verdict.status == "right":
            st.success(verdict.message, icon=":material/check_circle:")
        else:
            st.error(f"`{text}` is not it. {verdict.message}", icon=":material/cancel:")
            st.markdown(f"<div class='cs-arithmetic' style='font-family: monospace; font-size: 1.15rem; "
                        f"line-height: 1.8'>out[{trace.batch},{trace.out_channel},{r},{c}] = {terms_html(verdict.terms)} = "
                        f"{html.escape(format_number(verdict.answer))}</div>", unsafe_allow_html=True)
    if revealed and step + 1 < trace.n_steps:
        st.button("Next cell", key=widget_key(prefix, f"predict_next_{step}"), type="primary", on_click=_next,
                  args=(prefix, step, trace.n_steps), icon=":material/arrow_forward:")
    return not revealed


__all__ = ["hidden_from", "figure", "panel", "terms_html"]
