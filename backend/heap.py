"""Keeping freed memory in the process while training on a CPU (glibc's malloc settings).

A training step allocates and frees the same large activation buffers every
step. glibc serves blocks above its mmap threshold (at most 32 MiB) with fresh
``mmap`` calls and gives freed heap tops back to the kernel, so every step
faults in and zeroes about 0.5 GB of new pages again: a ResNet-18 pair step at
batch 32 took about 120,000 page faults. With mmap off and a high trim threshold
the buffers are reused: no faults, the same numbers, less kernel time
(``bench/results/pretrain.json``). The settings are restored afterwards, and the
heap trimmed, so a long-lived process (QGIS) gets its memory back.

Only glibc (Linux) has these settings; elsewhere :func:`retained_heap` does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import sys
import threading
from collections.abc import Iterator

log = logging.getLogger(__name__)

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
#: glibc's defaults, restored afterwards (mallopt cannot read the current values)
_DEFAULT_TRIM_THRESHOLD = 128 * 1024
_DEFAULT_MMAP_MAX = 65536
#: freed memory above the heap's top kept for reuse while training
_TRAINING_TRIM_THRESHOLD = 2**31 - 1

_lock = threading.Lock()
_depth = 0


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        # gnu_get_libc_version: absent from musl and other C libraries
        if not all(hasattr(libc, f) for f in ("gnu_get_libc_version", "mallopt", "malloc_trim")):
            return None
    except OSError:
        return None
    return libc


@contextlib.contextmanager
def retained_heap() -> Iterator[bool]:
    """Within the block, freed memory stays in the process for reuse (glibc only).

    Yields whether the settings took effect. Nested and concurrent blocks are fine:
    the defaults come back when the last one ends.
    """
    global _depth
    libc = _glibc()
    if libc is None:
        yield False
        return
    with _lock:
        if _depth == 0:
            ok = libc.mallopt(_M_MMAP_MAX, 0) == 1
            ok = libc.mallopt(_M_TRIM_THRESHOLD, _TRAINING_TRIM_THRESHOLD) == 1 and ok
            if not ok:
                log.debug("mallopt refused the training settings")
        _depth += 1
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
                libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
                libc.malloc_trim(0)
