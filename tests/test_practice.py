"""Practice questions against torch: 1,000 generated questions per kind and difficulty, every configuration one torch
accepts (or, for 'impossible', rejects) and every answer torch's; the generator is deterministic per seed; answers in
each notation people use are graded right, wrong values wrong, unreadable text gets a message."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from convcore.teaching.practice import IMPOSSIBLE, KINDS, Unreadable, generate, grade_part, parse_numbers, question, round_kinds

torch.set_num_threads(1)
N = 1000  # questions per kind and difficulty


def questions(kind: str, level: int):
    rng = np.random.default_rng([20261204, level, list(KINDS).index(kind)])
    return [generate(kind, level, rng) for _ in range(N)]


def torch_layer(cfg: dict, device: str = "cpu", **overrides):
    cfg = {**cfg, **overrides}
    common = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"], groups=cfg["groups"],
                  bias=cfg["bias"], device=device)
    if cfg["op"] == "conv2d":
        return torch.nn.Conv2d(cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"],
                               padding_mode=cfg["padding_mode"], **common)
    return torch.nn.ConvTranspose2d(cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"],
                                    output_padding=cfg["output_padding"], **common)


def torch_output_shape(cfg: dict, **overrides) -> tuple[int, ...]:
    cfg = {**cfg, **overrides}
    x = torch.empty(1, cfg["in_channels"], cfg["height"], cfg["width"], device="meta")
    return tuple(torch_layer(cfg, "meta")(x).shape)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_output_shapes_are_torchs(level):
    for q in questions("shape", level):
        assert torch_output_shape(q.config) == q.parts[0].answer, q.prompt


@pytest.mark.parametrize("level", [1, 2, 3])
def test_output_values_are_torchs(level):
    for q in questions("value", level):
        m = torch_layer(q.config)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(q.w))
            if q.b is not None:
                m.bias.copy_(torch.from_numpy(q.b))
            y = m(torch.from_numpy(q.x))
        assert float(y[0, 0, q.cell[0], q.cell[1]]) == pytest.approx(q.parts[0].answer, abs=1e-5), q.prompt


def _structural_grad(cfg: dict, out_cell) -> set:
    """The input cells with a nonzero gradient of output[0, 0, i, j] for a kernel of ones and an input of ones
    (positive terms only: nothing cancels, so nonzero means read)."""
    m = torch_layer({**cfg, "bias": False})
    with torch.no_grad():
        m.weight.fill_(1.0)
    x = torch.ones(1, 1, cfg["height"], cfg["width"], requires_grad=True)
    m(x)[0, 0, out_cell[0], out_cell[1]].backward()
    return {(int(r), int(c)) for r, c in torch.nonzero(x.grad[0, 0]).tolist()}


@pytest.mark.parametrize("level", [1, 2, 3])
def test_cells_feeding_an_output_are_torchs_gradient(level):
    ops = set()
    for q in questions("sources", level):
        ops.add((q.config["op"], q.config["padding_mode"]))
        assert _structural_grad(q.config, q.cell) == set(q.parts[0].answer), q.prompt
    if level == 3:  # the hard level reaches both ops and the copying padding modes
        assert {("conv_transpose2d", "zeros"), ("conv2d", "reflect"), ("conv2d", "circular")} <= ops


@pytest.mark.parametrize("level", [1, 2, 3])
def test_outputs_an_input_touches_are_torchs(level):
    """The transposed op's Jacobian column: output[., ., r, c] depends on input (i, j) (gradient of the output sum
    restricted to those cells, via a one-hot input through a kernel of ones)."""
    for q in questions("targets", level):
        cfg = q.config
        m = torch_layer({**cfg, "bias": False})
        with torch.no_grad():
            m.weight.fill_(1.0)
            x = torch.zeros(1, 1, cfg["height"], cfg["width"])
            x[0, 0, q.cell[0], q.cell[1]] = 1.0
            y = m(x)[0, 0]
        assert {(int(r), int(c)) for r, c in torch.nonzero(y).tolist()} == set(q.parts[0].answer), q.prompt


def _size_or_none(cfg, p, axis):
    try:
        return torch_output_shape(cfg, padding=(p, p))[2 + axis]
    except RuntimeError:  # torch rejects this padding (the padded input is smaller than the kernel)
        return None


@pytest.mark.parametrize("level", [1, 2, 3])
def test_padding_answers_are_torchs(level):
    seen = set()
    for q in questions("padding", level):
        cfg, answer = q.config, q.parts[0].answer
        size = (cfg["height"], cfg["width"])
        if q.extra["variant"] == "same":
            if answer == IMPOSSIBLE:  # no integer padding keeps the size in some dimension
                reachable = [any(_size_or_none(cfg, p, a) == size[a] for p in range(0, 12)) for a in (0, 1)]
                assert not all(reachable), q.prompt
            else:
                assert torch_output_shape(cfg, padding=answer)[2:] == size, q.prompt
        else:
            target = q.extra["target"]
            if answer == IMPOSSIBLE:  # torch's forward(output_size=...) rejects the size
                m = torch_layer(cfg)
                with pytest.raises((RuntimeError, ValueError)):
                    m(torch.zeros(1, 1, *size), output_size=list(target))
            else:
                assert torch_output_shape(cfg, output_padding=answer)[2:] == target, q.prompt
        seen.add((q.extra["variant"], answer == IMPOSSIBLE))
    assert len(seen) == 4, seen  # both variants, each with and without a solution


@pytest.mark.parametrize("level", [1, 2, 3])
def test_weight_shapes_and_counts_are_torchs(level):
    depthwise = 0
    for q in questions("weights", level):
        m = torch_layer(q.config, "meta")
        assert tuple(m.weight.shape) == q.parts[0].answer, q.prompt
        assert sum(p.numel() for p in m.parameters()) == q.parts[1].answer, q.prompt
        depthwise += q.config["groups"] == q.config["in_channels"] > 1
    assert level < 3 or depthwise > 0


def _torch_chain_shapes(input_shape, layers):
    x = torch.empty((1,) + tuple(input_shape), device="meta")
    shapes = []
    channels = input_shape[0]
    for spec in layers:
        kw = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation, groups=spec.groups, device="meta")
        if spec.kind == "Conv2d":
            m = torch.nn.Conv2d(channels, spec.out_channels, spec.kernel_size, **kw)
        else:
            m = torch.nn.ConvTranspose2d(channels, spec.out_channels, spec.kernel_size,
                                         output_padding=spec.output_padding, **kw)
        x = m(x)
        shapes.append(tuple(x.shape[1:]))
        channels = spec.out_channels
    return shapes


@pytest.mark.parametrize("level", [1, 2, 3])
def test_chain_answers_are_torchs(level):
    for q in questions("chain", level):
        layers, start = list(q.chain), q.chain_input
        shapes = _torch_chain_shapes(start, layers)
        depth = len(layers) // 2
        received = [start] + shapes[: depth - 1]  # what each Conv2d received
        targets = {depth + i: received[depth - 1 - i] for i in range(depth)}
        first_miss = min(i for i in targets if shapes[i] != targets[i])
        assert first_miss + 1 == q.parts[0].answer, q.prompt
        fixed = list(layers)
        broken = fixed[first_miss]
        fixed[first_miss] = type(broken)(**{**broken.__dict__, "output_padding": q.parts[1].answer})
        assert _torch_chain_shapes(start, fixed)[-1] == start, q.prompt


# ---- determinism and rounds ----------------------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_questions():
    first = [question(42, n, 2) for n in range(14)]
    again = [question(42, n, 2) for n in range(14)]
    assert [(q.kind, q.prompt, q.parts) for q in first] == [(q.kind, q.prompt, q.parts) for q in again]
    other = [question(43, n, 2) for n in range(14)]
    assert [q.prompt for q in first] != [q.prompt for q in other]
    assert {q.kind for q in first} == set(KINDS)  # two blocks of seven: every kind twice


def test_round_kinds_follow_the_chosen_kinds():
    assert set(round_kinds(1, 10, ("shape", "value"))) == {"shape", "value"}
    assert round_kinds(1, 10) == round_kinds(1, 10)


# ---- reading answers ------------------------------------------------------------------------------------------------

SHAPE = (1, 8, 3, 3)


@pytest.mark.parametrize("text", ["3x3", "3 x 3", "3×3", "(3, 3)", "3, 3", "[3, 3]", "3 3", "[8, 3, 3]",
                                  "[1, 8, 3, 3]", "torch.Size([1, 8, 3, 3])", "3", " (3,3) "])
def test_shape_notations_are_right(text):
    assert grade_part("shape", SHAPE, text).status == "right"


@pytest.mark.parametrize("text", ["3x4", "(4, 3)", "[1, 3, 3]", "4", "impossible", "3.5 x 3", "[2, 8, 3, 3]"])
def test_wrong_shapes_are_wrong(text):
    assert grade_part("shape", SHAPE, text).status == "wrong"


@pytest.mark.parametrize("text", ["", "three by three", "3x", "eval('3')", "(3, 3", "3,,3", "__import__('os')"])
def test_unreadable_answers_get_a_message(text):
    with pytest.raises(Unreadable, match="."):
        grade_part("shape", SHAPE, text)


@pytest.mark.parametrize("text, status", [("-2.5", "right"), ("−2.5", "right"), ("-2.50", "right"),
                                          ("-25e-1", "right"), ("2.5", "wrong"), ("-2", "wrong"),
                                          ("impossible", "wrong")])
def test_numbers(text, status):
    assert grade_part("number", -2.5, text).status == status


def test_a_number_answer_needs_one_number():
    with pytest.raises(Unreadable, match="one number"):
        grade_part("number", 3, "3, 4")


@pytest.mark.parametrize("text, expected, status", [
    ("impossible", IMPOSSIBLE, "right"), ("Impossible", IMPOSSIBLE, "right"), ("none", IMPOSSIBLE, "right"),
    ("(1, 1)", IMPOSSIBLE, "wrong"), ("impossible", (1, 0), "wrong"), ("(1, 0)", (1, 0), "right"),
    ("1x0", (1, 0), "right"), ("1", (1, 1), "right"), ("1", (1, 0), "wrong"), ("0, 1", (1, 0), "wrong"),
])
def test_pairs_and_impossible(text, expected, status):
    assert grade_part("pair", expected, text).status == status


def test_tuples_and_cells():
    assert grade_part("tuple", (8, 1, 3, 3), "[8, 1, 3, 3]").right
    assert grade_part("tuple", (8, 1, 3, 3), "(8, 1, 3)").status == "wrong"
    assert grade_part("cells", {(0, 1), (1, 1)}, {(1, 1), (0, 1)}).right
    assert grade_part("cells", {(0, 1), (1, 1)}, {(1, 1)}).status == "wrong"
    assert grade_part("cells", {(0, 1), (1, 1)}, "(0, 1), (1, 1)").right
    with pytest.raises(Unreadable):
        grade_part("cells", {(0, 1)}, "(0, 1), (1")
    assert parse_numbers("torch.Size([1, 3, 3])") == (1, 3, 3)


def test_question_grade_combines_parts():
    q = next(question(3, n, 1) for n in range(20) if question(3, n, 1).kind == "weights")
    shape, count = q.parts[0].answer, q.parts[1].answer
    assert q.grade([str(list(shape)), str(count)]).right
    assert q.grade([str(list(shape)), str(count + 1)]).status == "wrong"
    verdict = q.grade(["a weight", str(count)])
    assert verdict.status == "unreadable" and verdict.message.startswith("weight shape:")
