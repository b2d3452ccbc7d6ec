"""The Practice page's Streamlit parts: settings in the URL (seed, difficulty, kinds), rounds of ten questions
with the score, streak and per-kind tally in the session, answer boxes or clickable grids, and the explanation
(verdict, formula with the numbers, the lesson's own figure, the arithmetic, a link to the lesson at exactly that
configuration). The questions and the grading come from convcore.teaching.practice.
"""
from __future__ import annotations

import functools
import secrets
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from ..teaching.planner import chain_to_text, plan_chain
from ..teaching.practice import IMPOSSIBLE, KINDS, Question, question
from ..teaching.trace import trace_conv2d, trace_conv_transpose2d
from ..viz import CellRef
from ..viz.concepts import chain_figure, grids_figure
from ..viz.conv_animation import conv2d_figure, zero_insertion_figure
from ..viz.practice import pick_figure
from .config import ConvConfig
from .formulas import output_size_latex
from .lesson_chart import chart
from .params import LIMITS
from .url_state import choice, int_input, show_url_notes, widget_key
from .values import encode_overrides, named_values

P = "pr"
ROUND = 10  # questions per round
LEVELS = (1, 2, 3)
CLICK_KINDS = ("sources", "targets")


# ---- settings and session state -----------------------------------------------------------------------------------

def _new_seed() -> None:
    st.session_state[widget_key(P, "seed")] = secrets.randbelow(10000)


def settings() -> tuple[int, int, tuple[str, ...]]:
    """Seed, difficulty and kinds, in the sidebar and the URL (`pr_seed`, `pr_level`, `pr_kinds`)."""
    with st.sidebar:
        st.subheader("Practice settings")
        seed = int_input(P, "seed", "seed", 0, 9999, 1, help="Everyone who opens a link with the same seed, "
                                                             "difficulty and kinds gets the same questions in the same order.")
        st.button("New seed", key=widget_key(P, "new_seed"), on_click=_new_seed, icon=":material/casino:")
        level = choice(P, "level", "difficulty", list(LEVELS), 1, horizontal=True,
                       help="1: one parameter at a time, small sizes; 2: several parameters; 3: everything (both "
                            "ops, groups, dilation, 'same', padding modes, output_padding).")
        # the options are the short kind names, so that a link reads pr_kinds=shape (a format_func would put the
        # long titles in the URL)
        kinds = st.multiselect("question kinds", list(KINDS), default=list(KINDS), key=widget_key(P, "kinds"),
                               bind="query-params", help="Leave some out to practise the others; none chosen means "
                               "all. " + "; ".join(f"{k}: {t}" for k, t in KINDS.items()))
        show_url_notes()
    return int(seed), int(level), tuple(k for k in KINDS if k in kinds) or tuple(KINDS)


def _state() -> dict:
    """Session-wide tallies: answered, right, streak, best streak, per kind [right, answered]."""
    return st.session_state.setdefault(widget_key(P, "tally"), {"answered": 0, "right": 0, "streak": 0, "best": 0,
                                                                 "kinds": {k: [0, 0] for k in KINDS}})


def _round(settings_key: tuple) -> dict:
    """This round's progress; a change of seed, difficulty or kinds starts the sequence over."""
    ss = st.session_state
    key = widget_key(P, "round")
    if ss.get(key, {}).get("settings") != settings_key:
        ss[key] = {"settings": settings_key, "index": 0, "n": 0, "results": [], "verdict": None}
    return ss[key]


@st.cache_resource(show_spinner=False, max_entries=256)
def cached_question(seed: int, number: int, level: int, kinds: tuple[str, ...]) -> Question:
    """question(...) (shared: never mutate it)."""
    return question(seed, number, level, kinds)


# ---- the page -------------------------------------------------------------------------------------------------------

def practice_page() -> None:
    seed, level, kinds = settings()
    rnd = _round((seed, level, kinds))
    scoreboard(rnd)
    if rnd["n"] >= ROUND:
        summary(rnd)
        return
    number = rnd["index"] * ROUND + rnd["n"]
    q = cached_question(seed, number, level, kinds)
    st.subheader(f"Question {rnd['n'] + 1} of {ROUND} · {q.title}")
    st.markdown(q.prompt)
    verdict = rnd["verdict"]
    done = verdict is not None and verdict["number"] == number
    show_question(q, number, done)
    if done:
        explain(q, verdict)
        st.button("Next question" if rnd["n"] + 1 < ROUND else "See the summary", key=widget_key(P, "next"),
                  type="primary", on_click=_next, args=(rnd,), icon=":material/arrow_forward:")


def scoreboard(rnd: dict) -> None:
    tally = _state()
    right = sum(r for _, r in rnd["results"])
    cols = st.columns(4)
    cols[0].metric("This round", f"{right} / {len(rnd['results'])}")
    cols[1].metric("Streak", tally["streak"], help=f"best: {tally['best']}")
    cols[2].metric("Session", f"{tally['right']} / {tally['answered']}")
    with cols[3]:
        with st.popover("Per kind", icon=":material/leaderboard:"):
            st.markdown(_tally_table(tally))


def _tally_table(tally: dict) -> str:
    rows = [f"| {KINDS[k]} | {r} / {n} |" for k, (r, n) in tally["kinds"].items() if n]
    return "| kind | right |\n|---|---|\n" + "\n".join(rows) if rows else "No answers yet."


def summary(rnd: dict) -> None:
    right = sum(r for _, r in rnd["results"])
    st.subheader(f"Round over: {right} of {ROUND} right")
    per_kind: dict[str, list[int]] = {}
    for kind, ok in rnd["results"]:
        per_kind.setdefault(kind, [0, 0])
        per_kind[kind][0] += ok
        per_kind[kind][1] += 1
    st.markdown("| kind | right |\n|---|---|\n" + "\n".join(f"| {KINDS[k]} | {r} / {n} |" for k, (r, n) in per_kind.items()))
    weakest = min(per_kind.items(), key=lambda item: item[1][0] / item[1][1])
    if weakest[1][0] < weakest[1][1]:
        st.info(f"To practise next: **{KINDS[weakest[0]]}** ({weakest[1][0]} of {weakest[1][1]} right). Choose it "
                "alone under *question kinds* in the sidebar.", icon=":material/school:")
    st.button("Next ten questions", key=widget_key(P, "next_round"), type="primary", on_click=_next_round,
              args=(rnd,), icon=":material/replay:")


def _next(rnd: dict) -> None:
    rnd["n"] += 1
    rnd["verdict"] = None
    st.session_state.pop(widget_key(P, "picked"), None)


def _next_round(rnd: dict) -> None:
    rnd.update(index=rnd["index"] + 1, n=0, results=[], verdict=None)


# ---- asking ---------------------------------------------------------------------------------------------------------

def show_question(q: Question, number: int, done: bool) -> None:
    if q.kind == "value":
        st.plotly_chart(values_figure(q), key=widget_key(P, f"values_{number}"), width="content",
                        config={"displayModeBar": False})
    if q.kind in CLICK_KINDS:
        click_answer(q, number, done)
    else:
        typed_answer(q, number, done)


def values_figure(q: Question):
    grids, titles = {}, {}
    for c in range(q.x.shape[1]):
        grids[f"x{c}"], titles[f"x{c}"] = q.x[0, c], f"input ch {c}" if q.x.shape[1] > 1 else "input"
    for c in range(q.w.shape[1]):
        grids[f"w{c}"], titles[f"w{c}"] = q.w[0, c], (f"weight[0, {c}]" if q.config["op"] == "conv2d" else f"weight[{c}, 0]")
    if q.b is not None:
        grids["b"], titles["b"] = q.b.reshape(1, 1), "bias"
    return grids_figure(grids, titles=titles, max_width=820, max_height=260, per_row=5, shared_scale=False,
                        hover_name="")


def typed_answer(q: Question, number: int, done: bool) -> None:
    with st.form(widget_key(P, f"form_{number}"), border=False, enter_to_submit=True):
        cols = st.columns(len(q.parts) + 1, vertical_alignment="bottom")
        for i, part in enumerate(q.parts):
            with cols[i]:
                st.text_input(part.label, key=widget_key(P, f"a{number}_{i}"), placeholder=part.example,
                              disabled=done)
        with cols[-1]:
            st.form_submit_button("Check", type="primary", disabled=done, on_click=_check, args=(q, number),
                                  icon=":material/check:")
    _unreadable_note(number)


def _picked() -> set:
    return st.session_state.setdefault(widget_key(P, "picked"), set())


def _toggle(grid: str, cell: CellRef) -> None:
    if cell.grid != grid:
        return
    picked = _picked()
    picked.symmetric_difference_update({(cell.row, cell.col)})


def click_answer(q: Question, number: int, done: bool) -> None:
    cfg = q.config
    out_hw = ConvConfig(**cfg).output_hw()
    grid = "input" if q.kind == "sources" else "output"
    picked = _picked()
    marked = {"output": q.cell} if q.kind == "sources" else {"input": q.cell}
    answer = {grid: set(q.parts[0].answer)} if done else None
    fig = pick_figure({"input": (cfg["height"], cfg["width"]), "output": out_hw}, marked=marked,
                      selected={grid: picked}, answer=answer,
                      titles={"input": "input" + (" (click)" if grid == "input" else ""),
                              "output": "output" + (" (click)" if grid == "output" else "")})
    chart(fig, widget_key(P, f"pick_{number}"), None if done else functools.partial(_toggle, grid),
          alt=f"the {grid} grid: click cells to select them")
    cells = ", ".join(f"({r}, {c})" for r, c in sorted(picked)) or "none yet"
    st.markdown(f"Selected {grid} cells: {cells}")
    if not done:
        left, right, _ = st.columns([1, 1, 4])
        left.button("Check", key=widget_key(P, f"check_{number}"), type="primary", on_click=_check, args=(q, number),
                    icon=":material/check:")
        right.button("Clear", key=widget_key(P, f"clear_{number}"), on_click=_picked().clear, icon=":material/close:")
    _unreadable_note(number)


def _unreadable_note(number: int) -> None:
    note = st.session_state.get(widget_key(P, "unreadable"))
    if note and note[0] == number:
        st.warning(f"{note[1]} (not counted: try again)", icon=":material/help:")


def _check(q: Question, number: int) -> None:
    """Grade (a callback: runs once per press); unreadable answers are reported, not counted."""
    ss = st.session_state
    if q.kind in CLICK_KINDS:
        given = [frozenset(_picked())]
        if not given[0]:  # every answer has at least one cell: an empty check is a slip, not an answer
            ss[widget_key(P, "unreadable")] = (number, "No cell selected: click the cells on the grid first")
            return
    else:
        given = [ss.get(widget_key(P, f"a{number}_{i}"), "") for i in range(len(q.parts))]
    grade = q.grade(given)
    if grade.status == "unreadable":
        ss[widget_key(P, "unreadable")] = (number, grade.message)
        return
    ss.pop(widget_key(P, "unreadable"), None)
    rnd = ss[widget_key(P, "round")]
    rnd["verdict"] = {"number": number, "right": grade.right, "given": given, "note": grade.message}
    rnd["results"].append((q.kind, grade.right))
    tally = _state()
    tally["answered"] += 1
    tally["right"] += grade.right
    tally["streak"] = tally["streak"] + 1 if grade.right else 0
    tally["best"] = max(tally["best"], tally["streak"])
    tally["kinds"][q.kind][0] += grade.right
    tally["kinds"][q.kind][1] += 1


# ---- explaining -----------------------------------------------------------------------------------------------------

def answer_text(q: Question) -> str:
    """The engine's answer as a student would write it."""
    texts = []
    for part in q.parts:
        a = part.answer
        if a == IMPOSSIBLE:
            texts.append("impossible")
        elif part.form == "shape":
            texts.append(f"{a[-2]}x{a[-1]} (full shape {tuple(a)})")
        elif part.form == "cells":
            texts.append(", ".join(f"({r}, {c})" for r, c in sorted(a)))
        elif part.form == "number":
            texts.append(f"{float(a):g}")
        else:
            texts.append(str(a))
    return "; ".join(f"{p.label} {t}" if len(q.parts) > 1 else t for p, t in zip(q.parts, texts))


def _given_text(q: Question, given) -> str:
    if q.kind in CLICK_KINDS:
        return ", ".join(f"({r}, {c})" for r, c in sorted(given[0])) or "no cells"
    return "; ".join(f"`{g}`" for g in given)


def explain(q: Question, verdict: dict) -> None:
    note = f" ({verdict['note']})" if verdict["note"] else ""
    if verdict["right"]:
        st.success(f"Right: {answer_text(q)}.", icon=":material/check_circle:")
    else:
        st.error(f"Not quite{note}. You answered {_given_text(q, verdict['given'])}; the answer is "
                 f"**{answer_text(q)}**.", icon=":material/cancel:")
    st.markdown("**Why**\n\n" + "\n".join(f"- `{line}`" for line in q.why))
    if q.kind in ("shape", "padding"):
        cfg = _formula_config(q)
        for line in output_size_latex(cfg):
            st.latex(line)
    figure = explanation_figure(q)
    if figure is not None:
        st.plotly_chart(figure, key=widget_key(P, f"explain_{q.number}"), width="content",
                        config={"displayModeBar": False})
    link = lesson_link(q)
    if link is not None:
        label, url = link
        st.link_button(label, url, icon=":material/open_in_new:")


def _formula_config(q: Question) -> ConvConfig:
    """The configuration whose formula explains the answer (with the answer filled in where it is a setting)."""
    cfg = dict(q.config)
    answer = q.parts[0].answer
    if q.kind == "padding" and answer != IMPOSSIBLE:
        cfg["padding" if q.extra["variant"] == "same" else "output_padding"] = answer
    return ConvConfig(**cfg)


def lesson_values(q: Question):
    """The question's input, weight and bias, or the lesson's default values when the question has none."""
    cfg = ConvConfig(**q.config)
    if q.x is not None:
        return q.x, q.w, q.b
    x = named_values("small integers", cfg.input_shape)
    w = named_values("small integers", cfg.weight_shape, kind="weight")
    b = named_values("small integers", cfg.bias_shape, kind="weight") if cfg.bias else None
    return x, w, b


def explanation_figure(q: Question):
    """The lesson's own figure at the question's cell: the window and the arithmetic with the real numbers
    (value, sources), the outputs an input cell feeds (targets), the chain's shapes (chain)."""
    if q.kind == "chain":
        return chain_figure(plan_chain(q.chain_input, q.chain))
    if q.kind not in ("value", "sources", "targets"):
        return None
    cfg = q.config
    x, w, b = lesson_values(q)
    if cfg["op"] == "conv2d":
        trace = trace_conv2d(x, w, b, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"], cfg["padding_mode"])
        draw = conv2d_figure
    else:
        trace = trace_conv_transpose2d(x, w, b, cfg["stride"], cfg["padding"], cfg["output_padding"], cfg["groups"],
                                       cfg["dilation"]).zero_insertion
        draw = zero_insertion_figure
    if q.kind == "targets":
        steps = trace.steps_reading(*q.cell)
        return draw(trace, int(steps[0]), focus_input=q.cell, animate=False, max_width=820, max_height=430)
    return draw(trace, trace.step_of(*q.cell), animate=False, max_width=820, max_height=430)


def _pair_params(prefix: str, name: str, pair) -> dict:
    return {f"{prefix}_{name}_h": int(pair[0]), f"{prefix}_{name}_w": int(pair[1])}


def _fits_lesson(cfg: dict) -> bool:
    """Whether the lesson's controls reach every value (their upper bounds are LIMITS)."""
    padding = 0 if isinstance(cfg["padding"], str) else max(cfg["padding"])
    return (max(cfg["in_channels"], cfg["out_channels"]) <= LIMITS["channels"]
            and max(cfg["height"], cfg["width"]) <= LIMITS["input_size"] and padding <= LIMITS["padding"]
            and max(cfg["kernel_size"]) <= LIMITS["kernel_size"] and max(cfg["stride"]) <= LIMITS["stride"]
            and max(cfg["dilation"]) <= LIMITS["dilation"])


def lesson_link(q: Question) -> tuple[str, str] | None:
    """(label, relative URL) of the lesson (or the planner) at exactly this question's configuration."""
    if q.kind == "chain":
        c, h, w = q.chain_input
        query = {"plan_layers": chain_to_text(q.chain), "plan_c": c, "plan_h": h, "plan_w": w}
        return "Open this chain in the shape planner", "planner?" + urlencode(query)
    cfg = dict(q.config)
    if q.kind == "padding" and q.parts[0].answer != IMPOSSIBLE:
        cfg = _formula_config(q).as_dict()
    elif q.kind == "padding" and q.extra["variant"] == "same":
        cfg["padding"] = "same"
    if not _fits_lesson(cfg):
        return None
    transposed = cfg["op"] == "conv_transpose2d"
    p = "ct" if transposed else "c2"
    query = {f"{p}_cin": cfg["in_channels"], f"{p}_cout": cfg["out_channels"], **_pair_params(p, "in", (cfg["height"], cfg["width"])),
             **_pair_params(p, "k", cfg["kernel_size"]), **_pair_params(p, "d", cfg["dilation"]),
             f"{p}_groups": cfg["groups"], f"{p}_bias": str(bool(cfg["bias"])).lower()}
    if cfg["padding"] != "same":
        query.update(_pair_params(p, "s", cfg["stride"]))
    if transposed:
        query.update(_pair_params(p, "p", cfg["padding"]))
        query.update(_pair_params(p, "op", cfg["output_padding"]))
    else:
        if isinstance(cfg["padding"], str):
            query[f"{p}_pkind"] = cfg["padding"]
        else:
            query.update({f"{p}_pkind": "numbers", **_pair_params(p, "p", cfg["padding"])})
        query[f"{p}_pmode"] = cfg["padding_mode"]
    if q.x is not None:  # the values as edited cells over the lesson's default choice
        for name, values, kind in (("x", q.x, "input"), ("w", q.w, "weight"), ("b", q.b, "weight")):
            if values is None:
                continue
            base = named_values("small integers", values.shape, kind=kind)
            changed = np.flatnonzero(values != base)
            text = encode_overrides(values.shape, {int(i): float(values.flat[i]) for i in changed})
            if text:
                query[f"{p}_{name}_cells"] = text
    if q.cell is not None and q.kind in ("value", "sources"):
        out_w = ConvConfig(**cfg).output_hw()[1]
        query[f"{p}_step"] = q.cell[0] * out_w + q.cell[1]
    if q.kind == "targets":
        query[f"{p}_focus"] = f"{q.cell[0]},{q.cell[1]}"
    page = "conv_transpose2d" if transposed else "conv2d"
    return f"Open the {'ConvTranspose2d' if transposed else 'Conv2d'} lesson at this configuration", f"{page}?" + urlencode(query)
