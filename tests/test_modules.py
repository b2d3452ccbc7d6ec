"""convcore.Conv2d / ConvTranspose2d against torch.nn: weight shapes, init distribution, dtype, rng, calling,
parameter assignment and repr."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import convcore
from torch_compare import DTYPES, assert_matches, random_array, t


# (in, out, kernel, kwargs) for both modules; groups from 1 to depthwise with a multiplier
CONFIGS = [
    (3, 4, 3, {}),
    (4, 6, (3, 2), dict(groups=2)),
    (6, 6, 5, dict(groups=6)),
    (3, 9, (1, 4), dict(groups=3)),
    (8, 4, 1, dict(groups=4, bias=False)),
    (2, 6, (2, 3), dict(stride=(2, 1), dilation=(1, 2))),
]


def _torch(cls_name, cin, cout, k, kw):
    return getattr(torch.nn, cls_name)(cin, cout, k, **kw)


def _copy_to_torch(m, tm):
    tm.weight = torch.nn.Parameter(t(m.weight))
    tm.bias = None if m.bias is None else torch.nn.Parameter(t(m.bias))
    return tm


@pytest.mark.parametrize("cls_name", ["Conv2d", "ConvTranspose2d"])
@pytest.mark.parametrize("cin, cout, k, kw", CONFIGS)
def test_weight_and_bias_shapes_match_torch(cls_name, cin, cout, k, kw):
    m = getattr(convcore, cls_name)(cin, cout, k, **kw)
    tm = _torch(cls_name, cin, cout, k, kw)
    assert m.weight.shape == tuple(tm.weight.shape)
    assert (m.bias is None) == (tm.bias is None)
    if m.bias is not None:
        assert m.bias.shape == tuple(tm.bias.shape)
    assert m.weight.dtype == np.float32 and (m.bias is None or m.bias.dtype == np.float32)  # torch's default dtype
    assert m.kernel_size == tm.kernel_size and m.stride == tm.stride and m.dilation == tm.dilation
    assert m.padding == tm.padding and m.groups == tm.groups


def _fan_in(m) -> int:
    return m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]


@pytest.mark.parametrize("cls_name", ["Conv2d", "ConvTranspose2d"])
@pytest.mark.parametrize("cin, cout, k, kw", CONFIGS)
def test_init_within_bound(cls_name, cin, cout, k, kw):
    """Every weight and bias value lies in U(-1/sqrt(fan_in), 1/sqrt(fan_in)); torch's values obey the same bound."""
    m = getattr(convcore, cls_name)(cin, cout, k, rng=1, **kw)
    bound = 1 / math.sqrt(_fan_in(m))
    assert np.abs(m.weight).max() <= bound
    assert m.bias is None or np.abs(m.bias).max() <= bound
    tm = _torch(cls_name, cin, cout, k, kw)
    assert tm.weight.abs().max().item() <= bound * (1 + 1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls_name", ["Conv2d", "ConvTranspose2d"])
def test_init_distribution_on_a_large_layer(cls_name, dtype):
    """Extremes reach the bound, the spread is uniform's (std = bound/sqrt(3)), and torch's layer agrees."""
    m = getattr(convcore, cls_name)(64, 96, 3, groups=4, rng=7, dtype=dtype)
    tm = _torch(cls_name, 64, 96, 3, dict(groups=4, dtype=getattr(torch, np.dtype(dtype).name)))
    bound = 1 / math.sqrt(_fan_in(m))
    fan_in_torch = tm.weight.shape[1] * tm.weight.shape[2] * tm.weight.shape[3]
    assert bound == 1 / math.sqrt(fan_in_torch)
    parts = [("real", np.real)] + ([("imag", np.imag)] if np.dtype(dtype).kind == "c" else [])
    for name, part in parts:
        w, tw = part(m.weight), part(tm.weight.detach().numpy())
        assert np.abs(w).max() <= bound, name
        assert np.abs(w).max() > 0.995 * bound, name  # about 14000 draws: the extreme is within 0.02% of the bound
        assert abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound, name
        assert abs(w.mean()) < 0.02 * bound, name
        assert abs(np.abs(w).max() - np.abs(tw).max()) < 0.005 * bound, name
        assert abs(w.std() - tw.std()) < 0.03 * bound, name
        b, tb = part(m.bias), part(tm.bias.detach().numpy())
        assert np.abs(b).max() <= bound and np.abs(tb).max() <= bound * (1 + 1e-6)
        assert np.abs(b).max() > 0.8 * bound  # 96 draws
    if np.dtype(dtype).kind == "c":  # real and imaginary parts drawn independently
        assert abs(np.corrcoef(m.weight.real.ravel(), m.weight.imag.ravel())[0, 1]) < 0.05


@pytest.mark.parametrize("cls_name", ["Conv2d", "ConvTranspose2d"])
@pytest.mark.parametrize("dtype", DTYPES + ("float64", None))
def test_dtype_argument(cls_name, dtype):
    m = getattr(convcore, cls_name)(2, 4, 3, groups=2, dtype=dtype, rng=0)
    expected = np.dtype(np.float32 if dtype is None else dtype)
    assert m.weight.dtype == expected and m.bias.dtype == expected
    x = random_array(np.random.default_rng(0), (1, 2, 5, 5), expected)
    out = m(x)
    assert out.dtype == expected
    assert_matches(out, _copy_to_torch(m, _torch(cls_name, 2, 4, 3, dict(groups=2, dtype=getattr(torch, expected.name))))(t(x)))


@pytest.mark.parametrize("cls_name", ["Conv2d", "ConvTranspose2d"])
@pytest.mark.parametrize("dtype", [np.int32, bool, "int64", np.uint8, np.int8])
def test_unsupported_dtype_argument_rejected(cls_name, dtype):
    """torch: 'Only Tensors of floating point and complex dtype can require gradients' (integer layers fail to build)."""
    with pytest.raises(RuntimeError):
        getattr(torch.nn, cls_name)(2, 4, 3, dtype=getattr(torch, np.dtype(dtype).name))
    with pytest.raises(TypeError, match=np.dtype(dtype).name):
        getattr(convcore, cls_name)(2, 4, 3, dtype=dtype)


@pytest.mark.parametrize("cls_name", ["Conv2d", "ConvTranspose2d"])
def test_rng_makes_init_reproducible(cls_name):
    cls = getattr(convcore, cls_name)
    a, b = cls(3, 6, 3, groups=3, rng=42), cls(3, 6, 3, groups=3, rng=42)
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.bias, b.bias)
    c = cls(3, 6, 3, groups=3, rng=43)
    assert not np.array_equal(a.weight, c.weight)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(cls(3, 6, 3, rng=g1).weight, cls(3, 6, 3, rng=g2).weight)
    assert not np.array_equal(cls(3, 6, 3).weight, cls(3, 6, 3).weight)  # no seed: fresh values each time


@pytest.mark.parametrize("dtype", DTYPES)
def test_call_equals_forward_equals_torch(dtype):
    rng = np.random.default_rng(1)
    m = convcore.Conv2d(4, 6, (3, 2), stride=2, padding=(1, 2), groups=2, padding_mode="circular", dtype=dtype, rng=1)
    x = random_array(rng, (2, 4, 7, 6), dtype)
    np.testing.assert_array_equal(m(x), m.forward(x))
    tm = _copy_to_torch(m, _torch("Conv2d", 4, 6, (3, 2), dict(stride=2, padding=(1, 2), groups=2,
                                                              padding_mode="circular", dtype=getattr(torch, np.dtype(dtype).name))))
    assert_matches(m(x), tm(t(x)))
    mt = convcore.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dtype=dtype, rng=1)
    np.testing.assert_array_equal(mt(x), mt.forward(x))
    np.testing.assert_array_equal(mt(x, output_size=(13, 11)), mt.forward(x, output_size=(13, 11)))
    tmt = _copy_to_torch(mt, _torch("ConvTranspose2d", 4, 6, 3, dict(stride=2, padding=1, output_padding=1, groups=2,
                                                                      dtype=getattr(torch, np.dtype(dtype).name))))
    assert_matches(mt(x), tmt(t(x)))
    assert_matches(mt(x[0]), tmt(t(x[0])))


@pytest.mark.parametrize("cls_name", ["Conv2d", "ConvTranspose2d"])
def test_assigning_weight_and_bias_changes_forward(cls_name):
    rng = np.random.default_rng(2)
    m = getattr(convcore, cls_name)(2, 4, 3, groups=2, dtype=np.float64, rng=0)
    x = random_array(rng, (1, 2, 6, 5), np.float64)
    before = m(x)
    m.weight = random_array(rng, m.weight.shape, np.float64)
    after_weight = m(x)
    assert not np.allclose(before, after_weight)
    m.bias = random_array(rng, (4,), np.float64)
    after_bias = m(x)
    assert not np.allclose(after_weight, after_bias)
    tm = _torch(cls_name, 2, 4, 3, dict(groups=2, dtype=torch.float64))
    assert_matches(after_bias, _copy_to_torch(m, tm)(t(x)))
    m.bias = None
    assert m.bias is None
    assert_matches(m(x), _copy_to_torch(m, tm)(t(x)))
    assert "bias=False" in repr(m)
    m.bias = np.zeros(4)  # bias can come back
    np.testing.assert_allclose(m(x), _copy_to_torch(m, tm)(t(x)).detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls_name", ["Conv2d", "ConvTranspose2d"])
def test_wrong_parameter_assignment_rejected(cls_name):
    m = getattr(convcore, cls_name)(2, 4, 3, groups=2, rng=0)
    weight, bias = m.weight, m.bias
    shape = m.weight.shape
    bad_weight = np.zeros(shape[:1] + (shape[1] + 1,) + shape[2:], np.float32)
    with pytest.raises(ValueError, match=str(tuple(bad_weight.shape)).replace("(", r"\(").replace(")", r"\)")):
        m.weight = bad_weight
    with pytest.raises(ValueError, match=r"\(4,\)"):
        m.bias = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"\(4, 1\)"):
        m.bias = np.zeros((4, 1), np.float32)
    with pytest.raises(TypeError, match="int64"):
        m.weight = np.zeros(shape, np.int64)
    with pytest.raises(TypeError, match="bool"):
        m.bias = np.zeros(4, bool)
    assert m.weight is weight and m.bias is bias  # a rejected assignment leaves the module as it was


REPR_CASES = [
    ("Conv2d", (3, 4, 3), {}),
    ("Conv2d", (3, 4, (3, 2)), dict(padding="same", padding_mode="reflect")),
    ("Conv2d", (4, 4, 3), dict(padding="valid", bias=False, groups=2, dilation=(2, 1), stride=2)),
    ("Conv2d", (4, 6, 3), dict(padding=[1, 1])),
    ("Conv2d", (4, 6, 3), dict(padding=0, stride=[1, 1], dilation=1)),
    ("Conv2d", (4, 8, (1, 5)), dict(padding=(0, 2), padding_mode="circular", groups=4)),
    ("Conv2d", (2, 2, 2), dict(padding=1, padding_mode="replicate", stride=(1, 2))),
    ("ConvTranspose2d", (3, 4, 3), {}),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, output_padding=1, groups=2, padding=(1, 0), dilation=2, bias=False)),
    ("ConvTranspose2d", (2, 2, (4, 2)), dict(stride=1, dilation=3, output_padding=2)),
    ("ConvTranspose2d", (6, 6, 4), dict(stride=2, padding=1, groups=6)),
]


@pytest.mark.parametrize("cls_name, args, kw", REPR_CASES)
def test_repr_equals_torch(cls_name, args, kw):
    assert repr(getattr(convcore, cls_name)(*args, **kw)) == repr(_torch(cls_name, *args, kw))
