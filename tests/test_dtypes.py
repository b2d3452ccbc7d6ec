"""Every dtype numpy can hold, against torch 2.13 on CPU: convcore convolves what torch convolves (same result dtype,
integers wrapping around exactly like torch's, float16 rounded bit for bit like torch's), and rejects the rest with
a TypeError that names the dtype and the rule.

The table torch gives (probed by test_acceptance_matches_torch):
  conv2d:           int8 int16 int32 int64 uint8 float16 float32 float64 complex64 complex128 (and bfloat16)
  conv_transpose2d: int64 float16 float32 float64 complex64 complex128 (and bfloat16)
  neither:          bool uint16 uint32 uint64 (numpy's longdouble types have no torch dtype at all)
  modules:          floating point and complex dtypes only ("Only Tensors of floating point and complex dtype can
                    require gradients")
An empty input (no batch, or no input channels) never reaches a kernel in torch: any dtype it holds is accepted.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convcore
from torch_compare import t

NUMPY_DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
                np.float16, np.float32, np.float64, np.complex64, np.complex128, np.longdouble, np.clongdouble]
INTEGERS = [np.int8, np.int16, np.int32, np.int64, np.uint8]


def _torch_dtype(dtype):
    """torch's dtype for a numpy one, or None when torch has none (longdouble, clongdouble)."""
    try:
        return torch.from_numpy(np.zeros(1, dtype)).dtype
    except TypeError:
        return None


def _values(rng, shape, dtype, wide=False):
    """Random values of dtype: the full range of small integer types (so sums overflow), normals for floats."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        low, high = (info.min, info.max) if wide or dtype.itemsize < 4 else (-1000 * (dtype.kind == "i"), 1000)
        if dtype.itemsize == 8 and wide:
            low, high = (-(2 ** 62), 2 ** 62) if dtype.kind == "i" else (0, 2 ** 62)
        return rng.integers(low, high, shape, endpoint=True, dtype=np.int64 if dtype.kind == "i" else np.uint64).astype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    values = rng.standard_normal(shape) * 3
    if dtype.kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    return values.astype(dtype)


def _bits(a: np.ndarray) -> np.ndarray:
    """The raw bits, so -0.0 vs 0.0 or a last-bit difference counts (NaN never occurs here)."""
    return np.ascontiguousarray(a).view(np.uint8)


def _run_both(op, x, w, b, **kw):
    ours = theirs = None
    try:
        ours = getattr(convcore, op)(x, w, b, **kw)
    except (TypeError, ValueError) as e:
        ours = e
    try:
        theirs = getattr(TF, op)(t(x), t(w), t(b), **kw).numpy()
    except (RuntimeError, NotImplementedError, TypeError) as e:
        theirs = e
    return ours, theirs


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
@pytest.mark.parametrize("dtype", NUMPY_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("batch", [2, 0])
def test_acceptance_matches_torch(op, dtype, batch):
    rng = np.random.default_rng(0)
    x = _values(rng, (batch, 2, 5, 5), dtype)
    w = _values(rng, (3, 2, 3, 3) if op == "conv2d" else (2, 3, 3, 3), dtype)
    b = _values(rng, (3,), dtype)
    if _torch_dtype(dtype) is None:  # torch has no such tensor: convcore names the dtype and what it takes
        with pytest.raises(TypeError, match=f"{np.dtype(dtype).name}.*torch tensors cannot hold"):
            getattr(convcore, op)(x, w, b)
        return
    ours, theirs = _run_both(op, x, w, b, stride=2, padding=1)
    if isinstance(theirs, Exception):
        assert isinstance(ours, TypeError), f"torch rejects {dtype} ({theirs}), convcore gives {ours!r}"
        assert np.dtype(dtype).name in str(ours) and "int64" in str(ours), str(ours)
        return
    assert not isinstance(ours, Exception), f"torch accepts {np.dtype(dtype).name}, convcore: {ours}"
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    if np.dtype(dtype).kind in "iuf" and np.dtype(dtype).itemsize <= 2 or np.dtype(dtype).kind in "iu":
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def _random_call(rng, transposed: bool):
    groups = int(rng.choice([1, 2, 3]))
    cin, cout = groups * int(rng.choice([1, 2, 3, 5, 8, 17])), groups * int(rng.integers(1, 4))
    k = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    s, d = (int(rng.integers(1, 4)), int(rng.integers(1, 4))), (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    p = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
    size = (d[0] * (k[0] - 1) + 1 + int(rng.integers(0, 8)), d[1] * (k[1] - 1) + 1 + int(rng.integers(0, 8)))
    x_shape = (int(rng.integers(1, 3)), cin) + size if rng.random() < 0.8 else (cin,) + size
    w_shape = (cin, cout // groups) + k if transposed else (cout, cin // groups) + k
    kw = dict(stride=s, padding=p, dilation=d, groups=groups)
    if transposed:
        # keeps the output at least 1 x 1: 2p <= (H-1)s + d(k-1)
        kw["padding"] = tuple(min(p[i], ((size[i] - 1) * s[i] + d[i] * (k[i] - 1)) // 2) for i in (0, 1))
        kw["output_padding"] = tuple(int(rng.integers(0, max(s[i], d[i]))) for i in (0, 1))
    return x_shape, w_shape, cout, kw


CASES_PER_DTYPE = 40


BIT_EXACT = [("conv2d", d) for d in INTEGERS + [np.float16]] + [("conv_transpose2d", d) for d in (np.int64, np.float16)]


@pytest.mark.parametrize("op, dtype", BIT_EXACT, ids=[f"{op}-{np.dtype(d).name}" for op, d in BIT_EXACT])
def test_bit_exact_against_torch(op, dtype):
    """Random configurations (groups, strides, dilations, padding, batch or not, bias or not), values over the whole
    range of small integer types so that sums overflow: the same bits as torch, every cell."""
    rng = np.random.default_rng(sum(map(ord, op + np.dtype(dtype).name)))
    cells = 0
    for case in range(CASES_PER_DTYPE):
        x_shape, w_shape, cout, kw = _random_call(rng, op == "conv_transpose2d")
        if np.dtype(dtype) in (np.int8, np.int16, np.int32, np.uint8):
            kw["dilation"] = 1  # torch's dilated conv2d has no kernel for these (test_dilated_small_integers_rejected)
        wide = case % 2 == 0
        x, w = _values(rng, x_shape, dtype, wide), _values(rng, w_shape, dtype, wide)
        b = _values(rng, (cout,), dtype, wide) if rng.random() < 0.7 else None
        ours, theirs = _run_both(op, x, w, b, **kw)
        assert not isinstance(theirs, Exception), theirs  # the generator keeps to valid calls
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, (ours.dtype, ours.shape, theirs.shape)
        same = (_bits(ours) == _bits(theirs)).reshape(ours.size, -1).all(axis=1) if ours.size else np.ones(0, bool)
        mismatched = ours.size - int(same.sum())
        assert mismatched == 0, f"{mismatched} of {ours.size} cells differ from torch's bits: {x_shape} {w_shape} {kw}"
        cells += ours.size
    assert cells > 1000


@pytest.mark.parametrize("dtype", INTEGERS, ids=lambda d: np.dtype(d).name)
def test_dilated_small_integers_rejected(dtype):
    """torch's dilated conv2d (slow_conv_dilated2d) has an int64 kernel only among the integers."""
    rng = np.random.default_rng(3)
    x, w = _values(rng, (1, 2, 6, 6), dtype), _values(rng, (2, 2, 2, 2), dtype)
    ours, theirs = _run_both("conv2d", x, w, None, dilation=(1, 2))
    if dtype == np.int64:
        np.testing.assert_array_equal(ours, theirs)
    else:
        assert isinstance(theirs, NotImplementedError) and isinstance(ours, TypeError)
        assert "dilation=(1, 2)" in str(ours) and np.dtype(dtype).name in str(ours)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64])
def test_integer_overflow_wraps_like_torch(dtype):
    """A sum far beyond the type's range: torch wraps modulo 2^bits (and so does convcore), it does not saturate."""
    info = np.iinfo(dtype)
    x = np.full((1, 4, 3, 3), info.max, dtype)
    w = np.full((2, 4, 3, 3), info.max if dtype != np.uint8 else 200, dtype)
    b = np.full(2, info.max, dtype)
    ours, theirs = _run_both("conv2d", x, w, b)
    np.testing.assert_array_equal(ours, theirs)
    exact = 36 * int(info.max) * int(w.flat[0]) + int(info.max)
    assert int(ours.flat[0]) == (exact - int(info.min)) % 2 ** info.bits + int(info.min)  # two's complement wrap
    assert int(ours.flat[0]) != exact


def test_float16_needs_torchs_summation_order():
    """Why convcore follows torch's GEMM order for half: rounding one exact (float64) sum would differ from torch on
    a few cells in a thousand, a 1-ulp difference that the bit-exact test above would catch."""
    rng = np.random.default_rng(0)
    differ = cells = 0
    for _ in range(100):
        x, w = _values(rng, (1, 8, 7, 7), np.float16), _values(rng, (4, 8, 3, 3), np.float16)
        b = _values(rng, (4,), np.float16)
        ours, theirs = _run_both("conv2d", x, w, b)
        exact = convcore.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)).astype(np.float16)
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))
        differ += int(np.count_nonzero(exact != theirs))
        cells += theirs.size
    assert 0 < differ < cells / 100


def test_bfloat16_array_is_rejected_with_the_reason():
    ml_dtypes = pytest.importorskip("ml_dtypes")  # in the test extra: a real bfloat16 numpy array
    x = np.ones((1, 2, 4, 4), ml_dtypes.bfloat16)
    for op in (convcore.conv2d, convcore.conv_transpose2d):
        with pytest.raises(TypeError, match="bfloat16: numpy cannot compute in bfloat16"):
            op(x, np.ones((2, 2, 3, 3), ml_dtypes.bfloat16))


@pytest.mark.parametrize("cls_name", ["Conv2d", "ConvTranspose2d"])
@pytest.mark.parametrize("dtype", [d for d in NUMPY_DTYPES if d not in (np.longdouble, np.clongdouble)],
                         ids=lambda d: np.dtype(d).name)
def test_module_dtype_like_torch(cls_name, dtype):
    """Construction with dtype= fails exactly where torch's does; where it works, forward gives torch's bits
    (float16) or values (the rest)."""
    torch_dtype = _torch_dtype(dtype)
    try:
        tm = getattr(torch.nn, cls_name)(4, 6, 3, stride=2, groups=2, dtype=torch_dtype)
    except RuntimeError:
        with pytest.raises(TypeError, match=f"got {np.dtype(dtype).name}"):
            getattr(convcore, cls_name)(4, 6, 3, stride=2, groups=2, dtype=dtype)
        return
    m = getattr(convcore, cls_name)(4, 6, 3, stride=2, groups=2, dtype=dtype, rng=0)
    assert m.weight.dtype == dtype and m.bias.dtype == dtype
    tm.weight, tm.bias = torch.nn.Parameter(t(m.weight)), torch.nn.Parameter(t(m.bias))
    x = _values(np.random.default_rng(1), (2, 4, 7, 6), dtype)
    with torch.no_grad():
        theirs = tm(t(x)).numpy()
    ours = m(x)
    assert ours.dtype == theirs.dtype
    if dtype == np.float16:
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match="floating point or complex"):
        m.weight = np.zeros(m.weight.shape, np.int64)  # torch's parameters cannot hold integers either


@pytest.mark.parametrize("dtype", INTEGERS + [np.float16], ids=lambda d: np.dtype(d).name)
def test_trace_records_work_with_integer_and_half_inputs(dtype):
    """The lessons' step records on integer (and half) inputs: each step's products sum to the engine's output cell."""
    from convcore.teaching.trace import arithmetic_text, format_number, trace_conv2d, trace_conv_transpose2d

    rng = np.random.default_rng(2)
    x, w = _values(rng, (1, 2, 5, 5), dtype), _values(rng, (2, 2, 3, 3), dtype)
    out = convcore.conv2d(x, w, None, 1, 1)
    trace = trace_conv2d(x, w, None, 1, 1)
    assert trace.output.dtype == dtype
    np.testing.assert_array_equal(trace.output, out[0, 0])
    for step in (0, 12, 24):  # the written-out arithmetic ends in the engine's (wrapped, rounded) cell
        assert arithmetic_text(trace, step).endswith(f"= {format_number(out[0, 0].flat[step])}")
    if dtype in (np.int64, np.float16):
        tt = trace_conv_transpose2d(x, w, None, 2, 1)
        np.testing.assert_array_equal(tt.output, convcore.conv_transpose2d(x, w, None, 2, 1)[0, 0])
