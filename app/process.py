"""Process-wide set-up, done once by each entry point before anything heavy loads.

The service's constructors (``ServiceState``, the embedders) change nothing
outside themselves; what has to hold for the whole process (environment read by
libraries at import, glibc's heap thresholds, BLAS threads) is set here, by
``storyline serve``, ``worker``, ``import`` and ``eval``.
"""

from __future__ import annotations

import os

from threadpoolctl import threadpool_limits

from app.config import Settings
from embeddings.memory import keep_activations_in_heap

# Read by the libraries when they are first imported, so set before the model loads;
# a value already in the environment wins.
_ENVIRONMENT = {
    # The model is a local directory: never ask a hub.
    "HF_HUB_OFFLINE": "1",
    # The tokenizers' own thread pool would fight the model's threads for the cores.
    "TOKENIZERS_PARALLELISM": "false",
    # Torch's OpenMP threads spin between parallel regions by default, burning the
    # cores this process's API, grouping and labelling threads need: with passive
    # waiting the service spent 87 core-ms per article instead of 117 (bare
    # encode: 86-94).
    "OMP_WAIT_POLICY": "PASSIVE",
}


def configure_process(settings: Settings) -> None:
    """Set up this process for the service: environment, heap, BLAS and model threads.

    Call once, first thing, from an entry point (never from a constructor: tests
    and tools that build the service's parts get none of this).
    """
    for name, value in _ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    keep_activations_in_heap()
    # Grouping multiplies small matrices many times a second: threaded BLAS only
    # adds contention there (measured 9.6 ms vs 0.5 ms for 10k storylines on a
    # loaded 2-core host). Torch's own OpenMP threads, used for embedding, stay.
    threadpool_limits(1, user_api="blas")
    if settings.embedding_backend == "torch":
        import torch

        torch.set_num_threads(embed_threads(settings))


def embed_threads(settings: Settings) -> int:
    """Model threads for this process: its share of the host's cores.

    Two processes each running as many threads as there are cores make every
    thread wait for a core (and OpenMP spins while it waits), so each of the
    host's ``worker_processes`` gets ``cores // worker_processes``, at least 1.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // settings.worker_processes)
