"""Keep the model's activation buffers in the heap between calls.

A forward pass of the model over a batch allocates activations of several to
tens of MiB. glibc serves blocks that large with ``mmap`` and hands them back to
the kernel on free, so every batch faults its pages in afresh: in the service
that was 11-18% of all its CPU time, spent in the kernel. Raising glibc's mmap
threshold to its ceiling (32 MiB) and its trim threshold keeps those blocks in
the heap for the next batch, for every thread of the process. Batches of 16
texts at 256 word pieces stay under the ceiling (the largest activation is
16 x 256 x 1536 floats, 24 MiB).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("storyline.embeddings")

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_MMAP_CEILING = 32 * 1024 * 1024  # glibc refuses more on 64-bit hosts
_KEEP_FREE = 256 * 1024 * 1024


def keep_activations_in_heap() -> bool:
    """Set glibc's thresholds for this process; False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl, macOS: no mallopt to call
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # Threads other than the main one get arenas of at most 64 MiB, which a
    # batch's activations outgrow and unmap again: one arena keeps every thread
    # in the main heap, which honours the thresholds.
    wanted = (
        (_M_MMAP_THRESHOLD, _MMAP_CEILING),
        (_M_TRIM_THRESHOLD, _KEEP_FREE),
        (_M_ARENA_MAX, 1),
    )
    ok = all([mallopt(param, value) == 1 for param, value in wanted])
    if not ok:
        log.warning("mallopt refused the heap thresholds; model batches will page-fault")
    return ok
