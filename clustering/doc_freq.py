"""Document frequencies over the stream of added articles, decayed with time.

Inverse document frequency is what makes a shared street name count and a
shared "police" not. It must come only from articles the grouper was given
(``add``), so that replaying the stored live window rebuilds it, and it must
forget: each document's weight halves every ``half_life_days`` of stream time,
so a rebuild from the last few weeks lands on nearly the same numbers and
the vocabulary stays bounded (terms whose weight has decayed to almost nothing
are dropped by :meth:`DocumentFrequency.compact`).

Stream time is the latest timestamp seen by ``add`` (undated articles do not
move it). Weights are kept on a moving log scale so nothing overflows.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping

import numpy as np
from numpy.typing import NDArray

_DAY = 86_400.0
_RESCALE_AT = 30.0  # natural-log units of growth before weights are renormalised


class DocumentFrequency:
    """Decayed document frequencies of terms, with dense integer term ids.

    ``ids`` of the same term stay stable until :meth:`compact`, which returns
    the old-to-new id map so holders of id arrays can follow.
    """

    def __init__(self, half_life_days: float | None = 14.0) -> None:
        self.half_life_days = half_life_days
        self.ids_: dict[str, int] = {}
        self.df_ = np.zeros(0, dtype=np.float64)  # scaled weight per term id
        self.total_ = 0.0  # scaled weight of all documents
        self.clock_: float | None = None  # stream time, Unix seconds
        self.log_scale_ = 0.0  # a new document weighs exp(log_scale_) in df_ units

    def __len__(self) -> int:
        return len(self.ids_)

    @property
    def documents(self) -> float:
        """Effective (decayed) number of documents, in units of one new document."""
        return self.total_ * math.exp(-self.log_scale_)

    def lookup(self, terms: Iterable[str]) -> NDArray[np.int64]:
        """Ids of ``terms`` (shape (k,)), -1 for terms never added."""
        # map over the bound dict.get with a default runs in C: no Python frame per term.
        return np.fromiter(map(self.ids_.get, terms, itertools.repeat(-1)), dtype=np.int64)

    def idf(self, ids: NDArray[np.int64], *, known: bool = False) -> NDArray[np.float64]:
        """Smoothed idf ``1 + ln((1 + N) / (1 + df))`` per id; unknown (-1) ids get df = 0.

        ``known=True`` promises that every id is a term's (ids stored from
        :meth:`add`), which skips masking out -1: these are the long arrays.
        """
        scale = math.exp(-self.log_scale_)
        n = self.total_ * scale
        if known:
            df = self.df_[ids]
        else:
            df = np.where(ids >= 0, self.df_[np.maximum(ids, 0)] if self.df_.size else 0.0, 0.0)
        return np.asarray(1.0 + np.log((1.0 + n) / (1.0 + df * scale)), dtype=np.float64)

    def add(self, terms: Mapping[str, float], timestamp: float | None) -> NDArray[np.int64]:
        """Count one document containing ``terms``; return their ids, in iteration order."""
        self._advance(timestamp)
        # setdefault gives a known term its id and a new one the next; a list, then one
        # array, avoids a NumPy item assignment per term.
        known = self.ids_
        ids = np.asarray([known.setdefault(term, len(known)) for term in terms], dtype=np.int64)
        if self.df_.size < len(self.ids_):
            grown = np.zeros(max(1024, 2 * len(self.ids_)), dtype=np.float64)
            grown[: self.df_.size] = self.df_
            self.df_ = grown
        weight = math.exp(self.log_scale_)
        self.df_[ids] += weight
        self.total_ += weight
        return ids

    def compact(self, min_documents: float = 0.05) -> NDArray[np.int64] | None:
        """Drop terms whose decayed frequency is below ``min_documents``.

        Returns the map old id -> new id (-1 if dropped), shape (old vocabulary,),
        or None when nothing was dropped.
        """
        n = len(self.ids_)
        keep = self.df_[:n] * math.exp(-self.log_scale_) >= min_documents
        if keep.all():
            return None
        remap = np.full(n, -1, dtype=np.int64)
        remap[keep] = np.arange(int(keep.sum()))
        self.ids_ = {t: int(remap[i]) for t, i in self.ids_.items() if keep[i]}
        kept = self.df_[:n][keep]
        self.df_ = np.zeros(max(1024, 2 * kept.size), dtype=np.float64)
        self.df_[: kept.size] = kept
        return remap

    def _advance(self, timestamp: float | None) -> None:
        if timestamp is None:
            return
        if self.clock_ is None:
            self.clock_ = timestamp
            return
        if timestamp <= self.clock_:
            return
        if self.half_life_days is not None:
            self.log_scale_ += (
                math.log(2.0) * (timestamp - self.clock_) / (self.half_life_days * _DAY)
            )
        self.clock_ = timestamp
        if self.log_scale_ > _RESCALE_AT:
            factor = math.exp(-self.log_scale_)
            self.df_ *= factor
            self.total_ *= factor
            self.log_scale_ = 0.0
