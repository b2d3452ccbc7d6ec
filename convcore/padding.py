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
