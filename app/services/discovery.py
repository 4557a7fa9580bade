"""Batch discovery in the service: repair the recent window without stalling ingestion.

A run takes a snapshot of the recent window (articles of unmerged storylines within
``window_days`` of stream time, at most ``max_articles``,
newest first), computes splits and merges with :func:`clustering.discovery.discover`
holding no lock, then applies them in one short transaction under the grouping
lock. A proposal whose storylines changed meanwhile (an article joined one,
another run merged it) is skipped; the next run sees the new state. Splits and
merges go through :mod:`app.services.lineage`, so ids keep their meaning and
every change is recorded with its reason. The in-memory grouper is rebuilt off
the lock, then swapped in. On PostgreSQL,
where serve processes on several hosts share the database, one run at a time
goes ahead (a session advisory lock); the others skip their turn.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.db import Database, exclusive_job, lock_writes
from app.models import Article, ArticleStatus, Storyline, StorylineStatus, as_utc
from app.services.changes import ChangeRecorder
from app.services.decisions import editor_decisions, unpinned
from app.services.grouping import GroupingRuntime
from app.services.lineage import merge_storylines, split_storyline
from clustering.discovery import (
    DiscoveryConfig,
    MergeProposal,
    Proposals,
    SplitProposal,
    WindowArticle,
    discover,
)
from clustering.window_terms import TermCache

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DiscoveryReport:
    """What one run looked at and changed."""

    articles: int
    splits: int
    merges: int
    skipped: int
    seconds: float  # whole run
    locked_seconds: float  # of which the grouping lock was held


class Discovery:
    """Runs discovery over the recent window of one database."""

    def __init__(
        self,
        db: Database,
        runtime: GroupingRuntime,
        config: DiscoveryConfig | None = None,
        *,
        window_days: float = 30.0,
        max_articles: int = 20_000,
    ) -> None:
        self.window_days = window_days  # stream days of recent articles looked at
        self.max_articles = max_articles  # at most this many of the most recently grouped
        self.db = db
        self.runtime = runtime
        self.config = config or DiscoveryConfig()
        self.seen_seq = -1  # highest group_seq at the last run
        self.locked_seconds = 0.0  # grouping lock held by the last apply
        self.cache = TermCache(capacity=2 * max_articles)

    def due(self) -> bool:
        """True when something was grouped since the last run."""
        with self.db.session() as session:
            return (session.scalar(select(func.max(Article.group_seq))) or 0) != self.seen_seq

    def run(self, now: datetime | None = None) -> DiscoveryReport:
        """One run; skipped (an empty report) while another process runs one on the database."""
        with exclusive_job(self.db.engine, "storyline-discovery") as mine:
            if not mine:
                return DiscoveryReport(0, 0, 0, 0, 0.0, 0.0)
            return self._run(now)

    def _run(self, now: datetime | None) -> DiscoveryReport:
        started = time.perf_counter()
        with self.db.session() as session:
            window, seq = self.snapshot(session, now)
        proposals = discover(window, self.config, self.cache)
        self.seen_seq = seq
        if not proposals.splits and not proposals.merges:
            return DiscoveryReport(len(window), 0, 0, 0, time.perf_counter() - started, 0.0)
        with self.db.session() as session:
            splits, merges, skipped = self.apply(session, proposals, now or datetime.now(UTC))
        done = time.perf_counter()
        report = DiscoveryReport(
            len(window), splits, merges, skipped, done - started, self.locked_seconds
        )
        log.info("discovery: %s", report)
        return report

    def snapshot(
        self, session: Session, now: datetime | None = None
    ) -> tuple[list[WindowArticle], int]:
        """The window's articles and the highest group_seq when it was read.

        Dated articles within ``window_days`` of the latest date;
        undated ones received within as many days of ``now``. An undated
        article's ingest time is no publication time, so it neither moves the
        window nor stands in for a date: discovery compares it by content.
        """
        seq = session.scalar(select(func.max(Article.group_seq))) or 0
        span = timedelta(days=self.window_days)
        latest = session.scalar(select(func.max(Article.published_at)))
        received = (now or datetime.now(UTC)) - span
        recent = and_(Article.published_at.is_(None), Article.ingested_at >= received)
        if latest is not None:
            recent = or_(recent, Article.published_at >= as_utc(latest) - span)
        # Dormant storylines count too: the window's time bound is what limits the work.
        live = select(Storyline.id).where(Storyline.status != StorylineStatus.merged)
        rows = session.execute(
            select(
                Article.id,
                Article.storyline_id,
                Article.embedding,
                Article.title,
                Article.body,
                Article.published_at,
            )
            .where(
                Article.status == ArticleStatus.grouped,
                Article.storyline_id.in_(live),
                recent,
                Article.group_seq <= seq,
            )
            .order_by(Article.group_seq.desc())
            .limit(self.max_articles)
        )
        window = [
            WindowArticle(
                key=article_id,
                storyline=storyline_id,
                vector=np.frombuffer(embedding, dtype=np.float32),
                title=title,
                body=body,
                timestamp=None if published is None else published.timestamp(),
            )
            for article_id, storyline_id, embedding, title, body, published in rows
            if embedding is not None and storyline_id is not None
        ]
        return window, seq

    def apply(self, session: Session, proposals: Proposals, now: datetime) -> tuple[int, int, int]:
        """Apply what still holds; returns (splits, merges, skipped).

        The grouping lock is held only for the writes. The grouper that knows the
        changes is then rebuilt off the lock from the live window and swapped in
        (:meth:`GroupingRuntime.refresh`); until then the old one may offer a
        merged storyline (placement follows ``merged_into``) or a split one's
        parent (still live), so nothing is placed wrongly for good. No catch-up
        under the lock either: an API process whose workers do the placing would
        otherwise replay everything they placed since it started.
        """
        runtime = self.runtime
        splits = merges = skipped = 0
        with runtime.lock:
            locked = time.perf_counter()
            lock_writes(session)
            changes = ChangeRecorder()
            decisions = editor_decisions(session)
            for split in proposals.splits:
                parts = _free_parts(session, split)
                if not decisions.may_split(split.storyline) or not parts:
                    skipped += 1
                    continue
                if not _split_holds(session, split):
                    skipped += 1
                    continue
                for part in parts:
                    split_storyline(session, split.storyline, part, _reason(split), now, changes)
                splits += 1
            for merge in proposals.merges:
                if not decisions.may_merge(merge.storylines) or not _merge_holds(session, merge):
                    skipped += 1
                    continue
                merge_storylines(session, merge.storylines, _reason(merge), now, changes)
                merges += 1
            changes.flush(session, now)
            session.commit()
            if splits or merges:
                runtime.refreshing = True  # set under the lock: no placement rebuilds now
            self.locked_seconds = time.perf_counter() - locked
        if splits or merges:
            runtime.refresh(self.db)
        return splits, merges, skipped


def _split_holds(session: Session, split: SplitProposal) -> bool:
    storyline = session.get(Storyline, split.storyline)
    if storyline is None or storyline.status == StorylineStatus.merged:
        return False
    moving = [key for part in split.parts for key in part]
    still = session.scalar(
        select(func.count(Article.id)).where(
            Article.id.in_(moving), Article.storyline_id == split.storyline
        )
    )
    return still == len(moving) and storyline.article_count > len(moving)


def _free_parts(session: Session, split: SplitProposal) -> list[tuple[int, ...]]:
    """The proposal's parts less the articles an editor placed (empty parts dropped)."""
    free = unpinned(session, [key for part in split.parts for key in part])
    parts = [tuple(key for key in part if key in free) for part in split.parts]
    return [part for part in parts if part]


def _merge_holds(session: Session, merge: MergeProposal) -> bool:
    rows = [session.get(Storyline, i) for i in merge.storylines]
    return all(r is not None and r.status != StorylineStatus.merged for r in rows)


def _reason(proposal: SplitProposal | MergeProposal) -> str:
    if isinstance(proposal, SplitProposal):
        return (
            f"discovery: average similarity across the parts {proposal.cohesion:.3f} "
            f"is below {proposal.threshold:.3f}"
        )
    return (
        f"discovery: average similarity between the storylines {proposal.similarity:.3f} "
        f"reaches {proposal.threshold:.3f}"
    )
