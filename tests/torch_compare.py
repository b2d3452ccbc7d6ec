"""Shared helpers for the differential tests: numpy <-> torch, seeded random arrays, and the closeness rule."""
from __future__ import annotations

import numpy as np
import torch

torch.set_num_threads(1)  # small calls; keeps the suite steady on a shared 2-core machine

DTYPES = (np.float32, np.float64, np.complex64, np.complex128)

# max|diff| / max|ref|. float64 is the bar. float32: the worst measured case (FFT, 31x31 kernel) is 1.5e-6,
# GEMM and per-tap cases stay below 3e-7, so 3e-5 leaves a 20x margin and still catches a lost digit.
REL_TOL = {np.dtype(np.float64): 1e-10, np.dtype(np.complex128): 1e-10,
           np.dtype(np.float32): 3e-5, np.dtype(np.complex64): 3e-5}


def random_array(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    """Standard normal values of the given dtype (real and imaginary parts drawn separately)."""
    values = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    return values.astype(dtype)


def t(a):
    """numpy array (or None) -> torch tensor sharing nothing with the original."""
    return None if a is None else torch.from_numpy(np.array(a, copy=True))


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    scale = np.max(np.abs(ref)) if ref.size else 0.0
    diff = np.max(np.abs(out.astype(np.complex128) - ref.astype(np.complex128))) if ref.size else 0.0
    return float(diff / scale) if scale else float(diff)


def assert_matches(out, ref, dtype=None, tol=None):
    """Same shape, same dtype, and max|out - ref| / max|ref| within the dtype's tolerance."""
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    assert isinstance(out, np.ndarray), f"expected a numpy array, got {type(out).__name__}"
    assert out.shape == ref.shape, f"shape {out.shape} != torch's {ref.shape}"
    dtype = np.dtype(dtype or ref.dtype)
    assert out.dtype == dtype, f"dtype {out.dtype} != {dtype}"
    err = relative_error(out, ref)
    limit = REL_TOL[dtype] if tol is None else tol
    assert err <= limit, f"relative error {err:.3g} > {limit:g}"
