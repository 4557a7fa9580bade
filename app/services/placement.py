"""The grouping step: place embedded articles into storylines, one writer at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.db import lock_writes
from app.models import Article, ArticleStatus, ChangeKind, Storyline, StorylineStatus
from app.services.changes import ChangeRecorder
from app.services.grouping import GroupingRuntime, article_item
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
                changes = ChangeRecorder()
                placed = {}
                # (storyline, outlet) pairs placed in this batch, not yet flushed.
                pairs: set[tuple[int, int]] = set()
                for row, vector in rows:
                    placed[id(row)] = self._place_one(
                        session, row, vector, now, model_name, changes, pairs
                    )
                runtime.retire_silent(session, changes)
                changes.flush(session, now)
                session.commit()
            except Exception:
                session.rollback()
                runtime.rebuild(session)
                raise
        return {row.id: placed[id(row)] for row, _ in rows}

    def _place_one(
        self,
        session: Session,
        row: Article,
        vector: np.ndarray,
        now: datetime,
        model_name: str,
        changes: ChangeRecorder,
        pairs: set[tuple[int, int]],
    ) -> Placement:
        runtime = self.runtime
        item = article_item(row, vector)
        started = time.perf_counter()
        decision = runtime.grouper.decide(item)
        self.method_seconds += time.perf_counter() - started
        storyline = None
        if decision.storyline is not None:
            storyline = session.get(Storyline, decision.storyline)
            # A grouper a step behind a merge may name the absorbed storyline: follow it.
            while storyline is not None and storyline.merged_into is not None:
                storyline = session.get(Storyline, storyline.merged_into)
        is_new = storyline is None
        if storyline is None:
            storyline = _open_storyline(session, row, vector, now)
        # Rows of this batch reach the database in one flush at the end, not one by
        # one: the outlet check asks the database only about what was there before.
        pair = (storyline.id, row.outlet_id)
        with session.no_autoflush:
            new_outlet = is_new or (
                pair not in pairs
                and not session.scalar(
                    select(Article.id)
                    .where(Article.storyline_id == pair[0], Article.outlet_id == pair[1])
                    .limit(1)
                )
            )
        pairs.add(pair)
        row.embedding = vector.astype(np.float32).tobytes()
        row.embedding_model = model_name
        row.embedding_dim = int(vector.shape[0])
        row.storyline_id = storyline.id
        row.similarity = 1.0 if is_new else decision.similarity
        row.status = ArticleStatus.grouped
        row.group_seq = runtime.next_group_seq()
        row.claimed_by = row.claimed_until = None
        session.add(row)
        _grow(storyline, row, vector, new_outlet, now)
        changes.note(storyline, ChangeKind.created if is_new else ChangeKind.grew)
        # The grouper learns of the article only now; a failed commit triggers a rebuild.
        started = time.perf_counter()
        runtime.grouper.add(item, storyline.id)
        self.method_seconds += time.perf_counter() - started
        runtime.observe(row.effective_at)
        return Placement(storyline.id, is_new, row.similarity)


def _open_storyline(session: Session, row: Article, vector: np.ndarray, now: datetime) -> Storyline:
    at = row.effective_at
    values = Storyline.opening(at, np.zeros_like(vector, dtype=np.float32).tobytes(), now)
    # Labels are built in the background (app.services.labeller); until then, the headline.
    values["label"] = provisional_label(row.title, at, at)
    # Inserted on its own for its id (RETURNING gives the tracked row); the batch's
    # other rows wait for one flush at the end.
    with session.no_autoflush:
        return session.scalars(insert(Storyline).returning(Storyline), [values]).one()


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
