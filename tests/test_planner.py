"""Shape planner: shapes and errors against torch, the padding/output_padding solver against an exhaustive search,
the URL text form, and the exported nn.Sequential code run in torch."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings, strategies as st

from convcore.teaching.planner import (
    CONV,
    TRANSPOSE,
    chain_from_text,
    chain_to_text,
    layer,
    plan_chain,
    solve_chain,
    solve_transpose,
    to_pytorch,
)

torch.set_num_threads(1)

AUTOENCODER = "C16k3s2p1.C32k3s2p1.T16k3s2p1.T1k3s2p1"  # the classic 28x28 decoder that comes back as 25x25


def torch_layer(spec, in_channels):
    if spec.kind == CONV:
        return torch.nn.Conv2d(in_channels, spec.out_channels, spec.kernel_size, spec.stride, spec.padding,
                               spec.dilation, spec.groups, bias=False)
    return torch.nn.ConvTranspose2d(in_channels, spec.out_channels, spec.kernel_size, spec.stride, spec.padding,
                                    spec.output_padding, spec.groups, bias=False, dilation=spec.dilation)


def torch_shapes(input_shape, layers):
    """Each layer's output shape from torch, or the index of the first layer torch rejects."""
    x = torch.zeros((1,) + tuple(input_shape))
    shapes = []
    for i, spec in enumerate(layers):
        try:
            with torch.no_grad():
                x = torch_layer(spec, x.shape[1])(x)
        except (RuntimeError, ValueError):
            return shapes, i
        if min(x.shape[2:]) == 0:  # torch returns an empty tensor here; the engine (and the planner) reject it
            return shapes, i
        shapes.append(tuple(x.shape[1:]))
    return shapes, None


def test_autoencoder_shapes_and_mirrors():
    plan = plan_chain((1, 28, 28), chain_from_text(AUTOENCODER))
    assert [s.out_shape for s in plan.steps] == [(16, 14, 14), (32, 7, 7), (16, 13, 13), (1, 25, 25)]
    assert [s.mirrors for s in plan.steps] == [None, None, 1, 0]  # innermost first
    assert [s.target for s in plan.steps[2:]] == [(16, 14, 14), (1, 28, 28)]
    assert [s.index for s in plan.mismatches] == [2, 3]
    assert not plan.returns_to_input and plan.error is None


def test_solver_fixes_the_autoencoder_with_output_padding():
    fix = solve_chain((1, 28, 28), chain_from_text(AUTOENCODER))
    assert fix.solved
    assert [(c.index, c.field, c.new) for c in fix.changes] == [(2, "output_padding", (1, 1)), (3, "output_padding", (1, 1))]
    plan = plan_chain((1, 28, 28), fix.layers)
    assert plan.returns_to_input and not plan.mismatches
    assert torch_shapes((1, 28, 28), fix.layers) == ([s.out_shape for s in plan.steps], None)


def test_solver_fixes_odd_sizes_per_dimension_and_channels():
    layers = chain_from_text("C8k3s2p1.C8k5s3p2.T4k5s3p2.T2k3s2p1")  # returns 4 channels to a 3-channel input
    fix = solve_chain((3, 25, 30), layers)
    assert fix.solved, fix.problems
    plan = plan_chain((3, 25, 30), fix.layers)
    assert plan.output_shape == (3, 25, 30) and not plan.mismatches
    assert ("out_channels", 8) in [(c.field, c.new) for c in fix.changes]  # the first decoder layer mirrors an 8-channel input
    shapes, failed = torch_shapes((3, 25, 30), fix.layers)
    assert failed is None and shapes[-1] == (3, 25, 30)


def test_solver_changes_padding_when_output_padding_cannot_reach():
    # stride 1: output_padding must stay 0, so the solver moves padding (7x7 -> 5x5 needs padding 1 for k=3)
    fix = solve_chain((4, 7, 7), [layer(CONV, 4, 3, padding=1), layer(TRANSPOSE, 4, 3)])
    assert fix.solved
    assert [(c.field, c.new) for c in fix.changes] == [("padding", (1, 1))]


def test_solver_explains_an_unreachable_size():
    layers = [layer(CONV, 4, 4, stride=4), layer(TRANSPOSE, 1, 2, stride=2)]  # 32 -> 8 -> at most 17
    fix = solve_chain((1, 32, 32), layers)
    assert not fix.solved
    assert "cannot reach an output height of 32 from 8" in fix.problems[0] and "(8-1)*2 + 1*(2-1) + 1 = 16" in fix.problems[0]
    with pytest.raises(ValueError, match="only 7, 5, 3, ... are reachable"):
        solve_transpose((5, 5), (6, 6), 3, 1, 0, 1)


def test_solver_stops_at_an_invalid_layer():
    fix = solve_chain((3, 16, 16), [layer(CONV, 4, 3, groups=2)])
    assert not fix.solved and "in_channels must be divisible by groups" in fix.problems[0]


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 12), target=st.integers(1, 60), k=st.integers(1, 6), s=st.integers(1, 4), d=st.integers(1, 3),
       p0=st.integers(0, 4))
def test_solve_transpose_against_exhaustive_search(n, target, k, s, d, p0):
    """Solved: torch produces the target. Unsolved: no (padding, output_padding) torch accepts reaches it."""
    reachable = {
        (p, op)
        for p in range(0, 40)
        for op in range(max(s, d))
        if (n - 1) * s - 2 * p + d * (k - 1) + op + 1 == target
    }
    try:
        (ph, pw), (oh, ow) = solve_transpose((n, n), (target, target), k, s, p0, d)
    except ValueError:
        assert not reachable
        return
    assert (ph, oh) in reachable and ph == pw and oh == ow
    # the given padding is kept whenever it works
    if any(p == p0 for p, _ in reachable):
        assert ph == p0
    y = torch.nn.functional.conv_transpose2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=ph,
                                             output_padding=oh, dilation=d)
    assert y.shape[-2:] == (target, target)


LAYER = st.builds(
    lambda kind, c, k, s, p, d, g, same, op: (kind, c, k, s, "same" if same and kind == CONV else p, d, g, op),
    st.sampled_from([CONV, TRANSPOSE]), st.sampled_from([1, 2, 3, 4, 6]), st.integers(1, 5), st.integers(1, 3),
    st.integers(0, 3), st.integers(1, 2), st.sampled_from([1, 2, 3]), st.booleans(), st.integers(0, 2),
)


@settings(max_examples=150, deadline=None)
@given(c=st.sampled_from([1, 2, 3, 4]), h=st.integers(1, 20), w=st.integers(1, 20), raw=st.lists(LAYER, min_size=1, max_size=4))
def test_plan_shapes_and_errors_match_torch(c, h, w, raw):
    layers = []
    for kind, out_c, k, s, p, d, g, op in raw:
        try:
            layers.append(layer(kind, out_c, k, s, p, op if kind == TRANSPOSE else 0, d, g))
        except ValueError:
            return
    plan = plan_chain((c, h, w), layers)
    shapes, failed = torch_shapes((c, h, w), layers)
    ours = [s.out_shape for s in plan.steps if s.out_shape is not None]
    assert ours == shapes
    assert (plan.error.index if plan.error else None) == failed
    if plan.error:
        assert all(s.out_shape is None and "not computed" in s.error for s in plan.steps[failed + 1:])


def test_errors_name_the_rule_and_numbers():
    plan = plan_chain((3, 5, 5), [layer(CONV, 8, 7)])
    assert "dilated kernel height" in plan.error.error and "= 7 is larger than the padded input height 5+0+0 = 5" in plan.error.error
    plan = plan_chain((4, 5, 5), [layer(TRANSPOSE, 2, 3, stride=2, padding=6)])
    assert "too small" in plan.error.error
    with pytest.raises(ValueError, match="ConvTranspose2d does not accept padding strings"):
        layer(TRANSPOSE, 2, 3, padding="same")
    with pytest.raises(ValueError, match="output_padding belongs to ConvTranspose2d"):
        layer(CONV, 2, 3, output_padding=1)
    with pytest.raises(ValueError, match="must be positive"):
        plan_chain((0, 5, 5), [])


def test_text_round_trip_and_errors():
    text = "C16k3x5s2p1x0.C32k3psamed2g4.T16k4s2p1o1x0.T1k3"
    layers = chain_from_text(text)
    assert chain_to_text(layers) == text
    assert layers[0].kernel_size == (3, 5) and layers[0].padding == (1, 0)
    assert layers[1].padding == "same" and layers[1].groups == 4 and layers[1].dilation == (2, 2)
    assert layers[2].output_padding == (1, 0)
    assert chain_from_text("") == []
    with pytest.raises(ValueError, match="layer 2: cannot read 'X3k3'"):
        chain_from_text("C1k3.X3k3")
    with pytest.raises(ValueError, match="layer 1: 'C4s2' has no kernel size"):
        chain_from_text("C4s2")
    with pytest.raises(ValueError, match="unknown field 'z'"):
        chain_from_text("C4k3z2")


@pytest.mark.parametrize("text, shape", [
    (AUTOENCODER, (1, 28, 28)),
    ("C16k3x5s2p1x2.C32k3s2p1g2.T16k3s2p1o1.T3k4s2p1", (3, 32, 30)),
    ("C8k3psame.C8k4psamed2.T8k3s3o2", (2, 9, 11)),
])
def test_exported_code_runs_in_torch_with_the_planned_shapes(text, shape):
    plan = plan_chain(shape, chain_from_text(text))
    assert plan.error is None
    code = to_pytorch(plan)
    scope: dict = {}
    exec(compile(code, "<planner export>", "exec"), scope)  # the code asserts the final shape itself
    model = scope["model"]
    x = torch.randn((1,) + shape)
    convs = [m for m in model if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert len(convs) == len(plan.steps)
    assert sum(isinstance(m, torch.nn.ReLU) for m in model) == len(plan.steps) - 1
    with torch.no_grad():
        for module, step in zip(convs, plan.steps):
            x = module(x)
            assert tuple(x.shape[1:]) == step.out_shape
    assert tuple(scope["y"].shape[1:]) == plan.output_shape
    assert "nn.ReLU" not in to_pytorch(plan, activation=None)


def test_export_refuses_an_invalid_chain():
    plan = plan_chain((3, 4, 4), [layer(CONV, 8, 5)])
    with pytest.raises(ValueError, match="fix it before exporting: layer 1"):
        to_pytorch(plan)


def test_planning_allocates_no_weights():
    """Shapes come from the engine on an empty batch with a broadcast weight: a huge layer plans instantly."""
    plan = plan_chain((2048, 4096, 4096), [layer(CONV, 2048, 7, stride=2, padding=3)])
    assert plan.output_shape == (2048, 2048, 2048)
