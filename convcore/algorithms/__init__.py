"""The fast and exact algorithms behind convcore.functional: banded and per-phase GEMMs, gathers, BLAS
calls, threading, and torch's integer and float16 arithmetic. numpy/scipy only; nothing here is
public API (use convcore.conv2d / conv_transpose2d).
"""
