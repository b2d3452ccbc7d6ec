"""A small shared thread pool for the engine's large calls (numpy and BLAS release the GIL while they work).

Small calls never come here: the callers check their size first, so teaching-size calls pay no threading overhead.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["WORKERS", "each", "run", "scratch", "spans"]

WORKERS = max(1, min(4, os.cpu_count() or 1))  # threads for one large call

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def spans(length: int, parts: int) -> list[tuple[int, int]]:
    """[0, length) cut into at most `parts` contiguous, non-empty (start, stop) ranges."""
    step = max(1, -(-length // max(1, parts)))
    return [(start, min(length, start + step)) for start in range(0, length, step)]


def run(task, items) -> None:
    """task(item) for every item: on the calling thread for one item, else on the pool (exceptions propagate)."""
    global _pool
    items = list(items)
    if len(items) <= 1:
        for item in items:
            task(item)
        return
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max(2, WORKERS), thread_name_prefix="convcore")
    futures = [_pool.submit(task, item) for item in items[1:]]
    task(items[0])  # the calling thread does a share too
    for future in futures:
        future.result()


def each(task, items, threads: int) -> None:
    """task(item) for every item, on `threads` threads that take the next item as they finish one (a busy core
    then slows its own share only)."""
    items = list(items)
    threads = max(1, min(threads, len(items)))
    if threads == 1:
        for item in items:
            task(item)
        return
    pending = iter(items)
    lock = threading.Lock()

    def worker(_):
        while True:
            with lock:
                item = next(pending, None)
            if item is None:
                return
            task(item)

    run(worker, range(threads))


_local = threading.local()


def scratch(name, shape, dtype) -> np.ndarray:
    """A work array of this thread, reused from call to call (fresh pages cost more than the arithmetic on them).

    Its contents are whatever the last user left; one array per name and thread, grown when too small.
    """
    cache = _local.__dict__.setdefault("arrays", {})
    size = 1
    for extent in shape:
        size *= extent
    held = cache.get(name)
    if held is None or held.dtype != dtype or held.size < size:
        held = cache[name] = np.empty(size, dtype)
    return held[:size].reshape(shape)
