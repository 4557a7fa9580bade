"""Inverted index from term ids to the live storylines that contain them.

A dense-vector shortlist misses storylines that share the rare names of an
article but are told in other words; this index finds them in time
proportional to the posting lists of the article's strongest terms, not to the
number of live storylines. Storylines are held by the service's keys (stable
across row compaction); posting lists keep insertion order, so lookups are
deterministic.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import numpy as np
from numpy.typing import NDArray


class TermPostings:
    """term id -> ordered set of storyline keys."""

    def __init__(self) -> None:
        self.lists_: dict[int, dict[int, None]] = {}

    def add(self, key: int, term_ids: Iterable[int]) -> None:
        """Record that storyline ``key`` contains ``term_ids``."""
        lists = self.lists_
        for t in term_ids:
            posting = lists.get(t)
            if posting is None:
                lists[t] = {key: None}
            else:
                posting[key] = None

    def remove(self, key: int, term_ids: Iterable[int]) -> None:
        """Forget storyline ``key`` under ``term_ids`` (its whole lexicon, on eviction)."""
        for t in term_ids:
            posting = self.lists_.get(t)
            if posting is not None:
                posting.pop(key, None)
                if not posting:
                    del self.lists_[t]

    def rename(self, source: int, target: int, term_ids: Iterable[int]) -> None:
        """Storyline ``source`` became ``target`` (merge) for ``term_ids``."""
        self.remove(source, term_ids)
        self.add(target, term_ids)

    def remap_terms(self, old_to_new: NDArray[np.int64]) -> None:
        """Follow a vocabulary compaction; terms mapped to -1 are dropped."""
        self.lists_ = {
            int(old_to_new[t]): keys for t, keys in self.lists_.items() if old_to_new[t] >= 0
        }

    def match_rows(
        self,
        term_ids: NDArray[np.int64],
        weights: NDArray[np.float64],
        max_postings: int,
        rows: Mapping[int, int],
        n_rows: int,
    ) -> NDArray[np.float64]:
        """Summed query weight of shared terms per row, shape (n_rows,).

        ``rows`` maps storyline keys to rows; keys it lacks are left out. Terms
        whose posting list is longer than ``max_postings`` are skipped: they are
        common, cost the most and discriminate the least. Keys are looked up and
        summed in C (``map`` over ``rows.get``, then ``np.bincount``, each row's
        weights added in query order), a third faster on long posting lists than
        a Python dict update per listed key. Summing by row, not by key, keeps
        the bins as few as the rows however large the keys.
        """
        postings, kept = [], []
        for t, w in zip(term_ids.tolist(), weights.tolist(), strict=True):
            posting = self.lists_.get(t)
            if posting is None or len(posting) > max_postings:
                continue
            postings.append(posting)
            kept.append(w)
        sizes = np.fromiter(map(len, postings), dtype=np.int64, count=len(postings))
        keys = itertools.chain.from_iterable(postings)
        # Row of each listed key in listing order; n_rows (a spare bin, cut off) if not in rows.
        hit_rows = np.fromiter(
            map(rows.get, keys, itertools.repeat(n_rows)), dtype=np.int64, count=int(sizes.sum())
        )
        scores = np.bincount(hit_rows, weights=np.repeat(kept, sizes), minlength=n_rows + 1)
        return np.asarray(scores[:n_rows], dtype=np.float64)
