"""Tf-idf rows of a window of articles, with the per-article work kept between runs.

Document frequencies come from the window itself, and body lines that recur
across unrelated articles of the window (site furniture, see
:class:`~clustering.boilerplate.BoilerplateLines`) are left out. Batch discovery
runs every minute over a window that moves by a few articles, so the costly
part, splitting bodies into lines, hashing them and counting terms, is cached
per article (:class:`TermCache`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from clustering.boilerplate import BoilerplateLines
from clustering.terms import article_terms


class WindowText(Protocol):
    """What the tf-idf rows need of an article (``key`` never changes its text)."""

    @property
    def key(self) -> int: ...

    @property
    def title(self) -> str: ...

    @property
    def body(self) -> str: ...

    @property
    def timestamp(self) -> float | None: ...


class TermCache:
    """Per-article pieces that stay the same from one run to the next.

    Discovery runs every minute over a window that changes by a few articles;
    splitting bodies into lines, hashing them and counting terms is most of a
    run's cost, so each article's line keys and its term ids and weights (for
    the set of lines that survived the furniture cut) are kept, the oldest
    dropped past ``capacity``. Term ids come from a vocabulary shared by the
    entries, started afresh when it outgrows ``max_vocabulary``. Results are the
    same as without a cache.
    """

    def __init__(self, capacity: int = 50_000, max_vocabulary: int = 2_000_000) -> None:
        self.capacity = capacity
        self.max_vocabulary = max_vocabulary
        self.entries: dict[int, _Entry] = {}
        self.vocabulary: dict[str, int] = {}

    def entry(self, article: WindowText, furniture: BoilerplateLines) -> _Entry:
        found = self.entries.pop(article.key, None)  # re-inserted: most recent last
        if found is None:
            lines = article.body.split("\n")
            found = _Entry(lines, [furniture.line_key(line) for line in lines])
        self.entries[article.key] = found
        if len(self.entries) > self.capacity:
            del self.entries[next(iter(self.entries))]
        return found

    def terms(self, entry: _Entry, title: str, kept: tuple[int, ...]) -> _Entry:
        """``entry`` with term ids and weights for the lines ``kept``."""
        if kept != entry.kept:
            body = "\n".join(entry.lines[n] for n in kept)
            counted = article_terms(title, body)
            vocab = self.vocabulary
            entry.ids = np.fromiter(
                (vocab.setdefault(t, len(vocab)) for t in counted), np.int64, len(counted)
            )
            entry.weights = np.fromiter(counted.values(), np.float64, len(counted))
            entry.kept = kept
        return entry

    def trim(self) -> None:
        """Forget every term id once the vocabulary is too large (ids then restart)."""
        if len(self.vocabulary) > self.max_vocabulary:
            self.vocabulary = {}
            for e in self.entries.values():
                e.kept = None


@dataclass(slots=True)
class _Entry:
    lines: list[str]
    keys: list[int | None]
    kept: tuple[int, ...] | None = None
    ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    weights: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))


def lexical_vectors(
    articles: Sequence[WindowText], cache: TermCache | None = None
) -> sparse.csr_matrix:
    """Unit tf-idf rows over the window, furniture lines removed, idf from the window."""
    furniture = BoilerplateLines()
    cache = cache or TermCache(capacity=len(articles))
    cache.trim()
    entries = [cache.entry(a, furniture) for a in articles]
    for i in sorted(range(len(articles)), key=lambda i: time_key(articles[i])):
        keys = {k for k in entries[i].keys if k is not None}
        furniture.observe_keys(keys, articles[i].timestamp)
    rows = []
    for a, entry in zip(articles, entries, strict=True):
        kept = tuple(
            n for n, k in enumerate(entry.keys) if k is None or not furniture.is_furniture_key(k)
        )
        rows.append(cache.terms(entry, a.title, kept))
    lengths = np.fromiter((e.ids.size for e in rows), np.int64, len(rows))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate([e.ids for e in rows]) if rows else np.zeros(0, np.int64)
    values = np.concatenate([e.weights for e in rows]) if rows else np.zeros(0)
    shape = (len(articles), max(len(cache.vocabulary), 1))
    tf = sparse.csr_matrix((values, indices, indptr), shape=shape, dtype=np.float64)
    df = np.bincount(tf.indices, minlength=shape[1])
    idf = np.log((1.0 + shape[0]) / (1.0 + df)) + 1.0
    weighted = tf @ sparse.diags(idf)
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    out: sparse.csr_matrix = sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ weighted
    return out.tocsr()


def time_key(a: WindowText) -> tuple[bool, float, int]:
    """Stream order: by date, undated last, ties by key."""
    return (a.timestamp is None, a.timestamp or 0.0, a.key)
