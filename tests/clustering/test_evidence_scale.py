"""The evidence grouper at service scale: 10k live storylines, undated items, eviction."""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from clustering import EvidenceGrouper
from clustering.online import Item

DAY = 86_400.0
T0 = 1_500_000_000.0
WORDS = [f"w{n}" for n in range(5000)]


def random_items(n: int, seed: int, t0: float = T0, span_days: float = 20.0) -> list[Item]:
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    out = []
    for k in range(n):
        words = rng.choice(len(WORDS), size=40)
        title = " ".join(WORDS[w] for w in words[:8])
        body = " ".join(WORDS[w] for w in words[8:])
        out.append(Item(vecs[k], title, body, t0 + span_days * DAY * k / n))
    return out


def test_decide_stays_fast_with_ten_thousand_live_storylines() -> None:
    g = EvidenceGrouper()
    for k, it in enumerate(random_items(10_000, seed=1)):
        g.add(it, k)
    assert len(g) == 10_000
    probes = random_items(50, seed=2, t0=T0 + 20 * DAY, span_days=0.1)
    g.decide(probes[0])
    # The service runs BLAS single-threaded: a threaded gemv over 10k rows on 2 busy
    # cores costs 10x more than one thread (measured 9.6 ms vs 0.5 ms).
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        for it in probes:
            g.decide(it)
    per_decide_ms = 1000 * (time.perf_counter() - t0) / len(probes)
    # A few ms on a shared 2-core machine; the bound is loose against noise.
    assert per_decide_ms < 25.0, per_decide_ms


def test_undated_items_are_decided_and_added() -> None:
    g = EvidenceGrouper()
    items = random_items(20, seed=3)
    for k, it in enumerate(items):
        g.add(Item(it.vector, it.title, it.body, None if k % 2 else it.timestamp), k)
    same = items[4]
    decision = g.decide(Item(same.vector, same.title, same.body, None))
    assert decision.storyline == 4
    assert 0.0 <= decision.similarity <= 1.0


def test_inactive_storylines_are_evicted() -> None:
    g = EvidenceGrouper(evict_after_days=10.0)
    for k, it in enumerate(random_items(100, seed=4, span_days=1.0)):
        g.add(it, k)
    late = random_items(1, seed=5, t0=T0 + 30 * DAY)[0]
    g.add(late, 1000)
    assert len(g) == 1
