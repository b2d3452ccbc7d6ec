"""convcore.shapes against the shapes torch actually produces, and its inverses against torch's output_size rule."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convcore
from convcore import (conv2d_output_size, conv_transpose2d_output_size, output_padding_for, same_padding,
                      transpose_output_range)

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _random_conv(rng):
    k = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    d = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    kind = rng.choice(["int", "pair", "same", "valid"])
    s = (1, 1) if kind == "same" else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = {"int": int(rng.integers(0, 4)), "pair": (int(rng.integers(0, 4)), int(rng.integers(0, 4))),
               "same": "same", "valid": "valid"}[str(kind)]
    total = [2 * _pair(padding)[i] if not isinstance(padding, str) else 0 for i in (0, 1)]
    size = tuple(max(1, d[i] * (k[i] - 1) + 1 - total[i]) + int(rng.integers(0, 9)) for i in (0, 1))
    return size, k, s, padding, d


@pytest.mark.parametrize("seed", range(40))
def test_conv2d_output_size_matches_torch(seed):
    rng = np.random.default_rng(50_000 + seed)
    cases = [_random_conv(rng) for _ in range(5)]
    for size, k, s, padding, d in cases:
        out = TF.conv2d(torch.zeros((1, 1) + size), torch.zeros((1, 1) + k), None, s, padding, d)
        assert conv2d_output_size(size, k, s, padding, d) == tuple(out.shape[2:]), (size, k, s, padding, d)


@pytest.mark.parametrize("seed", range(40))
def test_conv_transpose2d_output_size_matches_torch(seed):
    rng = np.random.default_rng(60_000 + seed)
    for _ in range(5):
        k = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        d = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        op = tuple(int(rng.integers(0, max(s[i], d[i]))) for i in (0, 1))
        size = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
        full = [(size[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 + op[i] for i in (0, 1)]
        p = tuple(int(rng.integers(0, (full[i] - 1) // 2 + 1)) for i in (0, 1))
        out = TF.conv_transpose2d(torch.zeros((1, 1) + size), torch.zeros((1, 1) + k), None, s, p, op, 1, d)
        assert conv_transpose2d_output_size(size, k, s, p, op, d) == tuple(out.shape[2:]), (size, k, s, p, op, d)


def test_scalar_and_pair_arguments_agree():
    assert conv2d_output_size(7, 3) == conv2d_output_size((7, 7), (3, 3), (1, 1), (0, 0), (1, 1)) == (5, 5)
    assert conv2d_output_size((7, 9), (3, 1), 2, (1, 0)) == (4, 5)
    assert conv_transpose2d_output_size(5, 4, 2, 1) == (10, 10)
    assert conv_transpose2d_output_size([5, 6], [3, 2], [1, 3], [0, 1], [2, 1], [3, 1]) == (13, 16)


@pytest.mark.parametrize("k, d", [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (4, 3), (2, 2), ((4, 3), (1, 2)), ((1, 6), (5, 1))])
def test_same_padding_is_torchs_split(k, d):
    """Padding x by same_padding then convolving without padding reproduces torch's padding='same' exactly."""
    k, d = _pair(k), _pair(d)
    pads = same_padding(k, d)
    for i in (0, 1):
        total = d[i] * (k[i] - 1)
        assert sum(pads[i]) == total and pads[i][1] - pads[i][0] in (0, 1)
    rng = np.random.default_rng(sum(k) + 7 * sum(d))
    x = torch.from_numpy(rng.standard_normal((1, 1, 9, 8)))
    w = torch.from_numpy(rng.standard_normal((1, 1) + k))
    (top, bottom), (left, right) = pads
    padded = TF.conv2d(TF.pad(x, (left, right, top, bottom)), w, dilation=d)
    torch.testing.assert_close(padded, TF.conv2d(x, w, padding="same", dilation=d), rtol=0, atol=0)
    if (top, left) != (bottom, right):  # an asymmetric split: putting the extra first would shift the result
        shifted = TF.conv2d(TF.pad(x, (right, left, bottom, top)), w, dilation=d)
        assert not torch.equal(shifted, TF.conv2d(x, w, padding="same", dilation=d))


def _torch_output_padding(x_shape, output_size, k, s, p, d):
    """torch's own rule: ConvTranspose2d._output_padding (what forward(output_size=...) uses)."""
    m = torch.nn.ConvTranspose2d(1, 1, k, s, p, dilation=d)
    return tuple(m._output_padding(torch.zeros(x_shape), list(output_size), list(m.stride), list(m.padding),
                                   list(m.kernel_size), 2, list(m.dilation)))


@pytest.mark.parametrize("seed", range(30))
def test_transpose_output_range_and_output_padding_for_match_torch(seed):
    rng = np.random.default_rng(70_000 + seed)
    k = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    s = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    p = (int(rng.integers(0, 2)), int(rng.integers(0, 2)))
    size = (int(rng.integers(2, 7)), int(rng.integers(2, 7)))
    low, high = transpose_output_range(size, k, s, p, d)
    m = torch.nn.ConvTranspose2d(1, 1, k, s, p, dilation=d)
    x = torch.zeros((1, 1) + size)
    assert tuple(m(x).shape[2:]) == low  # the smallest size is the plain output
    assert high == (low[0] + s[0] - 1, low[1] + s[1] - 1)
    for target in (low, high, (low[0], high[1]), (high[0], low[1])):
        assert tuple(m(x, output_size=list(target)).shape[2:]) == target
        for form in (target, list(target), (1, 1) + target, (3,) + target):
            op = output_padding_for(form, size, k, s, p, d)
            assert op == _torch_output_padding((1, 1) + size, (1, 1) + target, k, s, p, d)
            assert conv_transpose2d_output_size(size, k, s, p, op, d) == target
    for i in (0, 1):  # one past either end: torch refuses and so does output_padding_for, naming the range
        for bad in (low[i] - 1, high[i] + 1):
            target = list(low)
            target[i] = bad
            with pytest.raises(ValueError):
                m(x, output_size=target)
            with pytest.raises(ValueError, match=rf"\b{bad}\b.*\b{low[i]}\b to \b{high[i]}\b"):
                output_padding_for(target, size, k, s, p, d)


@pytest.mark.parametrize("form", [(11,), (1, 1, 1, 11, 11), ()])
def test_output_padding_for_wrong_length(form):
    with pytest.raises(ValueError, match=f"{len(form)} elements"):
        output_padding_for(form, (5, 5), 3, 2)


@pytest.mark.parametrize("call, fragment", [
    (lambda: conv2d_output_size(7, 3, 2, "same"), "stride=(2, 2)"),
    (lambda: conv2d_output_size(7, 3, 0), "stride=(0, 0)"),
    (lambda: conv2d_output_size(7, 3, 1, -1), "padding=(-1, -1)"),
    (lambda: conv2d_output_size(7, 0), "kernel_size=(0, 0)"),
    (lambda: conv2d_output_size(7, 3, 1, "SAME"), "'SAME'"),
    (lambda: conv2d_output_size(7, 3, dilation=(1, 0)), "dilation=(1, 0)"),
    (lambda: conv_transpose2d_output_size(5, 3, 2, (0, -1)), "padding=(0, -1)"),
    (lambda: conv_transpose2d_output_size(5, 3, 2, "same"), "'same'"),
    (lambda: transpose_output_range(5, 3, (2, 0)), "stride=(2, 0)"),
    (lambda: output_padding_for((11, 11), 5, 3, 2.5), "2.5"),
])
def test_shape_functions_reject_bad_arguments(call, fragment):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert fragment in str(info.value)


def test_shapes_agree_with_the_engine():
    """The shape functions and the functional ops agree for a few layers (the pages show one, run the other)."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 2, 9, 7))
    for k, s, p, d in [((3, 3), 1, "same", 2), ((2, 5), (2, 1), (1, 2), 1), ((1, 1), 3, 0, 1)]:
        w = rng.standard_normal((3, 2) + k)
        assert convcore.conv2d(x, w, None, s, p, d).shape[2:] == conv2d_output_size(x.shape[2:], k, s, p, d)
    for k, s, p, op, d in [((3, 3), 2, 1, 1, 1), ((4, 2), (1, 3), (0, 1), (2, 0), (3, 1))]:
        w = rng.standard_normal((2, 3) + k)
        out = convcore.conv_transpose2d(x, w, None, s, p, op, 1, d)
        assert out.shape[2:] == conv_transpose2d_output_size(x.shape[2:], k, s, p, op, d)
