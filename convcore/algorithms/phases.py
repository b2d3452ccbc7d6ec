"""Channel-mixing convolutions as BLAS GEMMs on a flat, channel-major copy of the input: no im2col, no scatter-add.

With stride 1, flatten the zero-padded batch to X (C, N*Hp*Wp): tap (i, j) then reads X at the constant offset
i*d*Wp + j*d, so the correlation is a sum over taps of W[:, :, i, j] @ X[:, offset : offset + L], accumulated in
place by BLAS (beta = 1). Columns that run past a row's end are garbage and are dropped when the result is written.
The zeros after one row's data double as the zeros before the next row's, so a row is data + max(pad before, pad
after) long, which keeps the garbage to a few percent.

Strides: the polyphase split turns the rows of stride s into s stride-1 sub-grids of the padded input, and the
columns into one block per kernel column (block j's column u holds padded column s*u + j*d), all stacked along the
channels; the taps that share a row shift then form one GEMM over their blocks' channels (stride 2, 3x3: two GEMMs,
K = 6C and 3C). The grid is then exactly as wide as the output, so with one output row phase the GEMMs write
straight into the result: no garbage columns, no accumulator, no copy out. Narrow stride-1 layers stack their
kernel columns along the output rows into blocks read at their column shifts (STACK_BELOW).

The transposed op works per output phase: output rows y = s*q + a take the kernel rows i with (a + p - i*d)
divisible by s, a stride-1 correlation with that sub-kernel (no zero insertion). Every phase (a, b) is one
accumulator block, read shifted so that the phases' taps line up: one GEMM per read offset writes all the phases
(kernel 4, stride 2: four GEMMs of M = 4 * C_out), and each block is copied to its strided place in the result.

A bias is where the accumulation starts (the GEMMs add to it; copied-out blocks get it on the way), so it costs no
pass of its own.

The work runs in chunks of output rows: each gathers the input rows it reads into per-thread scratch (memory grows
with the output, not the input x kernel area), runs its GEMMs and writes its rows (every output phase's, from one
gather, when there are several); chunks are shared by the engine's threads, with BLAS's own threads off. Chunks that
write straight into the result stay within one image.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import numpy as np

from . import blas, parallel
from .gather import gather, parents, unaliased
from ..params import Pads, Pair

__all__ = ["correlate_phases", "transpose_phases"]

CHUNK_ELEMENTS = 1 << 19  # a chunk's accumulator (and its gathered source rows) hold about this many elements
PARALLEL_MIN_MACS = 1 << 24  # calls with at least this many multiply-adds spread their chunks over threads
CHUNKS_PER_THREAD = 4  # at least this many chunks per thread, so that a thread slowed by a busy core can be helped
STACK_BELOW = 64  # stride-1 layers with fewer output channels per group stack their kernel columns (see below)
SHARED_CHUNKS_PER_THREAD = 3  # the same when a chunk runs several output phases (transposed k4 s2: 2% faster than 4)
MAX_ORDERED_PHASES = 4  # up to this many phases (stride 2), all 24 orders are tried for the longest stacked GEMMs


@dataclass
class _Plan:
    """What to multiply and where to write, for one call (see the module docstring).

    sources: {key: [phase spec per channel block]}: flat channel-major grids of `height` x `width` per image,
    gathered chunk by chunk from x. A source stacks its phases along the channels, group by group (group g's rows
    are g*len*C/groups + block*C/groups + c); a phase spec is ((first input row, first grid row, rows, row step),
    (the same for columns)). The accumulator of a chunk holds one block of O rows per entry of `blocks` (the flat
    shift the block is read with: grid rows * width + columns). passes: (grid rows per image, terms, outputs), one
    accumulator fill each; a term is one GEMM per group: (source key, first channel, channels, row shift, column
    shift, first block, stop block, weights (groups, blocks * O/groups, channels)); an output is a strided part of
    the result: (first row, row step, rows, first column, column step, columns, [blocks summed into it]).
    """

    x: np.ndarray
    sources: dict
    height: int
    width: int
    blocks: list
    passes: list
    bias: np.ndarray | None = None  # (O,): the result starts from it
    signature: tuple | None = None  # what the plan's shapes follow from (its layout's arguments): schedules are kept by it
    weights_at: dict = field(default_factory=dict)  # BLAS arguments of each term's weights, by id (the plan holds them)
    gather_layouts: dict = field(default_factory=dict)  # per source key, what its gather steps depend on besides the chunk


def correlate_phases(x: np.ndarray, w: np.ndarray, stride: Pair, dilation: Pair, groups: int, padding: Pads,
                     out: Pair, bias: np.ndarray | None = None) -> np.ndarray:
    """Cross-correlation of x (N, C, H, W), zero-padded by padding, with w (O, C/groups, kH, kW), plus bias (O,) if
    given: (N, O, out...)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    shape = (h, wd, o // groups, cg, kh, kw, tuple(stride), tuple(dilation), padding[0][0], padding[1][0], tuple(out),
             STACK_BELOW, MAX_ORDERED_PHASES)  # (the settings too: a layout is kept per shape)
    specs, height, width, stacked, blocks, layout = _correlate_layout(*shape)
    w5 = w.reshape(groups, o // groups, cg, kh, kw)
    if stacked:  # per kernel row i, its kernel columns' weights stacked along the output rows
        terms = [(0, 0, cg, qi, 0, 0, kw, np.ascontiguousarray(w5[:, :, :, i].transpose(0, 3, 1, 2).reshape(groups, -1, cg)))
                 for i, qi in layout]
    else:
        terms = []
        by_tap = np.ascontiguousarray(w5.transpose(0, 1, 3, 4, 2)).reshape(groups, o // groups, kh * kw * cg)
        for k0, k, qi, qj, flat in layout:
            if flat == list(range(flat[0], flat[0] + len(flat))):  # taps in raster order: a view (rows kh*kw*cg apart)
                weights = by_tap[:, :, flat[0] * cg : (flat[-1] + 1) * cg]
            else:
                weights = np.concatenate([by_tap[:, :, t * cg : (t + 1) * cg] for t in flat], axis=2)
            terms.append((0, k0, k, qi, qj, 0, 1, weights))
    plan = _Plan(x, {0: specs}, height, width, blocks=blocks,
                 passes=[(out[0], terms, [(0, 1, out[0], 0, 1, out[1], list(range(len(blocks))))])], bias=bias,
                 signature=("correlate",) + shape)
    result = np.empty((n, o) + tuple(out), x.dtype)
    _execute(plan, groups, result)
    return result


@functools.lru_cache(maxsize=64)
def _correlate_layout(h, wd, og, cg, kh, kw, stride, dilation, top, left, out, stack_below, max_ordered):
    """The shape-only part of correlate_phases' plan (kept: layers are called again and again with one shape):
    (phase specs, grid height, width, whether the kernel columns stack along the output rows, accumulator blocks, per
    term (kernel row, row shift) if they do, else (first channel, channels, row shift, column shift, flat taps))."""
    row_taps, row_phases, height = _grid_axis(h, kh, stride[0], dilation[0], top, out[0])
    if stride[1] > 1:  # strided columns: one block per kernel column (module docstring), no garbage columns
        col_taps, col_phases, width = _column_taps(wd, kw, stride[1], dilation[1], left, out[1])
    else:
        col_taps, col_phases, width = _grid_axis(wd, kw, stride[1], dilation[1], left, out[1])
    by_shift = {}  # (row shift, column shift) -> {phase: (i, j)}: the taps that can share a GEMM
    for i, (qi, a) in enumerate(row_taps):
        for j, (qj, b) in enumerate(col_taps):
            by_shift.setdefault((qi, qj), {})[a, b] = (i, j)
    order = _phase_order([set(taps) for taps in by_shift.values()], max_ordered)
    position = {phase: k for k, phase in enumerate(order)}
    specs = tuple(((row_phases[a][0], row_phases[a][1], row_phases[a][2], stride[0]),
                   (col_phases[b][0], col_phases[b][1], col_phases[b][2], stride[1])) for a, b in order)
    if len(order) == 1 and og < stack_below:
        # one GEMM per kernel row with its kernel columns stacked along the output rows, into blocks read at their
        # column shifts: a narrow layer's GEMMs get wider (groups=4 of 64 channels: 14% faster on 2 threads)
        return specs, height, width, True, [qj for qj, _ in col_taps], [(i, qi) for i, (qi, _) in enumerate(row_taps)]
    layout = []
    for (qi, qj), taps in sorted(by_shift.items()):
        for first, stop in _runs(sorted(position[phase] for phase in taps)):
            flat = [taps[order[k]][0] * kw + taps[order[k]][1] for k in range(first, stop)]
            layout.append((first * cg, (stop - first) * cg, qi, qj, flat))
    return specs, height, width, False, [0], layout


def _phase_order(sets: list, max_ordered: int) -> list:
    """An order of the phases under which the sets split into the fewest runs (stride 2, 3x3: 4 GEMMs, not 9)."""
    phases = sorted(set().union(*sets))
    candidates = itertools.permutations(phases) if len(phases) <= max_ordered else [phases]
    return list(min(candidates, key=lambda order: sum(len(_runs(sorted(order.index(p) for p in s))) for s in sets)))


def _runs(positions: list) -> list:
    """Sorted positions as maximal runs of consecutive ones: [(first, stop)]."""
    runs = []
    for k in positions:
        if runs and runs[-1][1] == k:
            runs[-1] = (runs[-1][0], k + 1)
        else:
            runs.append((k, k + 1))
    return runs


def _grid_axis(size: int, k: int, s: int, d: int, before: int, out: int):
    """One axis of the flat grid: the taps as (shift in the phase, phase), per phase (first source index, grid index
    where it lands, count), and the grid length.

    Padded index a + s*q of phase a lands at grid index q. The grid is shared by every phase and by the output, and is
    as short as the reads allow: the zeros after one row's data double as the zeros before the next row's
    (length = data + max(pad before, pad after) rather than data + both), which also trims the garbage columns.
    """
    taps = [divmod(i * d, s) for i in range(k)]
    phases, length = {}, out
    for a in sorted({a for _, a in taps}):
        first = (a - before) % s  # first source index in this phase
        count = len(range(first, size, s))
        start = (first + before - a) // s
        phases[a] = (first, start, count)
        if count:
            reach = max(q for q, b in taps if b == a)  # reads run to out - 1 + reach
            length = max(length, start + count, out + reach - start)
    return taps, phases, length


def _column_taps(size: int, k: int, s: int, d: int, before: int, out: int):
    """Like _grid_axis, with a block per kernel column: grid column u of block j holds padded column s*u + j*d, so
    every tap reads at shift 0 and the grid is exactly `out` wide."""
    taps, blocks = [(0, j) for j in range(k)], {}
    for j in range(k):
        offset = j * d - before  # grid column u reads input column s*u + offset
        first = offset if offset >= 0 else offset % s  # the first one inside the input
        start = (first - offset) // s
        blocks[j] = (first, start, max(0, min(len(range(first, size, s)), out - start)))
    return taps, blocks, out


def _axis_phases(n_in: int, k: int, s: int, p: int, d: int, n_out: int):
    """Per output phase a of one axis of the transposed op: (a, output count, [(tap, input shift e)]).

    Output index s*q + a reads input q + e through tap i when (a + p - i*d) = s*e; taps reading only zeros are skipped.
    """
    phases = []
    for a in range(min(s, n_out)):
        count = len(range(a, n_out, s))
        taps = [(i, (a + p - i * d) // s) for i in range(k) if (a + p - i * d) % s == 0]
        phases.append((a, count, [(i, e) for i, e in taps if e < n_in and e + count > 0]))
    return phases


def transpose_phases(x: np.ndarray, w: np.ndarray, stride: Pair, padding: Pair, dilation: Pair, groups: int,
                     size: Pair, bias: np.ndarray | None = None) -> np.ndarray:
    """Transposed convolution of x (N, C_in, H, W) with w (C_in, C_out/groups, kH, kW) into an output of `size`
    (output_padding included), plus bias (C_out,) if given, output phase by phase."""
    n, cin, h, wd = x.shape
    _, og, kh, kw = w.shape
    cg = cin // groups
    shape = (h, wd, kh, kw, tuple(stride), tuple(padding), tuple(dilation), tuple(size))
    top, left, height, width, blocks, layout, outputs = _transpose_layout(*shape)
    # a GEMM's weights (groups, taps * O/groups, C/groups) as the transpose of a (groups, C/groups, taps * O/groups)
    # array: gathered from w with O/groups contiguous, not C/groups (a transposing copy costs 5x more)
    by_tap = np.ascontiguousarray(w.reshape(groups, cg, og, kh * kw).transpose(0, 1, 3, 2))
    terms = [(0, 0, cg, row_shift, col_shift, b0, b1,
              np.take(by_tap, [i * kw + j for i, j in taps], axis=2).reshape(groups, cg, -1).transpose(0, 2, 1))
             for row_shift, col_shift, b0, b1, taps in layout]
    plan = _Plan(x, {0: [((0, top, h, 1), (0, left, wd, 1))]}, height, width, blocks,
                 passes=[(max([out[2] for out in outputs if out[-1]], default=0), terms, outputs)], bias=bias,
                 signature=("transpose", cg) + shape)
    result = np.empty((n, og * groups) + tuple(size), x.dtype)
    _execute(plan, groups, result)
    return result


@functools.lru_cache(maxsize=64)
def _transpose_layout(h, wd, kh, kw, stride, padding, dilation, size):
    """The shape-only part of transpose_phases' plan: (top and left zeros, grid height, width, block shifts, GEMMs,
    outputs); see _phase_blocks."""
    rows = _axis_phases(h, kh, stride[0], padding[0], dilation[0], size[0])
    cols = _axis_phases(wd, kw, stride[1], padding[1], dilation[1], size[1])
    # one zero-padded copy of x serves every phase: shifts e run from -top to (extent - 1 - top)
    top = max([0] + [-e for _, _, taps in rows for _, e in taps])
    left = max([0] + [-e for _, _, taps in cols for _, e in taps])
    height = top + max([h] + [count for _, count, _ in rows] + [count + e for _, count, taps in rows for _, e in taps])
    # the zeros after a row's data double as the zeros before the next row's (reads past a row's end land there)
    width = max([left + wd] + [count for _, count, _ in cols] + [count + e for _, count, taps in cols for _, e in taps])
    blocks, layout, outputs = _phase_blocks(rows, cols, top, left, width, stride)
    return top, left, height, width, blocks or [0], layout, outputs


def _phase_blocks(rows, cols, top: int, left: int, width: int, stride: Pair):
    """The transposed op's accumulator blocks, one per output phase (row phase a, column phase b) that taps reach,
    its GEMMs and its outputs.

    Phase a's taps read input row q + e for output row s*q + a. Block (a, b) is read shifted by (m_a - m, m_b - m')
    (m_a: the phase's smallest row e, m: the smallest of all; the same for columns), so the taps of every phase that
    share (e_row - m_a, e_col - m_b) read the source at one shift: one GEMM writes them all (stride 2, kernel 4: four
    GEMMs of the four phases each). Every output phase is then one block, copied out, not summed.
    Returns (flat block shifts, [(row shift, column shift, first block, stop block, [(kernel row, kernel column)
    per block])], outputs).
    """
    live_rows = [(a, count, taps) for a, count, taps in rows if taps]
    live_cols = [(b, count, taps) for b, count, taps in cols if taps]
    m_row = min([e for _, _, taps in live_rows for _, e in taps], default=0)
    m_col = min([e for _, _, taps in live_cols for _, e in taps], default=0)
    blocks, index, by_key = [], {}, {}
    for a, _, row_taps in live_rows:
        low_a = min(e for _, e in row_taps)
        for b, _, col_taps in live_cols:
            low_b = min(e for _, e in col_taps)
            index[a, b] = len(blocks)
            blocks.append((low_a - m_row) * width + low_b - m_col)
            for i, e in row_taps:
                for j, f in col_taps:
                    by_key.setdefault((e - low_a, f - low_b), {})[index[a, b]] = (i, j)
    terms = []
    for key in sorted(by_key):  # key (0, 0) first: it reaches every block, so later GEMMs of a block accumulate
        for first, stop in _runs(sorted(by_key[key])):
            terms.append((key[0] + m_row + top, key[1] + m_col + left, first, stop,
                          [by_key[key][block] for block in range(first, stop)]))
    outputs = [(a, stride[0], row_count, b, stride[1], col_count, [index[a, b]] if (a, b) in index else [])
               for a, row_count, _ in rows for b, col_count, _ in cols]
    return blocks, terms, outputs


@dataclass(frozen=True)
class _Schedule:
    """How _execute runs a plan: everything that depends on shapes only (kept per plan signature)."""

    dead: tuple  # (pass, output) of the outputs that no kernel tap reaches
    live: tuple  # the passes that run
    lasts: tuple  # per live pass, the grid row after its last output row
    chunks: tuple  # (live pass whose GEMMs write straight into the result, or None: every pass, via the accumulator;
                   #  first grid row, stop grid row)
    spans: tuple  # per live pass: (lowest row shift, highest + rows read past a chunk's end, source keys)
    channels: dict  # channels per source key
    source_length: int
    acc_shape: tuple
    threaded: bool


_SCHEDULES: dict = {}  # (plan signature, dtype, settings) -> _Schedule: a bounded cache of shapes, like lru_cache, no data


def _schedule(plan: _Plan, groups: int, result: np.ndarray) -> _Schedule:
    """The plan's _Schedule, made once per plan signature, dtype and engine settings."""
    settings = (parallel.WORKERS, CHUNK_ELEMENTS, PARALLEL_MIN_MACS, CHUNKS_PER_THREAD, SHARED_CHUNKS_PER_THREAD,
                blas.available(result.dtype) and blas.thread_control())
    key = (plan.signature, result.shape, groups, result.dtype, settings) if plan.signature is not None else None
    held = _SCHEDULES.get(key)
    if held is None:
        held = _make_schedule(plan, groups, result, settings[-1])
        if key is not None:
            if len(_SCHEDULES) > 256:
                _SCHEDULES.clear()
            _SCHEDULES[key] = held
    return held


def _make_schedule(plan: _Plan, groups: int, result: np.ndarray, blas_threads: bool) -> _Schedule:
    n, o = result.shape[:2]
    og, cg = o // groups, plan.x.shape[1] // groups
    width, height = plan.width, plan.height
    shift = max(plan.blocks)
    channels = {key: groups * len(specs) * cg for key, specs in plan.sources.items()}
    dead = tuple((r, k) for r, (_, terms, outputs) in enumerate(plan.passes) for k, output in enumerate(outputs)
                 if not (terms and output[-1]))
    live = tuple(r for r, (count, terms, _) in enumerate(plan.passes) if terms and count)
    passes = [plan.passes[r] for r in live]
    if not passes:
        return _Schedule(dead, live, (), (), (), channels, 0, (), False)
    direct = (len(passes) == 1 and plan.blocks == [0] and width == result.shape[3]
              and passes[0][2] == [(0, 1, passes[0][0], 0, 1, width, [0])])
    lasts = tuple((n - 1) * height + count for count, _, _ in passes)
    total_rows = sum(lasts) if direct else max(lasts)
    several = len(passes) > 1 or len(passes[0][2]) > 1  # output phases sharing each chunk
    per_thread = SHARED_CHUNKS_PER_THREAD if several else CHUNKS_PER_THREAD
    per_row = width * max(groups * len(plan.blocks) * og, sum(channels.values()))  # accumulator or gathered sources
    by_count = -(-total_rows // (per_thread * parallel.WORKERS))  # enough chunks to share
    rows_per_chunk = max(1, min(CHUNK_ELEMENTS // per_row, by_count))
    if not direct and height // 2 <= rows_per_chunk < height <= by_count:
        # a chunk that would hold most of an image holds an image's height: fewer chunks, and all but the first
        # start at the same row of an image, so they share one gather layout and its kept zeros (groups=4 at batch
        # 8: 8 chunks instead of 10 starting anywhere, 9-10% less CPU; doubling CHUNK_ELEMENTS did the same there,
        # and doubled every large layer's scratch)
        rows_per_chunk = height
    all_terms = [term for _, terms, _ in passes for term in terms]
    work = sum(term[2] * (term[6] - term[5]) for term in all_terms) * o * n * height * width
    threaded = blas_threads and work >= PARALLEL_MIN_MACS and parallel.WORKERS > 1
    if direct:  # chunks (pass, first grid row, stop) within one image, over its output rows only
        count = passes[0][0]
        size = -(-count // -(-count // rows_per_chunk))
        chunks = [(0, image * height + q0, image * height + min(count, q0 + size))
                  for image in range(n) for q0 in range(0, count, size)]
        if threaded and len(chunks) > 2 and chunks[0][2] - chunks[0][1] > 1:
            # the first chunk in halves, one first and one last: the threads then gather while the other
            # multiplies instead of both at once (cnn_s2 on 2 threads: 3% faster)
            r0, a, b = chunks[0]
            chunks = [(r0, a, (a + b) // 2)] + chunks[1:] + [(r0, (a + b) // 2, b)]
    else:  # chunks of grid rows, each run for every pass that reaches them; rows past the last output are not needed
        last = max(lasts)
        parts = -(-last // rows_per_chunk)  # as many chunks as rows_per_chunk needs, of sizes within one row
        chunks = [(None, last * k // parts, last * (k + 1) // parts) for k in range(parts)]
    reach = max(term[3] for term in all_terms)
    col_reach = max(term[4] for term in all_terms)
    beyond = 0 if direct else max(1, -(-(shift + col_reach) // width))  # rows read past a chunk's last (+ its shifts)
    source_length = (rows_per_chunk + reach + beyond + 1) * width  # + 1 row: the zeros read past a row's end
    copied = {abs(parent - block) for specs in plan.sources.values()
              for block, (parent, _) in enumerate(parents(tuple(specs))[1]) if parent is not None}
    source_length = unaliased(source_length, cg * result.itemsize, copied)
    spans = tuple((min(t[3] for t in terms), max(t[3] for t in terms) + beyond, tuple(sorted({t[0] for t in terms})))
                  for _, terms, _ in passes)
    return _Schedule(dead, live, lasts, tuple(chunks), spans, channels, source_length,
                     (groups, len(plan.blocks) * og, rows_per_chunk * width + shift), threaded)


def _execute(plan: _Plan, groups: int, result: np.ndarray) -> None:
    """Fill result (N, O, H_out, W_out) from the plan, chunk by chunk of grid rows."""
    n, o = result.shape[:2]
    og = o // groups
    width, height, shift = plan.width, plan.height, max(plan.blocks)
    schedule = _schedule(plan, groups, result)
    for r, k in schedule.dead:  # output phases that no kernel tap reaches: the bias only
        rows, row_step, row_count, cols, col_step, col_count, _ = plan.passes[r][2][k]
        dead = result[:, :, rows::row_step, cols::col_step][:, :, :row_count, :col_count]
        dead[...] = 0 if plan.bias is None else plan.bias[:, None, None]
    if not schedule.chunks:
        return
    bias = None if plan.bias is None else plan.bias.reshape(groups, og, 1)
    by_group = result.reshape(n, groups, og, result.shape[2], result.shape[3])  # a view: result is contiguous
    pass_terms = [(plan.passes[r][1],) + span for r, span in zip(schedule.live, schedule.spans)]
    passes = [plan.passes[r] for r in schedule.live]
    channels, source_length, acc_shape, lasts = schedule.channels, schedule.source_length, schedule.acc_shape, schedule.lasts

    def sources_for(low, span, keys):
        return {key: gather(plan, key, groups, low, span,
                             parallel.scratch(("phase source", key), (channels[key], source_length), result.dtype))
                for key in keys}

    def run_chunk(chunk):
        r, g0, g1 = chunk
        if r is None:
            run_passes(g0, g1)
            return
        terms, low_shift, high_shift, keys = pass_terms[r]
        low = g0 + low_shift
        sources = sources_for(low, g1 + high_shift - low, keys)
        image = g0 // height  # direct: the GEMMs write into the result
        q0 = g0 - image * height
        acc = by_group[image, :, :, q0 : q0 + g1 - g0].reshape(groups, og, -1)  # a view of the result
        acc[...] = 0 if bias is None else bias  # the GEMMs add to it (as fast as BLAS's zeroing for beta = 0)
        _multiply(plan, terms, sources, (g0 - low) * width, (g1 - g0) * width, groups, acc, True)

    def run_passes(g0, g1):  # not direct: every pass that reaches these grid rows, from one gather
        active = [(r, min(g1, stop)) for r, stop in enumerate(lasts) if g0 < stop]
        low = g0 + min(pass_terms[r][1] for r, _ in active)
        sources = sources_for(low, max(stop + pass_terms[r][2] for r, stop in active) - low,
                              sorted({key for r, _ in active for key in pass_terms[r][3]}))
        acc = parallel.scratch("phase acc", acc_shape, result.dtype)
        for r, stop in active:
            _multiply(plan, pass_terms[r][0], sources, (g0 - low) * width, (stop - g0) * width + shift, groups, acc)
            _write(plan, passes[r][2], g0, stop, acc, by_group)

    if not schedule.threaded:
        parallel.each(run_chunk, schedule.chunks, 1)
    else:
        with blas.single_threaded():
            parallel.each(run_chunk, schedule.chunks, parallel.WORKERS)


def _multiply(plan: _Plan, terms, sources: dict, offset: int, columns: int, groups: int, acc: np.ndarray,
              accumulate: bool = False) -> None:
    """acc[:, blocks, :columns] (+)= each term's weights @ its source's channels from offset + the term's shifts (the
    first term of a block overwrites it unless accumulate)."""
    og = acc.shape[1] // len(plan.blocks)
    dtype = acc.dtype
    use_blas = blas.available(dtype)
    written = [accumulate] * len(plan.blocks)
    if use_blas:
        item = acc.itemsize
        acc_at, acc_group, acc_ld = blas.address(acc), acc.strides[0] // item, acc.strides[1] // item  # acc may be a view
        src_ats = {key: blas.address(src) for key, src in sources.items()}
    for key, k0, k, row_shift, col_shift, b0, b1, wm in terms:
        src = sources[key]
        per_group = src.shape[0] // groups
        start = offset + row_shift * plan.width + col_shift
        again = written[b0]
        if use_blas:  # raw addresses: this loop runs a GEMM per group, and views cost more than BLAS here
            src_ld, src_at = src.shape[1], src_ats[key]
            held = plan.weights_at.get(id(wm))  # (address, group stride, row stride, transposed): wm may be a view
            if held is None:
                transposed = wm.shape[2] > 1 and wm.strides[2] != item  # then a view of a (groups, k, m) array
                ld = wm.strides[2] // item if transposed else (wm.strides[1] // item if wm.shape[1] > 1 else wm.shape[2])
                held = plan.weights_at[id(wm)] = (blas.address(wm), wm.strides[0] // item, ld, transposed)
            w_at, w_group, w_ld, transposed = held
            m = (b1 - b0) * og
            for g in range(groups):
                blas.gemm_at(dtype, m, columns, k, w_at + g * w_group * item, w_ld,
                             src_at + ((g * per_group + k0) * src_ld + start) * item, src_ld,
                             acc_at + (g * acc_group + b0 * og * acc_ld) * item, acc_ld, again, transposed)
        else:
            for g in range(groups):
                a = wm[g]
                b = src[g * per_group + k0 : g * per_group + k0 + k, start : start + columns]
                c = acc[g, b0 * og : b1 * og, :columns]
                if again:
                    c += a @ b
                else:
                    np.matmul(a, b, out=c)
        written[b0:b1] = [True] * (b1 - b0)


def _write(plan: _Plan, outputs, g0: int, g1: int, acc: np.ndarray, by_group: np.ndarray) -> None:
    """Sum the chunk's accumulator blocks into their outputs (garbage columns and rows dropped)."""
    groups, og = by_group.shape[1:3]
    height, width = plan.height, plan.width
    length = (g1 - g0) * width
    for first, step, count, col_first, col_step, col_count, members in outputs:
        if not members:
            continue  # set (to zero or the bias) before the chunks ran
        # sum the blocks on the flat rows (long contiguous runs), then strided copies drop the garbage columns
        total = _shifted(acc, plan, og, members[0], length)
        for k in members[1:]:
            total += _shifted(acc, plan, og, k, length)
        grid = total.reshape(groups, og, g1 - g0, width)
        for image in range(g0 // height, (g1 - 1) // height + 1):
            q0, q1 = max(g0 - image * height, 0), min(g1 - image * height, count)
            if q0 >= q1:
                continue
            dest = by_group[image, :, :, first + step * q0 : first + step * (q1 - 1) + 1 : step, col_first::col_step]
            rows = image * height + q0 - g0
            if plan.bias is None:
                dest[..., :col_count] = grid[:, :, rows : rows + q1 - q0, :col_count]
            else:
                np.add(grid[:, :, rows : rows + q1 - q0, :col_count], plan.bias.reshape(groups, og, 1, 1),
                       out=dest[..., :col_count])


def _shifted(acc, plan: _Plan, og: int, k: int, length: int) -> np.ndarray:
    """Block k of the accumulator (groups, og, length), read at its column shift."""
    return acc[:, k * og : (k + 1) * og, plan.blocks[k] : plan.blocks[k] + length]
