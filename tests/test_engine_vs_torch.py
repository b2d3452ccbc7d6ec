"""convcore.conv2d / conv_transpose2d / the modules against torch on hundreds of seeded random configurations,
the edge cases, the engine's large-shape algorithm paths, the adjoint identity, and a plain-loop second oracle."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convcore
from convcore import functional as cf
from convcore.params import conv2d_call
from oracle import conv2d_ref, conv_transpose2d_ref, same_pads
from torch_compare import DTYPES, assert_matches, random_array, t

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")  # torch's own perf note

N_CONV2D = 240
N_TRANSPOSE = 240
N_MODES = 120
N_OUTPUT_SIZE = 60
N_ADJOINT = 60


# ---------------------------------------------------------------- random configurations

def _pair_or_int(rng, values):
    """An int, or a (h, w) pair that is sometimes non-square."""
    a = int(rng.choice(values))
    return a if rng.random() < 0.4 else (a, int(rng.choice(values)))


def _as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _channels(rng):
    """(groups, C_in, C_out) across plain, grouped, depthwise and depthwise-multiplier layers."""
    kind = rng.choice(["plain", "grouped", "depthwise", "multiplier"])
    if kind == "plain":
        return 1, int(rng.integers(1, 5)), int(rng.integers(1, 5))
    if kind == "grouped":
        g = int(rng.integers(2, 4))
        return g, g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
    c = int(rng.integers(1, 5))
    return c, c, c * (1 if kind == "depthwise" else int(rng.integers(2, 4)))


def _batch_shape(rng, c):
    """Unbatched (C,), empty batch (0, C) or a batch of 1..3."""
    r = rng.random()
    if r < 0.2:
        return (c,)
    if r < 0.3:
        return (0, c)
    return (int(rng.integers(1, 4)), c)


def conv2d_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    dtype = DTYPES[seed % 4]
    g, cin, cout = _channels(rng)
    k = _as_pair(_pair_or_int(rng, [1, 1, 2, 3, 3, 4, 5]))
    d = _as_pair(_pair_or_int(rng, [1, 1, 1, 2, 3]))
    kind = rng.choice(["int", "pair", "same", "valid"], p=[0.35, 0.25, 0.25, 0.15])
    s = (1, 1) if kind == "same" else _as_pair(_pair_or_int(rng, [1, 1, 2, 3]))
    if kind == "int":
        padding = int(rng.integers(0, 4))
    elif kind == "pair":
        padding = (int(rng.integers(0, 4)), int(rng.integers(0, 4)))
    else:
        padding = str(kind)
    pads = same_pads(k, d) if padding == "same" else ((0, 0), (0, 0)) if padding == "valid" else \
        tuple((p, p) for p in _as_pair(padding))
    size = []
    for axis in (0, 1):
        reach = d[axis] * (k[axis] - 1) + 1
        if padding == "same":  # any size works, including a kernel larger than the input
            size.append(int(rng.integers(1, 9)))
        else:
            size.append(max(1, reach - sum(pads[axis]) + int(rng.integers(0, 8))))
    x = random_array(rng, _batch_shape(rng, cin) + tuple(size), dtype)
    w = random_array(rng, (cout, cin // g) + k, dtype)
    b = random_array(rng, (cout,), dtype) if rng.random() < 0.6 else None
    # the call spells stride/dilation as an int when square, sometimes
    stride = s[0] if s[0] == s[1] and rng.random() < 0.5 else s
    dilation = d[0] if d[0] == d[1] and rng.random() < 0.5 else d
    return dict(x=x, w=w, b=b, stride=stride, padding=padding, dilation=dilation, groups=g,
                pads=pads, s=s, d=d)


def transpose_case(seed: int) -> dict:
    rng = np.random.default_rng(10_000 + seed)
    dtype = DTYPES[seed % 4]
    g, cin, cout = _channels(rng)
    k = _as_pair(_pair_or_int(rng, [1, 2, 3, 3, 4, 5]))
    s = _as_pair(_pair_or_int(rng, [1, 1, 2, 3]))
    d = _as_pair(_pair_or_int(rng, [1, 1, 2, 3]))
    op = tuple(int(rng.integers(0, max(s[i], d[i]))) for i in (0, 1))  # valid: < stride or < dilation
    size, pad = [], []
    for axis in (0, 1):
        h = int(rng.integers(1, 7))
        full = (h - 1) * s[axis] + d[axis] * (k[axis] - 1) + op[axis] + 1
        pad.append(int(rng.integers(0, (full - 1) // 2 + 1)))  # keeps the output size >= 1
        size.append(h)
    padding = pad[0] if pad[0] == pad[1] and rng.random() < 0.5 else tuple(pad)
    x = random_array(rng, _batch_shape(rng, cin) + tuple(size), dtype)
    w = random_array(rng, (cin, cout // g) + k, dtype)
    b = random_array(rng, (cout,), dtype) if rng.random() < 0.6 else None
    output_padding = op[0] if op[0] == op[1] and rng.random() < 0.5 else op
    return dict(x=x, w=w, b=b, stride=s, padding=padding, output_padding=output_padding, groups=g, dilation=d,
                pad=tuple(pad), op=op)


def _oracle_cost(x, w, out_shape) -> int:
    return int(np.prod(out_shape)) * int(np.prod(w.shape[1:])) * (1 if x.ndim == 3 else 1)


# ---------------------------------------------------------------- functional, random

@pytest.mark.parametrize("seed", range(N_CONV2D))
def test_conv2d_random_matches_torch(seed):
    c = conv2d_case(seed)
    args = dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=c["groups"])
    out = convcore.conv2d(c["x"], c["w"], c["b"], **args)
    ref = TF.conv2d(t(c["x"]), t(c["w"]), t(c["b"]), **args)
    assert_matches(out, ref, c["x"].dtype)
    if _oracle_cost(c["x"], c["w"], out.shape) < 4000:
        oracle = conv2d_ref(c["x"], c["w"], c["b"], c["s"], c["pads"], c["d"], c["groups"])
        assert_matches(out, oracle, c["x"].dtype)


@pytest.mark.parametrize("seed", range(N_TRANSPOSE))
def test_conv_transpose2d_random_matches_torch(seed):
    c = transpose_case(seed)
    args = dict(stride=c["stride"], padding=c["padding"], output_padding=c["output_padding"], groups=c["groups"],
                dilation=c["dilation"])
    out = convcore.conv_transpose2d(c["x"], c["w"], c["b"], **args)
    ref = TF.conv_transpose2d(t(c["x"]), t(c["w"]), t(c["b"]), **args)
    assert_matches(out, ref, c["x"].dtype)
    if _oracle_cost(c["x"], c["w"], c["x"].shape) < 4000:
        oracle = conv_transpose2d_ref(c["x"], c["w"], c["b"], c["stride"], c["pad"], c["op"], c["groups"], c["dilation"])
        assert_matches(out, oracle, c["x"].dtype)


def test_random_cases_cover_every_parameter():
    """The generators really reach every kind of value (so a narrowed generator can't pass silently)."""
    convs = [conv2d_case(s) for s in range(N_CONV2D)]
    trans = [transpose_case(s) for s in range(N_TRANSPOSE)]
    for cases in (convs, trans):
        xs = [c["x"] for c in cases]
        assert {x.dtype for x in xs} == {np.dtype(d) for d in DTYPES}
        assert any(x.ndim == 3 for x in xs) and any(x.ndim == 4 and x.shape[0] == 0 for x in xs)
        assert any(x.ndim == 4 and x.shape[0] > 1 for x in xs)
        assert any(c["b"] is None for c in cases) and any(c["b"] is not None for c in cases)
        assert any(c["groups"] > 1 and c["w"].shape[1] > 1 for c in cases if c["w"].ndim == 4)
        ws = [c["w"] for c in cases]
        assert any(w.shape[2] != w.shape[3] for w in ws) and any(w.shape[2:] == (1, 1) for w in ws)
    assert any(c["groups"] == c["x"].shape[-3] > 1 and c["w"].shape[0] > c["groups"] for c in convs)  # multiplier
    assert {type(c["padding"]) for c in convs} == {int, tuple, str}
    assert {c["padding"] for c in convs if isinstance(c["padding"], str)} == {"same", "valid"}
    assert any(c["padding"] == "same" and c["d"][0] * (c["w"].shape[2] - 1) + 1 > c["x"].shape[-2] for c in convs)
    assert any(max(c["s"]) > 1 for c in convs) and any(max(c["d"]) > 1 for c in convs)
    assert any(c["op"][0] >= c["stride"][0] for c in trans)  # output_padding allowed by dilation only
    assert any(max(c["op"]) > 0 and max(c["pad"]) > 0 for c in trans)


# ---------------------------------------------------------------- padding modes (through the module)

def _torch_module_like(m: convcore.Conv2d | convcore.ConvTranspose2d):
    """The torch module with the same hyper-parameters and a copy of m's weight and bias."""
    dtype = getattr(torch, np.dtype(m.weight.dtype).name)
    if isinstance(m, convcore.Conv2d):
        tm = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                             m.bias is not None, m.padding_mode, dtype=dtype)
    else:
        tm = torch.nn.ConvTranspose2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                                      m.output_padding, m.groups, m.bias is not None, m.dilation, dtype=dtype)
    tm.weight = torch.nn.Parameter(t(m.weight))
    if m.bias is not None:
        tm.bias = torch.nn.Parameter(t(m.bias))
    return tm


@pytest.mark.parametrize("seed", range(N_MODES))
def test_conv2d_module_padding_modes_match_torch(seed):
    rng = np.random.default_rng(20_000 + seed)
    mode = ("zeros", "reflect", "replicate", "circular")[seed % 4]
    dtype = DTYPES[(seed // 4) % 4]
    g, cin, cout = _channels(rng)
    k = _as_pair(_pair_or_int(rng, [1, 2, 3, 4, 5]))
    d = _as_pair(_pair_or_int(rng, [1, 1, 2]))
    kind = rng.choice(["int", "pair", "same", "valid"], p=[0.3, 0.3, 0.3, 0.1])
    s = 1 if kind == "same" else _pair_or_int(rng, [1, 2, 3])
    padding = {"int": lambda: int(rng.integers(0, 4)), "pair": lambda: (int(rng.integers(0, 4)), int(rng.integers(0, 4))),
               "same": lambda: "same", "valid": lambda: "valid"}[str(kind)]()
    pads = same_pads(k, d) if padding == "same" else ((0, 0), (0, 0)) if padding == "valid" else \
        tuple((p, p) for p in _as_pair(padding))
    size = []
    for axis in (0, 1):
        reach = d[axis] * (k[axis] - 1) + 1
        low = max(1, reach - sum(pads[axis]), max(pads[axis]) + 1)  # reflect needs padding < size
        size.append(low + int(rng.integers(0, 6)))
    m = convcore.Conv2d(cin, cout, k, s, padding, d, g, bias=bool(rng.random() < 0.7), padding_mode=mode,
                        dtype=dtype, rng=seed)
    x = random_array(rng, _batch_shape(rng, cin) + tuple(size), dtype)
    assert_matches(m(x), _torch_module_like(m)(t(x)), dtype)
    if x.size and _oracle_cost(x, m.weight, m(x).shape) < 3000:
        oracle = conv2d_ref(x, m.weight, m.bias, _as_pair(s), pads, d, g, padding_mode=mode)
        assert_matches(m(x), oracle, dtype)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_mode_values_at_their_limits(mode):
    """reflect with padding size-1, circular with padding == size, replicate far beyond the size."""
    x = random_array(np.random.default_rng(1), (2, 2, 4, 5), np.float64)
    padding = {"reflect": (3, 4), "circular": (4, 5), "replicate": (9, 7)}[mode]
    m = convcore.Conv2d(2, 3, (2, 3), padding=padding, padding_mode=mode, dtype=np.float64, rng=0)
    assert_matches(m(x), _torch_module_like(m)(t(x)))


# ---------------------------------------------------------------- ConvTranspose2d.forward(output_size=...)

@pytest.mark.parametrize("seed", range(N_OUTPUT_SIZE))
def test_output_size_at_both_ends_of_its_range(seed):
    rng = np.random.default_rng(30_000 + seed)
    dtype = DTYPES[seed % 4]
    g, cin, cout = _channels(rng)
    k = _as_pair(_pair_or_int(rng, [1, 2, 3, 4]))
    s = _as_pair(_pair_or_int(rng, [1, 2, 3, 4]))
    d = _as_pair(_pair_or_int(rng, [1, 1, 2]))
    p = _as_pair(_pair_or_int(rng, [0, 0, 1]))
    x = random_array(rng, _batch_shape(rng, cin) + (int(rng.integers(2, 6)), int(rng.integers(2, 6))), dtype)
    low = [(x.shape[-2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + 1 for i in (0, 1)]
    high = [low[i] + s[i] - 1 for i in (0, 1)]
    m = convcore.ConvTranspose2d(cin, cout, k, s, p, groups=g, bias=bool(seed % 3), dilation=d, dtype=dtype, rng=seed)
    tm = _torch_module_like(m)
    lead = list(x.shape[:-2])
    for target in ([low[0], low[1]], [high[0], high[1]], [low[0], high[1]], [high[0], low[1]]):
        for form in (target, tuple(target), lead + target, [7] * len(lead) + target):  # leading entries ignored
            out = m(x, output_size=form)
            assert out.shape[-2:] == tuple(target)
            assert_matches(out, tm(t(x), output_size=list(form)), dtype)


def test_output_size_overrides_stored_output_padding():
    x = random_array(np.random.default_rng(2), (1, 2, 4, 4), np.float64)
    m = convcore.ConvTranspose2d(2, 3, 3, stride=3, output_padding=2, dtype=np.float64, rng=0)
    tm = _torch_module_like(m)
    assert m(x).shape == (1, 3, 14, 14)
    assert_matches(m(x, output_size=(12, 13)), tm(t(x), output_size=[12, 13]))
    assert m.output_padding == (2, 2)  # forward(output_size=) does not change the module


# ---------------------------------------------------------------- edge cases

def _both(fn_name, x, w, b=None, **kw):
    out = getattr(convcore, fn_name)(x, w, b, **kw)
    ref = getattr(TF, fn_name)(t(x), t(w), t(b), **kw)
    assert_matches(out, ref, x.dtype)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_padding_with_kernel_larger_than_input(dtype):
    rng = np.random.default_rng(3)
    x = random_array(rng, (2, 2, 3, 2), dtype)
    for k, d in (((7, 8), 1), ((4, 6), (2, 1)), ((5, 5), 3), ((2, 2), 1)):
        w = random_array(rng, (3, 2) + k, dtype)
        out = _both("conv2d", x, w, random_array(rng, (3,), dtype), padding="same", dilation=d)
        assert out.shape == (2, 3, 3, 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_output_padding_through_dilation(dtype):
    """stride 1, dilation 3, output_padding 2: valid because output_padding < dilation."""
    rng = np.random.default_rng(4)
    x = random_array(rng, (2, 3, 5, 4), dtype)
    w = random_array(rng, (3, 2, 3, 3), dtype)
    out = _both("conv_transpose2d", x, w, random_array(rng, (2,), dtype), stride=1, output_padding=2, dilation=3)
    assert out.shape == (2, 2, 5 + 6 + 2, 4 + 6 + 2)
    _both("conv_transpose2d", x, w, None, stride=(1, 2), padding=(2, 1), output_padding=(2, 1), dilation=(3, 1))


def test_output_padding_cells_beyond_every_tap_hold_only_the_bias():
    rng = np.random.default_rng(5)
    x = random_array(rng, (1, 1, 3, 3), np.float64)
    w = random_array(rng, (1, 1, 1, 1), np.float64)
    b = np.array([0.25])
    out = _both("conv_transpose2d", x, w, b, stride=3, output_padding=2)
    assert out.shape == (1, 1, 9, 9)
    np.testing.assert_array_equal(out[0, 0, 7:, :], 0.25)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_batch(dtype):
    rng = np.random.default_rng(6)
    x = random_array(rng, (0, 4, 6, 5), dtype)
    out = _both("conv2d", x, random_array(rng, (6, 2, 3, 2), dtype), random_array(rng, (6,), dtype), groups=2,
                stride=2, padding=1)
    assert out.shape == (0, 6, 3, 3)
    out = _both("conv_transpose2d", x, random_array(rng, (4, 3, 3, 2), dtype), None, stride=2, output_padding=1)
    assert out.shape == (0, 3, 14, 11)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unbatched_equals_batch_of_one(dtype):
    rng = np.random.default_rng(7)
    x = random_array(rng, (3, 7, 6), dtype)
    w = random_array(rng, (4, 3, 3, 3), dtype)
    out = _both("conv2d", x, w, None, padding=(1, 0), stride=(2, 1))
    assert out.shape == (4, 4, 4)
    np.testing.assert_array_equal(out, convcore.conv2d(x[None], w, None, padding=(1, 0), stride=(2, 1))[0])
    out = _both("conv_transpose2d", x, w.transpose(1, 0, 2, 3).copy(), None, stride=2, padding=1)
    np.testing.assert_array_equal(
        out, convcore.conv_transpose2d(x[None], w.transpose(1, 0, 2, 3).copy(), None, stride=2, padding=1)[0])


def test_pair_arguments_given_as_lists_and_numpy_ints():
    rng = np.random.default_rng(8)
    x = random_array(rng, (1, 2, 9, 8), np.float64)
    w = random_array(rng, (2, 2, 3, 2), np.float64)
    out = convcore.conv2d(x, w, None, [np.int64(2), 1], [1, np.int32(2)], (np.int8(2), 1))
    assert_matches(out, TF.conv2d(t(x), t(w), None, [2, 1], [1, 2], [2, 1]))
    out = convcore.conv_transpose2d(x, w, None, [2], (1,), [1], 1, [2, 1])  # 1-element lists mean (v, v), as torch
    assert_matches(out, TF.conv_transpose2d(t(x), t(w), None, [2], [1], [1], 1, [2, 1]))


def test_non_contiguous_and_read_only_inputs():
    rng = np.random.default_rng(9)
    base = random_array(rng, (6, 5, 2, 9), np.float64)
    x = base.transpose(2, 1, 3, 0)[:, :, ::-1, ::2]  # (2, 5, 9, 3), negative and non-unit strides
    w = random_array(rng, (5, 2, 3, 1), np.float64).transpose(1, 0, 2, 3)  # (2, 5, 3, 1) weight for the transpose
    wc = np.asfortranarray(random_array(rng, (4, 5, 2, 2), np.float64))
    b = np.broadcast_to(np.float64(0.5), (4,))  # read-only, zero strides
    assert_matches(convcore.conv2d(x, wc, b, padding=1, stride=(1, 2)),
                   TF.conv2d(t(x), t(wc), t(b), padding=1, stride=(1, 2)))
    x.flags.writeable = False
    assert_matches(convcore.conv_transpose2d(x[:, :2], w, None, stride=2),
                   TF.conv_transpose2d(t(x[:, :2]), t(w), None, stride=2))


# ---------------------------------------------------------------- the engine's other algorithm paths

def _large_cases():
    """(name, algorithm the dispatcher must pick, op, x shape, w shape, kwargs) at the default thresholds: banded
    depthwise filters (stride 1, output >= 64x64; several chunks), per-tap (strided depthwise), FFT (kernel >= 10x10
    taps on an output >= 64x64), the phase GEMMs of CNN-sized layers (strided, grouped) and of transposed layers, and
    im2col / scatter below the phase threshold."""
    return [
        ("banded depthwise 3x3", "banded", "conv2d", (2, 3, 66, 70), (3, 1, 3, 3), dict(groups=3, padding=1)),
        ("banded multiplier 5x3 dilated", "banded", "conv2d", (1, 2, 72, 68), (6, 1, 5, 3), dict(groups=2, padding="same", dilation=(2, 1))),
        ("banded multiplier 2", "banded", "conv2d", (3, 8, 80, 72), (16, 1, 3, 3), dict(groups=8)),
        ("per-tap strided", "per_tap", "conv2d", (1, 2, 133, 140), (2, 1, 4, 4), dict(groups=2, stride=2, padding=(2, 1))),
        ("per-tap strided multiplier 2", "per_tap", "conv2d", (1, 4, 140, 136), (8, 1, 3, 3), dict(groups=4, stride=2, padding=1)),
        ("im2col channel-mixing layer", "im2col", "conv2d", (2, 16, 24, 24), (32, 16, 3, 3), dict(stride=2, padding=1)),
        ("phases strided layer", "phases", "conv2d", (2, 16, 48, 44), (32, 16, 3, 3), dict(stride=2, padding=1)),
        ("phases stride-1 layer", "phases", "conv2d", (2, 16, 30, 28), (32, 16, 3, 3), dict(padding=1)),
        ("phases groups=4", "phases", "conv2d", (2, 16, 60, 64), (16, 4, 3, 3), dict(groups=4, padding=(0, 1))),
        ("FFT depthwise 11x11", "fft", "conv2d", (1, 3, 80, 74), (3, 1, 11, 11), dict(groups=3, padding=5)),
        ("FFT dense 10x12 strided", "fft", "conv2d", (2, 2, 150, 160), (3, 2, 10, 12), dict(stride=2, padding=(1, 2))),
        ("FFT grouped dilated", "fft", "conv2d", (1, 4, 90, 84), (4, 2, 10, 10), dict(groups=2, dilation=2, padding="same")),
        ("FFT 31x31 image filter", "fft", "conv2d", (1, 3, 96, 96), (3, 1, 31, 31), dict(groups=3, padding=15)),
        ("transposed kernel 4 stride 2", "scatter", "conv_transpose2d", (1, 6, 40, 36), (6, 4, 4, 4), dict(stride=2, padding=1)),
        ("transposed phases", "phases", "conv_transpose2d", (1, 16, 50, 46), (16, 8, 4, 4), dict(stride=2, padding=1)),
        ("transposed depthwise", "scatter", "conv_transpose2d", (2, 3, 50, 40), (3, 1, 3, 3), dict(groups=3, stride=(2, 1), output_padding=(1, 0))),
    ]


def _dispatched(op, x_shape, w_shape, kw):
    """The algorithm the engine's own dispatcher picks for this call (float64), from the validated call."""
    x, w = np.zeros(x_shape), np.zeros(w_shape)
    if op == "conv_transpose2d":
        return cf.choose_transpose_algorithm(x_shape, w_shape)
    call = conv2d_call(x, w, None, kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1), kw.get("groups", 1))
    out = convcore.conv2d_output_size(x_shape[2:], w_shape[2:], call.stride, kw.get("padding", 0), call.dilation)
    return cf.choose_algorithm(x_shape, w_shape, call.stride, call.dilation, call.groups, out, x.dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", _large_cases(), ids=lambda c: c[0])
def test_large_shapes_reach_other_paths(case, dtype):
    name, algorithm, op, x_shape, w_shape, kw = case
    assert _dispatched(op, x_shape, w_shape, kw) == algorithm, f"{name} no longer reaches {algorithm}: update the case"
    rng = np.random.default_rng(len(name) * 31 + DTYPES.index(dtype))
    x, w = random_array(rng, x_shape, dtype), random_array(rng, w_shape, dtype)
    out_channels = w_shape[0] if op == "conv2d" else w_shape[1] * kw.get("groups", 1)
    _both(op, x, w, random_array(rng, (out_channels,), dtype), **kw)


# ---------------------------------------------------------------- adjoint identity

@pytest.mark.parametrize("seed", range(N_ADJOINT))
def test_adjoint_identity(seed):
    """sum(conv2d(x, w) * y) == sum(x * conv_transpose2d(y, w)): the transpose, with no conjugation."""
    rng = np.random.default_rng(40_000 + seed)
    dtype = DTYPES[seed % 4]
    g, cin, cout = _channels(rng)
    k = _as_pair(_pair_or_int(rng, [1, 2, 3, 4]))
    s = _as_pair(_pair_or_int(rng, [1, 2, 3]))
    d = _as_pair(_pair_or_int(rng, [1, 1, 2]))
    p = _as_pair(_pair_or_int(rng, [0, 1, 2]))
    size = tuple(max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i]) + int(rng.integers(0, 7)) for i in (0, 1))
    x = random_array(rng, (int(rng.integers(1, 3)), cin) + size, dtype)
    w = random_array(rng, (cout, cin // g) + k, dtype)
    fx = convcore.conv2d(x, w, None, s, p, d, g)
    y = random_array(rng, fx.shape, dtype)
    low = convcore.conv_transpose2d_output_size(fx.shape[2:], k, s, p, 0, d)
    output_padding = (size[0] - low[0], size[1] - low[1])
    fty = convcore.conv_transpose2d(y, w, None, s, p, output_padding, g, d)
    assert fty.shape == x.shape
    lhs, rhs = np.sum(fx * y), np.sum(x * fty)
    tol = 1e-10 if np.dtype(dtype) in (np.float64, np.complex128) else 1e-4
    scale = np.sum(np.abs(fx) * np.abs(y))  # the size of the sum's terms, so the bound is relative
    assert abs(lhs - rhs) <= tol * scale, (lhs, rhs)


# ---------------------------------------------------------------- the second oracle itself

@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_oracle_agrees_with_torch(dtype):
    rng = np.random.default_rng(11)
    x = random_array(rng, (2, 4, 7, 6), dtype)
    w = random_array(rng, (6, 2, 3, 2), dtype)
    b = random_array(rng, (6,), dtype)
    assert_matches(conv2d_ref(x, w, b, (2, 1), ((1, 1), (2, 2)), (1, 2), 2),
                   TF.conv2d(t(x), t(w), t(b), (2, 1), (1, 2), (1, 2), 2))
    assert_matches(conv2d_ref(x, w, None, (1, 1), same_pads((3, 2), (2, 1)), (2, 1), 2),
                   TF.conv2d(t(x), t(w), None, 1, "same", (2, 1), 2))
    for mode in ("reflect", "replicate", "circular"):
        tm = torch.nn.Conv2d(4, 6, (3, 2), padding=(2, 1), padding_mode=mode, groups=2, dtype=getattr(torch, np.dtype(dtype).name))
        tm.weight, tm.bias = torch.nn.Parameter(t(w)), torch.nn.Parameter(t(b))
        assert_matches(conv2d_ref(x, w, b, (1, 1), ((2, 2), (1, 1)), (1, 1), 2, padding_mode=mode), tm(t(x)))
    wt = random_array(rng, (4, 3, 3, 2), dtype)
    assert_matches(conv_transpose2d_ref(x, wt, b, (2, 3), (1, 1), (1, 2), 2, (1, 2)),
                   TF.conv_transpose2d(t(x), t(wt), t(b), (2, 3), (1, 1), (1, 2), 2, (1, 2)))
    assert_matches(conv_transpose2d_ref(x[0], wt, None, (1, 1), (0, 2), (2, 0), 2, (3, 1)),
                   TF.conv_transpose2d(t(x[0]), t(wt), None, 1, (0, 2), (2, 0), 2, (3, 1)))


# ---------------------------------------------------------------- padding helpers (public: the pages draw with them)

@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_pad2d_matches_torch_pad(mode, dtype):
    rng = np.random.default_rng(12)
    torch_mode = "constant" if mode == "zeros" else mode
    for shape, pads in [((2, 3, 5, 4), ((1, 2), (3, 0))), ((3, 4, 6), ((3, 3), (2, 1))), ((1, 1, 2, 3), ((0, 1), (2, 2))),
                        ((2, 1, 4, 4), ((0, 0), (0, 0)))]:
        x = random_array(rng, shape, dtype)
        (top, bottom), (left, right) = pads
        if np.dtype(dtype).kind == "c" and mode != "zeros":  # torch pads complex only with constants: pad both parts
            ref = (TF.pad(t(x.real), (left, right, top, bottom), mode=torch_mode)
                   + 1j * TF.pad(t(x.imag), (left, right, top, bottom), mode=torch_mode)).numpy()
        else:
            ref = TF.pad(t(x), (left, right, top, bottom), mode=torch_mode).numpy()
        out = convcore.pad2d(x, pads, mode)
        np.testing.assert_array_equal(out, ref.astype(dtype))
        assert out.dtype == x.dtype
        # the index map says which real cell each padded cell copies (-1: a zero)
        rows = convcore.pad_source_index(shape[-2], top, bottom, mode)
        cols = convcore.pad_source_index(shape[-1], left, right, mode)
        assert rows.shape == (shape[-2] + top + bottom,) and cols.shape == (shape[-1] + left + right,)
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                expected = 0 if (r < 0 or c < 0) else x[..., r, c]
                np.testing.assert_array_equal(out[..., i, j], expected)


@pytest.mark.parametrize("mode, pads", [("reflect", (4, 0)), ("reflect", (0, 5)), ("circular", (0, 6)), ("nearest", (1, 1))])
def test_pad_source_index_rejects_what_torch_rejects(mode, pads):
    with pytest.raises(ValueError, match=mode if mode == "nearest" else rf"\({pads[0]}, {pads[1]}\).*size 4"):
        convcore.pad_source_index(4, pads[0], pads[1], mode)
    if mode != "nearest":
        with pytest.raises(Exception):
            TF.pad(torch.zeros(1, 1, 4, 4), (0, 0) + pads, mode=mode)


@pytest.mark.parametrize("stride", [(1, 1), (2, 2), (3, 1), (1, 4)])
def test_insert_zeros_is_a_transposed_1x1_identity(stride):
    """Zero insertion = conv_transpose2d with a 1x1 kernel of ones and the same stride (torch as the oracle)."""
    x = random_array(np.random.default_rng(13), (2, 3, 4, 5), np.float64)
    ref = TF.conv_transpose2d(t(x), torch.ones(3, 1, 1, 1, dtype=torch.float64), stride=stride, groups=3)
    out = convcore.insert_zeros(x, stride)
    np.testing.assert_array_equal(out, ref.numpy())
    assert not np.shares_memory(out, x)
