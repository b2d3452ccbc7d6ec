"""Numbers behind the concept pages: parameter and multiply-add counts, depthwise-separable against full
convolution, the input gradient of conv2d (a transposed convolution) with a finite-difference check, and
resize-then-convolve against a transposed convolution. Pure numpy on top of the engine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..functional import conv2d, conv_transpose2d
from ..padding import pad2d, pad_source_index
from ..params import PADDING_MODES, Pads, Pair, _pair, _positive, check_channels, check_output_padding, normalise_padding
from ..shapes import conv2d_output_size, conv_transpose2d_output_size, output_padding_for

__all__ = [
    "Cost",
    "conv_cost",
    "SeparableComparison",
    "separable_vs_full",
    "divisors",
    "common_divisors",
    "conv2d_input_gradient",
    "finite_difference_gradient",
    "resize_nearest",
    "resize_bilinear",
    "upsample_transposed",
    "resize_then_convolve",
    "phase_means",
    "checkerboard_strength",
    "interior_overlap",
    "PADDING_MODES",
    "PaddedView",
    "padding_views",
]


@dataclass(frozen=True)
class Cost:
    """One layer: torch's weight shape, parameter count and multiply-adds for one input (bias adds not counted,
    as in torch.utils.flop_counter, which reports 2 x these multiply-adds)."""

    kind: str  # "Conv2d" or "ConvTranspose2d"
    weight_shape: tuple[int, int, int, int]
    bias: bool
    in_size: Pair
    out_size: Pair
    params: int
    macs: int


def conv_cost(kind: str, in_channels: int, out_channels: int, kernel_size, in_size, stride=1, padding=0,
              dilation=1, groups=1, bias=True, output_padding=0) -> Cost:
    """Weight shape, parameters and multiply-adds of a Conv2d or ConvTranspose2d on one (C, H, W) input.

    Conv2d: every output pixel of every output channel reads C_in/groups x kH x kW inputs.
    ConvTranspose2d: every input pixel of every input channel stamps C_out/groups x kH x kW products.
    """
    cin, cout, g = check_channels(in_channels, out_channels, groups)
    k = _positive(_pair(kernel_size, "kernel_size"), "kernel_size")
    size = _positive(_pair(in_size, "input_size"), "input_size")
    taps = k[0] * k[1]
    if kind == "Conv2d":
        out = conv2d_output_size(size, k, stride, padding, dilation)
        if min(out) <= 0:
            pads = normalise_padding(padding, k, _pair(stride, "stride"), _pair(dilation, "dilation"))
            d = _pair(dilation, "dilation")
            i = 0 if out[0] <= 0 else 1
            raise ValueError(
                f"Conv2d: the dilated kernel {d[i]}*({k[i]}-1)+1 = {d[i] * (k[i] - 1) + 1} is larger than the padded "
                f"input {size[i]}+{pads[i][0]}+{pads[i][1]} = {size[i] + sum(pads[i])}, so the output would be "
                f"{out[0]}x{out[1]}; use a smaller kernel, more padding or a larger input"
            )
        shape = (cout, cin // g) + k
        macs = cout * (cin // g) * taps * out[0] * out[1]
    elif kind == "ConvTranspose2d":
        s, d = _positive(_pair(stride, "stride"), "stride"), _positive(_pair(dilation, "dilation"), "dilation")
        check_output_padding(_pair(output_padding, "output_padding"), s, d)
        out = conv_transpose2d_output_size(size, k, s, padding, output_padding, d)
        if min(out) <= 0:
            raise ValueError(
                f"ConvTranspose2d: H_out = (H_in-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1 gives "
                f"{out[0]}x{out[1]}, an empty output; padding={_pair(padding, 'padding')} is too large for this input"
            )
        shape = (cin, cout // g) + k
        macs = cin * (cout // g) * taps * size[0] * size[1]
    else:
        raise ValueError(f"kind must be 'Conv2d' or 'ConvTranspose2d', got {kind!r}")
    params = int(np.prod(shape)) + (cout if bias else 0)
    return Cost(kind, shape, bool(bias), size, out, params, int(macs))


@dataclass(frozen=True)
class SeparableComparison:
    """A full k x k convolution against depthwise (k x k, groups = C_in) followed by pointwise (1 x 1)."""

    full: Cost
    depthwise: Cost
    pointwise: Cost

    @property
    def separable_params(self) -> int:
        return self.depthwise.params + self.pointwise.params

    @property
    def separable_macs(self) -> int:
        return self.depthwise.macs + self.pointwise.macs

    @property
    def param_ratio(self) -> float:
        """full / separable: how many times fewer parameters the separable pair needs."""
        return self.full.params / self.separable_params

    @property
    def mac_ratio(self) -> float:
        return self.full.macs / self.separable_macs


def separable_vs_full(in_channels: int, out_channels: int, kernel_size, in_size, stride=1, padding=0, dilation=1,
                      multiplier: int = 1, bias=True) -> SeparableComparison:
    """Counts for Conv2d(C_in, C_out, k) against Conv2d(C_in, C_in*multiplier, k, groups=C_in) then
    Conv2d(C_in*multiplier, C_out, 1): same output shape, the spatial and channel mixing done separately."""
    if isinstance(multiplier, bool) or not isinstance(multiplier, (int, np.integer)) or multiplier < 1:
        raise ValueError(f"depth multiplier must be a positive int, got {multiplier!r}")
    full = conv_cost("Conv2d", in_channels, out_channels, kernel_size, in_size, stride, padding, dilation, 1, bias)
    mid = in_channels * int(multiplier)
    depthwise = conv_cost("Conv2d", in_channels, mid, kernel_size, in_size, stride, padding, dilation, in_channels, bias)
    pointwise = conv_cost("Conv2d", mid, out_channels, 1, depthwise.out_size, 1, 0, 1, 1, bias)
    return SeparableComparison(full, depthwise, pointwise)


def divisors(n: int) -> list[int]:
    """The positive divisors of n, ascending."""
    if n < 1:
        raise ValueError(f"divisors need a positive int, got {n}")
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def common_divisors(a: int, b: int) -> list[int]:
    """The values groups may take for in_channels=a, out_channels=b (divisors of both)."""
    return [d for d in divisors(a) if b % d == 0]


# ---- the gradient identity ---------------------------------------------------------------------------------------


def conv2d_input_gradient(upstream, weight, input_size, stride=1, padding=0, dilation=1, groups=1):
    """dL/dx for L = sum(conv2d(x, weight) * upstream): conv_transpose2d of the upstream gradient with the same
    weight, stride, padding, dilation and groups, and the output_padding that restores the input size (the rows
    and columns conv2d's floor division dropped). Returns (gradient, output_padding)."""
    if isinstance(padding, str):
        raise ValueError("give the numeric padding (the gradient view uses the same padding on both sides)")
    out_pad = output_padding_for(_pair(input_size, "input_size"), np.shape(upstream)[-2:], weight.shape[2:], stride,
                                 padding, dilation)
    grad = conv_transpose2d(upstream, weight, None, stride, padding, out_pad, groups, dilation)
    return grad, out_pad


def finite_difference_gradient(loss_of_batch, x, eps: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar loss w.r.t. every element of x, all perturbations in one batch.

    loss_of_batch maps a stack (M,) + x.shape of inputs to M losses; x should be float64.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    bumps = (np.eye(n) * eps).reshape((n,) + x.shape)
    losses = loss_of_batch(np.concatenate([x[None] + bumps, x[None] - bumps]))
    return ((losses[:n] - losses[n:]) / (2 * eps)).reshape(x.shape)


# ---- checkerboard artifacts: two ways to upsample ---------------------------------------------------------------


def _check_image(image) -> np.ndarray:
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 1:
        raise ValueError(f"expected a 2-D grey image (H, W), got shape {img.shape}")
    return img


def resize_nearest(image, factor: int) -> np.ndarray:
    """Each pixel repeated factor x factor times (torch's interpolate(mode='nearest') for an integer factor)."""
    return _check_image(image).repeat(factor, axis=0).repeat(factor, axis=1)


def _linear_weights(n: int, factor: int) -> np.ndarray:
    """(n*factor, n) interpolation matrix with half-pixel centres (align_corners=False), edges clamped."""
    src = np.maximum((np.arange(n * factor) + 0.5) / factor - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(int), n - 1)
    high = np.minimum(low + 1, n - 1)
    frac = src - low
    m = np.zeros((n * factor, n))
    rows = np.arange(n * factor)
    np.add.at(m, (rows, low), 1 - frac)
    np.add.at(m, (rows, high), frac)
    return m


def resize_bilinear(image, factor: int) -> np.ndarray:
    """Bilinear upsampling by an integer factor (torch's interpolate(mode='bilinear', align_corners=False))."""
    img = _check_image(image)
    return _linear_weights(img.shape[0], factor) @ img @ _linear_weights(img.shape[1], factor).T


def upsample_transposed(image, kernel, stride: int):
    """A grey image upsampled by a stride-s ConvTranspose2d with the given 2-D kernel, sized exactly (sH, sW).

    padding and output_padding are solved so that the output is s times the input (the planner's solver);
    returns (output, padding, output_padding).
    """
    from .planner import solve_transpose  # planner imports the engine only; no cycle

    img = _check_image(image)
    w = np.asarray(kernel, dtype=np.float64)
    target = (img.shape[0] * stride, img.shape[1] * stride)
    padding, out_pad = solve_transpose(img.shape, target, w.shape, stride, 0, 1)
    out = conv_transpose2d(img[None, None], w[None, None], None, stride, padding, out_pad)
    return out[0, 0], padding, out_pad


def resize_then_convolve(image, kernel, factor: int, method: str = "nearest") -> np.ndarray:
    """Upsample by resizing (nearest or bilinear), then an ordinary stride-1 Conv2d with padding='same'."""
    resize = {"nearest": resize_nearest, "bilinear": resize_bilinear}.get(method)
    if resize is None:
        raise ValueError(f"method must be 'nearest' or 'bilinear', got {method!r}")
    big = resize(image, factor)
    w = np.asarray(kernel, dtype=np.float64)
    return conv2d(big[None, None], w[None, None], None, 1, "same")[0, 0]


def phase_means(image, stride: int, border: int = 0) -> np.ndarray:
    """(s, s): the mean of out[i::s, j::s] for each phase (i, j) of a stride-s upsampled image, `border` pixels
    left out on each side. A flat pattern means no periodic artifact; checkerboards make the phases differ."""
    img = _check_image(image)
    if border:
        img = img[border:-border, border:-border]
    if min(img.shape) < stride:
        raise ValueError(f"the image ({img.shape[0]}x{img.shape[1]} after the border) is smaller than the stride {stride}")
    h, w = (img.shape[0] // stride) * stride, (img.shape[1] // stride) * stride
    return img[:h, :w].reshape(h // stride, stride, w // stride, stride).mean(axis=(0, 2))


def checkerboard_strength(image, stride: int, border: int = 0) -> float:
    """(max - min) / mean of the phase means: 0 without a stride-periodic pattern; 4/3 for a flat image through
    a box kernel with k=3, s=2 (overlap counts 1, 2, 2, 4)."""
    means = phase_means(image, stride, border)
    mean = float(means.mean())
    return float((means.max() - means.min()) / mean) if mean else 0.0


def interior_overlap(counts: np.ndarray, kernel_size: int) -> np.ndarray:
    """The overlap counts away from the border (kernel_size - 1 cells cut from each side), where every output
    cell could receive every tap: the pattern that repeats across the image."""
    cut = kernel_size - 1
    inner = counts[cut : counts.shape[0] - cut, cut : counts.shape[1] - cut]
    if inner.size == 0:
        raise ValueError(f"the overlap map {counts.shape[0]}x{counts.shape[1]} has no interior for kernel {kernel_size}")
    return inner


# ---- padding modes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PaddedView:
    """One padding mode applied to a 2-D input: the padded values and, per padded row / column, the input row /
    column it copies (-1 = a zero). error holds torch's refusal (e.g. reflect with padding >= size) instead."""

    mode: str
    pads: Pads
    values: np.ndarray | None = None
    src_rows: np.ndarray | None = None
    src_cols: np.ndarray | None = None
    error: str | None = None

    def source(self, row: int, col: int) -> tuple[int, int] | None:
        """The input cell padded cell (row, col) copies, None for a zero."""
        r, c = int(self.src_rows[row]), int(self.src_cols[col])
        return None if r < 0 or c < 0 else (r, c)


def padding_views(x, pads: Pads, modes=PADDING_MODES) -> dict[str, PaddedView]:
    """Every padding mode on the same (H, W) input, through the engine's pad2d and its source index."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D input (H, W), got shape {x.shape}")
    (top, bottom), (left, right) = pads
    views = {}
    for mode in modes:
        try:
            axis = "height (top, bottom)"
            rows = pad_source_index(x.shape[0], top, bottom, mode)
            axis = "width (left, right)"
            cols = pad_source_index(x.shape[1], left, right, mode)
        except ValueError as exc:
            views[mode] = PaddedView(mode, pads, error=f"{mode}, {axis}: {exc}")
            continue
        views[mode] = PaddedView(mode, pads, pad2d(x, pads, mode), rows, cols)
    return views
