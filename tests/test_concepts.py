"""Concept helpers against torch: parameter counts (numel), multiply-adds (torch's flop counter), the input
gradient (autograd) with its finite-difference check, the two upsampling paths (F.interpolate); and the concept
pages' figures (what they mark, and that they are deterministic)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch.utils.flop_counter import FlopCounterMode

from convcore import conv2d
from convcore.teaching.concepts import (
    common_divisors,
    conv2d_input_gradient,
    conv_cost,
    divisors,
    finite_difference_gradient,
    padding_views,
    resize_bilinear,
    resize_nearest,
    resize_then_convolve,
    separable_vs_full,
    upsample_transposed,
)
from convcore.teaching.planner import chain_from_text, plan_chain
from convcore.teaching.trace import channel_map, conv2d_matrix
from convcore.viz import concepts as vc

torch.set_num_threads(1)


def torch_counts(module, x):
    """(parameters, multiply-adds, output shape) as torch reports them."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = module(x)
    return sum(p.numel() for p in module.parameters()), counter.get_total_flops() // 2, tuple(y.shape[2:])


@settings(max_examples=40, deadline=None)
@given(g=st.sampled_from([1, 2, 3]), cin=st.integers(1, 3), cout=st.integers(1, 3), k=st.integers(1, 4),
       kw=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2), d=st.integers(1, 2), h=st.integers(5, 12),
       bias=st.booleans(), transposed=st.booleans())
def test_conv_cost_matches_torch(g, cin, cout, k, kw, s, p, d, h, bias, transposed):
    cin, cout = cin * g, cout * g
    x = torch.zeros(1, cin, h, h + 1)
    if transposed:
        op = 1 if s > 1 else 0
        module = torch.nn.ConvTranspose2d(cin, cout, (k, kw), s, p, op, g, bias, d)
        cost = conv_cost("ConvTranspose2d", cin, cout, (k, kw), (h, h + 1), s, p, d, g, bias, output_padding=op)
    else:
        module = torch.nn.Conv2d(cin, cout, (k, kw), s, p, d, g, bias)
        try:
            cost = conv_cost("Conv2d", cin, cout, (k, kw), (h, h + 1), s, p, d, g, bias)
        except ValueError:
            with pytest.raises(RuntimeError):
                module(x)
            return
    params, macs, out = torch_counts(module, x)
    assert (cost.params, cost.macs, cost.out_size) == (params, macs, out)
    assert cost.weight_shape == tuple(module.weight.shape)


def test_separable_against_full_matches_torch_modules():
    cin, cout, k, size = 32, 64, 3, (28, 28)
    cmp = separable_vs_full(cin, cout, k, size, stride=1, padding=1, multiplier=2)
    x = torch.zeros(1, cin, *size)
    full = torch.nn.Conv2d(cin, cout, k, padding=1)
    depthwise = torch.nn.Conv2d(cin, 2 * cin, k, padding=1, groups=cin)
    pointwise = torch.nn.Conv2d(2 * cin, cout, 1)
    assert (cmp.full.params, cmp.full.macs) == torch_counts(full, x)[:2]
    sep = torch.nn.Sequential(depthwise, pointwise)
    params, macs, out = torch_counts(sep, x)
    assert (cmp.separable_params, cmp.separable_macs) == (params, macs)
    assert cmp.pointwise.out_size == out == cmp.full.out_size
    assert cmp.depthwise.weight_shape == (64, 1, 3, 3) and cmp.pointwise.weight_shape == (64, 64, 1, 1)
    # the textbook ratio 1 / (1/C_out + 1/k^2) for multiplier 1, no bias
    plain = separable_vs_full(cin, cout, k, size, padding=1, bias=False)
    assert plain.mac_ratio == pytest.approx(1 / (1 / cout + 1 / k**2))


def test_cost_errors_name_the_rule():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        conv_cost("Conv2d", 6, 4, 3, 8, groups=4)
    with pytest.raises(ValueError, match=r"dilated kernel 1\*\(5-1\)\+1 = 5 is larger than the padded input 3\+0\+0 = 3"):
        conv_cost("Conv2d", 1, 1, 5, 3)
    with pytest.raises(ValueError, match="output_padding must be smaller"):
        conv_cost("ConvTranspose2d", 1, 1, 3, 4, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="kind must be"):
        conv_cost("Linear", 1, 1, 3, 4)


def test_divisors():
    assert divisors(12) == [1, 2, 3, 4, 6, 12] and divisors(1) == [1] and divisors(49) == [1, 7, 49]
    assert common_divisors(12, 18) == [1, 2, 3, 6]
    with pytest.raises(ValueError):
        divisors(0)


@pytest.mark.parametrize("h, w, k, s, p, d, g", [
    (5, 5, 3, 1, 0, 1, 1),
    (6, 7, 3, 2, 1, 1, 1),   # conv2d drops a row and column: output_padding (1, 0) brings them back
    (7, 6, 2, 3, 0, 2, 2),
    (4, 4, 4, 1, 2, 1, 1),
])
def test_input_gradient_is_conv_transpose_and_matches_autograd_and_finite_differences(h, w, k, s, p, d, g):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2 * g, h, w))
    weight = rng.standard_normal((2 * g, 2, k, k))
    y = conv2d(x, weight, None, s, p, d, g)
    upstream = rng.standard_normal(y.shape)
    grad, out_pad = conv2d_input_gradient(upstream, weight, (h, w), s, p, d, g)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    (torch.nn.functional.conv2d(xt, torch.from_numpy(weight), None, s, p, d, g) * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    expected_pad = tuple((n + 2 * p - d * (k - 1) - 1) % s for n in (h, w))
    assert out_pad == expected_pad

    def loss(batch):  # batch: (M, 1, C, H, W) perturbed copies of x
        return (conv2d(batch[:, 0], weight, None, s, p, d, g) * upstream).sum(axis=(1, 2, 3))

    numeric = finite_difference_gradient(loss, x)
    assert numeric.shape == x.shape
    np.testing.assert_allclose(numeric, grad, atol=1e-6)


def test_finite_difference_of_a_nonlinear_function():
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    numeric = finite_difference_gradient(lambda b: (np.sin(b) * b**2).sum(axis=(1, 2)), x)
    np.testing.assert_allclose(numeric, np.cos(x) * x**2 + 2 * x * np.sin(x), atol=1e-8)


@pytest.mark.parametrize("factor", [2, 3])
def test_resizes_match_torch_interpolate(factor):
    img = np.random.default_rng(1).random((5, 7))
    src = torch.from_numpy(img)[None, None]
    nearest = torch.nn.functional.interpolate(src, scale_factor=factor, mode="nearest")[0, 0].numpy()
    bilinear = torch.nn.functional.interpolate(src, scale_factor=factor, mode="bilinear", align_corners=False)[0, 0].numpy()
    np.testing.assert_array_equal(resize_nearest(img, factor), nearest)
    np.testing.assert_allclose(resize_bilinear(img, factor), bilinear, atol=1e-12)


@pytest.mark.parametrize("k, s", [(3, 2), (4, 2), (5, 3), (2, 2), (1, 2)])
def test_upsample_transposed_is_exactly_s_times_larger_and_matches_torch(k, s):
    rng = np.random.default_rng(2)
    img, kernel = rng.random((6, 9)), rng.random((k, k))
    out, padding, out_pad = upsample_transposed(img, kernel, s)
    assert out.shape == (6 * s, 9 * s)
    ref = torch.nn.functional.conv_transpose2d(torch.from_numpy(img)[None, None], torch.from_numpy(kernel)[None, None],
                                               stride=s, padding=padding, output_padding=out_pad)
    np.testing.assert_allclose(out, ref[0, 0].numpy(), atol=1e-12)


def test_resize_then_convolve_matches_torch_and_has_no_checkerboard():
    img = np.full((8, 8), 0.5)
    box = np.full((3, 3), 1 / 9)
    for method, mode in (("nearest", "nearest"), ("bilinear", "bilinear")):
        out = resize_then_convolve(img, box, 2, method)
        big = torch.nn.functional.interpolate(torch.from_numpy(img)[None, None], scale_factor=2, mode=mode,
                                              **({} if mode == "nearest" else {"align_corners": False}))
        ref = torch.nn.functional.conv2d(big, torch.from_numpy(box)[None, None], padding="same")[0, 0].numpy()
        np.testing.assert_allclose(out, ref, atol=1e-12)
        np.testing.assert_allclose(out[1:-1, 1:-1], 0.5, atol=1e-12)  # a flat image stays flat away from the border
    # the transposed convolution of the same flat image is not flat: kernel 3 is not divisible by stride 2
    up, _, _ = upsample_transposed(img, np.ones((3, 3)), 2)
    interior = up[2:-2, 2:-2]
    assert set(np.unique(np.round(interior / 0.5))) == {1, 2, 4}
    with pytest.raises(ValueError, match="method must be"):
        resize_then_convolve(img, box, 2, "cubic")


# ---- figures (convcore.viz.concepts) ---------------------------------------------------------------------------------

def _segments(fig, faded: bool | None = None) -> int:
    n = 0
    for trace in fig.data:
        if getattr(trace, "mode", None) == "lines":
            is_faded = "0.15)" in str(trace.line.color)
            if faded is None or faded == is_faded:
                n += len(trace.x) // 3
    return n


def test_channel_figure_draws_one_line_per_connection_and_fades_the_rest():
    cmap = channel_map(6, 4, 2)
    fig = vc.channel_figure(cmap, 2)
    assert _segments(fig) == int(cmap.sum()) == 12
    lit = vc.channel_figure(cmap, 2, highlight=3)
    assert _segments(lit, faded=False) == 3 and _segments(lit, faded=True) == 9  # output 3 reads inputs 3, 4, 5
    heat = next(t for t in lit.data if isinstance(t, go.Heatmap))
    assert np.asarray(heat.z).shape == (4, 3)  # Conv2d weight (C_out, C_in/groups)
    transposed = vc.channel_figure(cmap, 2, transposed=True)
    assert np.asarray(next(t for t in transposed.data if isinstance(t, go.Heatmap)).z).shape == (6, 2)


def test_padding_figure_marks_the_selected_cell_and_its_sources():
    x = np.arange(1, 13.0).reshape(3, 4)
    views = padding_views(x, ((3, 1), (1, 1)))  # reflect refuses 3 rows on a height of 3; circular allows it
    assert views["reflect"].error and "height (top, bottom)" in views["reflect"].error and views["circular"].error is None
    fig = vc.padding_figure(x, views, (0, 0))
    focus = next(t for t in fig.data if t.name == "the cell it copies")
    selected = next(t for t in fig.data if t.name == "selected padded cell")
    assert len(selected.x) == 3  # zeros, replicate, circular (reflect is drawn empty)
    assert len(focus.x) == 2 + 2  # replicate and circular copies, in their panels and in the input grid
    assert views["replicate"].source(0, 0) == (0, 0) and views["circular"].source(0, 0) == (0, 3)
    assert len(fig.layout.annotations) == 2  # arrows to the copied cell
    assert "reflect: not allowed" in next(t for t in fig.data if t.name == "titles").text


def test_chain_figure_flags_a_missed_mirror():
    bad = vc.chain_figure(plan_chain((1, 28, 28), chain_from_text("C16k3s2p1.T1k3s2p1")))
    assert any(t.name == "expected (mirror), missed" for t in bad.data)
    assert any("want 1×28×28" in a.text for a in bad.layout.annotations)
    good = vc.chain_figure(plan_chain((1, 28, 28), chain_from_text("C16k3s2p1.T1k3s2p1o1")))
    assert not any(t.name == "expected (mirror), missed" for t in good.data)


def test_matrix_figure_holds_the_matrix_and_outlines_the_row():
    C = conv2d_matrix((1, 4, 4), np.arange(9.0).reshape(1, 1, 3, 3))
    fig = vc.matrix_figure(C, (2, 2), (4, 4), row_symbol="y", col_symbol="x", title="C", highlight_row=1)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), C)
    assert list(fig.data[0].y) == ["y[0,0]", "y[0,1]", "y[1,0]", "y[1,1]"]
    (shape,) = fig.layout.shapes
    assert (shape.y0, shape.y1) == (0.5, 1.5)


def test_images_and_grids_figures():
    fig = vc.images_figure({"a": np.zeros((2, 3)), "b": np.ones((4, 6))}, {"a": 2})
    assert fig.data[0].dx == 2 and fig.data[0].x0 == 0.5 and fig.layout.xaxis2.matches == "x"
    grids = vc.grids_figure({"one": np.eye(2), "none": None})
    empty = next(t for t in grids.data if t.name == "none (not computed)")
    assert len(empty.x) == 4 and empty.text is None


def test_figures_are_deterministic():
    """Two builds give the same JSON, so a rerun does not reset a chart the user is looking at."""
    x = np.arange(1, 10.0).reshape(3, 3)
    builders = [
        lambda: vc.chain_figure(plan_chain((1, 28, 28), chain_from_text("C16k3s2p1.T1k3s2p1"))),
        lambda: vc.channel_figure(channel_map(4, 4, 2), 2, highlight=1),
        lambda: vc.padding_figure(x, padding_views(x, ((1, 1), (2, 2))), (0, 1)),
        lambda: vc.grids_figure({"a": x}),
        lambda: vc.counts_figure(["a", "b"], [1, 2], [3, 4]),
        lambda: vc.images_figure({"a": x}),
    ]
    for build in builders:
        assert build().to_json() == build().to_json()
