"""Vectorised conv2d and conv_transpose2d with torch.nn.functional's signatures and semantics.

No Python loop runs over pixels or output positions: loops run over kernel taps, row blocks, column chunks or
output phases, and the heavy work is BLAS GEMM, strided numpy arithmetic or FFT, chosen by shape (choose_algorithm):

- "im2col": one batched matmul over the strided window view. Small calls (teaching sizes): the fewest numpy calls.
- "banded": depthwise image filters (one input channel per group, stride 1) as banded GEMMs on the flat padded
  image (convcore.algorithms.banded); memory stays at the output's size.
- "per_tap": other depthwise filters (strided) accumulate weight x shifted input tap by tap on cache-sized row
  blocks, split over threads; memory stays at the output's size.
- "fft": large kernels, as a product of spectra (scipy.fft with workers).
- "phases": channel-mixing layers (and large transposed convolutions): per chunk of output rows, GEMMs over the
  kernel taps on a flat channel-major copy of the rows they read, accumulated by BLAS, with the polyphase split for
  strides; the transposed op works per output phase the same way (convcore.algorithms.phases). No im2col copy, no
  scatter-add, chunks shared by threads.
- "scatter" (transposed op, small calls): the products per tap, summed over channels, then a scatter-add per tap.
  Teaching sizes (up to ORDERED_MAX_MACS) sum in a fixed order in numpy instead of a GEMM: channel by channel,
  then tap by tap in the order the input's elements stamp (ordered_sum); the three views of
  convcore.teaching.trace.transpose sum in that same order, so they equal this function bit for bit.

Large calls run on a small thread pool (convcore.algorithms.parallel) with BLAS's own threads off; small calls never
touch it.

These paths are for float32, float64 and complex. Integer and float16 inputs (the dtypes torch also convolves on CPU:
conv2d int8/int16/int32/int64/uint8, conv_transpose2d int64, both float16) go through convcore.algorithms.integer_half,
which reproduces torch's arithmetic bit for bit (wrap-around, half rounding).
"""
from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from .algorithms import blas, integer_half, parallel
from .algorithms.banded import correlate_banded
from .algorithms.phases import correlate_phases, transpose_phases
from .padding import pad2d
from .params import ConvCall, Pads, Pair, conv2d_call, conv_transpose2d_call, transposed_size

__all__ = ["conv2d", "conv_transpose2d", "correlate", "transpose", "transpose_full", "choose_algorithm",
           "choose_transpose_algorithm", "ordered_sum"]

NO_PADDING: Pads = ((0, 0), (0, 0))
# Dispatch thresholds (module constants: the path tests lower them to force each algorithm on small shapes).
FFT_MIN_TAPS = 100  # kernels of at least 10x10 taps ...
FFT_MIN_PIXELS = 64 * 64  # ... on outputs at least this large go through the FFT
BANDED_MIN_PIXELS = 64 * 64  # stride-1 depthwise outputs (per image and channel) at least this large: banded GEMMs
PER_TAP_MIN_PIXELS = 64 * 64  # other depthwise outputs at least this large go tap by tap
PHASES_MIN_MACS = 1 << 22  # channel-mixing calls with at least this many multiply-adds use the phase GEMMs
ORDERED_MAX_MACS = 1 << 20  # transposed images up to this size sum in the teaching views' fixed order (not BLAS's)
PARALLEL_MIN_ELEMENTS = 1 << 18  # per-tap outputs at least this large are split over threads
ROW_BLOCK_ELEMENTS = 1 << 16  # per-tap accumulation works on row blocks of about this many elements (cache-sized)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """2-D cross-correlation, exactly torch.nn.functional.conv2d (NCHW or CHW numpy arrays)."""
    call = conv2d_call(input, weight, bias, stride, padding, dilation, groups)
    if call.x.shape[1] == 0:  # no input channels: torch's empty shortcut returns no output channels (and no bias)
        return _finish(np.zeros((call.x.shape[0], 0, *_conv2d_size(call)), call.x.dtype), call)
    if integer_half.is_integer_or_half(call.x.dtype):
        out = integer_half.correlate(pad2d(call.x, call.padding), call.weight, call.bias, call.stride, call.dilation,
                                     call.groups, _conv2d_size(call))
        return _finish(out, call)
    out = correlate(call.x, call.weight, call.stride, call.dilation, call.groups, call.padding, call.bias)
    return _finish(out, call)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> np.ndarray:
    """2-D transposed convolution, exactly torch.nn.functional.conv_transpose2d."""
    call = conv_transpose2d_call(input, weight, bias, stride, padding, output_padding, groups, dilation)
    padding = (call.padding[0][0], call.padding[1][0])
    if integer_half.is_integer_or_half(call.x.dtype):
        size = transposed_size(call.x.shape[2:], call.kernel_size, call.stride, padding, call.output_padding, call.dilation)
        out = integer_half.transpose(call.x, call.weight, call.bias, call.stride, padding, call.dilation, call.groups, size)
        return _finish(out, call)
    out = transpose(call.x, call.weight, call.stride, padding, call.output_padding, call.dilation, call.groups, call.bias)
    return _finish(out, call)


def _conv2d_size(call: ConvCall) -> Pair:
    """A checked conv2d call's output size: floor((H + pads - d(k-1) - 1) / s) + 1 per dimension."""
    return tuple(_out_size(call.x.shape[2 + i] + sum(call.padding[i]), call.kernel_size[i], call.stride[i],
                           call.dilation[i]) for i in (0, 1))


def _finish(out: np.ndarray, call: ConvCall) -> np.ndarray:
    return out[0] if call.unbatched else out


def _with_bias(out: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """out + bias per output channel, in memory of its own (the engine never aliases its inputs)."""
    out = np.ascontiguousarray(out)
    if bias is not None:
        out += bias[:, None, None]
    return out


def _out_size(n: int, k: int, s: int, d: int) -> int:
    return (n - d * (k - 1) - 1) // s + 1


def choose_algorithm(x_shape, w_shape, stride: Pair, dilation: Pair, groups: int, out: Pair, dtype) -> str:
    """The conv2d algorithm for these shapes: "im2col", "banded", "per_tap", "fft" or "phases" (module docstring)."""
    n = x_shape[0]
    o, cg, kh, kw = w_shape
    pixels = out[0] * out[1]
    if kh * kw >= FFT_MIN_TAPS and pixels >= FFT_MIN_PIXELS:
        return "fft"
    if cg == 1 and stride == (1, 1) and pixels >= BANDED_MIN_PIXELS and blas.available(dtype):
        return "banded"
    if cg == 1 and pixels >= PER_TAP_MIN_PIXELS:
        return "per_tap"
    if n * o * cg * kh * kw * pixels >= PHASES_MIN_MACS:
        return "phases"
    return "im2col"


def correlate(x: np.ndarray, w: np.ndarray, stride: Pair, dilation: Pair, groups: int, padding: Pads = NO_PADDING,
              bias: np.ndarray | None = None) -> np.ndarray:
    """Valid cross-correlation of x (N, C, H, W), zero-padded by ((top, bottom), (left, right)), with w (O, C/groups, kH, kW),
    plus bias (O,) if given: added after the sums, except by the phase GEMMs, which start from it (one pass fewer)."""
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (top, bottom), (left, right) = padding
    out = (_out_size(h + top + bottom, kh, stride[0], dilation[0]), _out_size(wd + left + right, kw, stride[1], dilation[1]))
    if n == 0 or o == 0 or cg == 0:
        return _with_bias(np.zeros((n, o) + out, x.dtype), bias)
    algorithm = choose_algorithm(x.shape, w.shape, stride, dilation, groups, out, x.dtype)
    if algorithm == "phases":
        return correlate_phases(x, w, stride, dilation, groups, padding, out, bias)
    if algorithm == "fft":
        return _with_bias(_correlate_fft(x, w, stride, dilation, groups, padding, out), bias)
    if algorithm == "banded":
        return _with_bias(correlate_banded(x, w, dilation, groups, padding, out), bias)
    xp = pad2d(x, padding)
    if algorithm == "per_tap":
        return _with_bias(_correlate_per_tap(xp, w, stride, dilation, groups, out), bias)
    return _with_bias(_correlate_im2col(xp, w, stride, dilation, groups, out), bias)


def _windows(xp: np.ndarray, groups: int, kernel: Pair, stride: Pair, dilation: Pair, out: Pair) -> np.ndarray:
    """The strided window view (N, groups, C/groups, kH, kW, H_out, W_out) of xp; no copy. The one window view."""
    n, c, _, _ = xp.shape
    sn, sc, sh, sw = xp.strides
    shape = (n, groups, c // groups, kernel[0], kernel[1], out[0], out[1])
    strides = (sn, sc * (c // groups), sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1])
    if not xp.flags.c_contiguous:
        return np.lib.stride_tricks.as_strided(xp, shape=shape, strides=strides, writeable=False)
    view = np.ndarray(shape, xp.dtype, buffer=xp, strides=strides)  # the same view, without as_strided's overhead
    view.flags.writeable = False
    return view


def _correlate_im2col(xp, w, stride, dilation, groups, out):
    """im2col over the window view, then one batched GEMM per group: for small calls."""
    n = xp.shape[0]
    o, cg, kh, kw = w.shape
    cols = _windows(xp, groups, (kh, kw), stride, dilation, out).reshape(n, groups, cg * kh * kw, out[0] * out[1])
    res = _matmul_here(w.reshape(groups, o // groups, cg * kh * kw), cols)
    return res.reshape(n, o, out[0], out[1])


def _matmul_here(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """numpy's matmul on the calling thread: a small GEMM gains little from BLAS's own threads, and on a busy machine
    waking them stalls for milliseconds (measured: 4-15 ms spikes on a 0.05 ms product). OpenBLAS keeps products
    under 2^18 multiply-adds on one thread by itself: those skip the switch (3.5 us, a teaching call's budget)."""
    if a.shape[-2] * a.shape[-1] * b.shape[-1] < 1 << 18:
        return np.matmul(a, b)
    with blas.single_threaded():
        return np.matmul(a, b)


def _correlate_per_tap(xp, w, stride, dilation, groups, out):
    """Depthwise filters: accumulate weight * shifted input tap by tap, on cache-sized row blocks.

    Memory stays at the output's size (no window copy that would multiply it by the kernel area). Large outputs
    split their rows over threads, each with its own scratch block.
    """
    n = xp.shape[0]
    o, _, kh, kw = w.shape
    mult = o // groups  # depthwise multiplier: output channel g*mult + m reads input channel g
    (sh, sw), (dh, dw) = stride, dilation
    ho, wo = out
    res = np.empty((n, groups, mult, ho, wo), xp.dtype)
    taps = [[w.reshape(groups, mult, kh, kw)[:, m, i, j][:, None, None] for i in range(kh) for j in range(kw)] for m in range(mult)]
    rows = max(1, ROW_BLOCK_ELEMENTS // max(1, n * groups * wo))
    workers = parallel.WORKERS if res.size >= PARALLEL_MIN_ELEMENTS else 1

    def run(span):
        tmp = np.empty((n, groups, min(rows, span[1] - span[0]), wo), xp.dtype)
        for m in range(mult):
            for r0 in range(span[0], span[1], rows):
                r1 = min(span[1], r0 + rows)
                acc = res[:, :, m, r0:r1]
                t = tmp[:, :, : r1 - r0]
                for k in range(kh * kw):
                    i, j = divmod(k, kw)
                    top = i * dh + r0 * sh
                    src = xp[:, :, top : top + (r1 - r0 - 1) * sh + 1 : sh, j * dw : j * dw + (wo - 1) * sw + 1 : sw]
                    if k == 0:
                        np.multiply(src, taps[m][k], out=acc)
                    else:
                        np.multiply(src, taps[m][k], out=t)
                        acc += t

    parallel.run(run, parallel.spans(ho, workers))
    return res.reshape(n, o, ho, wo)


def _correlate_fft(x, w, stride, dilation, groups, padding, out):
    """Large kernels: correlation as a product of spectra.

    The zero padding is implicit: a circular size of at least the padded input keeps the wrapped-around reads
    (the top/left padding) inside the transform's own zeros.
    """
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (dh, dw), (sh, sw) = dilation, stride
    (top, bottom), (left, right) = padding
    reach = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    shape = (sfft.next_fast_len(h + top + bottom, real=True), sfft.next_fast_len(wd + left + right, real=True))
    kernel = np.zeros((o, cg) + reach, w.dtype)
    kernel[:, :, ::dh, ::dw] = w
    kernel = kernel[:, :, ::-1, ::-1]  # correlation = convolution with the flipped kernel
    real = not np.iscomplexobj(x)
    forward, inverse = (sfft.rfft2, sfft.irfft2) if real else (sfft.fft2, sfft.ifft2)
    xf = forward(x, s=shape, workers=-1).reshape(n, groups, c // groups, shape[0], -1)
    kf = forward(kernel, s=shape, workers=-1).reshape(groups, o // groups, cg, shape[0], -1)
    if cg == 1:
        yf = xf * kf[:, :, 0]  # (n, g, mult, ...) from (n, g, 1, ...) x (g, mult, ...)
    else:
        yf = np.einsum("ngchw,gochw->ngohw", xf, kf, optimize=True)
    del xf
    y = inverse(yf.reshape(n, o, shape[0], -1), s=shape, workers=-1)
    # output (r, c) is the convolution at (r*s + reach - 1 - top, ...), modulo the circular size
    rows = np.arange(out[0]) * sh + reach[0] - 1 - top
    cols = np.arange(out[1]) * sw + reach[1] - 1 - left
    if rows[0] >= 0 and cols[0] >= 0:  # no wrap (the last index is below the padded size): a strided slice
        y = y[:, :, rows[0] : rows[-1] + 1 : sh, cols[0] : cols[-1] + 1 : sw]
    else:
        y = y[:, :, (rows % shape[0])[:, None], (cols % shape[1])[None, :]]
    return np.ascontiguousarray(y, dtype=x.dtype)


def choose_transpose_algorithm(x_shape, w_shape) -> str:
    """The conv_transpose2d algorithm for these shapes: "phases" or "scatter" (see the module docstring)."""
    n, cin = x_shape[0], x_shape[1]
    og, kh, kw = w_shape[1:]
    if n * cin * og * kh * kw * x_shape[2] * x_shape[3] >= PHASES_MIN_MACS:
        return "phases"
    return "scatter"


def transpose(x: np.ndarray, w: np.ndarray, stride: Pair, padding: Pair, output_padding: Pair, dilation: Pair,
              groups: int, bias: np.ndarray | None = None) -> np.ndarray:
    """Transposed convolution of x (N, C_in, H, W) with w (C_in, C_out/groups, kH, kW), cropped by padding, plus bias
    (C_out,) if given (as in correlate)."""
    n, _, h, wd = x.shape
    og, kh, kw = w.shape[1:]
    size = transposed_size(x.shape[2:], w.shape[2:], stride, padding, output_padding, dilation)
    if n == 0 or og == 0 or x.shape[1] == 0:
        return _with_bias(np.zeros((n, og * groups) + size, x.dtype), bias)
    if choose_transpose_algorithm(x.shape, w.shape) == "phases":
        return transpose_phases(x, w, stride, padding, dilation, groups, size, bias)
    full = transpose_full(x, w, stride, dilation, groups)
    (ph, pw), (h_out, w_out) = padding, size
    if ph + h_out > full.shape[2] or pw + w_out > full.shape[3]:
        # output_padding reaches past the full result: those cells get no kernel tap, only the bias
        grown = np.zeros(full.shape[:2] + (max(full.shape[2], ph + h_out), max(full.shape[3], pw + w_out)), full.dtype)
        grown[:, :, : full.shape[2], : full.shape[3]] = full
        full = grown
    return _with_bias(full[:, :, ph : ph + h_out, pw : pw + w_out], bias)


def transpose_full(x: np.ndarray, w: np.ndarray, stride: Pair, dilation: Pair, groups: int) -> np.ndarray:
    """The uncropped transposed convolution (N, C_out, (H-1)s + d(k-1) + 1, ...): products per tap, then a scatter-add per tap."""
    n, cin, h, wd = x.shape
    _, og, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    full = np.zeros((n, groups * og, (h - 1) * sh + dh * (kh - 1) + 1, (wd - 1) * sw + dw * (kw - 1) + 1), x.dtype)
    if n == 0 or full.shape[1] == 0 or h * wd == 0:
        return full
    cg = cin // groups
    wt = w.reshape(groups, cg, og * kh * kw)
    xg = x.reshape(n, groups, cg, 1, h * wd)
    # teaching sizes (per image: the batch does not change an image's result): channel by channel, in the views' order
    if cin * og * kh * kw * h * wd <= ORDERED_MAX_MACS:
        cols = ordered_sum(xg * wt[None, :, :, :, None], axis=2)
    else:
        cols = _matmul_here(wt.transpose(0, 2, 1), xg[:, :, :, 0])
    cols = cols.reshape(n, groups * og, kh, kw, h, wd)  # the group axis folds into the channel axis
    # last tap first: for each output cell, the terms then arrive in the raster order of the input elements that
    # stamp them (the scatter view's order; the flipped kernel's order in the zero-insertion view)
    for i in reversed(range(kh)):
        for j in reversed(range(kw)):
            full[:, :, i * dh : i * dh + (h - 1) * sh + 1 : sh, j * dw : j * dw + (wd - 1) * sw + 1 : sw] += cols[:, :, i, j]
    return full


def ordered_sum(a: np.ndarray, axis: int) -> np.ndarray:
    """Sum along axis strictly first to last (((a0 + a1) + a2) + ...), a fixed order: numpy's sum pairs terms up."""
    a = np.moveaxis(np.asarray(a), axis, 0)
    if a.shape[0] == 0:
        return np.zeros(a.shape[1:], a.dtype)
    total = a[0].copy()
    for term in a[1:]:
        total += term
    return total
