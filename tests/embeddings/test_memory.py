"""The heap setting that keeps the model's activation buffers mapped between batches."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Allocates, touches and frees activation-sized blocks from a thread other than
# the main one (as the service's worker does) and prints the page faults of the
# last ten rounds. Run in a fresh interpreter: the setting is process-wide.
_ROUNDS = textwrap.dedent(
    """
    import ctypes, resource, sys, threading
    from embeddings.memory import keep_activations_in_heap
    if sys.argv[1] == "on":
        assert keep_activations_in_heap()
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    sizes = [24 << 20, 12 << 20, 6 << 20, 24 << 20]
    faults = []
    def rounds():
        for i in range(13):
            if i == 3:
                start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            blocks = [libc.malloc(s) for s in sizes]
            for block, size in zip(blocks, sizes):
                ctypes.memset(block, 1, size)
            for block in blocks:
                libc.free(block)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
    thread = threading.Thread(target=rounds)
    thread.start()
    thread.join()
    print(faults[0])
    """
)
_PAGES_PER_ROUND = (24 + 12 + 6 + 24) * 256  # 4 KiB pages


def _faults(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _ROUNDS, mode],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_activation_blocks_are_reused_without_faulting() -> None:
    touched = 10 * _PAGES_PER_ROUND
    # Without the setting glibc returns blocks this size to the kernel, so the
    # next round faults them in again (on this host ~a third of all pages).
    assert _faults("off") > touched // 10
    assert _faults("on") < touched // 100
