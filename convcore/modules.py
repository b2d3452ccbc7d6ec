"""Conv2d and ConvTranspose2d modules: torch's constructor arguments, weight shapes, init and repr.

Each argument is checked where torch checks it. The constructors reject only what torch.nn's do (groups, channel
divisibility, padding strings, padding_mode, and weight shapes torch.empty refuses); everything else (stride,
padding, dilation, output_padding values) is stored as given and checked by forward, through the functional op,
exactly as torch's modules pass their attributes to torch.nn.functional. forward(x, output_size=...) replaces the
stored output_padding, so an output_padding forward alone would reject does not matter there.
"""
from __future__ import annotations

import collections.abc
import math
import numbers

import numpy as np

from . import functional as F
from .padding import pad_trailing
from .params import FLOAT_DTYPES, PADDING_MODES, PADDING_STRINGS, _int, as_array


def _dtype(dtype) -> np.dtype:
    """Parameters are trainable in torch, so floating point or complex (its 'Only Tensors of floating point and
    complex dtype can require gradients'); integer layers exist only through the functional ops."""
    dt = np.dtype(np.float32 if dtype is None else dtype)
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float16, float32, float64, complex64 or complex128 (torch's parameters need a "
                        f"floating point or complex dtype; integers work with convcore.conv2d), got {dt}")
    return dt


def _parameter(value, name: str) -> np.ndarray:
    """A new weight or bias: a floating point or complex array (torch's parameters require gradients)."""
    arr = as_array(value, name)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have a floating point or complex dtype (torch: only those can require gradients), "
                        f"got {arr.dtype}; integer convolutions go through convcore.conv2d / conv_transpose2d")
    return arr


def _uniform(rng: np.random.Generator, bound: float, shape, dtype: np.dtype) -> np.ndarray:
    """U(-bound, bound); complex dtypes draw the real and imaginary parts separately (as torch does)."""
    draw = lambda: rng.uniform(-bound, bound, shape)  # noqa: E731
    values = draw() + 1j * draw() if dtype.kind == "c" else draw()
    return values.astype(dtype)


def _ntuple(value, n: int = 2) -> tuple:
    """torch.nn.modules.utils._pair / _single: any iterable as a tuple, anything else repeated n times."""
    if isinstance(value, collections.abc.Iterable):
        return tuple(value)
    return (value,) * n


def _tensor_shape(shape: tuple, what: str, source: str) -> tuple[int, ...]:
    """The shape torch.empty accepts: ints (a bool only after the first entry), none negative."""
    for i, n in enumerate(shape):
        if isinstance(n, (bool, np.bool_)) and i == 0 or not isinstance(n, numbers.Integral):
            raise TypeError(f"the {what} shape {shape} (from {source}) must hold ints, got {n!r} ({type(n).__name__})")
    if min(shape, default=0) < 0:
        raise ValueError(f"the {what} shape {shape} (from {source}) has a negative size")
    return tuple(int(n) for n in shape)


def _check_constructor(in_channels, out_channels, stride, padding, groups, padding_mode) -> None:
    """torch's _ConvNd.__init__ checks, in its order."""
    try:
        if groups <= 0:
            raise ValueError(f"groups must be a positive integer, got groups={groups}")
        if in_channels % groups != 0:
            raise ValueError(f"in_channels must be divisible by groups: in_channels={in_channels} is not a multiple of "
                             f"groups={groups}")
        if out_channels % groups != 0:
            raise ValueError(f"out_channels must be divisible by groups: out_channels={out_channels} is not a multiple "
                             f"of groups={groups}")
    except TypeError:
        raise TypeError(f"in_channels, out_channels and groups must be ints, got in_channels={in_channels!r}, "
                        f"out_channels={out_channels!r}, groups={groups!r}") from None
    if isinstance(padding, str):
        if padding not in PADDING_STRINGS:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {list(PADDING_STRINGS)} (case-sensitive)")
        if padding == "same" and any(s != 1 for s in stride):
            raise ValueError(f"padding='same' is not supported for strided convolutions, got stride={stride}; use "
                             "stride=1 or a number for padding")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {list(PADDING_MODES)}, got {padding_mode!r}")


def _reversed_padding(padding, kernel_size, dilation) -> list:
    """The pads F.pad gets for the non-zeros modes, last axis first (torch's _reversed_padding_repeated_twice)."""
    if not isinstance(padding, str):
        return [p for p in reversed(padding) for _ in range(2)]
    pads = [0, 0] * len(kernel_size)
    if padding == "same":
        try:
            for d, k, i in zip(dilation, kernel_size, range(len(kernel_size) - 1, -1, -1)):
                total = d * (k - 1)
                pads[2 * i], pads[2 * i + 1] = total // 2, total - total // 2
        except TypeError:
            raise TypeError(f"padding='same' needs int kernel_size and dilation, got kernel_size={kernel_size}, "
                            f"dilation={dilation}") from None
    return pads


class _ConvNd:
    """What both modules share: hyper-parameters, parameters, init, call and repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed, output_padding,
                 groups, bias, padding_mode, dtype, rng):
        _check_constructor(in_channels, out_channels, stride, padding, groups, padding_mode)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.transposed, self.output_padding, self.padding_mode = transposed, output_padding, padding_mode
        self._reversed_padding_repeated_twice = _reversed_padding(padding, kernel_size, dilation)
        self.dtype = _dtype(dtype)
        self.rng = np.random.default_rng(rng)
        if transposed:
            shape, source = (in_channels, out_channels // groups, *kernel_size), "in_channels, out_channels // groups, *kernel_size"
        else:
            shape, source = (out_channels, in_channels // groups, *kernel_size), "out_channels, in_channels // groups, *kernel_size"
        self._weight = np.empty(_tensor_shape(shape, "weight", source), self.dtype)
        self._bias = np.empty(_tensor_shape((out_channels,), "bias", "out_channels"), self.dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's kaiming_uniform_(a=sqrt(5)) and bias init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        fan_in = math.prod(self._weight.shape[1:])
        bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
        self._weight = _uniform(self.rng, bound, self._weight.shape, self.dtype)
        if self._bias is not None:
            self._bias = _uniform(self.rng, bound, self._bias.shape, self.dtype)

    @property
    def weight(self) -> np.ndarray:
        return self._weight

    @weight.setter
    def weight(self, value) -> None:
        arr = _parameter(value, "weight")
        if arr.shape != self._weight.shape:
            raise ValueError(f"weight must have shape {self._weight.shape}, got {arr.shape}")
        self._weight = arr

    @property
    def bias(self) -> np.ndarray | None:
        return self._bias

    @bias.setter
    def bias(self, value) -> None:
        if value is None:
            self._bias = None
            return
        arr = _parameter(value, "bias")
        if arr.shape != (self.out_channels,):
            raise ValueError(f"bias must have shape ({self.out_channels},) or be None, got {arr.shape}")
        self._bias = arr

    def __call__(self, *args, **kwargs) -> np.ndarray:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self._bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Conv2d(_ConvNd):
    """torch.nn.Conv2d on numpy arrays. `rng` (seed or Generator) makes the initial weights reproducible."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", dtype=None, rng=None):
        super().__init__(in_channels, out_channels, _ntuple(kernel_size), _ntuple(stride),
                         padding if isinstance(padding, str) else _ntuple(padding), _ntuple(dilation), False,
                         _ntuple(0), groups, bias, padding_mode, dtype, rng)

    def forward(self, input) -> np.ndarray:
        if self.padding_mode == "zeros":
            return F.conv2d(input, self._weight, self._bias, self.stride, self.padding, self.dilation, self.groups)
        x = as_array(input, "input")
        if x.ndim not in (3, 4):
            raise ValueError(f"Conv2d: expected 3D (unbatched) or 4D (batched) input, but got input of size {list(x.shape)}")
        pads = self._reversed_padding_repeated_twice
        channels = self._weight.shape[1] * self.groups if type(self.groups) is int else None
        if len(pads) <= 4 and channels is not None and x.shape[-3] != channels:
            # checked before padding, so the message shows the caller's shape
            raise ValueError(
                f"Conv2d: expected input{list(x.shape)} to have in_channels={channels} channels, "
                f"but got {x.shape[-3]} channels instead"
            )
        return F.conv2d(pad_trailing(x, pads, self.padding_mode), self._weight, self._bias, self.stride, 0,
                        self.dilation, self.groups)


def _exact_pair(value, name: str) -> tuple[int, int]:
    """A module attribute the output_size rule indexes: exactly 2 ints (torch indexes [0] and [1])."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValueError(f"forward(output_size=...) needs 2 values of {name} (height, width), got {name}={value!r}")
    for i, v in enumerate(value):
        if not isinstance(v, numbers.Integral) or isinstance(v, (bool, np.bool_)) and i == 0:
            raise TypeError(f"{name} must hold ints, got {name}={value!r}")
    return int(value[0]), int(value[1])


class ConvTranspose2d(_ConvNd):
    """torch.nn.ConvTranspose2d on numpy arrays; forward(x, output_size=...) chooses output_padding as torch does."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", dtype=None, rng=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for ConvTranspose2d, got padding_mode={padding_mode!r}')
        self._padding_string = padding if isinstance(padding, str) else None  # torch keeps it as a tuple of letters
        super().__init__(in_channels, out_channels, _ntuple(kernel_size), _ntuple(stride), _ntuple(padding),
                         _ntuple(dilation), True, _ntuple(output_padding), groups, bias, padding_mode, dtype, rng)

    def forward(self, input, output_size=None) -> np.ndarray:
        if self._padding_string is not None:
            raise TypeError(f"ConvTranspose2d does not accept padding strings such as {self._padding_string!r}; "
                            "give an int or a pair")
        output_padding = self.output_padding if output_size is None else self._output_padding(input, output_size)
        return F.conv_transpose2d(input, self._weight, self._bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)

    def _output_padding(self, input, output_size) -> tuple[int, int]:
        """torch's rule: output_size (H, W), or the full shape, must lie in [min, min + stride - 1] per dimension,
        min being the size with output_padding 0; the output_padding is the difference (the stored one is unused)."""
        x = as_array(input, "input")
        if x.ndim not in (3, 4):
            raise ValueError(f"ConvTranspose2d: expected 3D (unbatched) or 4D (batched) input, but got input of size {list(x.shape)}")
        try:
            size = list(output_size)
        except TypeError:
            raise TypeError(f"output_size must be a sequence of ints, got {output_size!r}") from None
        leading = x.ndim - 2
        if len(size) == leading + 2:
            size = size[leading:]
        if len(size) != 2:
            raise ValueError(
                f"ConvTranspose2d: for {x.ndim}D input, output_size must have 2 or {leading + 2} elements (got {len(size)})"
            )
        size = [int(v) if isinstance(v, (bool, np.bool_)) else _int(v, "output_size") for v in size]
        stride, padding = _exact_pair(self.stride, "stride"), _exact_pair(self.padding, "padding")
        dilation, kernel = _exact_pair(self.dilation, "dilation"), _exact_pair(self.kernel_size, "kernel_size")
        low = [(x.shape[leading + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + 1 for i in (0, 1)]
        high = [low[i] + stride[i] - 1 for i in (0, 1)]
        for i, name in ((0, "height"), (1, "width")):
            if not low[i] <= size[i] <= high[i]:
                raise ValueError(
                    f"requested an output {name} of {size[i]}, but valid sizes range from {low[i]} to {high[i]} "
                    f"(for an input {name} of {x.shape[leading + i]}: min = (H_in-1)*stride - 2*padding + "
                    "dilation*(k-1) + 1, max = min + stride - 1)"
                )
        return (size[0] - low[0], size[1] - low[1])
