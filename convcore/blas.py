"""Strided GEMM with accumulation (C += A @ B) through scipy's BLAS, without copying strided operands.

numpy's matmul cannot accumulate into its output, and scipy.linalg.blas copies any operand that is not contiguous;
the per-tap convolution needs both (each tap is a strided slice of one padded buffer, accumulated into one output).
scipy.linalg.cython_blas exports the raw ?gemm routines for exactly this kind of use; ctypes calls them and releases
the GIL while BLAS runs.
"""
from __future__ import annotations

import ctypes
import threading
from contextlib import contextmanager

import numpy as np

__all__ = ["address", "available", "blasable", "gemm", "gemm_at", "single_threaded", "thread_control"]


def _load() -> dict:
    try:
        from scipy.linalg import cython_blas

        api = ctypes.pythonapi
        api.PyCapsule_GetName.restype = ctypes.c_char_p
        api.PyCapsule_GetName.argtypes = [ctypes.py_object]
        api.PyCapsule_GetPointer.restype = ctypes.c_void_p
        api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        signature = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * 13))  # every Fortran argument is a pointer
        routines = {}
        for dtype, name in ((np.float32, "sgemm"), (np.float64, "dgemm"), (np.complex64, "cgemm"), (np.complex128, "zgemm")):
            capsule = cython_blas.__pyx_capi__[name]
            routines[np.dtype(dtype)] = signature(api.PyCapsule_GetPointer(capsule, api.PyCapsule_GetName(capsule)))
        return routines
    except Exception:  # an unusual scipy build: callers fall back to numpy
        return {}


def _thread_functions():
    """(get, set) of the BLAS library's thread count (OpenBLAS, under scipy's prefix or plain), or None."""
    try:
        from scipy.linalg import cython_blas

        lib = ctypes.CDLL(cython_blas.__file__)  # dlsym on it also searches the BLAS library it links
        for prefix in ("scipy_", ""):
            try:
                get, put = getattr(lib, prefix + "openblas_get_num_threads"), getattr(lib, prefix + "openblas_set_num_threads")
            except AttributeError:
                continue
            get.restype, get.argtypes = ctypes.c_int, []
            put.restype, put.argtypes = None, [ctypes.c_int]
            return get, put
    except Exception:
        pass
    return None


_ROUTINES = _load()
_THREADS = _thread_functions()
_single = {"depth": 0, "saved": 1}
_single_lock = threading.Lock()


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


def gemm_at(dtype, m: int, n: int, k: int, a: int, lda: int, b: int, ldb: int, c: int, ldc: int, accumulate: bool) -> None:
    """gemm() on raw addresses of row-major matrices (leading dimensions in elements), for hot loops.

    The caller guarantees the bounds: a is m x k, b is k x n, c is m x n, each row `ld` elements after the last.
    """
    if m and n:
        _call(dtype, _NO_TRANS, _NO_TRANS, m, n, k, a, max(1, lda), b, max(1, ldb), c, max(1, ldc), accumulate)


def _call(dtype, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate) -> None:
    one, zero = _SCALARS[dtype]
    int_ = ctypes.c_int
    # row-major c = a @ b is column-major c.T = b.T @ a.T: pass b first
    _ROUTINES[dtype](
        ctypes.byref(trans_b), ctypes.byref(trans_a), ctypes.byref(int_(n)), ctypes.byref(int_(m)), ctypes.byref(int_(k)),
        one, b, ctypes.byref(int_(ldb)), a, ctypes.byref(int_(lda)), one if accumulate else zero, c, ctypes.byref(int_(ldc)),
    )
