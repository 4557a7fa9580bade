"""The live grouper of this process: built from settings, rebuilt from the database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import lock_writes
from app.models import Article, ChangeKind, Storyline, StorylineStatus
from app.services.changes import ChangeRecorder
from app.services.lineage import merge_storylines, split_storyline
from clustering import CentroidGrouper, Item, OnlineGrouper


def make_grouper(settings: Settings) -> OnlineGrouper:
    """The default grouping method, configured by ``settings``."""
    return CentroidGrouper(threshold=settings.join_threshold, window_days=settings.window_days)


def article_item(article: Article) -> Item:
    """How grouping sees a stored article."""
    vector = np.frombuffer(article.embedding, dtype=np.float32)
    ts = article.published_at.timestamp() if article.published_at is not None else None
    return Item(vector=vector, title=article.title, body=article.body, timestamp=ts)


class GroupingRuntime:
    """Owns the in-memory grouper and serialises every decision through ``lock``.

    The database is the truth; the grouper is a cache of the live window that
    :meth:`rebuild` recreates from stored articles (at start-up, and after a
    failed write left it ahead of the database).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.grouper: OnlineGrouper = make_grouper(settings)
        self.horizon = timedelta(days=settings.live_horizon_days)
        self.stream_time: datetime | None = None

    def rebuild(self, session: Session) -> int:
        """Replay the articles of live storylines in ingest order; returns how many."""
        with self.lock:
            self.grouper = make_grouper(self.settings)
            self.stream_time = session.scalar(select(func.max(Storyline.last_published_at)))
            lock_writes(session)
            changes = ChangeRecorder()
            self.retire_silent(session, changes)
            changes.flush(session, datetime.now(UTC))
            session.commit()
            live = select(Storyline.id).where(Storyline.status == StorylineStatus.active)
            rows = session.scalars(
                select(Article)
                .where(Article.storyline_id.in_(live))
                .order_by(Article.id)
                .execution_options(yield_per=1000)
            )
            count = 0
            for article in rows:
                self.grouper.add(article_item(article), article.storyline_id)
                count += 1
            session.expunge_all()
            return count

    def merge(self, session: Session, ids: list[int], reason: str, now: datetime) -> int:
        """Merge storylines (oldest id survives), commit, and fold them in the grouper."""
        with self.lock:
            lock_writes(session)
            changes = ChangeRecorder()
            target = merge_storylines(session, ids, reason, now, changes)
            changes.flush(session, now)
            session.commit()
            for source in sorted(set(ids) - {target}):
                self.grouper.merge(source, target)
            return target

    def split(
        self,
        session: Session,
        storyline_id: int,
        article_ids: list[int],
        reason: str,
        now: datetime,
    ) -> int:
        """Split articles off into a new storyline, commit, and rebuild the grouper."""
        with self.lock:
            lock_writes(session)
            changes = ChangeRecorder()
            child = split_storyline(session, storyline_id, article_ids, reason, now, changes)
            changes.flush(session, now)
            session.commit()
            # Groupers hold per-storyline sums, not members, so a split is a rebuild.
            self.rebuild(session)
            return child

    def observe(self, effective_at: datetime) -> None:
        """Advance stream time, the clock that decides when storylines go dormant."""
        if self.stream_time is None or effective_at > self.stream_time:
            self.stream_time = effective_at

    def retire_silent(self, session: Session, changes: ChangeRecorder) -> None:
        """Mark active storylines silent for longer than the horizon as dormant."""
        if self.stream_time is None:
            return
        cutoff = self.stream_time - self.horizon
        silent = session.scalars(
            select(Storyline)
            .where(Storyline.status == StorylineStatus.active)
            .where(Storyline.last_published_at < cutoff)
        )
        for storyline in silent:
            storyline.status = StorylineStatus.dormant
            changes.note(storyline, ChangeKind.dormant)
