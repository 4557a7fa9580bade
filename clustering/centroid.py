"""Nearest-centroid single-pass grouping within a time window (the baseline)."""

from __future__ import annotations

import numpy as np

from clustering.online import Decision, Item

_DAY = 86_400.0


class CentroidGrouper:
    """Join the most similar storyline centroid active near the item's date.

    A storyline is a candidate when the item's timestamp lies within
    ``window_days`` of the storyline's published span; items or storylines
    without dates are compared with everything. Centroids are running sums of
    member vectors, so an update costs O(d). Memory is O(storylines x d) float32.
    """

    def __init__(self, threshold: float = 0.5, window_days: float = 7.0) -> None:
        self.threshold = threshold
        self.window_days = window_days
        self.keys_: list[int] = []
        self.rows_: dict[int, int] = {}
        self.sums_ = np.zeros((0, 0), dtype=np.float32)
        self.counts_ = np.zeros(0, dtype=np.int64)
        self.first_ = np.zeros(0, dtype=np.float64)  # NaN: no dated member yet
        self.last_ = np.zeros(0, dtype=np.float64)
        self.alive_ = np.zeros(0, dtype=bool)

    def __len__(self) -> int:
        return int(self.alive_[: len(self.keys_)].sum())

    def decide(self, item: Item) -> Decision:
        n = len(self.keys_)
        if n == 0:
            return Decision(None, 0.0)
        candidates = self.alive_[:n].copy()
        if item.timestamp is not None:
            slack = self.window_days * _DAY
            with np.errstate(invalid="ignore"):
                near = (item.timestamp >= self.first_[:n] - slack) & (
                    item.timestamp <= self.last_[:n] + slack
                )
            candidates &= near | np.isnan(self.first_[:n])
        idx = np.flatnonzero(candidates)
        if idx.size == 0:
            return Decision(None, 0.0)
        sums = self.sums_[idx]
        norms = np.linalg.norm(sums, axis=1)
        sims = (sums @ item.vector) / np.maximum(norms, 1e-12)
        best = int(np.argmax(sims))
        score = float(sims[best])
        if score >= self.threshold:
            return Decision(self.keys_[int(idx[best])], score)
        return Decision(None, max(score, 0.0))

    def add(self, item: Item, storyline: int) -> None:
        row = self.rows_.get(storyline)
        if row is None:
            row = self._new_row(storyline, item.vector.shape[0])
        self.sums_[row] += item.vector
        self.counts_[row] += 1
        if item.timestamp is not None:
            ts = item.timestamp
            self.first_[row] = ts if np.isnan(self.first_[row]) else min(self.first_[row], ts)
            self.last_[row] = ts if np.isnan(self.last_[row]) else max(self.last_[row], ts)

    def merge(self, source: int, target: int) -> None:
        src = self.rows_.pop(source, None)
        if src is None:  # never held (a dormant storyline): nothing to fold
            return
        dst = self.rows_.get(target)
        if dst is None:  # the target was not held: the source's row takes its key
            self.rows_[target] = src
            self.keys_[src] = target
            return
        self.sums_[dst] += self.sums_[src]
        self.counts_[dst] += self.counts_[src]
        self.first_[dst] = np.fmin(self.first_[dst], self.first_[src])
        self.last_[dst] = np.fmax(self.last_[dst], self.last_[src])
        self.alive_[src] = False

    def detach(self, item: Item, storyline: int) -> None:
        row = self.rows_.get(storyline)
        if row is None:
            return
        if self.counts_[row] <= 1:
            del self.rows_[storyline]
            self.alive_[row] = False
            return
        # The span stays as it was: a slightly wider window, never a missed candidate.
        self.sums_[row] -= item.vector
        self.counts_[row] -= 1

    def attach(self, item: Item, storyline: int) -> None:
        self.add(item, storyline)  # this method keeps no stream-wide statistics

    def _new_row(self, storyline: int, dim: int) -> int:
        row = len(self.keys_)
        if row >= self.sums_.shape[0]:
            cap = max(64, 2 * self.sums_.shape[0])
            self.sums_ = _grow(self.sums_, (cap, dim), 0.0)
            self.counts_ = _grow(self.counts_, (cap,), 0)
            self.first_ = _grow(self.first_, (cap,), np.nan)
            self.last_ = _grow(self.last_, (cap,), np.nan)
            self.alive_ = _grow(self.alive_, (cap,), False)
        self.keys_.append(storyline)
        self.rows_[storyline] = row
        self.alive_[row] = True
        return row


def _grow(arr: np.ndarray, shape: tuple[int, ...], fill: float | bool) -> np.ndarray:
    out = np.full(shape, fill, dtype=arr.dtype)
    out[tuple(slice(0, s) for s in arr.shape)] = arr
    return out
