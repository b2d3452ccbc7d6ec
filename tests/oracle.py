"""A slow, obviously correct reference for conv2d and conv_transpose2d: plain loops straight from the definitions.

Tests only: a second oracle beside torch that shares no code with convcore. Arguments are already normal:
stride/dilation/output_padding as (h, w) pairs, conv2d padding as ((top, bottom), (left, right)).
"""
from __future__ import annotations

import numpy as np

# numpy's names for torch's padding modes (numpy 'reflect' excludes the edge, as torch's does)
NUMPY_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def same_pads(kernel_size, dilation):
    """torch's 'same' split: d*(k-1) in total, the smaller half on the top/left."""
    return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel_size, dilation))


def pad_ref(x, pads, mode="zeros"):
    """Pad the last two axes of x by pads = ((top, bottom), (left, right)) with a torch padding mode."""
    return np.pad(x, ((0, 0),) * (x.ndim - 2) + tuple(pads), mode=NUMPY_PAD_MODE[mode])


def conv2d_ref(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1, padding_mode="zeros"):
    """out[n, o, i, j] = b[o] + sum over c, p, q of xpad[n, g*C/g + c, i*s + p*d, j*s + q*d] * w[o, c, p, q]."""
    unbatched = x.ndim == 3
    x = x[None] if unbatched else x
    xp = pad_ref(x, pads, padding_mode)
    n, c_in, hp, wp = xp.shape
    c_out, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho = (hp - dh * (kh - 1) - 1) // sh + 1
    wo = (wp - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c_out, ho, wo), x.dtype)
    og = c_out // groups
    for b_ in range(n):
        for o in range(c_out):
            first_channel = (o // og) * cg
            for i in range(ho):
                for j in range(wo):
                    total = 0
                    for c in range(cg):
                        for p in range(kh):
                            for q in range(kw):
                                total += xp[b_, first_channel + c, i * sh + p * dh, j * sw + q * dw] * w[o, c, p, q]
                    out[b_, o, i, j] = total + (b[o] if b is not None else 0)
    return out[0] if unbatched else out


def conv_transpose2d_ref(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), groups=1,
                         dilation=(1, 1)):
    """Scatter: every x[n, c, i, j] adds x * w[c, k, p, q] at (i*s + p*d, j*s + q*d) of output channel g*C_out/g + k;
    then padding rows/columns are cut from each side and output_padding extra ones kept on the bottom/right."""
    unbatched = x.ndim == 3
    x = x[None] if unbatched else x
    n, c_in, h, wd = x.shape
    _, og, kh, kw = w.shape
    (sh, sw), (dh, dw), (ph, pw), (oph, opw) = stride, dilation, padding, output_padding
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph
    full_w = (wd - 1) * sw + dw * (kw - 1) + 1 + opw
    full = np.zeros((n, groups * og, full_h, full_w), x.dtype)
    cg = c_in // groups
    for b_ in range(n):
        for c in range(c_in):
            first_out = (c // cg) * og
            for i in range(h):
                for j in range(wd):
                    for k in range(og):
                        for p in range(kh):
                            for q in range(kw):
                                full[b_, first_out + k, i * sh + p * dh, j * sw + q * dw] += x[b_, c, i, j] * w[c, k, p, q]
    out = full[:, :, ph : full_h - ph, pw : full_w - pw].copy()
    if b is not None:
        out += b[:, None, None]
    return out[0] if unbatched else out
