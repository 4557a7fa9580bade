"""Finding storylines by meaning (query vector against centroids) and by words."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.models import Storyline, StorylineChange, StorylineStatus
from app.services import fulltext
from clustering.words import STOP_WORDS, WORD

# Least score of a hit worth showing. Unrelated text sits at cosine 0.0-0.25 to a
# storyline's centroid with MiniLM, a paraphrase of its story at 0.45 and above; a
# word hit scores the share of the query's words it found.
MIN_SCORE = 0.35


@dataclass(frozen=True, slots=True)
class Hit:
    storyline_id: int
    score: float
    reasons: tuple[str, ...]


class CentroidIndex:
    """Unit centroids of every storyline not merged away, kept current by the change feed.

    ``refresh`` reads only the storylines named by changes since the last
    refresh, so a search costs one small query plus one matrix product.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq: int | None = None
        self._centroids: dict[int, np.ndarray] = {}
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, 0), dtype=np.float32)

    def refresh(self, session: Session) -> None:
        with self._lock:
            latest = session.scalar(select(func.coalesce(func.max(StorylineChange.seq), 0))) or 0
            if self._seq is None:
                self._load(session, select(Storyline.id))
            elif latest > self._seq:
                named = select(StorylineChange.storyline_id).where(StorylineChange.seq > self._seq)
                self._load(session, named)
            else:
                return
            self._seq = latest
            order = sorted(self._centroids)
            self._ids = np.array(order, dtype=np.int64)
            self._matrix = (
                np.stack([self._centroids[i] for i in order])
                if order
                else np.zeros((0, 0), dtype=np.float32)
            )

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` storylines whose centroids are closest to unit ``vector`` (cosine)."""
        with self._lock:
            if self._ids.size == 0:
                return []
            sims = self._matrix @ vector
            if k < sims.size:  # the k best in linear time, then only those sorted
                best = np.argpartition(-sims, k - 1)[:k]
                top = best[np.lexsort((self._ids[best], -sims[best]))]
            else:
                top = np.lexsort((self._ids, -sims))
            return [(int(self._ids[i]), float(sims[i])) for i in top]

    def _load(self, session: Session, ids: Select[Any]) -> None:
        rows = session.execute(
            select(Storyline.id, Storyline.centroid, Storyline.status).where(Storyline.id.in_(ids))
        )
        for sid, centroid, status in rows:
            self._centroids.pop(sid, None)
            if status != StorylineStatus.merged:
                v = np.frombuffer(centroid, dtype=np.float32)
                self._centroids[sid] = (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def search(
    session: Session, index: CentroidIndex, query: str, vector: np.ndarray, limit: int
) -> list[Hit]:
    """Storylines for ``query``: by meaning, by label words, by headline words; best first."""
    index.refresh(session)
    hits: dict[int, list[tuple[float, str]]] = {}
    for sid, sim in index.nearest(vector, limit):
        hits.setdefault(sid, []).append((sim, f"meaning: cosine {sim:.2f} to the storyline"))
    # Stop words would match nearly every headline and lift unrelated storylines.
    lowered = (m.lower() for m in WORD.findall(query))
    words = [w for w in lowered if len(w) > 1 and w not in STOP_WORDS][:8]
    if words:
        for sid, label in fulltext.labels(session, words, limit):
            found = [w for w in words if w in label.lower()]
            score = len(found) / len(words)
            hits.setdefault(sid, []).append((score, f"words in label: {', '.join(found)}"))
        in_title = fulltext.headlines(session, words, limit * 4)
        for storyline_id, article_id, title in in_title:
            if storyline_id is None:
                continue
            sid = storyline_id
            found = [w for w in words if w in title.lower()]
            if any("headline" in r for _, r in hits.get(sid, [])):
                continue
            score = 0.9 * len(found) / len(words)
            reason = f"words in headline of article {article_id}: {', '.join(found)}"
            hits.setdefault(sid, []).append((score, reason))
    ranked = sorted(
        (
            Hit(sid, max(s for s, _ in reasons), tuple(r for _, r in reasons))
            for sid, reasons in hits.items()
        ),
        key=lambda h: (-h.score, h.storyline_id),
    )
    return ranked[:limit]
