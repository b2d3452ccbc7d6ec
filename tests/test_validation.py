"""Every configuration torch rejects is rejected by convcore too, with a ValueError or TypeError whose message names
the offending numbers (never an IndexError or a numpy broadcasting error); inputs are never modified or aliased."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convcore
from torch_compare import DTYPES, random_array, t

pytestmark = pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")


def _arr(shape, dtype=np.float32):
    return random_array(np.random.default_rng(len(shape)), shape, dtype)


X = _arr((1, 4, 6, 6))
W = _arr((6, 2, 3, 3))  # conv2d weight, groups=2
WT = _arr((4, 3, 3, 3))  # conv_transpose2d weight: in 4, out 3 (groups=1)


def f_conv(x=X, w=W, b=None, **kw):
    """The same F.conv2d call on both sides: returns (torch thunk, convcore thunk)."""
    kw.setdefault("groups", 2 if w is W else 1)
    return (lambda: TF.conv2d(t(x), t(w), t(b), **kw)), (lambda: convcore.conv2d(x, w, b, **kw))


def f_trans(x=X, w=WT, b=None, **kw):
    return (lambda: TF.conv_transpose2d(t(x), t(w), t(b), **kw)), (lambda: convcore.conv_transpose2d(x, w, b, **kw))


def module(cls_name, args, kw, x=X, **forward_kw):
    """Construct and call the module on both sides (torch rejects some arguments only when forward runs)."""
    def run(lib):
        dtype = kw.get("dtype")
        lib_kw = kw if dtype is None or lib is convcore else {**kw, "dtype": getattr(torch, np.dtype(dtype).name)}
        m = getattr(lib, cls_name)(*args, **lib_kw)
        return m(x if lib is convcore else t(x), **forward_kw)
    return (lambda: run(torch.nn)), (lambda: run(convcore))


# (case id, (torch thunk, convcore thunk), substrings the convcore message must contain)
CASES = [
    # ---- conv2d: shapes
    ("2-D input", f_conv(x=X[0, 0]), ["[6, 6]"]),
    ("5-D input", f_conv(x=X[None]), ["[1, 1, 4, 6, 6]"]),
    ("3-D weight", f_conv(w=_arr((6, 3, 3)), groups=1), ["[6, 3, 3]"]),
    ("5-D weight", f_conv(w=_arr((6, 2, 3, 3, 1)), groups=1), ["[6, 2, 3, 3, 1]"]),
    ("channel mismatch", f_conv(w=_arr((4, 3, 3, 3))), ["4 channels", "3"]),
    ("channel mismatch groups", f_conv(w=_arr((6, 1, 3, 3)), groups=2), ["groups=2", "2 channels", "4 channels"]),
    ("groups do not divide out channels", f_conv(w=_arr((5, 2, 3, 3)), groups=2), ["groups=2", "[5, 2, 3, 3]"]),
    ("groups do not divide in channels", f_conv(w=_arr((6, 1, 3, 3)), groups=3), ["groups=3", "4 channels"]),
    ("weight with zero out channels", f_conv(w=_arr((0, 4, 3, 3)), groups=1), ["[0, 4, 3, 3]"]),
    ("kernel height 0", f_conv(w=_arr((6, 2, 0, 3))), ["[6, 2, 0, 3]"]),
    ("empty spatial input", f_conv(x=_arr((1, 4, 0, 6)), padding=1), ["[1, 4, 0, 6]"]),
    ("empty spatial unbatched", f_conv(x=_arr((4, 6, 0)), padding=1), ["[4, 6, 0]"]),
    ("bias length", f_conv(b=_arr((5,))), ["6 elements", "[5]"]),
    ("bias 2-D", f_conv(b=_arr((6, 1))), ["6 elements", "[6, 1]"]),
    ("bias scalar", f_conv(b=np.float32(1.0) * np.ones((), np.float32)), ["6 elements", "[]"]),
    # ---- conv2d: dtypes
    ("weight dtype", f_conv(w=W.astype(np.float64)), ["float32", "float64"]),
    ("bias dtype", f_conv(b=_arr((6,), np.float64)), ["float32", "float64"]),
    ("complex weight real input", f_conv(w=W.astype(np.complex64)), ["float32", "complex64"]),
    ("bool input", f_conv(x=X > 0, w=W > 0), ["bool"]),
    # ---- conv2d: numbers
    ("stride 0", f_conv(stride=0), ["stride", "(0, 0)"]),
    ("stride negative", f_conv(stride=(1, -2)), ["stride", "(1, -2)"]),
    ("dilation 0", f_conv(dilation=(0, 1)), ["dilation", "(0, 1)"]),
    ("dilation negative", f_conv(dilation=-1), ["dilation", "(-1, -1)"]),
    ("groups 0", f_conv(groups=0), ["groups=0"]),
    ("groups negative", f_conv(groups=-2), ["groups=-2"]),
    ("negative padding", f_conv(padding=-1), ["padding", "(-1, -1)"]),
    ("negative padding pair", f_conv(padding=(1, -3)), ["padding", "(1, -3)"]),
    ("kernel larger than input", f_conv(w=_arr((6, 2, 7, 3)), groups=2), ["7", "6+0+0 = 6"]),
    ("dilated kernel larger than padded input", f_conv(dilation=(1, 4), padding=(0, 1)), ["4*(3-1)+1 = 9", "6+1+1 = 8"]),
    ("kernel larger than input, empty batch", f_conv(x=_arr((0, 4, 2, 2))), ["3", "2+0+0 = 2"]),
    ("padding string case", f_conv(padding="SAME"), ["'SAME'", "same", "valid"]),
    ("padding string unknown", f_conv(padding="full"), ["'full'"]),
    ("same with stride", f_conv(padding="same", stride=(1, 2)), ["same", "stride=(1, 2)"]),
    ("stride 3 values", f_conv(stride=(1, 1, 1)), ["stride", "3 values", "(1, 1, 1)"]),
    ("padding 3 values", f_conv(padding=[1, 1, 1]), ["padding", "3 values", "[1, 1, 1]"]),
    ("stride float", f_conv(stride=1.5), ["stride", "1.5"]),
    ("padding float", f_conv(padding=1.5), ["padding", "1.5"]),
    ("dilation pair with float", f_conv(dilation=(1, 2.0)), ["dilation", "2.0"]),
    ("stride bool", f_conv(stride=True), ["stride", "True"]),
    ("groups float", f_conv(groups=2.0), ["groups", "2.0"]),
    # ---- conv_transpose2d
    ("T 2-D input", f_trans(x=X[0, 0]), ["[6, 6]"]),
    ("T 5-D input", f_trans(x=X[None]), ["[1, 1, 4, 6, 6]"]),
    ("T 3-D weight", f_trans(w=_arr((4, 3, 3))), ["[4, 3, 3]"]),
    ("T channel mismatch", f_trans(w=_arr((3, 3, 3, 3))), ["[3, 3, 3, 3]", "3 channels", "4 channels"]),
    ("T groups do not divide", f_trans(groups=3), ["groups=3", "[4, 3, 3, 3]"]),
    ("T weight zero out channels", f_trans(w=_arr((4, 0, 3, 3))), ["[4, 0, 3, 3]"]),
    ("T weight zero in channels", f_trans(x=_arr((1, 0, 6, 6)), w=_arr((0, 3, 3, 3))), ["[0, 3, 3, 3]"]),
    ("T kernel width 0", f_trans(w=_arr((4, 3, 3, 0))), ["[4, 3, 3, 0]"]),
    ("T empty spatial input", f_trans(x=_arr((2, 4, 5, 0))), ["[2, 4, 5, 0]"]),
    ("T bias length", f_trans(b=_arr((4,))), ["3 elements", "[4]"]),
    ("T bias length groups", f_trans(w=_arr((4, 3, 3, 3)), b=_arr((3,)), groups=2), ["6 elements", "[3]"]),
    ("T weight dtype", f_trans(w=WT.astype(np.complex128)), ["float32", "complex128"]),
    ("T bool input", f_trans(x=X > 0, w=WT > 0), ["bool"]),
    ("T stride 0", f_trans(stride=(0, 1)), ["stride", "(0, 1)"]),
    ("T dilation 0", f_trans(dilation=0), ["dilation", "(0, 0)"]),
    ("T groups 0", f_trans(groups=0), ["groups=0"]),
    ("T negative padding", f_trans(padding=(0, -1)), ["padding", "(0, -1)"]),
    ("T negative output_padding", f_trans(output_padding=-1, stride=2), ["output_padding", "(-1, -1)"]),
    ("T output_padding equal to stride", f_trans(stride=2, output_padding=(0, 2)),
     ["output_padding=(0, 2)", "stride=(2, 2)", "dilation=(1, 1)"]),
    ("T output_padding without stride", f_trans(output_padding=1), ["output_padding=(1, 1)", "stride=(1, 1)"]),
    ("T output_padding beyond dilation", f_trans(dilation=3, output_padding=3), ["output_padding=(3, 3)", "dilation=(3, 3)"]),
    ("T output too small", f_trans(x=_arr((1, 4, 1, 1)), w=_arr((4, 3, 1, 1)), padding=1), ["(1, 1)", "(-1, -1)"]),
    ("T output zero", f_trans(x=_arr((1, 4, 1, 2)), w=_arr((4, 3, 1, 1)), padding=1, stride=2, output_padding=1),
     ["(1, 2)", "(0, 2)"]),
    ("T output too small, empty batch", f_trans(x=_arr((0, 4, 1, 1)), w=_arr((4, 3, 1, 1)), padding=1), ["(-1, -1)"]),
    ("T padding string", f_trans(padding="same"), ["'same'"]),
    ("T padding valid", f_trans(padding="valid"), ["'valid'"]),
    ("T output_padding 3 values", f_trans(stride=2, output_padding=(1, 1, 1)), ["output_padding", "3 values"]),
    ("T stride float", f_trans(stride=2.0), ["stride", "2.0"]),
    # ---- modules: constructor rules
    ("Conv2d bad padding_mode", module("Conv2d", (4, 6, 3), dict(padding_mode="mirror")), ["'mirror'", "reflect"]),
    ("Conv2d padding_mode case", module("Conv2d", (4, 6, 3), dict(padding_mode="Zeros")), ["'Zeros'"]),
    ("Conv2d SAME", module("Conv2d", (4, 6, 3), dict(padding="SAME")), ["'SAME'"]),
    ("Conv2d same stride 2", module("Conv2d", (4, 6, 3), dict(padding="same", stride=2)), ["same", "stride=(2, 2)"]),
    ("Conv2d groups 0", module("Conv2d", (4, 6, 3), dict(groups=0)), ["groups=0"]),
    ("Conv2d in not divisible", module("Conv2d", (4, 6, 3), dict(groups=3)), ["in_channels=4", "groups=3"]),
    ("Conv2d out not divisible", module("Conv2d", (4, 6, 3), dict(groups=4)), ["out_channels=6", "groups=4"]),
    ("Conv2d float kernel_size", module("Conv2d", (4, 6, 2.5), {}), ["kernel_size", "2.5"]),
    ("Conv2d kernel pair with float", module("Conv2d", (4, 6, (3, 1.0)), {}), ["kernel_size", "1.0"]),
    ("Conv2d stride 0", module("Conv2d", (4, 6, 3), dict(stride=0)), ["stride", "(0, 0)"]),
    ("Conv2d float stride", module("Conv2d", (4, 6, 3), dict(stride=1.5)), ["stride", "1.5"]),
    ("Conv2d negative padding", module("Conv2d", (4, 6, 3), dict(padding=(-1, 0))), ["padding", "(-1, 0)"]),
    ("Conv2d dilation 0", module("Conv2d", (4, 6, 3), dict(dilation=0)), ["dilation", "(0, 0)"]),
    ("Conv2d kernel 0", module("Conv2d", (4, 6, (0, 3)), {}), ["kernel size", "[6, 4, 0, 3]"]),  # at forward
    ("Conv2d out_channels 0", module("Conv2d", (4, 0, 3), {}), ["[0, 4, 3, 3]"]),
    ("ConvTranspose2d padding_mode", module("ConvTranspose2d", (4, 6, 3), dict(padding_mode="reflect")),
     ["zeros", "'reflect'"]),
    ("ConvTranspose2d padding string", module("ConvTranspose2d", (4, 6, 3), dict(padding="same")), ["'same'"]),
    ("ConvTranspose2d output_padding too large", module("ConvTranspose2d", (4, 6, 3), dict(stride=2, output_padding=2)),
     ["output_padding=(2, 2)", "stride=(2, 2)"]),
    ("ConvTranspose2d out_channels 0", module("ConvTranspose2d", (4, 0, 3), {}), ["[4, 0, 3, 3]"]),
    ("ConvTranspose2d float kernel_size", module("ConvTranspose2d", (4, 6, 3.0), {}), ["kernel_size", "3.0"]),
    # ---- modules: forward rules
    ("Conv2d forward channels", module("Conv2d", (3, 6, 3), {}), ["3 channels", "4 channels"]),
    ("Conv2d forward channels, reflect", module("Conv2d", (3, 6, 3), dict(padding=1, padding_mode="reflect")),
     ["in_channels=3", "4 channels", "[1, 4, 6, 6]"]),
    ("Conv2d forward dtype", module("Conv2d", (4, 6, 3), dict(dtype=np.float64)), ["float32", "float64"]),
    ("Conv2d forward 2-D input", module("Conv2d", (4, 6, 3), {}, x=X[0, 0]), ["[6, 6]"]),
    ("Conv2d forward 2-D input, circular", module("Conv2d", (4, 6, 3), dict(padding=1, padding_mode="circular"), x=X[0, 0]),
     ["[6, 6]"]),
    ("Conv2d forward int input", module("Conv2d", (4, 6, 3), {}, x=(X * 10).astype(np.int32)), ["int32"]),
    ("reflect padding equal to size", module("Conv2d", (4, 6, 3), dict(padding=(1, 6), padding_mode="reflect")),
     ["(6, 6)", "size 6"]),
    ("reflect padding beyond size", module("Conv2d", (4, 6, 3), dict(padding=(9, 1), padding_mode="reflect")),
     ["(9, 9)", "size 6"]),
    ("reflect 'same' too large", module("Conv2d", (4, 6, 13), dict(padding="same", padding_mode="reflect")),
     ["(6, 6)", "size 6"]),
    ("circular padding beyond size", module("Conv2d", (4, 6, 3), dict(padding=(1, 7), padding_mode="circular")),
     ["(7, 7)", "size 6"]),
    ("circular padding beyond size, unbatched", module("Conv2d", (4, 6, 3), dict(padding=7, padding_mode="circular"), x=X[0]),
     ["(7, 7)", "size 6"]),
    ("ConvTranspose2d forward channels", module("ConvTranspose2d", (3, 6, 3), {}), ["3 channels", "4 channels"]),
    ("ConvTranspose2d forward dtype", module("ConvTranspose2d", (4, 6, 3), dict(dtype=np.complex64)),
     ["float32", "complex64"]),
    # output_size: for this layer (input 6, kernel 3, stride 2, padding 1) the valid range is 11..12
    ("output_size too small", module("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1), output_size=[10, 11]),
     ["10", "11", "12"]),
    ("output_size too large", module("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1), output_size=(11, 13)),
     ["13", "11", "12"]),
    ("output_size too large, full shape", module("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1),
                                                 output_size=[1, 6, 13, 11]), ["13", "11", "12"]),
    ("output_size without stride", module("ConvTranspose2d", (4, 6, 3), {}, output_size=[9, 8]), ["9", "8"]),
    ("output_size 1 value", module("ConvTranspose2d", (4, 6, 3), dict(stride=2), output_size=[11]), ["2 or 4", "1"]),
    ("output_size 3 values, batched", module("ConvTranspose2d", (4, 6, 3), dict(stride=2), output_size=[6, 11, 11]),
     ["2 or 4", "3"]),
    ("output_size 5 values", module("ConvTranspose2d", (4, 6, 3), dict(stride=2), output_size=[1, 1, 6, 11, 11]),
     ["2 or 4", "5"]),
    ("output_size 4 values, unbatched", module("ConvTranspose2d", (4, 6, 3), dict(stride=2), x=X[0],
                                               output_size=[1, 6, 11, 11]), ["2 or 3", "4"]),
]

# torch 2.13 convolves integer tensors on CPU with conv2d (not bool), and conv_transpose2d only int64: those it
# rejects are listed here (every dtype against torch: tests/test_dtypes.py).
CASES += [(f"T {np.dtype(d).name} input", f_trans(x=(X * 9).astype(d), w=(WT * 9).astype(d)), [np.dtype(d).name])
          for d in (np.int8, np.uint8, np.int16, np.int32)]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize("name, thunks, fragments", CASES, ids=_ids(CASES))
def test_rejected_like_torch_with_the_numbers(name, thunks, fragments):
    run_torch, run_convcore = thunks
    with pytest.raises(Exception):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_torch()
    with pytest.raises((ValueError, TypeError)) as info:
        run_convcore()
    message = str(info.value)
    assert not isinstance(info.value, (IndexError, KeyError)), repr(info.value)
    assert "broadcast" not in message and "could not be" not in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_case_ids_are_unique():
    assert len(set(_ids(CASES))) == len(CASES)


# ---------------------------------------------------------------- inputs never modified, outputs never aliased

def _calls(dtype):
    """One call per engine path, functional and module, with bias."""
    rng = np.random.default_rng(3)
    r = lambda *s: random_array(rng, s, dtype)  # noqa: E731
    yield "gemm", convcore.conv2d, (r(2, 4, 9, 8), r(6, 2, 3, 3), r(6)), dict(padding=1, groups=2)
    yield "1x1 no padding", convcore.conv2d, (r(1, 3, 4, 4), r(3, 3, 1, 1), r(3)), {}
    yield "per-tap", convcore.conv2d, (r(1, 2, 66, 66), r(4, 1, 3, 3), r(4)), dict(groups=2, padding="same")
    yield "fft", convcore.conv2d, (r(1, 1, 74, 74), r(1, 1, 11, 11), r(1)), dict(padding=0)
    yield "transposed", convcore.conv_transpose2d, (r(2, 4, 5, 6), r(4, 2, 3, 3), r(4)), dict(stride=2, groups=2,
                                                                                              output_padding=1)
    yield "transposed 1x1", convcore.conv_transpose2d, (r(3, 5, 5), r(3, 3, 1, 1), r(3)), {}
    yield "empty batch", convcore.conv2d, (r(0, 3, 5, 5), r(2, 3, 3, 3), r(2)), {}
    m = convcore.Conv2d(3, 3, 3, padding=2, padding_mode="reflect", dtype=dtype, rng=0)
    yield "module reflect", lambda x, w, b: m(x), (r(1, 3, 5, 5), m.weight, m.bias), {}
    mt = convcore.ConvTranspose2d(3, 3, 3, stride=2, dtype=dtype, rng=0)
    yield "module output_size", lambda x, w, b: mt(x, output_size=(12, 12)), (r(3, 5, 5), mt.weight, mt.bias), {}


@pytest.mark.parametrize("dtype", DTYPES)
def test_inputs_never_modified_and_outputs_never_alias(dtype):
    for name, fn, args, kw in _calls(dtype):
        before = [a.copy() for a in args]
        out = fn(*args, **kw)
        for a, b in zip(args, before):
            np.testing.assert_array_equal(a, b, err_msg=name)
            assert not np.shares_memory(out, a), name
        out[...] = 7  # the output is the caller's to write
        for a, b in zip(args, before):
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_rejected_call_leaves_inputs_untouched():
    x, w = X.copy(), _arr((6, 2, 7, 3))
    with pytest.raises(ValueError):
        convcore.conv2d(x, w, None, groups=2)
    np.testing.assert_array_equal(x, X)
