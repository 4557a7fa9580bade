"""The undated features: time evidence marked unknown, not read as "the same day"."""

from __future__ import annotations

import numpy as np

from clustering import EvidenceGrouper
from clustering.join_model import FEATURES
from clustering.online import Item

T0 = 1_500_000_000.0
VEC = np.eye(16, dtype=np.float32)[0]
UNDATED = [FEATURES.index(f) for f in FEATURES if f.startswith("undated")]
GAP = FEATURES.index("log_gap_days")


def _features(stored: float | None, probe: float | None) -> np.ndarray:
    g = EvidenceGrouper()
    g.add(Item(VEC, "Flood closes the harbour bridge", "Water rose at dawn.", stored), 0)
    keys, feats = g.candidates(Item(VEC, "Harbour bridge shut by flood", "Water.", probe))
    assert keys == [0]
    return feats[0]


def test_dated_article_and_storyline_carry_no_undated_evidence() -> None:
    feats = _features(T0, T0 + 86_400.0)
    assert feats[GAP] > 0.0
    assert feats[UNDATED].tolist() == [0.0] * len(UNDATED)


def test_undated_article_or_storyline_marks_time_unknown() -> None:
    for stored, probe in ((T0, None), (None, T0), (None, None)):
        feats = _features(stored, probe)
        assert feats[GAP] == 0.0
        assert feats[FEATURES.index("undated")] == 1.0
        assert feats[FEATURES.index("undated_dense_max")] == feats[FEATURES.index("dense_max")]
        assert feats[FEATURES.index("undated_title_max")] == feats[FEATURES.index("title_max")]
