"""Every algorithm path of the engine, forced on small shapes, against torch.

The dispatch thresholds are module constants; each test lowers or raises them so that one path runs (and asserts
the dispatcher really picks it), then compares with torch: float64/complex128 to 1e-10 relative, float32/complex64
to torch_compare's float tolerance. The configurations cover stride, dilation, groups, the depthwise multiplier,
asymmetric padding and, for the transposed op, output_padding and phases without taps.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch.nn.functional as TF

import convcore
from convcore.algorithms import banded, blas, gather, parallel, phases
from convcore import functional as cf
from torch_compare import DTYPES, assert_matches, random_array, t

NEVER = math.inf
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel:UserWarning")

# (x shape, w shape, kwargs): channel-mixing and grouped layers
MIXING = [
    ((2, 3, 9, 11), (4, 3, 3, 3), dict(padding=1)),
    ((1, 4, 10, 9), (6, 2, 3, 2), dict(groups=2, stride=2, padding=(1, 0))),
    ((2, 6, 13, 12), (6, 2, 3, 3), dict(groups=3, stride=(3, 2), dilation=(1, 2), padding=2)),
    ((1, 4, 12, 12), (8, 1, 3, 3), dict(groups=4, stride=2, padding=1)),  # depthwise with multiplier 2
    ((1, 2, 8, 10), (3, 2, 4, 2), dict(padding="same", dilation=(2, 3))),  # asymmetric 'same' split
    ((3, 5, 7, 6), (2, 5, 1, 1), dict(stride=(2, 3))),  # 1x1 kernel, strided: only one phase used
    ((1, 3, 15, 14), (5, 3, 5, 4), dict(stride=(4, 3), dilation=(2, 1), padding=(0, 3))),  # stride > reach of a tap
    ((1, 2, 5, 5), (3, 2, 5, 5), dict(padding=0)),  # a single output pixel
]

# depthwise filters (one input channel per group), for the per-tap path
DEPTHWISE = [
    ((1, 3, 20, 23), (3, 1, 3, 3), dict(groups=3, padding=1)),
    ((2, 2, 17, 15), (6, 1, 5, 3), dict(groups=2, padding="same", dilation=(2, 1))),  # multiplier 3
    ((1, 2, 19, 21), (2, 1, 4, 4), dict(groups=2, stride=(2, 3), padding=(2, 1))),
    ((1, 1, 9, 30), (1, 1, 2, 7), dict(dilation=(3, 2), padding=(1, 4))),
]

# large kernels for the FFT (square and rectangular, padding beyond the kernel's reach, stride, dilation, groups)
LARGE_KERNELS = [
    ((1, 3, 24, 22), (3, 1, 11, 11), dict(groups=3, padding=5)),
    ((2, 2, 20, 25), (3, 2, 6, 9), dict(stride=2, padding=(1, 2))),
    ((1, 4, 21, 19), (4, 2, 5, 4), dict(groups=2, dilation=2, padding="same")),
    ((1, 2, 8, 9), (2, 2, 3, 3), dict(padding=(6, 7))),  # padding wider than the kernel: the wrapped index branch
    ((1, 1, 13, 13), (2, 1, 4, 3), dict(stride=3, padding=(4, 0), dilation=(1, 3))),
]

# (x shape, w shape, kwargs) for conv_transpose2d
TRANSPOSED = [
    ((1, 4, 9, 8), (4, 3, 4, 4), dict(stride=2, padding=1)),
    ((2, 4, 6, 7), (4, 2, 3, 3), dict(groups=2, stride=(2, 3), padding=(1, 2), output_padding=(1, 2))),
    ((1, 3, 7, 5), (3, 2, 3, 2), dict(groups=3, stride=2, dilation=(2, 3), output_padding=1)),  # depthwise x2
    ((1, 2, 5, 6), (2, 2, 2, 2), dict(stride=3, padding=0)),  # stride > kernel: phases with no taps
    ((1, 2, 6, 6), (2, 3, 3, 3), dict(stride=1, dilation=3, output_padding=2)),  # output_padding < dilation: real values
    ((2, 3, 4, 5), (3, 1, 5, 4), dict(stride=(1, 2), padding=(3, 2))),  # heavy cropping: some taps read only zeros
    ((1, 1, 3, 3), (1, 2, 3, 3), dict(stride=4, padding=2, output_padding=3)),
]


def _ids(cases):
    return [f"x{c[0]}-w{c[1]}-{c[2]}".replace(" ", "") for c in cases]


def _force(monkeypatch, algorithm: str) -> None:
    """Thresholds that make conv2d's dispatcher choose `algorithm` wherever it applies."""
    settings = {
        "im2col": dict(FFT_MIN_TAPS=NEVER, BANDED_MIN_PIXELS=NEVER, PER_TAP_MIN_PIXELS=NEVER, PHASES_MIN_MACS=NEVER),
        "banded": dict(FFT_MIN_TAPS=NEVER, BANDED_MIN_PIXELS=0, PER_TAP_MIN_PIXELS=NEVER, PHASES_MIN_MACS=NEVER),
        "per_tap": dict(FFT_MIN_TAPS=NEVER, BANDED_MIN_PIXELS=NEVER, PER_TAP_MIN_PIXELS=0, PHASES_MIN_MACS=NEVER),
        "fft": dict(FFT_MIN_TAPS=0, FFT_MIN_PIXELS=0),
        "phases": dict(FFT_MIN_TAPS=NEVER, BANDED_MIN_PIXELS=NEVER, PER_TAP_MIN_PIXELS=NEVER, PHASES_MIN_MACS=0),
    }[algorithm]
    for name, value in settings.items():
        monkeypatch.setattr(cf, name, value)


def _conv2d_path(x_shape, w_shape, kw, dtype) -> str:
    """The algorithm conv2d's dispatcher picks for this call under the current thresholds."""
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    stride, dilation = pair(kw.get("stride", 1)), pair(kw.get("dilation", 1))
    out = convcore.conv2d_output_size(x_shape[2:], w_shape[2:], stride, kw.get("padding", 0), dilation)
    return cf.choose_algorithm(x_shape, w_shape, stride, dilation, kw.get("groups", 1), out, np.dtype(dtype))


def _check_conv2d(case, dtype, seed):
    x_shape, w_shape, kw = case
    rng = np.random.default_rng(seed)
    x, w, b = random_array(rng, x_shape, dtype), random_array(rng, w_shape, dtype), random_array(rng, w_shape[:1], dtype)
    x_before, w_before = x.copy(), w.copy()
    out = convcore.conv2d(x, w, b, **kw)
    assert_matches(out, TF.conv2d(t(x), t(w), t(b), **kw), dtype)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(w, w_before)


def _check_transpose(case, dtype, seed):
    x_shape, w_shape, kw = case
    rng = np.random.default_rng(seed)
    out_channels = w_shape[1] * kw.get("groups", 1)
    x, w, b = random_array(rng, x_shape, dtype), random_array(rng, w_shape, dtype), random_array(rng, (out_channels,), dtype)
    x_before = x.copy()
    out = convcore.conv_transpose2d(x, w, b, **kw)
    assert_matches(out, TF.conv_transpose2d(t(x), t(w), t(b), **kw), dtype)
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MIXING + DEPTHWISE, ids=_ids(MIXING + DEPTHWISE))
def test_im2col_path(monkeypatch, case, dtype):
    _force(monkeypatch, "im2col")
    assert _conv2d_path(case[0], case[1], case[2], dtype) == "im2col"
    _check_conv2d(case, dtype, seed=1)


def _phase_threads(monkeypatch, threads: int) -> None:
    """Several chunks even on small images (one output row each, or a few with threads=2); with threads=2 the
    chunks are shared by two threads."""
    monkeypatch.setattr(phases, "CHUNK_ELEMENTS", 64 if threads == 1 else 3000)
    monkeypatch.setattr(parallel, "WORKERS", threads)
    monkeypatch.setattr(phases, "PARALLEL_MIN_MACS", 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MIXING + DEPTHWISE, ids=_ids(MIXING + DEPTHWISE))
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("variant", ["default", "lexicographic", "unstacked"])
def test_phases_path(monkeypatch, case, dtype, threads, variant):
    _force(monkeypatch, "phases")
    _phase_threads(monkeypatch, threads)
    if variant == "lexicographic":  # strided taps stacked along the channels in the plain phase order
        monkeypatch.setattr(phases, "MAX_ORDERED_PHASES", 0)
    if variant == "unstacked":  # stride-1 kernel columns as separate GEMMs into one block
        monkeypatch.setattr(phases, "STACK_BELOW", 0)
    assert _conv2d_path(case[0], case[1], case[2], dtype) == "phases"
    _check_conv2d(case, dtype, seed=2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DEPTHWISE + [c for c in MIXING if c[1][1] == 1], ids=_ids(DEPTHWISE + [c for c in MIXING if c[1][1] == 1]))
@pytest.mark.parametrize("threads", [1, 2])
def test_per_tap_path(monkeypatch, case, dtype, threads):
    _force(monkeypatch, "per_tap")
    monkeypatch.setattr(cf, "ROW_BLOCK_ELEMENTS", 40)  # several row blocks per thread
    monkeypatch.setattr(parallel, "WORKERS", threads)
    monkeypatch.setattr(cf, "PARALLEL_MIN_ELEMENTS", 0)
    assert _conv2d_path(case[0], case[1], case[2], dtype) == "per_tap"
    _check_conv2d(case, dtype, seed=3)


STRIDE_1_DEPTHWISE = [c for c in DEPTHWISE + MIXING if c[1][1] == 1 and c[2].get("stride", 1) == 1] + [
    ((2, 2, 11, 13), (2, 1, 3, 9), dict(groups=2, padding=(0, 6))),  # padding wider than the kernel's reach
    ((1, 3, 12, 10), (3, 1, 2, 4), dict(groups=3, dilation=(1, 5), padding=(1, 9))),  # the band in 3 pieces
    ((1, 2, 9, 8), (2, 1, 3, 3), dict(groups=2, padding=5)),  # output rows wider than data + padding of one side
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", STRIDE_1_DEPTHWISE, ids=_ids(STRIDE_1_DEPTHWISE))
@pytest.mark.parametrize("threads", [1, 2])
def test_banded_path(monkeypatch, case, dtype, threads):
    _force(monkeypatch, "banded")
    monkeypatch.setattr(banded, "CHUNK_ELEMENTS", 16 if threads == 1 else 100)  # one row or a few per chunk
    monkeypatch.setattr(banded, "PARALLEL_MIN_ELEMENTS", 0)
    monkeypatch.setattr(parallel, "WORKERS", threads)
    assert _conv2d_path(case[0], case[1], case[2], dtype) == "banded"
    _check_conv2d(case, dtype, seed=9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", LARGE_KERNELS + MIXING[:3], ids=_ids(LARGE_KERNELS + MIXING[:3]))
def test_fft_path(monkeypatch, case, dtype):
    _force(monkeypatch, "fft")
    assert _conv2d_path(case[0], case[1], case[2], dtype) == "fft"
    _check_conv2d(case, dtype, seed=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", TRANSPOSED, ids=_ids(TRANSPOSED))
@pytest.mark.parametrize("algorithm", ["phases", "phases-2-threads", "scatter"])
def test_transposed_paths(monkeypatch, case, dtype, algorithm):
    monkeypatch.setattr(cf, "PHASES_MIN_MACS", NEVER if algorithm == "scatter" else 0)
    _phase_threads(monkeypatch, 2 if algorithm.endswith("threads") else 1)
    algorithm = algorithm.split("-")[0]
    x_shape, w_shape, _ = case
    assert cf.choose_transpose_algorithm(x_shape, w_shape) == algorithm
    _check_transpose(case, dtype, seed=5)


@pytest.mark.parametrize("threads", [1, 2])
def test_phase_buffers_reused_across_layouts(monkeypatch, threads):
    """The phase path keeps its gathered sources' zeros from call to call while one layout reuses a buffer; layouts
    that write data where others keep zeros, interleaved and repeated (conv2d and transposed), stay exact."""
    _force(monkeypatch, "phases")
    monkeypatch.setattr(cf, "PHASES_MIN_MACS", 0)
    _phase_threads(monkeypatch, threads)
    sequence = [MIXING[1], TRANSPOSED[0], MIXING[0], MIXING[1], MIXING[6], MIXING[1], TRANSPOSED[1], TRANSPOSED[0]]
    for seed, case in enumerate(sequence * 2):
        if len(case[1]) == 4 and case in TRANSPOSED:
            _check_transpose(case, np.float64, seed)
        else:
            _check_conv2d(case, np.float64, seed)


@pytest.mark.parametrize("seed", range(6))
def test_phases_path_random_layers(monkeypatch, seed):
    """Seeded random layers of both ops through the phase GEMMs (1-3 channels in and out per group, so single-row
    and single-column weight matrices occur; every stride, dilation, padding and output_padding mix up to 4),
    on one or two threads, with chunks of one row up to whole images."""
    _force(monkeypatch, "phases")
    rng = np.random.default_rng(seed)
    checked = 0
    while checked < 40:
        _phase_threads(monkeypatch, int(rng.integers(1, 3)))
        monkeypatch.setattr(phases, "CHUNK_ELEMENTS", int(rng.choice([64, 3000, 1 << 19])))
        monkeypatch.setattr(phases, "STACK_BELOW", int(rng.choice([0, 64])))
        g, cg, og = (int(v) for v in rng.integers(1, 4, size=3))
        kernel, stride, dilation = (tuple(int(v) for v in rng.integers(1, top, size=2)) for top in (6, 5, 4))
        padding = tuple(int(v) for v in rng.integers(0, 4, size=2))
        x_shape = (int(rng.integers(1, 3)), g * cg) + tuple(int(v) for v in rng.integers(1, 12, size=2))
        dtype = DTYPES[int(rng.integers(len(DTYPES)))]
        if rng.random() < 0.5:
            kw = dict(stride=stride, padding=padding, dilation=dilation, groups=g)
            if min((x_shape[2 + a] + 2 * padding[a] - dilation[a] * (kernel[a] - 1) - 1) for a in (0, 1)) < 0:
                continue
            case = (x_shape, (g * og, cg) + kernel, kw)
            assert _conv2d_path(*case, dtype) == "phases"
            _check_conv2d(case, dtype, seed=checked)
        else:
            output_padding = tuple(int(rng.integers(0, max(stride[a], dilation[a]))) for a in (0, 1))
            kw = dict(stride=stride, padding=padding, dilation=dilation, groups=g, output_padding=output_padding)
            size = convcore.conv_transpose2d_output_size(x_shape[2:], kernel, stride, padding, output_padding, dilation)
            if min(size) < 1:
                continue
            monkeypatch.setattr(cf, "PHASES_MIN_MACS", 0)
            assert cf.choose_transpose_algorithm(x_shape, (g * cg, og) + kernel) == "phases"
            _check_transpose((x_shape, (g * cg, og) + kernel, kw), dtype, seed=checked)
        checked += 1


def test_strided_taps_share_gemms():
    """Stride 2, 3x3, padding 1: the nine taps become two GEMMs (K = 6C and 3C) on a grid exactly as wide as the
    output (kernel columns as blocks: no garbage columns), and kernel column 0 is copied from column 2 shifted."""
    specs, height, width, stacked, blocks, layout = phases._correlate_layout(56, 56, 128, 64, 3, 3, (2, 2), (1, 1), 1, 1, (28, 28),
                                                                                 phases.STACK_BELOW, phases.MAX_ORDERED_PHASES)
    assert (width, height, stacked, blocks) == (28, 29, False, [0])
    assert sorted(k // 64 for _, k, *_ in layout) == [3, 6]
    order, parents = gather.parents(specs)
    assert sum(parent is not None for parent, _ in parents) == 2  # one per row phase
    assert all(order.index(parent) < order.index(b) for b, (parent, _) in enumerate(parents) if parent is not None)


def test_transposed_phases_share_gemms():
    """Transposed, kernel 4, stride 2, padding 1: one accumulator block per output phase (row phase, column phase),
    read at its own shift, and four GEMMs (one per read offset) that each write all four blocks; every output phase is
    copied from its one block, none summed."""
    top, left, height, width, blocks, layout, outputs = phases._transpose_layout(128, 128, 4, 4, (2, 2), (1, 1), (1, 1),
                                                                               (256, 256))
    assert (top, left, width) == (1, 1, 129)
    assert blocks == [0, 1, width, width + 1]  # phase (a, b) read a rows and b columns further on
    assert [(row, col, b0, b1) for row, col, b0, b1, _ in layout] == [(0, 0, 0, 4), (0, 1, 0, 4), (1, 0, 0, 4), (1, 1, 0, 4)]
    assert sorted(tap for *_, taps in layout for tap in taps) == [(i, j) for i in range(4) for j in range(4)]
    assert [(a, b, members) for a, _, _, b, _, _, members in outputs] == [(0, 0, [0]), (0, 1, [1]), (1, 0, [2]), (1, 1, [3])]


def test_without_raw_blas_the_large_paths_fall_back_to_numpy(monkeypatch):
    """A numpy/scipy build without the raw GEMM routines: the phase path accumulates with numpy's matmul, and
    depthwise filters go tap by tap; same numbers."""
    monkeypatch.setattr(blas, "available", lambda dtype: False)
    monkeypatch.setattr(cf, "PHASES_MIN_MACS", 0)
    monkeypatch.setattr(cf, "BANDED_MIN_PIXELS", 0)
    monkeypatch.setattr(cf, "PER_TAP_MIN_PIXELS", 0)
    monkeypatch.setattr(cf, "FFT_MIN_TAPS", NEVER)
    _phase_threads(monkeypatch, 2)
    for case in MIXING[:3]:
        assert _conv2d_path(*case, np.float64) == "phases"
        _check_conv2d(case, np.float64, seed=6)
    assert _conv2d_path(*DEPTHWISE[0], np.float64) == "per_tap"
    _check_conv2d(DEPTHWISE[0], np.float64, seed=6)
    _check_transpose(TRANSPOSED[1], np.float64, seed=6)


def test_non_contiguous_input_on_the_fast_paths(monkeypatch):
    """Inputs that are views (transposed, strided) go through the phase and per-tap paths unchanged."""
    rng = np.random.default_rng(7)
    base = random_array(rng, (2, 20, 18, 6), np.float64)
    x = base.transpose(0, 3, 2, 1)[:, :, ::2, 1:]  # (2, 6, 9, 19), no unit stride anywhere
    w = random_array(rng, (4, 3, 3, 3), np.float64)
    for algorithm in ("phases", "fft", "im2col"):
        _force(monkeypatch, algorithm)
        assert_matches(convcore.conv2d(x, w, None, 2, 1, 1, 2), TF.conv2d(t(x), t(w), None, 2, 1, 1, 2))
    _force(monkeypatch, "per_tap")
    wd = random_array(rng, (6, 1, 3, 3), np.float64)
    assert_matches(convcore.conv2d(x, wd, None, 1, 1, 1, 6), TF.conv2d(t(x), t(wd), None, 1, 1, 1, 6))
    wt = random_array(rng, (6, 2, 4, 4), np.float64)
    monkeypatch.setattr(cf, "PHASES_MIN_MACS", 0)
    assert_matches(convcore.conv_transpose2d(x, wt, None, 2, 1, 0, 3), TF.conv_transpose2d(t(x), t(wt), None, 2, 1, 0, 3))


def test_default_dispatch_rules():
    """The rules the benchmarks rely on: teaching sizes stay on im2col (no threads, no BLAS set-up), image filters
    go through banded GEMMs (strided ones tap by tap) or the FFT, CNN layers and decoders through the phase GEMMs."""
    f32 = np.dtype(np.float32)
    assert cf.choose_algorithm((1, 1, 7, 7), (1, 1, 3, 3), (1, 1), (1, 1), 1, (5, 5), f32) == "im2col"
    assert cf.choose_algorithm((1, 3, 1024, 1024), (3, 1, 3, 3), (1, 1), (1, 1), 3, (1024, 1024), f32) == "banded"
    assert cf.choose_algorithm((1, 3, 1024, 1024), (3, 1, 3, 3), (2, 2), (1, 1), 3, (512, 512), f32) == "per_tap"
    assert cf.choose_algorithm((1, 3, 1024, 1024), (3, 1, 15, 15), (1, 1), (1, 1), 3, (1024, 1024), f32) == "fft"
    assert cf.choose_algorithm((8, 64, 56, 56), (64, 64, 3, 3), (1, 1), (1, 1), 1, (56, 56), f32) == "phases"
    assert cf.choose_algorithm((8, 64, 56, 56), (64, 16, 3, 3), (1, 1), (1, 1), 4, (56, 56), f32) == "phases"
    assert cf.choose_transpose_algorithm((1, 64, 128, 128), (64, 32, 4, 4)) == "phases"
    assert cf.choose_transpose_algorithm((1, 1, 3, 3), (1, 1, 3, 3)) == "scatter"


# ---------------------------------------------------------------- the BLAS helper itself

@pytest.mark.parametrize("loader", ["_numpy_openblas", "_scipy_blas"])
def test_each_blas_source_gives_torch_numbers(monkeypatch, loader):
    """The engine calls whichever BLAS it finds first; the others must work as well (ILP64 and LP64 interfaces)."""
    try:
        found = getattr(blas, loader)()
    except Exception as error:  # this build does not ship that BLAS: nothing to check
        pytest.skip(f"{loader} is not available here: {error}")
    if found is None:
        pytest.skip(f"{loader} is not available here")
    name, routines, int_type, threads = found
    monkeypatch.setattr(blas, "_ROUTINES", routines)
    monkeypatch.setattr(blas, "_INT", int_type)
    monkeypatch.setattr(blas, "_THREADS", threads)
    _force(monkeypatch, "phases")
    _phase_threads(monkeypatch, 2)
    for dtype in DTYPES:
        _check_conv2d(MIXING[1], dtype, seed=10)
        _check_transpose(TRANSPOSED[1], dtype, seed=10)
    _force(monkeypatch, "banded")
    _check_conv2d(DEPTHWISE[0], np.float64, seed=10)


def test_single_threaded_blas_nests_and_restores():
    """The engine's threads switch BLAS's own threads off while any of them runs, and back on after the last."""
    if not blas.thread_control():
        pytest.skip("this scipy's BLAS has no thread control; the engine then leaves threading to BLAS")
    get, _ = blas._THREADS
    before = get()
    with blas.single_threaded():
        assert get() == 1
        with blas.single_threaded():
            assert get() == 1
        assert get() == 1
    assert get() == before


@pytest.mark.parametrize("dtype", DTYPES)
def test_blas_gemm_strided_views_and_accumulation(dtype):
    assert blas.available(dtype)
    rng = np.random.default_rng(8)
    big_a, big_b = random_array(rng, (9, 30), dtype), random_array(rng, (30, 12), dtype)
    a, b = big_a[1:8, 3:13], big_b[4:14, 2:11]  # (7, 10) @ (10, 9), both strided row-major views
    operands = {
        "row-major views": (a, b),
        "column-major views": (np.asfortranarray(big_a)[1:8, 3:13], np.asfortranarray(big_b)[4:14, 2:11]),
        "mixed": (a, np.asfortranarray(b)),
        "single row and column": (big_a[2:3, 0:10], big_b[0:10, 4:5]),
    }
    tol = 1e-12 if np.dtype(dtype) in (np.float64, np.complex128) else 1e-5
    for name, (a, b) in operands.items():
        big_c = random_array(rng, (a.shape[0] + 2, b.shape[1] + 5), dtype)
        region = (slice(1, 1 + a.shape[0]), slice(2, 2 + b.shape[1]))
        c = big_c[region]
        before = big_c.copy()
        blas.gemm(a, b, c, accumulate=True)
        np.testing.assert_allclose(c, before[region] + a @ b, rtol=tol, atol=tol * 10, err_msg=name)
        blas.gemm(a, b, c, accumulate=False)
        np.testing.assert_allclose(c, a @ b, rtol=tol, atol=tol * 10, err_msg=name)
        c[...] = before[region]
        np.testing.assert_array_equal(big_c, before, err_msg=f"{name}: gemm wrote outside its output view")
    overlapping = np.lib.stride_tricks.as_strided(big_a, shape=(5, 4), strides=(big_a.itemsize, big_a.itemsize))
    assert not blas.blasable(overlapping)
    assert blas.blasable(big_a[::2, 1:5], big_a.T)
