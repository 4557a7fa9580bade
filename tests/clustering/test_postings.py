"""Inverted index from term ids to live storylines."""

from __future__ import annotations

import numpy as np

from clustering.postings import TermPostings


def ids(*xs: int) -> np.ndarray:
    return np.asarray(xs, dtype=np.int64)


def weights(*xs: float) -> np.ndarray:
    return np.asarray(xs, dtype=np.float64)


def match(p: TermPostings, term_ids: np.ndarray, w: np.ndarray, max_postings: int) -> dict:
    """Storyline key -> score from :meth:`TermPostings.match_rows`, every listed key a row."""
    keys = sorted({key for posting in p.lists_.values() for key in posting})
    rows = {key: r for r, key in enumerate(keys)}
    scores = p.match_rows(term_ids, w, max_postings, rows, len(rows))
    return {key: float(scores[r]) for key, r in rows.items() if scores[r]}


def reference_match(
    p: TermPostings, term_ids: np.ndarray, w: np.ndarray, max_postings: int
) -> dict[int, float]:
    """The plain sum match_rows must equal: per key, shared terms' weights in query order."""
    scores: dict[int, float] = {}
    for t, weight in zip(term_ids.tolist(), w.tolist(), strict=True):
        posting = p.lists_.get(t)
        if posting is None or len(posting) > max_postings:
            continue
        for key in posting:
            scores[key] = scores.get(key, 0.0) + weight
    return scores


def test_match_sums_the_weights_of_shared_terms() -> None:
    p = TermPostings()
    p.add(10, [1, 2, 3])
    p.add(20, [3, 4])
    scores = match(p, ids(2, 3, 9), weights(1.0, 0.5, 7.0), max_postings=100)
    assert scores == {10: 1.5, 20: 0.5}


def test_common_terms_beyond_max_postings_are_skipped() -> None:
    p = TermPostings()
    for key in range(5):
        p.add(key, [1])
    p.add(0, [2])
    assert match(p, ids(1, 2), weights(1.0, 1.0), max_postings=3) == {0: 1.0}


def test_remove_forgets_a_storyline_and_empty_lists() -> None:
    p = TermPostings()
    p.add(10, [1, 2])
    p.remove(10, [1, 2])
    assert match(p, ids(1, 2), weights(1.0, 1.0), max_postings=10) == {}
    assert p.lists_ == {}


def test_rename_moves_terms_to_the_merge_target() -> None:
    p = TermPostings()
    p.add(10, [1])
    p.add(20, [2])
    p.rename(10, 20, [1])
    assert match(p, ids(1, 2), weights(1.0, 2.0), max_postings=10) == {20: 3.0}


def test_remap_terms_follows_vocabulary_compaction() -> None:
    p = TermPostings()
    p.add(10, [0, 1, 2])
    p.remap_terms(ids(-1, 0, 1))
    assert match(p, ids(0, 1), weights(1.0, 1.0), max_postings=10) == {10: 2.0}
    assert sorted(p.lists_) == [0, 1]


def test_match_rows_gives_the_plain_sums_by_row_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    p = TermPostings()
    keys = [10**12 + 7 * k for k in range(40)]  # large ids, as the service's may be
    for key in keys:
        p.add(key, rng.choice(30, size=12, replace=False).tolist())
    rows = {key: r for r, key in enumerate(keys[:35])}  # the last five are not rows
    term_ids, w = ids(*range(-1, 30)), rng.random(31) * 3.0
    by_key = reference_match(p, term_ids[1:], w[1:], max_postings=15)
    expected = np.zeros(len(rows))
    for key, score in by_key.items():
        if key in rows:
            expected[rows[key]] = score
    got = p.match_rows(term_ids[1:], w[1:], max_postings=15, rows=rows, n_rows=len(rows))
    assert got.tolist() == expected.tolist()
    assert not p.match_rows(ids(), weights(), max_postings=15, rows=rows, n_rows=3).any()
