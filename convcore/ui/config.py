"""ConvConfig: one layer's constructor arguments plus its input size, as the controls produce it (no streamlit).

It validates with the engine's own rules, so what the pages show as an error is exactly what torch would reject.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..teaching import codegen
from ..modules import Conv2d, ConvTranspose2d
from ..padding import pad_source_index
from ..params import Pair, _pair, conv2d_call, conv_transpose2d_call, normalise_padding, transposed_size
from ..shapes import conv2d_output_size, conv_transpose2d_output_size, output_padding_for

OPS = ("conv2d", "conv_transpose2d")


@dataclass(frozen=True)
class ConvConfig:
    """Conv2d / ConvTranspose2d arguments with torch's names; pairs are (height, width)."""

    op: str = "conv2d"
    in_channels: int = 1
    out_channels: int = 1
    height: int = 5  # input height
    width: int = 5  # input width
    kernel_size: Pair = (3, 3)
    stride: Pair = (1, 1)
    padding: Pair | str = (0, 0)  # a pair, or 'same' / 'valid' (Conv2d only)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    padding_mode: str = "zeros"
    output_padding: Pair = (0, 0)  # ConvTranspose2d only
    output_size: Pair | None = None  # ConvTranspose2d only: forward(x, output_size=...)
    batch: int = 1

    def __post_init__(self):
        """Ints become (h, w) pairs, as torch's _pair does, so equal configs compare and hash equal."""
        if self.op not in OPS:
            raise ValueError(f"op must be one of {OPS}, got {self.op!r}")
        for name in ("kernel_size", "stride", "dilation", "output_padding", "padding", "output_size"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                object.__setattr__(self, name, _pair(value, name))

    @property
    def transposed(self) -> bool:
        return self.op == "conv_transpose2d"

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.in_channels, self.height, self.width)

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        """(C_out, C_in/groups, kH, kW) for Conv2d, (C_in, C_out/groups, kH, kW) for ConvTranspose2d."""
        if self.transposed:
            return (self.in_channels, self.out_channels // self.groups) + tuple(self.kernel_size)
        return (self.out_channels, self.in_channels // self.groups) + tuple(self.kernel_size)

    @property
    def bias_shape(self) -> tuple[int] | None:
        return (self.out_channels,) if self.bias else None

    @property
    def pads(self) -> tuple[Pair, Pair]:
        """((top, bottom), (left, right)) actually applied; 'same' may pad one more on the bottom/right."""
        if self.transposed:
            return ((self.padding[0],) * 2, (self.padding[1],) * 2)
        return normalise_padding(self.padding, tuple(self.kernel_size), tuple(self.stride), tuple(self.dilation))

    def layer_kwargs(self) -> dict:
        """The constructor's keyword arguments (torch names), for convcore's modules and codegen.layer_expr."""
        kw = dict(in_channels=self.in_channels, out_channels=self.out_channels, kernel_size=tuple(self.kernel_size),
                  stride=tuple(self.stride), padding=self.padding if isinstance(self.padding, str) else tuple(self.padding),
                  dilation=tuple(self.dilation), groups=self.groups, bias=self.bias, padding_mode=self.padding_mode)
        if self.transposed:
            kw["output_padding"] = tuple(self.output_padding)
        return kw

    def module(self, rng=0) -> Conv2d | ConvTranspose2d:
        """The engine's module (validates the constructor arguments like torch; weights are torch-style random)."""
        cls = ConvTranspose2d if self.transposed else Conv2d
        return cls(**self.layer_kwargs(), rng=rng)

    def effective_output_padding(self) -> Pair:
        """output_padding, or the one output_size implies (torch's forward rule)."""
        if self.output_size is None:
            return tuple(self.output_padding)
        return output_padding_for(self.output_size, (self.height, self.width), self.kernel_size, self.stride,
                                  self.padding, self.dilation)

    def check(self) -> None:
        """Raise the engine's ValueError/TypeError if torch would reject this configuration with this input size."""
        self.module()
        ghost = lambda shape: np.broadcast_to(np.zeros((), np.float32), shape)  # noqa: E731 - validation only, no memory
        if self.transposed:
            call = conv_transpose2d_call(ghost(self.input_shape), ghost(self.weight_shape), None, self.stride,
                                         self.padding, self.effective_output_padding(), self.groups, self.dilation)
            size = transposed_size((self.height, self.width), call.kernel_size, call.stride, self.padding,
                                   call.output_padding, call.dilation)
            if min(size) < 1:  # torch's oneDNN path returns an empty tensor for some of these; nothing to show
                raise ValueError(f"the output size {size} is too small: H_out = (H_in-1)*stride - 2*padding + "
                                 "dilation*(k-1) + output_padding + 1 must be at least 1")
            return
        conv2d_call(ghost(self.input_shape), ghost(self.weight_shape), None, self.stride, self.padding, self.dilation,
                    self.groups)
        if self.padding_mode != "zeros":
            (top, bottom), (left, right) = self.pads
            pad_source_index(self.height, top, bottom, self.padding_mode)
            pad_source_index(self.width, left, right, self.padding_mode)

    def output_hw(self) -> Pair:
        """(H_out, W_out); raises like check() for an invalid configuration."""
        self.check()
        if self.transposed:
            return conv_transpose2d_output_size((self.height, self.width), self.kernel_size, self.stride, self.padding,
                                                self.effective_output_padding(), self.dilation)
        return conv2d_output_size((self.height, self.width), self.kernel_size, self.stride, self.padding, self.dilation)

    def output_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.out_channels) + tuple(self.output_hw())

    def forward(self, x, weight, bias=None) -> np.ndarray:
        """Run the engine's module with these weights (bias ignored when the config has bias=False)."""
        m = self.module()
        m.weight = weight
        m.bias = bias if self.bias else None
        if self.transposed and self.output_size is not None:
            return m(x, output_size=tuple(self.output_size))
        return m(x)

    def code(self, x, weight, bias=None, input_expr: str | None = None) -> str:
        """PyTorch code that reproduces forward(x, weight, bias)."""
        kw = self.layer_kwargs()
        return codegen.conv_code(self.op, x, weight, bias if self.bias else None, kw["stride"], kw["padding"],
                                 kw["dilation"], self.groups, self.padding_mode, kw.get("output_padding", 0),
                                 self.output_size, input_expr)

    def as_dict(self) -> dict:
        return asdict(self)


# st.cache_resource / st.cache_data hash a dataclass argument field by field through dataclasses.asdict: ~0.5 ms for
# a ConvConfig, and a lesson's rerun makes several cached calls with one. Its repr names every field exactly (a frozen
# dataclass of strings, ints, bools, tuples and None) for a tenth of that: pass hash_funcs=CACHE_HASH_FUNCS.
CACHE_HASH_FUNCS = {ConvConfig: repr}
