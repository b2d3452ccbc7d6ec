"""Vectorised conv2d and conv_transpose2d with torch.nn.functional's signatures and semantics.

No Python loop runs over pixels or output positions: loops run over kernel taps, row blocks or output phases,
and the heavy work is GEMM (BLAS), strided numpy arithmetic or FFT, chosen by shape.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided
from scipy import fft as sfft

from .padding import pad2d
from .params import ConvCall, Pair, conv2d_call, conv_transpose2d_call

__all__ = ["conv2d", "conv_transpose2d", "correlate", "transpose_full"]

FFT_MIN_TAPS = 100  # kernels of at least 10x10 taps ...
FFT_MIN_PIXELS = 64 * 64  # ... on outputs at least this large go through the FFT
ROW_BLOCK_ELEMENTS = 1 << 16  # per-tap accumulation works on row blocks of about this many elements (cache-sized)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """2-D cross-correlation, exactly torch.nn.functional.conv2d (NCHW or CHW numpy arrays)."""
    call = conv2d_call(input, weight, bias, stride, padding, dilation, groups)
    out = correlate(pad2d(call.x, call.padding), call.weight, call.stride, call.dilation, call.groups)
    return _finish(out, call)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> np.ndarray:
    """2-D transposed convolution, exactly torch.nn.functional.conv_transpose2d."""
    call = conv_transpose2d_call(input, weight, bias, stride, padding, output_padding, groups, dilation)
    (ph, _), (pw, _) = call.padding
    full = transpose_full(call.x, call.weight, call.stride, call.dilation, call.groups)
    h_out = full.shape[2] - 2 * ph + call.output_padding[0]
    w_out = full.shape[3] - 2 * pw + call.output_padding[1]
    if ph + h_out > full.shape[2] or pw + w_out > full.shape[3]:
        # output_padding reaches past the full result: those cells get no kernel tap, only the bias
        grown = np.zeros(full.shape[:2] + (max(full.shape[2], ph + h_out), max(full.shape[3], pw + w_out)), full.dtype)
        grown[:, :, : full.shape[2], : full.shape[3]] = full
        full = grown
    return _finish(full[:, :, ph : ph + h_out, pw : pw + w_out], call)


def _finish(out: np.ndarray, call: ConvCall) -> np.ndarray:
    out = np.ascontiguousarray(out)  # always memory of our own: the engine never aliases its inputs
    if call.bias is not None:
        out += call.bias[:, None, None]
    return out[0] if call.unbatched else out


def _out_size(n: int, k: int, s: int, d: int) -> int:
    return (n - d * (k - 1) - 1) // s + 1


def correlate(xp: np.ndarray, w: np.ndarray, stride: Pair, dilation: Pair, groups: int) -> np.ndarray:
    """Valid cross-correlation of an already padded batch xp (N, C, H, W) with w (O, C/groups, kH, kW)."""
    n, _, hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    ho, wo = _out_size(hp, kh, stride[0], dilation[0]), _out_size(wp, kw, stride[1], dilation[1])
    if n == 0 or o == 0:
        return np.zeros((n, o, ho, wo), xp.dtype)
    if kh * kw >= FFT_MIN_TAPS and ho * wo >= FFT_MIN_PIXELS:
        return _correlate_fft(xp, w, stride, dilation, groups, (ho, wo))
    if cg == 1 and ho * wo >= FFT_MIN_PIXELS:
        return _correlate_per_tap(xp, w, stride, dilation, groups, (ho, wo))
    return _correlate_gemm(xp, w, stride, dilation, groups, (ho, wo))


def _windows(xp: np.ndarray, groups: int, kernel: Pair, stride: Pair, dilation: Pair, out: Pair) -> np.ndarray:
    """The strided window view (N, groups, C/groups, kH, kW, H_out, W_out) of xp; no copy. The one window view."""
    n, c, _, _ = xp.shape
    sn, sc, sh, sw = xp.strides
    return as_strided(
        xp,
        shape=(n, groups, c // groups, kernel[0], kernel[1], out[0], out[1]),
        strides=(sn, sc * (c // groups), sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]),
        writeable=False,
    )


def _correlate_gemm(xp, w, stride, dilation, groups, out):
    """im2col over the window view, then one batched GEMM per group: for channel-mixing layers and small inputs."""
    n = xp.shape[0]
    o, cg, kh, kw = w.shape
    cols = _windows(xp, groups, (kh, kw), stride, dilation, out).reshape(n, groups, cg * kh * kw, out[0] * out[1])
    res = np.matmul(w.reshape(groups, o // groups, cg * kh * kw), cols)
    return res.reshape(n, o, out[0], out[1])


def _correlate_per_tap(xp, w, stride, dilation, groups, out):
    """Depthwise filters: accumulate weight * shifted input tap by tap, on cache-sized row blocks.

    Memory stays at the output's size (no window copy that would multiply it by the kernel area).
    """
    n = xp.shape[0]
    o, _, kh, kw = w.shape
    mult = o // groups  # depthwise multiplier: output channel g*mult + m reads input channel g
    (sh, sw), (dh, dw) = stride, dilation
    ho, wo = out
    res = np.empty((n, groups, mult, ho, wo), xp.dtype)
    taps = w.reshape(groups, mult, kh, kw)
    rows = max(1, ROW_BLOCK_ELEMENTS // max(1, n * groups * wo))
    tmp = np.empty((n, groups, min(rows, ho), wo), xp.dtype)
    for m in range(mult):
        for r0 in range(0, ho, rows):
            r1 = min(ho, r0 + rows)
            acc = res[:, :, m, r0:r1]
            t = tmp[:, :, : r1 - r0]
            first = True
            for i in range(kh):
                top = i * dh + r0 * sh
                for j in range(kw):
                    src = xp[:, :, top : top + (r1 - r0 - 1) * sh + 1 : sh, j * dw : j * dw + (wo - 1) * sw + 1 : sw]
                    wt = taps[:, m, i, j][:, None, None]
                    if first:
                        np.multiply(src, wt, out=acc)
                        first = False
                    else:
                        np.multiply(src, wt, out=t)
                        acc += t
    return res.reshape(n, o, ho, wo)


def _correlate_fft(xp, w, stride, dilation, groups, out):
    """Large kernels: correlation as a product of spectra (circular size >= input, so the valid part has no wrap)."""
    n, c, hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    (dh, dw), (sh, sw) = dilation, stride
    reach = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    shape = (sfft.next_fast_len(hp, real=True), sfft.next_fast_len(wp, real=True))
    kernel = np.zeros((o, cg) + reach, w.dtype)
    kernel[:, :, ::dh, ::dw] = w
    kernel = kernel[:, :, ::-1, ::-1]  # correlation = convolution with the flipped kernel
    real = not np.iscomplexobj(xp)
    forward, inverse = (sfft.rfft2, sfft.irfft2) if real else (sfft.fft2, sfft.ifft2)
    xf = forward(xp, s=shape, workers=-1).reshape(n, groups, c // groups, shape[0], -1)
    kf = forward(kernel, s=shape, workers=-1).reshape(groups, o // groups, cg, shape[0], -1)
    if cg == 1:
        yf = xf * kf[:, :, 0]  # (n, g, mult, ...) from (n, g, 1, ...) x (g, mult, ...)
    else:
        yf = np.einsum("ngchw,gochw->ngohw", xf, kf, optimize=True)
    y = inverse(yf.reshape(n, o, shape[0], -1), s=shape, workers=-1)
    ho, wo = out
    top, left = reach[0] - 1, reach[1] - 1
    y = y[:, :, top : top + (ho - 1) * sh + 1 : sh, left : left + (wo - 1) * sw + 1 : sw]
    return np.ascontiguousarray(y, dtype=xp.dtype)


def transpose_full(x: np.ndarray, w: np.ndarray, stride: Pair, dilation: Pair, groups: int) -> np.ndarray:
    """The uncropped transposed convolution (N, C_out, (H-1)s + d(k-1) + 1, ...): one GEMM, then a scatter-add per tap."""
    n, cin, h, wd = x.shape
    _, og, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    full = np.zeros((n, groups * og, (h - 1) * sh + dh * (kh - 1) + 1, (wd - 1) * sw + dw * (kw - 1) + 1), x.dtype)
    if n == 0 or full.shape[1] == 0 or h * wd == 0:
        return full
    cg = cin // groups
    wt = w.reshape(groups, cg, og * kh * kw).transpose(0, 2, 1)  # (g, og*kh*kw, cg)
    cols = np.matmul(wt, x.reshape(n, groups, cg, h * wd)).reshape(n, groups * og, kh, kw, h, wd)
    # the group axis folds into the channel axis: channel g*og + k of the output
    for i in range(kh):
        for j in range(kw):
            full[:, :, i * dh : i * dh + (h - 1) * sh + 1 : sh, j * dw : j * dw + (wd - 1) * sw + 1 : sw] += cols[:, :, i, j]
    return full
