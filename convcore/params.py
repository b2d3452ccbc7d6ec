"""Argument normalising and validation: every rule torch enforces, checked once, with the numbers in the message."""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]  # ((top, bottom), (left, right))

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
PADDING_STRINGS = ("same", "valid")
FLOAT_DTYPES = tuple(np.dtype(t) for t in (np.float16, np.float32, np.float64, np.complex64, np.complex128))
INTEGER_DTYPES = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64, np.uint8))
SUPPORTED_DTYPES = FLOAT_DTYPES + INTEGER_DTYPES  # what torch 2.13 convolves on CPU (bfloat16 aside: numpy has none)
# what torch tensors can hold: an empty call (no batch, or no input channels) of any of these returns an empty result
TORCH_DTYPES = SUPPORTED_DTYPES + tuple(np.dtype(t) for t in (np.bool_, np.uint16, np.uint32, np.uint64))


def _int(value, name: str) -> int:
    """An integer argument; bools and floats are type errors, as in torch."""
    if type(value) is int:  # the common case, without the slower ABC checks below
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    return int(value)


def _pair(value, name: str) -> Pair:
    """An int or a sequence of 1 or 2 ints, as (height, width).

    torch's argument parser rules: a bool alone or first in a sequence is a type error, a later one counts as an int
    (stride=(2, True) is (2, 1)); numpy arrays are not sequences of ints to it.
    """
    if type(value) is int:  # the common case, without the slower ABC checks below
        return (value, value)
    if isinstance(value, (str, bytes, np.ndarray)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return (int(value), int(value))
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r} ({type(value).__name__})") from None
    if len(items) == 1:
        items = items * 2
    if len(items) != 2:
        raise ValueError(f"{name} must be a single int or 2 values (height, width), got {len(items)} values: {value!r}")
    first = _int(items[0], name)
    second = int(items[1]) if isinstance(items[1], (bool, np.bool_)) else _int(items[1], name)
    return (first, second)


def _positive(pair: Pair, name: str) -> Pair:
    if min(pair) <= 0:
        raise ValueError(f"{name} must be positive, got {name}={pair}")
    return pair


def _dilation(value, empty: bool) -> Pair:
    """Positive; torch lets an empty input (no batch or no channels) through with dilation 0 (only negative fails)."""
    dilation = _pair(value, "dilation")
    if not empty:
        return _positive(dilation, "dilation")
    if min(dilation) < 0:
        raise ValueError(f"dilation must not be negative, got dilation={dilation}")
    return dilation


def _non_negative(pair: Pair, name: str) -> Pair:
    if min(pair) < 0:
        raise ValueError(f"negative {name} is not supported, got {name}={pair}")
    return pair


def same_padding(kernel_size: Pair, dilation: Pair) -> Pads:
    """The padding 'same' applies: d*(k-1) in total per dimension, the odd extra on the bottom/right (torch's split)."""
    pads = []
    for k, d in zip(kernel_size, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return (pads[0], pads[1])


def normalise_padding(padding, kernel_size: Pair, stride: Pair, dilation: Pair) -> Pads:
    """Conv2d padding (int, pair, 'same' or 'valid') as ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        if padding not in PADDING_STRINGS:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {list(PADDING_STRINGS)} (case-sensitive)")
        if padding == "valid":
            return ((0, 0), (0, 0))
        if stride != (1, 1):
            raise ValueError(f"padding='same' is not supported for strided convolutions, got stride={stride}; use stride=1 or a number for padding")
        return same_padding(kernel_size, dilation)
    ph, pw = _non_negative(_pair(padding, "padding"), "padding")
    return ((ph, ph), (pw, pw))


def check_padding_mode(padding_mode) -> str:
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {list(PADDING_MODES)}, got {padding_mode!r}")
    return padding_mode


def check_groups(groups) -> int:
    groups = _int(groups, "groups")
    if groups <= 0:
        raise ValueError(f"groups must be a positive integer, got groups={groups}")
    return groups


def check_channels(in_channels, out_channels, groups) -> tuple[int, int, int]:
    """Constructor rule: groups divides both channel counts."""
    cin, cout, g = _int(in_channels, "in_channels"), _int(out_channels, "out_channels"), check_groups(groups)
    if cin <= 0 or cout <= 0:
        raise ValueError(f"in_channels and out_channels must be positive, got in_channels={cin}, out_channels={cout}")
    if cin % g:
        raise ValueError(f"in_channels must be divisible by groups: in_channels={cin} is not a multiple of groups={g}")
    if cout % g:
        raise ValueError(f"out_channels must be divisible by groups: out_channels={cout} is not a multiple of groups={g}")
    return cin, cout, g


def as_array(value, name: str) -> np.ndarray:
    """A numpy array of a dtype torch tensors hold (which op convolves which: check_dtype)."""
    arr = np.asarray(value)
    if arr.dtype not in TORCH_DTYPES:
        if arr.dtype.name == "bfloat16":
            raise TypeError(
                f"{name} has dtype bfloat16: numpy cannot compute in bfloat16 (an ml_dtypes-style array is a foreign "
                "type to it), so convcore does not convolve it; convert first, e.g. x.astype(np.float32)"
            )
        raise TypeError(
            f"{name} has dtype {arr.dtype}, which torch tensors cannot hold. convcore convolves what torch does: "
            "float16, float32, float64, complex64, complex128, and integers (conv2d: int8, int16, int32, int64, uint8; "
            "conv_transpose2d: int64); convert first, e.g. x.astype(np.float32)"
        )
    return arr


def check_dtype(op: str, dtype: np.dtype) -> None:
    """The dtypes torch 2.13 convolves on CPU: floats and complex for both ops; integers int8, int16, int32, int64 and
    uint8 for conv2d, int64 only for conv_transpose2d; never bool or uint16/32/64."""
    if dtype in FLOAT_DTYPES or dtype == np.int64 or op == "conv2d" and dtype in INTEGER_DTYPES:
        return
    takes = "int64 only" if op == "conv_transpose2d" else "int8, int16, int32, int64 and uint8"
    raise TypeError(
        f"{op}: input has dtype {dtype}, which torch's {op} does not convolve on CPU; among integer dtypes it takes "
        f"{takes} (and float16, float32, float64, complex64, complex128); convert first, e.g. x.astype(np.int64)"
    )


def _shape(a: np.ndarray) -> list[int]:
    return list(a.shape)


@dataclass(frozen=True)
class ConvCall:
    """One validated call: batched arrays plus every parameter in normal form. Internals trust it."""

    x: np.ndarray  # (N, C_in, H, W)
    weight: np.ndarray
    bias: np.ndarray | None
    stride: Pair
    padding: Pads
    dilation: Pair
    groups: int
    unbatched: bool
    output_padding: Pair = (0, 0)

    @property
    def kernel_size(self) -> Pair:
        return (self.weight.shape[2], self.weight.shape[3])


def _common(op: str, input, weight, bias, groups):
    x = as_array(input, "input")
    w = as_array(weight, "weight")
    if w.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D (out/in channels, kH, kW), got weight of size {_shape(w)}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected 3D (unbatched) or 4D (batched) input, but got input of size {_shape(x)}")
    if x.shape[-3] and (x.ndim == 3 or x.shape[0]) and 0 in x.shape[-2:]:
        raise ValueError(
            f"{op}: an input height or width of 0 is only allowed with an empty batch or zero channels (as in torch), "
            f"but got input of size {_shape(x)}: height x width = {x.shape[-2]} x {x.shape[-1]}"
        )
    if x.dtype != w.dtype:
        raise TypeError(f"{op}: input ({x.dtype}) and weight ({w.dtype}) must have the same dtype")
    if 0 not in x.shape[:-2]:  # an empty input (no batch or no channels) never reaches a kernel in torch
        check_dtype(op, x.dtype)
    b = None
    if bias is not None:
        b = as_array(bias, "bias")
        if b.dtype != x.dtype:
            raise TypeError(f"{op}: input ({x.dtype}) and bias ({b.dtype}) must have the same dtype")
        if x.dtype.kind == "u" and x.dtype.itemsize > 1:  # only an empty input gets here; torch then adds the bias
            raise TypeError(f"{op}: torch cannot add a bias of dtype {x.dtype} (its add has no uint16/32/64 kernel), "
                            "not even to an empty result; convert first, e.g. x.astype(np.int64)")
    g = check_groups(groups)
    unbatched = x.ndim == 3
    return (x[None] if unbatched else x), w, b, g, unbatched


def _check_bias(op: str, b, out_channels: int, w: np.ndarray):
    if b is not None and b.shape != (out_channels,):
        raise ValueError(
            f"{op}: given weight of size {_shape(w)}, expected bias to be 1-dimensional with {out_channels} elements, "
            f"but got bias of size {_shape(b)}"
        )


def conv2d_call(input, weight, bias, stride, padding, dilation, groups) -> ConvCall:
    """Validate F.conv2d's arguments the way torch does."""
    op = "conv2d"
    x, w, b, g, unbatched = _common(op, input, weight, bias, groups)
    stride = _positive(_pair(stride, "stride"), "stride")
    dilation = _dilation(dilation, x.shape[0] == 0 or x.shape[1] == 0)
    if dilation != (1, 1) and x.dtype in INTEGER_DTYPES and x.dtype != np.int64 and x.shape[0] and x.shape[1]:
        raise TypeError(f"{op}: torch's dilated conv2d (slow_conv_dilated2d) takes no {x.dtype} input, only int64 among "
                        f"integer dtypes; got dilation={dilation}. Use dilation=1 or x.astype(np.int64)")
    kernel = (w.shape[2], w.shape[3])
    if min(kernel) <= 0:
        raise ValueError(f"{op}: kernel size must be positive, got weight of size {_shape(w)}")
    pads = normalise_padding(padding, kernel, stride, dilation)
    if w.shape[0] == 0:
        raise ValueError(f"{op}: weight needs at least 1 output channel (dimension 0), got weight of size {_shape(w)}")
    if w.shape[0] % g:
        raise ValueError(f"{op}: given groups={g}, expected weight to be divisible by {g} at dimension 0 (out_channels), but got weight of size {_shape(w)}")
    if x.shape[1] != w.shape[1] * g:
        raise ValueError(
            f"{op}: given groups={g}, weight of size {_shape(w)}, expected input{_shape(x)} to have "
            f"{w.shape[1] * g} channels (weight.shape[1]={w.shape[1]} x groups={g}), but got {x.shape[1]} channels instead"
        )
    _check_bias(op, b, w.shape[0], w)
    for axis, name in ((0, "height"), (1, "width")):
        padded = x.shape[2 + axis] + sum(pads[axis])
        reach = dilation[axis] * (kernel[axis] - 1) + 1
        if reach > padded:
            raise ValueError(
                f"{op}: the dilated kernel {name} d*(k-1)+1 = {dilation[axis]}*({kernel[axis]}-1)+1 = {reach} is larger than "
                f"the padded input {name} {x.shape[2 + axis]}+{pads[axis][0]}+{pads[axis][1]} = {padded}; "
                "the kernel can't be greater than the padded input"
            )
    return ConvCall(x, w, b, stride, pads, dilation, g, unbatched)


def transposed_size(size: Pair, kernel: Pair, stride: Pair, padding: Pair, output_padding: Pair, dilation: Pair) -> Pair:
    """(H_out, W_out) = (H - 1)s - 2p + d(k-1) + output_padding + 1 per dimension, of arguments already checked."""
    return tuple((size[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + output_padding[i] + 1
                 for i in (0, 1))


def check_output_padding(output_padding: Pair, stride: Pair, dilation: Pair) -> Pair:
    for axis in (0, 1):
        op, s, d = output_padding[axis], stride[axis], dilation[axis]
        if op < 0:
            raise ValueError(f"negative output_padding is not supported, got output_padding={output_padding}")
        if op >= s and op >= d:
            raise ValueError(
                f"output_padding must be smaller than either stride or dilation, but got output_padding={output_padding}, "
                f"stride={stride}, dilation={dilation}"
            )
    return output_padding


def _onednn_path(x: np.ndarray, w: np.ndarray, stride: Pair, dilation: Pair, output_padding: Pair, groups: int) -> bool:
    """Whether torch 2.13 on CPU (multi-threaded, its default) runs this conv_transpose2d through oneDNN (its
    use_mkldnn rule): that path returns an empty result for an output size of 0, which its reference path refuses.
    float32 only (complex64 runs as float32 parts)."""
    if x.dtype not in (np.float32, np.complex64) or any(op >= s for op, s in zip(output_padding, stride)):
        return False
    return groups > 1 or (w.shape[2] > 3 and w.shape[3] > 3) or x.shape[0] > 1 or x.size > 20480


def conv_transpose2d_call(input, weight, bias, stride, padding, output_padding, groups, dilation) -> ConvCall:
    """Validate F.conv_transpose2d's arguments the way torch does."""
    op = "conv_transpose2d"
    x, w, b, g, unbatched = _common(op, input, weight, bias, groups)
    if isinstance(padding, str):
        raise TypeError(f"{op}: padding must be an int or a pair of ints; strings like {padding!r} are only for conv2d")
    # an empty batch takes torch's shortcut: only the sign of dilation and output_padding is checked, and an output
    # size of 0 is fine
    empty = x.shape[0] == 0
    stride = _positive(_pair(stride, "stride"), "stride")
    dilation = _dilation(dilation, empty)
    ph, pw = _non_negative(_pair(padding, "padding"), "padding")
    out_pad = _pair(output_padding, "output_padding")
    if empty:
        _non_negative(out_pad, "output_padding")
    else:
        check_output_padding(out_pad, stride, dilation)
    kernel = (w.shape[2], w.shape[3])
    if min(kernel) <= 0:
        raise ValueError(f"{op}: kernel size must be positive, got weight of size {_shape(w)}")
    if w.shape[0] == 0 or w.shape[1] == 0:
        raise ValueError(
            f"{op}: weight (in_channels, out_channels/groups, kH, kW) needs at least 1 input and 1 output channel, "
            f"got weight of size {_shape(w)}"
        )
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"{op}: given weight of size {_shape(w)}, expected input{_shape(x)} to have {w.shape[0]} channels "
            f"(weight.shape[0] = in_channels), but got {x.shape[1]} channels instead"
        )
    if w.shape[0] % g:
        raise ValueError(f"{op}: given groups={g}, expected weight to be divisible by {g} at dimension 0 (in_channels), but got weight of size {_shape(w)}")
    _check_bias(op, b, w.shape[1] * g, w)
    size = transposed_size(x.shape[2:], kernel, stride, (ph, pw), out_pad, dilation)
    if min(size) < (0 if empty or _onednn_path(x, w, stride, dilation, out_pad, g) else 1):
        raise ValueError(
            f"{op}: given input size per channel {tuple(x.shape[2:])}, the calculated output size per channel is {size}: "
            f"too small. H_out = (H_in-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1 must be at least {0 if empty else 1}"
        )
    return ConvCall(x, w, b, stride, ((ph, ph), (pw, pw)), dilation, g, unbatched, out_pad)
