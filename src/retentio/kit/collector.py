"""Pausing Python's cyclic garbage collector around bulk steps.

A batch of an import holds tens of thousands of short-lived rows, dicts and tuples. Every few
hundred allocations the collector walks the young objects, and every tenth walk the older ones
too — all of those rows, again and again: a third of an import's time. Reference counting frees
them anyway (they hold no cycles), so the bulk step runs with the collector paused and whatever
cycles it made are collected once it resumes.

The collector is process-wide: pauses from several threads nest, and the last one to end
resumes it (only if it was running before the first began).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def collector_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
