"""The gathered sources of a phase plan (phases.py): a chunk's input rows, zero-padded, deinterleaved by stride and
stacked by phase block, copied from x into flat per-thread scratch that the GEMMs read.

Only the zeros are written besides the data (the buffer is reused: zeroing it whole cost as much as the copies), and
only when another layout wrote the buffer last. A block that is another one shifted along its columns (kernel
columns 0 and 2 of stride 2) is copied from it in long contiguous runs, about twice as fast as reading x again with a
stride.
"""
from __future__ import annotations

import functools
import threading

import numpy as np

__all__ = ["gather", "parents", "unaliased"]

_KEPT_ZEROS = "kept zeros"  # a gather step: zeros that no copy between blocks overwrites
_buffers = threading.local()  # .state: {source key: [its buffer, the gather layout that last wrote it, {layout: steps}]}


def gather(plan, key, groups: int, low: int, rows: int, buffer: np.ndarray) -> np.ndarray:
    """Grid rows [low, low + rows) of source `key` of plan (a phases._Plan), zeros around the data, flat in buffer
    (channels, >= rows*width). The steps depend on the chunk's position within its image only, so they are worked
    out once per layout and buffer (kept from call to call)."""
    first = low // plan.height
    owner = buffer.base if buffer.base is not None else buffer
    state = _buffers.__dict__.setdefault("state", {}).get(key)
    if state is None or state[0] is not owner or len(state[2]) > 64:  # (a grown buffer: the old one is let go)
        state = _buffers.state[key] = [owner, None, {}]
    layout = plan.gather_layouts.get(key)
    if layout is None:
        layout = plan.gather_layouts[key] = (tuple(plan.sources[key]), plan.height, plan.width, _wraps(plan), groups)
    layout += (buffer.shape, low - first * plan.height, rows)
    steps = state[2].get(layout)
    if steps is None:
        every = _steps(plan, key, groups, layout[6], rows, buffer)
        steps = state[2][layout] = (every, [step for step in every if step[1] is not _KEPT_ZEROS])
    # the zeros this layout leaves outside the data are still there when it wrote the buffer last
    steps = steps[1] if state[1] == layout else steps[0]
    state[1] = None  # (until every step has run)
    x = plan.x
    for dest, source in steps:
        if source is None or source is _KEPT_ZEROS:
            dest[...] = 0
        elif isinstance(source, np.ndarray):
            dest[...] = source
        elif first + source[0] < x.shape[0]:
            dest[...] = x[first + source[0]][source[1]].reshape(dest.shape)
        else:  # rows past the last image
            dest[...] = 0
    state[1] = layout
    return buffer


def _wraps(plan) -> bool:
    """Whether some GEMM reads past a grid row's end into the next one (which must then hold zeros)."""
    return plan.blocks != [0] or any(plan.width != out[5] for *_, outputs in plan.passes for out in outputs) \
        or any(t[4] for _, terms, _ in plan.passes for t in terms)


def _steps(plan, key, groups: int, low: int, rows: int, buffer: np.ndarray) -> list:
    """gather's steps for chunks starting `low` rows into an image: (view of buffer, None to zero it | _KEPT_ZEROS
    to zero it unless the zeros are still there | a view of buffer to copy | (image after the chunk's first, index
    into x))."""
    x, height, width = plan.x, plan.height, plan.width
    specs = plan.sources[key]
    cg = x.shape[1] // groups
    # reads past the last row's end (into garbage columns) find zeros, not whatever the buffer held
    steps = [(buffer[:, rows * width : (rows + 1) * width], None)] if _wraps(plan) else []
    grid = buffer[:, : rows * width].reshape(groups, len(specs), cg, rows, width)
    flat = grid.reshape(groups, len(specs), cg, rows * width)
    order, parent_of = parents(tuple(specs))
    for block in order:
        (h0, q0, nr, sh), (w0, u0, nc, sw) = specs[block]
        parent, delta = parent_of[block]
        dest = grid[:, block]
        if parent is not None:  # column u is the parent's column u + delta (the margins are zeroed below)
            if delta > 0:
                steps.append((flat[:, block, :, :-delta], flat[:, parent, :, delta:]))
            else:
                steps.append((flat[:, block, :, -delta:], flat[:, parent, :, :delta]))
        for image in range((low + rows - 1) // height + 1):
            at = image * height - low  # the image's grid row 0, relative to the chunk
            seg0, seg1 = max(at, 0), min(at + height, rows)  # the chunk's rows in this image
            lo, hi = max(seg0, at + q0), min(seg1, at + q0 + nr)  # ... that hold data
            if lo >= hi or not nc:
                steps.append((dest[:, :, seg0:seg1], None))
                continue
            steps += [(view, None) for view in (dest[:, :, seg0:lo], dest[:, :, hi:seg1], dest[:, :, lo:hi, :u0],
                                                dest[:, :, lo:hi, u0 + nc :]) if view.size]
            if parent is None:
                index = (slice(None), slice(h0 + sh * (lo - at - q0), h0 + sh * (hi - 1 - at - q0) + 1, sh),
                         slice(w0, w0 + sw * (nc - 1) + 1, sw))
                steps.append((dest[:, :, lo:hi, u0 : u0 + nc], (image, index)))
    copies = [dest for dest, source in steps if isinstance(source, np.ndarray)]
    return [(dest, _KEPT_ZEROS if source is None and not any(np.may_share_memory(dest, c) for c in copies) else source)
            for dest, source in steps]


def unaliased(length: int, block_bytes: int, distances) -> int:
    """A row length >= length (a multiple of 16 bytes) at which blocks that are copied into one another (`distances`
    blocks of rows apart) do not lie a multiple of 4 KiB apart, give or take 512 bytes: such copies stall on 4K
    aliasing, loads waiting behind stores to the same low address bits (7x slower, measured)."""
    length = -(-length // 4) * 4
    for candidate in range(length, length + 1024, 4):
        if all(512 <= (d * block_bytes * candidate) % 4096 <= 4096 - 512 for d in distances):
            return candidate
    return length


@functools.lru_cache(maxsize=64)
def parents(specs: tuple):
    """The blocks in gathering order, and per block (the block it is a column shift of, the shift) or (None, 0).

    Block b's grid column u holds input column base_b + s*u (base_b = first input column - s * first grid column);
    a block a with the same rows and column step holds that column at u + delta, delta = (base_b - base_a) / s.
    Blocks with the most data columns are read from x; a block whose data all lies in such a block's data (at the
    shifted columns) is copied from it.
    """
    found = [(None, 0)] * len(specs)
    by_size = sorted(range(len(specs)), key=lambda b: (-specs[b][1][2], b))
    for rank, b in enumerate(by_size):
        rows_b, (w0, u0, nc, sw) = specs[b]
        for a in by_size[:rank]:
            rows_a, (wa, ua, nca, swa) = specs[a]
            base = (w0 - sw * u0) - (wa - swa * ua)
            if found[a][0] is None and rows_a == rows_b and swa == sw and nc and base % sw == 0 and base \
                    and ua <= u0 + base // sw and u0 + nc + base // sw <= ua + nca:
                found[b] = (a, base // sw)
                break
    return [b for b in by_size if found[b][0] is None] + [b for b in by_size if found[b][0] is not None], found
