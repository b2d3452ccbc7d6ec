"""Strided GEMM with accumulation (C += A @ B) through the BLAS numpy or scipy ships, without copying operands.

numpy's matmul cannot accumulate into its output, and scipy.linalg.blas copies any operand that is not contiguous;
the convolution paths need both (each kernel tap reads a strided slice of one buffer, accumulated into one output).
The raw ?gemm routines are called through ctypes, which releases the GIL while BLAS runs. Sources, best first:
numpy's bundled OpenBLAS (scipy-openblas64, ILP64: measured 15-50% faster on these shapes than scipy's copy, an
older release), then scipy.linalg.cython_blas (LP64, its documented low-level interface). With neither, available()
is False and the engine uses numpy's matmul.
"""
from __future__ import annotations

import ctypes
import threading
from contextlib import contextmanager

import numpy as np

__all__ = ["address", "available", "blasable", "gemm", "gemm_at", "single_threaded", "source", "thread_control"]

_DTYPES = ((np.float32, "s"), (np.float64, "d"), (np.complex64, "c"), (np.complex128, "z"))
_SIGNATURE = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * 13))  # every Fortran argument is a pointer


def _numpy_openblas():
    """numpy's bundled OpenBLAS: (name, routines, int type, (get, set) threads), or None."""
    from numpy._core import _multiarray_umath

    lib = ctypes.CDLL(_multiarray_umath.__file__)  # dlsym on it also searches the libraries it links
    config = lib.scipy_openblas_get_config64_
    config.restype = ctypes.c_char_p
    if b"USE64BITINT" not in config():
        return None
    routines = {np.dtype(t): _SIGNATURE(ctypes.cast(getattr(lib, f"scipy_{p}gemm_64_"), ctypes.c_void_p).value)
                for t, p in _DTYPES}
    get, put = lib.scipy_openblas_get_num_threads64_, lib.scipy_openblas_set_num_threads64_
    get.restype, get.argtypes = ctypes.c_int, []
    put.restype, put.argtypes = None, [ctypes.c_int]
    return "numpy's OpenBLAS", routines, ctypes.c_int64, (get, put)


def _scipy_blas():
    """scipy.linalg.cython_blas: (name, routines, int type, (get, set) threads or None)."""
    from scipy.linalg import cython_blas

    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    routines = {}
    for t, p in _DTYPES:
        capsule = cython_blas.__pyx_capi__[p + "gemm"]
        routines[np.dtype(t)] = _SIGNATURE(api.PyCapsule_GetPointer(capsule, api.PyCapsule_GetName(capsule)))
    threads = None
    lib = ctypes.CDLL(cython_blas.__file__)
    for prefix in ("scipy_", ""):
        try:
            get, put = getattr(lib, prefix + "openblas_get_num_threads"), getattr(lib, prefix + "openblas_set_num_threads")
        except AttributeError:
            continue
        get.restype, get.argtypes = ctypes.c_int, []
        put.restype, put.argtypes = None, [ctypes.c_int]
        threads = (get, put)
        break
    return "scipy's BLAS", routines, ctypes.c_int, threads


def _load():
    for loader in (_numpy_openblas, _scipy_blas):
        try:
            found = loader()
        except Exception:  # not this build: try the next source
            continue
        if found is not None:
            return found
    return "none (numpy matmul)", {}, ctypes.c_int, None


_SOURCE, _ROUTINES, _INT, _THREADS = _load()
_single = {"depth": 0, "saved": 1}
_single_lock = threading.Lock()


def source() -> str:
    """Which BLAS the engine calls (shown by the benchmark)."""
    return _SOURCE


def thread_control() -> bool:
    """Whether single_threaded() can switch BLAS's own threads off (so the engine may run GEMMs on its threads)."""
    return _THREADS is not None


@contextmanager
def single_threaded():
    """BLAS calls run on their calling thread only, while any caller is inside (the engine splits the work itself:
    independent threads degrade gracefully on a busy machine, where BLAS's own threads wait for each other)."""
    if _THREADS is None:
        yield
        return
    get, put = _THREADS
    with _single_lock:
        if _single["depth"] == 0:
            _single["saved"] = get()
            put(1)
        _single["depth"] += 1
    try:
        yield
    finally:
        with _single_lock:
            _single["depth"] -= 1
            if _single["depth"] == 0:
                put(_single["saved"])


_NO_TRANS = ctypes.c_char(b"N")
_TRANS = ctypes.c_char(b"T")
_SCALAR_ARRAYS = {dtype: (np.ones(1, dtype), np.zeros(1, dtype)) for dtype in _ROUTINES}  # alpha = 1, beta in {0, 1}
_SCALARS = {dtype: (ones.ctypes.data, zeros.ctypes.data) for dtype, (ones, zeros) in _SCALAR_ARRAYS.items()}


def available(dtype) -> bool:
    """Whether gemm() runs for this dtype."""
    return np.dtype(dtype) in _ROUTINES


def _layout(m: np.ndarray):
    """(transpose flag, leading dimension) of a 2-D view as a column-major BLAS operand of shape m.T, or None."""
    rows, cols = m.shape
    item = m.itemsize
    s0, s1 = m.strides
    if cols <= 1 or s1 == item:  # row-major: as column-major it is m.T, 'N'
        ld = s0 // item if rows > 1 else cols
        if s0 % item == 0 and ld >= max(1, cols):
            return _NO_TRANS, max(1, ld)
    if rows <= 1 or s0 == item:  # column-major: as column-major it is m, so m.T needs 'T'
        ld = s1 // item if cols > 1 else rows
        if s1 % item == 0 and ld >= max(1, rows):
            return _TRANS, max(1, ld)
    return None


def blasable(*matrices: np.ndarray) -> bool:
    """Whether every 2-D view can go to BLAS as it is (one unit stride, a leading stride that does not overlap)."""
    return all(m.ndim == 2 and _layout(m) is not None for m in matrices)


def address(a: np.ndarray) -> int:
    """The address of a's first element (for gemm_at)."""
    return a.__array_interface__["data"][0]


def gemm(a: np.ndarray, b: np.ndarray, c: np.ndarray, accumulate: bool) -> None:
    """c = a @ b, or c += a @ b when accumulate, in place; a, b, c share one dtype and are blasable.

    c must be row-major (unit stride along its last axis).
    """
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return
    if c.strides[1] != c.itemsize and n > 1:
        raise ValueError("gemm: the output must have a unit stride along its last axis")
    ldc = c.strides[0] // c.itemsize if m > 1 else n
    trans_a, lda = _layout(a)
    trans_b, ldb = _layout(b)
    _call(c.dtype, trans_a, trans_b, m, n, k, address(a), lda, address(b), ldb, address(c), max(1, ldc), accumulate)


_NO_TRANS_AT = ctypes.addressof(_NO_TRANS)
_TRANS_AT = ctypes.addressof(_TRANS)
_local = threading.local()


def gemm_at(dtype, m: int, n: int, k: int, a: int, lda: int, b: int, ldb: int, c: int, ldc: int, accumulate: bool,
            a_transposed: bool = False) -> None:
    """gemm() on raw addresses of row-major matrices (leading dimensions in elements), for hot loops.

    The caller guarantees the bounds: a is m x k (or, when a_transposed, a row-major k x m matrix holding a.T), b is
    k x n, c is m x n, each row `ld` elements after the last. The integer arguments go through a per-thread array
    rather than fresh ctypes objects (1.8 instead of 4 us a call).
    """
    if not (m and n):
        return
    held = getattr(_local, "ints", None)
    if held is None or held[3] is not _INT:  # (the BLAS source can change: tests try each one)
        ints = np.zeros(6, np.dtype(_INT))
        held = _local.ints = (ints, address(ints), ints.itemsize, _INT)
    ints, at, size, _ = held
    ints[:] = (n, m, k, max(1, ldb), max(1, lda), max(1, ldc))
    one, zero = _SCALARS[dtype]
    # row-major c = a @ b is column-major c.T = b.T @ a.T: pass b first
    _ROUTINES[dtype](_NO_TRANS_AT, _TRANS_AT if a_transposed else _NO_TRANS_AT, at, at + size, at + 2 * size, one, b,
                     at + 3 * size, a, at + 4 * size,
                     one if accumulate else zero, c, at + 5 * size)


def _call(dtype, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate) -> None:
    one, zero = _SCALARS[dtype]
    int_ = _INT
    # row-major c = a @ b is column-major c.T = b.T @ a.T: pass b first
    _ROUTINES[dtype](
        ctypes.byref(trans_b), ctypes.byref(trans_a), ctypes.byref(int_(n)), ctypes.byref(int_(m)), ctypes.byref(int_(k)),
        one, b, ctypes.byref(int_(ldb)), a, ctypes.byref(int_(lda)), one if accumulate else zero, c, ctypes.byref(int_(ldc)),
    )
