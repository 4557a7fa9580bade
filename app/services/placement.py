"""The grouping step: place embedded articles into storylines, one writer at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import lock_writes, reserve_ids
from app.models import Article, ArticleStatus, ChangeKind, Storyline, StorylineStatus
from app.services.changes import ChangeRecorder
from app.services.grouping import GroupingRuntime, article_item
from app.services.lineage import follow_merges
from clustering.labels import provisional_label


@dataclass(frozen=True, slots=True)
class Placement:
    storyline_id: int
    storyline_is_new: bool
    similarity: float


class Placer:
    """Decides, persists and records placements; callers commit nothing themselves.

    :meth:`place` takes article rows (new or stored) with their vectors, runs
    under the runtime lock and the global write lock, and commits once. On any
    failure it rolls back and rebuilds the grouper, which had run ahead.
    """

    def __init__(self, runtime: GroupingRuntime) -> None:
        self.runtime = runtime
        self.method_seconds = 0.0  # time inside the grouping method itself

    def place(
        self,
        session: Session,
        rows: list[tuple[Article, np.ndarray]],
        now: datetime,
        model_name: str,
    ) -> dict[int, Placement]:
        """Place ``rows`` in order; returns article id -> placement (after commit)."""
        runtime = self.runtime
        with runtime.lock:
            try:
                lock_writes(session)
                runtime.catch_up(session)
                batch = _Batch(session, len(rows), now)
                placed = {}
                # Nothing reaches the database until every row is decided: the
                # storylines the batch opens go in first, in one INSERT with
                # their final counts, then the articles that point at them.
                with session.no_autoflush:
                    for row, vector in rows:
                        placed[id(row)] = self._place_one(batch, row, vector)
                session.add_all(batch.opened.values())
                session.flush()
                for row, vector in rows:
                    _settle(row, vector, placed[id(row)], model_name, runtime.next_group_seq())
                    session.add(row)
                runtime.retire_silent(session, batch.changes)
                batch.changes.flush(session, now)
                session.commit()
            except Exception:
                session.rollback()
                runtime.rebuild(session)
                raise
        return {row.id: placed[id(row)] for row, _ in rows}

    def _place_one(self, batch: _Batch, row: Article, vector: np.ndarray) -> Placement:
        runtime = self.runtime
        item = article_item(row, vector)
        started = time.perf_counter()
        decision = runtime.grouper.decide(item)
        self.method_seconds += time.perf_counter() - started
        storyline = None if decision.storyline is None else batch.storyline(decision.storyline)
        is_new = storyline is None
        if storyline is None:
            storyline = batch.open(row, vector)
        new_outlet = is_new or batch.new_outlet(storyline.id, row.outlet_id)
        _grow(storyline, row, vector, new_outlet, batch.now)
        batch.changes.note(storyline, ChangeKind.created if is_new else ChangeKind.grew)
        # The grouper learns of the article only now; a failed commit triggers a rebuild.
        started = time.perf_counter()
        runtime.grouper.add(item, storyline.id)
        self.method_seconds += time.perf_counter() - started
        runtime.observe(row.effective_at)
        return Placement(storyline.id, is_new, 1.0 if is_new else decision.similarity)


class _Batch:
    """What one placement transaction has decided so far, before any of it is flushed."""

    def __init__(self, session: Session, size: int, now: datetime) -> None:
        self.session = session
        self.size = size  # rows in the batch: no more storylines than that are opened
        self.now = now
        self.changes = ChangeRecorder()
        self.opened: dict[int, Storyline] = {}  # by id, not yet inserted
        self._free_ids: list[int] | None = None  # reserved at the first opening, last first
        # (storyline, outlet) pairs placed in this batch: the database knows the rest.
        self._pairs: set[tuple[int, int]] = set()

    def storyline(self, storyline_id: int) -> Storyline | None:
        """The live storyline ``storyline_id`` stands for (following merges), or None."""
        storyline = self.opened.get(storyline_id) or self.session.get(Storyline, storyline_id)
        # A grouper a step behind a merge may name the absorbed storyline: follow it.
        return follow_merges(self.session, storyline)

    def open(self, row: Article, vector: np.ndarray) -> Storyline:
        if self._free_ids is None:
            # One reservation covers the batch: it opens at most one storyline per row.
            self._free_ids = reserve_ids(self.session, Storyline, self.size)[::-1]
        at = row.effective_at
        zeros = np.zeros_like(vector, dtype=np.float32).tobytes()
        storyline = Storyline.opened(at, zeros, self.now)
        storyline.id = self._free_ids.pop()
        # Labels are built in the background (app.services.labeller); until then, the headline.
        storyline.label = provisional_label(row.title, at, at)
        self.opened[storyline.id] = storyline
        self._pairs.add((storyline.id, row.outlet_id))
        return storyline

    def new_outlet(self, storyline_id: int, outlet_id: int) -> bool:
        """Whether ``outlet_id`` has no article in the (existing) storyline yet."""
        pair = (storyline_id, outlet_id)
        if pair in self._pairs:
            return False
        self._pairs.add(pair)
        if storyline_id in self.opened:
            return True
        query = select(Article.id).where(
            Article.storyline_id == storyline_id, Article.outlet_id == outlet_id
        )
        return self.session.scalar(query.limit(1)) is None


def _settle(
    row: Article, vector: np.ndarray, placement: Placement, model_name: str, group_seq: int
) -> None:
    """Write a placed article's outcome onto its row."""
    row.embedding = vector.astype(np.float32).tobytes()
    row.embedding_model = model_name
    row.embedding_dim = int(vector.shape[0])
    row.storyline_id = placement.storyline_id
    row.similarity = placement.similarity
    row.status = ArticleStatus.grouped
    row.group_seq = group_seq
    row.claimed_by = row.claimed_until = None


def _grow(
    storyline: Storyline, row: Article, vector: np.ndarray, new_outlet: bool, now: datetime
) -> None:
    """Fold one article into the storyline's counters, span and mean vector."""
    n = storyline.article_count
    mean = np.frombuffer(storyline.centroid, dtype=np.float32)
    storyline.centroid = ((mean * n + vector) / (n + 1)).astype(np.float32).tobytes()
    storyline.article_count = n + 1
    storyline.outlet_count += int(new_outlet)
    storyline.first_published_at = min(storyline.first_published_at, row.effective_at)
    storyline.last_published_at = max(storyline.last_published_at, row.effective_at)
    storyline.updated_at = now
    if storyline.status == StorylineStatus.dormant:
        storyline.status = StorylineStatus.active
