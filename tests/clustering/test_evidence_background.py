"""Background closeness (dense_z) on short histories: shrunk towards a prior when asked."""

from __future__ import annotations

import numpy as np

from clustering import EvidenceGrouper
from clustering.join_model import FEATURES
from clustering.online import Item

T0 = 1_500_000_000.0
Z = FEATURES.index("dense_z")


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def z_of_probe(background_weight: float, history: int) -> float:
    rng = np.random.default_rng(7)
    probe = unit(rng.normal(size=32))
    g = EvidenceGrouper(background_weight=background_weight)
    # One storyline close to the probe (cosine ~0.5), then unrelated articles.
    g.add(Item(unit(probe + unit(rng.normal(size=32))), "a", "a", T0), 0)
    for k in range(history):
        g.add(Item(unit(rng.normal(size=32)), f"b{k}", f"b{k}", T0 + k), k + 1)
    keys, feats = g.candidates(Item(probe, "p", "p", T0 + history + 1))
    return float(feats[keys.index(0), Z])


def test_shrunk_background_makes_z_stable_from_two_articles_to_two_hundred() -> None:
    short, long = z_of_probe(64.0, 1), z_of_probe(64.0, 200)
    assert abs(short - long) < 0.35 * abs(long)


def test_raw_background_on_two_articles_is_far_from_the_long_run_value() -> None:
    short, long = z_of_probe(0.0, 1), z_of_probe(0.0, 200)
    assert abs(short - long) > 0.35 * abs(long)
