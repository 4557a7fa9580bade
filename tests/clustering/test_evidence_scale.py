"""The evidence grouper at service scale: 10k live storylines, undated items, eviction."""

from __future__ import annotations

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


def test_ten_thousand_live_storylines_are_shortlisted_not_all_scored() -> None:
    # Speed itself is measured by benchmarks (benchmarks.replay ms/article, storyline eval);
    # what a test can hold is the bound that keeps decide cheap: a short candidate list.
    g = EvidenceGrouper()
    for k, it in enumerate(random_items(10_000, seed=1)):
        g.add(it, k)
    assert len(g) == 10_000
    probes = random_items(50, seed=2, t0=T0 + 20 * DAY, span_days=0.1)
    with threadpool_limits(limits=1):
        for it in probes:
            keys, feats = g.candidates(it)
            assert 0 < len(keys) <= g.shortlist + g.lexical_shortlist
            assert feats.shape[0] == len(keys)
            assert len(set(keys)) == len(keys)
            g.decide(it)


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


def test_decide_skips_only_features_the_model_does_not_weigh() -> None:
    # decide leaves the lexical centroid cosines (weight 0) uncomputed; every other
    # feature, and so every probability, must be exactly what candidates() gives.
    g = EvidenceGrouper()
    items = random_items(600, seed=5)
    for k, it in enumerate(items[:500]):
        g.add(it, k % 120)  # storylines of several members, so members and centroids differ
    weights = np.asarray(g.model.weights)
    assert weights[2] == 0.0 and weights[4] == 0.0
    for it in items[500:]:
        keys, full = g.candidates(it)
        lean_keys, lean = g.candidates(it, all_features=False)
        assert lean_keys == keys
        assert np.any(full[:, [2, 4]] > 0.0)
        assert np.all(lean[:, [2, 4]] == 0.0)
        others = [c for c in range(full.shape[1]) if c not in (2, 4)]
        assert np.array_equal(lean[:, others], full[:, others])
        assert np.array_equal(g.model.probability(lean), g.model.probability(full))


def test_dormant_storylines_stay_for_undated_items_only() -> None:
    g = EvidenceGrouper(evict_after_days=10.0, dormant_kept=100)
    early = random_items(100, seed=4, span_days=1.0)
    for k, it in enumerate(early):
        g.add(it, k)
    g.add(random_items(1, seed=5, t0=T0 + 30 * DAY)[0], 1000)
    assert len(g) == 101
    old = early[7]
    undated = g.decide(Item(old.vector, old.title, old.body, None))
    assert undated.storyline == 7
    dated_now = g.candidates(Item(old.vector, old.title, old.body, T0 + 30 * DAY))[0]
    assert dated_now == [1000]


def test_only_the_most_recent_dormant_storylines_are_kept() -> None:
    g = EvidenceGrouper(evict_after_days=10.0, dormant_kept=30)
    for k, it in enumerate(random_items(100, seed=4, span_days=1.0)):
        g.add(it, k)
    g.add(random_items(1, seed=5, t0=T0 + 30 * DAY)[0], 1000)
    assert g.table_ is not None
    assert sorted(g.table_.rows) == [*range(70, 100), 1000]
