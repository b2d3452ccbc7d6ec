"""Padding modes and zero insertion. Index maps are the single source: the engine pads with them and the
animations use them to show which real cell a padded cell copies."""
from __future__ import annotations

import numpy as np

from .params import Pads


def pad_source_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each position of a padded axis, the index of the real cell it copies (-1 = a zero).

    Raises ValueError where torch refuses the mode: reflect needs padding < size, circular padding <= size,
    replicate a non-empty axis.
    """
    idx = np.arange(-before, n + after)
    if mode == "zeros":
        return np.where((idx >= 0) & (idx < n), idx, -1)
    if mode == "reflect":
        if before >= n or after >= n:
            raise ValueError(
                f"reflect padding must be smaller than the input size: padding ({before}, {after}) on an axis of size {n}"
            )
        return np.abs(idx) - np.maximum(2 * (idx - (n - 1)), 0)  # i<0 -> -i; i>n-1 -> 2(n-1)-i
    if mode == "replicate":
        if n == 0:
            raise ValueError("replicate padding needs a non-empty input axis")
        return np.clip(idx, 0, n - 1)
    if mode == "circular":
        if before > n or after > n:
            raise ValueError(
                f"circular padding can wrap around at most once: padding ({before}, {after}) on an axis of size {n}"
            )
        return idx % n
    raise ValueError(f"padding_mode must be one of ['zeros', 'reflect', 'replicate', 'circular'], got {mode!r}")


def pad2d(x: np.ndarray, pads: Pads, mode: str = "zeros") -> np.ndarray:
    """Pad the last two axes by ((top, bottom), (left, right)) with torch's padding mode."""
    (top, bottom), (left, right) = pads
    if mode == "zeros":
        if not (top or bottom or left or right):
            return x
        out = np.zeros(x.shape[:-2] + (x.shape[-2] + top + bottom, x.shape[-1] + left + right), x.dtype)
        out[..., top : top + x.shape[-2], left : left + x.shape[-1]] = x
        return out
    rows = pad_source_index(x.shape[-2], top, bottom, mode)
    cols = pad_source_index(x.shape[-1], left, right, mode)
    return x.take(rows, axis=-2).take(cols, axis=-1)


def insert_zeros(x: np.ndarray, stride) -> np.ndarray:
    """stride-1 zeros between neighbouring elements of the last two axes (the transposed conv's first step)."""
    sh, sw = stride
    h, w = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + ((h - 1) * sh + 1 if h else 0, (w - 1) * sw + 1 if w else 0), x.dtype)
    out[..., ::sh, ::sw] = x
    return out


def pad_trailing(x: np.ndarray, pads, mode: str) -> np.ndarray:
    """torch.nn.functional.pad(x, pads, mode) for the modes Conv2d pads with (reflect, replicate, circular).

    pads lists (before, after) for the last axis first, as F.pad does: 2 entries pad the width of a 2-D/3-D input,
    4 entries height and width of a 3-D/4-D input, 6 entries also the channels of a 4-D input. Negative entries crop.
    """
    n_pads = len(pads)
    for i, p in enumerate(pads):
        if isinstance(p, (bool, np.bool_)) and i == 0 or not isinstance(p, (int, np.integer)):
            raise TypeError(f"padding must be ints, got {p!r} ({type(p).__name__}) in the pads {tuple(pads)} for {mode} mode")
    if n_pads % 2 or n_pads // 2 not in (1, 2, 3) or x.ndim not in (n_pads // 2 + 1, n_pads // 2 + 2):
        raise ValueError(
            f"{mode} padding pads 1, 2 or 3 trailing axes of a 2-D..5-D input (2 pad entries for a 2-D or 3-D input, 4 for "
            f"3-D or 4-D, 6 for 4-D or 5-D, as torch's F.pad), got {n_pads} pad entries {tuple(pads)} for an input of "
            f"size {list(x.shape)}"
        )
    for k in range(n_pads // 2):
        axis = x.ndim - 1 - k
        before, after = int(pads[2 * k]), int(pads[2 * k + 1])
        if x.shape[axis] + before + after <= 0:
            raise ValueError(
                f"{mode} padding ({before}, {after}) leaves nothing of an axis of size {x.shape[axis]} (input of size {list(x.shape)})"
            )
        x = x.take(pad_source_index(x.shape[axis], before, after, mode), axis=axis)
    return x
