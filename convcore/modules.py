"""Conv2d and ConvTranspose2d modules: torch's constructor arguments, weight shapes, init and repr."""
from __future__ import annotations

import math

import numpy as np

from . import functional as F
from .padding import pad2d
from .params import (
    _pair,
    _positive,
    as_array,
    check_channels,
    check_output_padding,
    check_padding_mode,
    normalise_padding,
    _non_negative,
    SUPPORTED_DTYPES,
)
from .shapes import output_padding_for


def _dtype(dtype) -> np.dtype:
    dt = np.dtype(np.float32 if dtype is None else dtype)
    if dt not in SUPPORTED_DTYPES:
        raise TypeError(f"dtype must be float32, float64, complex64 or complex128, got {dt}")
    return dt


def _uniform(rng: np.random.Generator, bound: float, shape, dtype: np.dtype) -> np.ndarray:
    """U(-bound, bound); complex dtypes draw the real and imaginary parts separately (as torch does)."""
    draw = lambda: rng.uniform(-bound, bound, shape)  # noqa: E731
    values = draw() + 1j * draw() if dtype.kind == "c" else draw()
    return values.astype(dtype)


class _ConvNd:
    """What both modules share: hyper-parameters, parameters, init, call and repr."""

    _defaults = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "output_padding": (0, 0)}

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, dtype, rng, weight_shape_of, output_padding=(0, 0)):
        self.in_channels, self.out_channels, self.groups = check_channels(in_channels, out_channels, groups)
        self.kernel_size = _positive(_pair(kernel_size, "kernel_size"), "kernel_size")
        self.stride = _positive(_pair(stride, "stride"), "stride")
        self.dilation = _positive(_pair(dilation, "dilation"), "dilation")
        self.padding_mode = check_padding_mode(padding_mode)
        self.output_padding = output_padding
        self.dtype = _dtype(dtype)
        self.rng = np.random.default_rng(rng)
        shape = weight_shape_of(self)
        self._weight = np.empty(shape, self.dtype)
        self._bias = np.empty(self.out_channels, self.dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's kaiming_uniform_(a=sqrt(5)) and bias init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        fan_in = self._weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
        bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
        self._weight = _uniform(self.rng, bound, self._weight.shape, self.dtype)
        if self._bias is not None:
            self._bias = _uniform(self.rng, bound, self._bias.shape, self.dtype)

    @property
    def weight(self) -> np.ndarray:
        return self._weight

    @weight.setter
    def weight(self, value) -> None:
        arr = as_array(value, "weight")
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
        arr = as_array(value, "bias")
        if arr.shape != (self.out_channels,):
            raise ValueError(f"bias must have shape ({self.out_channels},) or be None, got {arr.shape}")
        self._bias = arr

    def __call__(self, *args, **kwargs) -> np.ndarray:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        padding = self.padding if isinstance(self.padding, str) else self.padding
        if padding != (0, 0):
            s += f", padding={padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
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
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype, rng,
                         lambda m: (m.out_channels, m.in_channels // m.groups) + m.kernel_size)
        # Validates and keeps the user's form: 'same'/'valid' stay strings, numbers become a pair.
        self._pads = normalise_padding(padding, self.kernel_size, self.stride, self.dilation)
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding")

    def forward(self, input) -> np.ndarray:
        if self.padding_mode == "zeros":
            return F.conv2d(input, self._weight, self._bias, self.stride, self.padding, self.dilation, self.groups)
        x = as_array(input, "input")
        if x.ndim not in (3, 4):
            raise ValueError(f"Conv2d: expected 3D (unbatched) or 4D (batched) input, but got input of size {list(x.shape)}")
        if x.shape[-3] != self.in_channels:  # checked before padding, so the message shows the caller's shape
            raise ValueError(
                f"Conv2d: expected input{list(x.shape)} to have in_channels={self.in_channels} channels, "
                f"but got {x.shape[-3]} channels instead"
            )
        return F.conv2d(pad2d(x, self._pads, self.padding_mode), self._weight, self._bias, self.stride, 0,
                        self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """torch.nn.ConvTranspose2d on numpy arrays; forward(x, output_size=...) chooses output_padding as torch does."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", dtype=None, rng=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for ConvTranspose2d, got padding_mode={padding_mode!r}')
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d does not accept padding strings such as {padding!r}; give an int or a pair")
        stride_, dilation_ = _positive(_pair(stride, "stride"), "stride"), _positive(_pair(dilation, "dilation"), "dilation")
        out_pad = check_output_padding(_pair(output_padding, "output_padding"), stride_, dilation_)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype, rng,
                         lambda m: (m.in_channels, m.out_channels // m.groups) + m.kernel_size, out_pad)
        self.padding = _non_negative(_pair(padding, "padding"), "padding")

    def forward(self, input, output_size=None) -> np.ndarray:
        output_padding = self.output_padding
        if output_size is not None:
            x = as_array(input, "input")
            if x.ndim not in (3, 4):
                raise ValueError(f"ConvTranspose2d: expected 3D (unbatched) or 4D (batched) input, but got input of size {list(x.shape)}")
            size = list(output_size)
            leading = x.ndim - 2
            if len(size) == leading + 2:
                size = size[leading:]
            if len(size) != 2:
                raise ValueError(
                    f"ConvTranspose2d: for {x.ndim}D input, output_size must have 2 or {leading + 2} elements (got {len(output_size)})"
                )
            output_padding = output_padding_for(size, x.shape[-2:], self.kernel_size, self.stride, self.padding, self.dilation)
        return F.conv_transpose2d(input, self._weight, self._bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)
