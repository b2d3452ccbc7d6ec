"""AppTest of the Practice page: a ten-question round to its summary (answers typed as people write them, cells
picked), unreadable answers not counted, the seed in the URL reproducing the questions, the lesson links."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from convcore.teaching.practice import IMPOSSIBLE, KINDS, question
from convcore.ui.practice import ROUND, answer_text, lesson_link

PAGE = "pages/practice/practice.py"


def typed(part) -> str:
    """The engine's answer in a notation a student would use."""
    a = part.answer
    if a == IMPOSSIBLE:
        return "Impossible"
    if part.form == "shape":
        return f"{a[-2]}x{a[-1]}"
    if part.form in ("pair", "tuple"):
        return str(list(a))
    return str(a)


def answer(at, q, n: int, right: bool) -> None:
    if q.kind in ("sources", "targets"):
        cells = set(q.parts[0].answer)
        if not right:
            cells ^= {(0, 0)} if (0, 0) not in cells or len(cells) > 1 else {(0, 1)}
        at.session_state["pr_picked"] = cells
        at.button(key=f"pr_check_{n}").click().run()
        return
    for i, part in enumerate(q.parts):
        text = typed(part)
        if not right and i == 0:
            text = "impossible" if part.answer != IMPOSSIBLE else "(9, 9)"
        at.text_input(key=f"pr_a{n}_{i}").input(text)
    at.button(key=f"FormSubmitter:pr_form_{n}-Check").click().run()


def test_a_round_of_ten_to_its_summary(app_test):
    at = app_test(PAGE, {"pr_seed": "7", "pr_level": "2"})
    assert not at.exception
    kinds_seen = set()
    for n in range(ROUND):
        q = question(7, n, 2)
        kinds_seen.add(q.kind)
        assert at.subheader[0].value == f"Question {n + 1} of {ROUND} · {q.title}"
        assert any(q.prompt[:40] in m.value for m in at.markdown)
        right = n % 3 != 2  # every third answer wrong
        answer(at, q, n, right)
        assert not at.exception
        verdict = (at.success if right else at.error)
        assert verdict and answer_text(q) in verdict[0].value, (q.kind, q.prompt)
        at.button(key="pr_next").click().run()
    assert kinds_seen == set(KINDS)
    assert at.subheader[0].value == f"Round over: 7 of {ROUND} right"
    tally = at.session_state["pr_tally"]
    assert (tally["right"], tally["answered"]) == (7, 10)
    assert sum(n for _, n in tally["kinds"].values()) == 10
    at.button(key="pr_next_round").click().run()
    assert at.subheader[0].value == f"Question 1 of {ROUND} · {question(7, ROUND, 2).title}"


def test_unreadable_answers_get_a_message_and_are_not_counted(app_test):
    at = app_test(PAGE, {"pr_seed": "3", "pr_level": "1", "pr_kinds": "shape"})
    q = question(3, 0, 1, ("shape",))
    assert q.kind == "shape"
    at.text_input(key="pr_a0_0").input("three by three")
    at.button(key="FormSubmitter:pr_form_0-Check").click().run()
    assert not at.exception
    assert "could not read" in at.warning[0].value
    assert at.session_state["pr_tally"]["answered"] == 0
    at.text_input(key="pr_a0_0").input(f"({q.parts[0].answer[-2]}, {q.parts[0].answer[-1]})")
    at.button(key="FormSubmitter:pr_form_0-Check").click().run()
    assert at.success and at.session_state["pr_tally"]["right"] == 1


def test_checking_no_selected_cell_is_not_counted(app_test):
    at = app_test(PAGE, {"pr_seed": "2", "pr_level": "1", "pr_kinds": "targets"})
    at.button(key="pr_check_0").click().run()
    assert "No cell selected" in at.warning[0].value
    assert at.session_state["pr_tally"]["answered"] == 0


def test_the_seed_in_the_url_gives_the_same_questions(app_test):
    prompts = []
    for _ in range(2):
        at = app_test(PAGE, {"pr_seed": "4321", "pr_level": "3"})
        seen = []
        for n in range(3):
            seen.append(at.markdown[1].value if at.markdown else "")
            q = question(4321, n, 3)
            assert q.prompt[:40] in " ".join(m.value for m in at.markdown)
            answer(at, q, n, True)
            at.button(key="pr_next").click().run()
        prompts.append(seen)
    assert prompts[0] == prompts[1]
    other = app_test(PAGE, {"pr_seed": "4322", "pr_level": "3"})
    assert question(4322, 0, 3).prompt[:40] in " ".join(m.value for m in other.markdown)


@pytest.mark.parametrize("kind", ["value", "sources", "targets", "shape", "padding", "weights"])
def test_the_lesson_link_opens_the_lesson_at_that_configuration(app_test, kind):
    """The link's query parameters, opened on the lesson page, give the question's configuration (and values)."""
    q = next(q for n in range(40) for q in [question(11, n, 2, (kind,))] if lesson_link(q) is not None)
    _, url = lesson_link(q)
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    page = {"conv2d": "pages/lessons/conv2d.py", "conv_transpose2d": "pages/lessons/conv_transpose2d.py"}[parts.path]
    at = app_test(page, params)
    assert not at.exception
    assert not at.warning, [w.value for w in at.warning]  # every value was usable
    cfg = q.config
    prefix = "ct" if cfg["op"] == "conv_transpose2d" else "c2"
    assert at.number_input(key=f"{prefix}_k_h").value == cfg["kernel_size"][0]
    assert at.number_input(key=f"{prefix}_in_w").value == cfg["width"]
    if q.kind == "value":  # the lesson's arithmetic ends in the question's answer
        text = " ".join(m.value for m in at.markdown)
        assert f"out[0,0,{q.cell[0]},{q.cell[1]}]" in text
        assert f"= {answer_text(q)}" in text


def test_chain_link_opens_the_planner(app_test):
    q = next(q for n in range(20) for q in [question(5, n, 1, ("chain",))])
    _, url = lesson_link(q)
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    at = app_test("pages/concepts/planner.py", params)
    assert not at.exception
    # the planner finds the same broken layer (its warning names it) and no link value was replaced
    assert len(at.warning) == 1 and f"layer {q.parts[0].answer}" in at.warning[0].value.lower(), at.warning[0].value
