"""Asynchronous ingest: accept now, embed in workers, group in the single grouping step.

``accept`` stores validated articles as ``pending`` and returns at once.
Workers ``claim`` pending articles under a lease (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so workers on many hosts never take the same article), embed them
and store the vectors (``embedded``); ``group_embedded`` then places embedded
articles, in arrival order, through the one grouping step. A worker killed
mid-batch leaves leases that expire and are taken again; an article that keeps
failing ends ``failed`` with the error, never silently dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import lock_writes, try_lock_writes
from app.models import Article, ArticleStatus
from app.services.identity import (
    Ingested,
    existing,
    first_of_each_key,
    key_of,
    new_row,
    outlets_named,
)
from app.services.ingest import Ingestor
from app.services.prepare import PreparedArticle

log = logging.getLogger("storyline.queue")


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    lease: timedelta
    max_attempts: int
    batch: int
    min_claim: int = 32  # the smallest share claim() cuts a batch down to


class ArticleQueue:
    """The pending-article pipeline over the database, driven by workers."""

    def __init__(self, ingestor: Ingestor, policy: QueuePolicy, worker_id: str) -> None:
        self.ingestor = ingestor
        self.db = ingestor.db
        self.policy = policy
        self.worker_id = worker_id

    def backlog(self) -> int:
        """Articles accepted but not yet grouped (pending or embedded)."""
        with self.db.session() as session:
            return (
                session.scalar(
                    select(func.count(Article.id)).where(
                        Article.status.in_([ArticleStatus.pending, ArticleStatus.embedded])
                    )
                )
                or 0
            )

    def latest_placement(self) -> int:
        """The grouping order (``group_seq``) of the newest placement, any process's."""
        with self.db.session() as session:
            return session.scalar(select(func.max(Article.group_seq))) or 0

    def synced_seq(self) -> int:
        """The newest placement this process's grouper has folded in."""
        return self.ingestor.runtime.synced_seq

    def accept(self, articles: list[PreparedArticle], now: datetime) -> list[Ingested]:
        """Store new articles as pending (idempotently); results follow the input order."""
        for attempt in (1, 2):
            try:
                return self._accept(articles, now)
            except IntegrityError:
                # An identical request won the race: the second look finds its rows.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _accept(self, articles: list[PreparedArticle], now: datetime) -> list[Ingested]:
        with self.db.session() as session:
            known = existing(session, articles)
            todo = first_of_each_key([a for a in articles if key_of(a) not in known])
            outlets = outlets_named(session, {a.outlet for a in todo}, now)
            rows = [new_row(a, outlets[a.outlet], now) for a in todo]
            session.add_all(rows)
            session.commit()
            for article, row in zip(todo, rows, strict=True):
                known[key_of(article)] = Ingested(
                    row.id, True, ArticleStatus.pending, None, False, None
                )
        return [known[key_of(a)] for a in articles]

    def claim(self, now: datetime) -> list[int]:
        """Lease pending articles to this worker; returns their ids.

        It takes up to ``batch``, but no more than its share of what is free:
        the free articles divided among this worker and the others holding
        leases now (at least ``min_claim``). At the end of a burst the last
        claims shrink, so the workers finish together instead of one embedding a
        full batch while the others idle; alone, a worker takes what ``batch``
        allows.
        """
        with self.db.session() as session:
            claimable = and_(
                Article.status == ArticleStatus.pending,
                or_(Article.claimed_until.is_(None), Article.claimed_until < now),
            )
            size = self._claim_size(session, claimable, now)
            if size == 0:
                return []
            query = (
                select(Article.id)
                .where(claimable)
                .order_by(Article.id)
                .limit(size)
                .with_for_update(skip_locked=True)
            )
            ids = list(session.scalars(query))
            if not ids:
                return []
            session.execute(
                update(Article)
                .where(Article.id.in_(ids))
                .values(
                    claimed_by=self.worker_id,
                    claimed_until=now + self.policy.lease,
                    attempts=Article.attempts + 1,
                )
            )
            session.commit()
            return ids

    def _claim_size(self, session: Session, claimable: ColumnElement[bool], now: datetime) -> int:
        """How many articles :meth:`claim` takes (0: none is free, nothing to lock)."""
        batch, floor = self.policy.batch, self.policy.min_claim
        if batch <= floor:
            return batch
        free = session.scalar(select(func.count()).where(claimable)) or 0
        if free <= floor:
            return floor if free else 0  # all that is free: no share is below the floor
        others = session.scalar(
            select(func.count(func.distinct(Article.claimed_by))).where(
                Article.status == ArticleStatus.pending,
                Article.claimed_until >= now,
                Article.claimed_by != self.worker_id,
            )
        )
        share = -(-free // (1 + (others or 0)))  # ceiling
        return min(batch, max(share, floor))

    def embed_claimed(self, ids: list[int], now: datetime) -> int:
        """Embed this worker's claimed articles and store their vectors; returns how many."""
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    select(Article).where(
                        Article.id.in_(ids),
                        Article.claimed_by == self.worker_id,
                        Article.status == ArticleStatus.pending,
                    )
                )
            )
            if not rows:
                return 0
            try:
                vectors = self.ingestor.vectors_for(
                    session, [(r.title, r.body, r.content_hash) for r in rows]
                )
            except Exception as exc:  # the model failed: record it on every row, retry later
                log.exception("embedding %d articles failed", len(rows))
                self._record_failure(rows, f"{type(exc).__name__}: {exc}")
                session.commit()
                return 0
            model = self.ingestor.embedder.model_name
            for row, vector in zip(rows, vectors, strict=True):
                row.embedding = np.asarray(vector, dtype=np.float32).tobytes()
                row.embedding_model = model
                row.embedding_dim = int(vector.shape[0])
                row.status = ArticleStatus.embedded
                row.claimed_by = row.claimed_until = None
                row.error = None
            session.commit()
            return len(rows)

    def group_embedded(self, now: datetime, limit: int = 500, *, wait: bool = True) -> int:
        """Place embedded articles (any worker's) in arrival order; returns how many.

        With ``wait=False`` it returns 0 at once when another thread or process
        is grouping, instead of queueing behind it.
        """
        ingestor = self.ingestor
        lock = ingestor.runtime.lock
        if not lock.acquire(blocking=wait):
            return 0
        try:
            with self.db.session() as session:
                return self._group(session, now, limit, wait)
        finally:
            lock.release()

    def _group(self, session: Session, now: datetime, limit: int, wait: bool) -> int:
        ingestor = self.ingestor
        # Look only once this process is the writer and has caught up, so two
        # workers can never both place the same embedded article.
        if wait:
            lock_writes(session)
        elif not try_lock_writes(session):
            return 0
        ingestor.runtime.catch_up(session)
        rows = list(
            session.scalars(
                select(Article)
                .where(Article.status == ArticleStatus.embedded)
                .order_by(Article.id)
                .limit(limit)
            )
        )
        if not rows:
            return 0
        pairs = [(r, np.frombuffer(r.embedding or b"", dtype=np.float32)) for r in rows]
        ingestor.placer.place(session, pairs, now, ingestor.embedder.model_name)
        return len(rows)

    def fail_exhausted(self, now: datetime) -> int:
        """Mark pending articles whose attempts are used up and lease expired as failed."""
        with self.db.session() as session:
            result = session.execute(
                update(Article)
                .where(
                    Article.status == ArticleStatus.pending,
                    Article.attempts >= self.policy.max_attempts,
                    or_(Article.claimed_until.is_(None), Article.claimed_until < now),
                )
                .values(
                    status=ArticleStatus.failed,
                    error=func.coalesce(Article.error, "gave up: worker lease expired repeatedly"),
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            session.commit()
            return int(getattr(result, "rowcount", 0) or 0)

    def _record_failure(self, rows: list[Article], error: str) -> None:
        for row in rows:
            row.error = error
            row.claimed_by = row.claimed_until = None
            if row.attempts >= self.policy.max_attempts:
                row.status = ArticleStatus.failed
