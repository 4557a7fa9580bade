"""The one ingest pipeline: accept, lease, embed, place.

``accept`` stores validated articles as ``pending`` and resolves their identity
(a re-post answers with the stored article). ``lease`` hands pending articles
to one embedder at a time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers
on many hosts never take the same article), ``embed`` stores their vectors
(``embedded``) and ``place`` puts embedded articles into storylines through the
single grouping step (:meth:`GroupingRuntime.place`).

Asynchronous ingest runs the steps in workers (:mod:`app.services.worker`);
synchronous ingest (:meth:`Ingestor.ingest`) runs them inline on the articles
it accepted, which it leases to itself as it stores them. A process killed
mid-way leaves leases that expire and are taken again; an article that keeps
failing ends ``failed`` with the error, never silently dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Database, lock_writes
from app.models import Article, ArticleStatus
from app.services.grouping import GroupingRuntime
from app.services.identity import Ingested, Outcome, resolve
from app.services.placement import Placement
from app.services.prepare import PreparedArticle
from app.services.space import require as require_space
from embeddings.protocol import Embedder
from embeddings.text import embedding_text

log = logging.getLogger("storyline.ingest")


@dataclass(frozen=True, slots=True)
class LeasePolicy:
    lease: timedelta
    max_attempts: int
    batch: int
    min_claim: int = 32  # the smallest share lease() cuts a batch down to


class Ingestor:
    """The ingest pipeline over the database, for one process (``worker_id``).

    Thread-safe: embedding is serialised by one lock (the model already uses
    every core), placement by the grouping step's locks, so decisions are
    deterministic for a given arrival order.
    """

    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        runtime: GroupingRuntime,
        policy: LeasePolicy,
        worker_id: str,
        max_tokens: int,
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.max_tokens = max_tokens  # word pieces the model reads: where the text is cut
        self.runtime = runtime
        self.policy = policy
        self.worker_id = worker_id
        self._embed_lock = threading.Lock()
        # Cumulative seconds in the model, for benchmarks and `storyline eval`
        # (wall time minus this is storage and grouping work).
        self.embed_seconds = 0.0
        self.embed_cpu_seconds = 0.0  # the same calls in CPU time of the whole process
        self.reused_vectors = 0

    @property
    def group_seconds(self) -> float:
        """Seconds spent inside the grouping method (decide and add)."""
        return self.runtime.method_seconds

    # -- synchronous ingest: the steps below, inline --------------------------------------

    def ingest(self, articles: list[PreparedArticle], now: datetime) -> list[Ingested]:
        """Accept, embed and place ``articles`` now; results follow the input order.

        The articles this call stores are leased to it as they are stored, so
        no worker takes them; should the model fail, they stay pending with the
        error and are retried like any other (status ``pending`` in the answer).
        """
        accepted = self.accept(articles, now, lease=True)
        mine = sorted(
            {r.id for r in accepted if r.outcome != Outcome.unchanged and r.status == "pending"}
        )
        if not mine:
            return accepted
        self.embed(mine, release=False)
        placed = self.place(now, ids=mine) or {}
        with self.db.session() as session:
            rows = {
                row.id: row for row in session.scalars(select(Article).where(Article.id.in_(mine)))
            }
        out = []
        for result in accepted:
            row = rows.get(result.id)
            if row is None:
                out.append(result)
                continue
            p = placed.get(row.id)
            out.append(
                Ingested(
                    row.id,
                    result.outcome,
                    row.status,
                    row.storyline_id,
                    p is not None and p.storyline_is_new,
                    row.similarity,
                )
            )
        return out

    # -- accept ---------------------------------------------------------------------------

    def accept(
        self, articles: list[PreparedArticle], now: datetime, *, lease: bool = False
    ) -> list[Ingested]:
        """Store new articles and revisions as pending; results follow the input order.

        Re-posts are resolved by :func:`app.services.identity.resolve`: unchanged,
        or revised in batch order. With ``lease`` the rows to embed are leased
        to this process as they are stored (synchronous ingest embeds them itself).
        """
        for attempt in (1, 2):
            try:
                return self._accept(articles, now, lease, exclusive=attempt == 2)
            except IntegrityError:
                # An identical request won the race: the second look finds its rows.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _accept(
        self, articles: list[PreparedArticle], now: datetime, lease: bool, exclusive: bool
    ) -> list[Ingested]:
        if lease:  # this process embeds them: refused before storing, if it may not
            with self.db.session() as session:
                require_space(session, self.embedder.model_name)
        # A revision must not land between a grouping step reading a row and
        # placing it, so revisions are written as a grouping step: under the
        # locks. Most batches revise nothing and need none.
        if not exclusive:
            with self.db.session() as session:
                resolved = resolve(session, articles, now)
                if all(outcome != Outcome.revised for _, outcome in resolved):
                    return self._commit(session, resolved, now, lease)
                session.rollback()
        with self.runtime.lock, self.db.session() as session:
            lock_writes(session)
            return self._commit(session, resolve(session, articles, now), now, lease)

    def _commit(
        self,
        session: Session,
        resolved: list[tuple[Article, Outcome]],
        now: datetime,
        lease: bool,
    ) -> list[Ingested]:
        if lease:
            for row, outcome in resolved:
                if row.status == ArticleStatus.pending and outcome != Outcome.unchanged:
                    row.claimed_by = self.worker_id
                    row.claimed_until = now + self.policy.lease
                    row.attempts = 1
        session.commit()
        return [Ingested.of(row, outcome) for row, outcome in resolved]

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

    # -- lease ----------------------------------------------------------------------------

    def lease(self, now: datetime) -> list[int]:
        """Lease pending articles to this process; returns their ids.

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
            size = self._lease_size(session, claimable, now)
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

    def _lease_size(self, session: Session, claimable: ColumnElement[bool], now: datetime) -> int:
        """How many articles :meth:`lease` takes (0: none is free, nothing to lock)."""
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

    # -- embed ----------------------------------------------------------------------------

    def embed(self, ids: list[int], *, release: bool = True) -> int:
        """Embed this process's leased articles and store their vectors; returns how many.

        With ``release`` the leases end here and any process's grouping step may
        place the rows; without, they stay this process's to place until the
        lease lapses (synchronous ingest answers with their placements).
        """
        with self.db.session() as session:
            # A process left with the store's previous model embeds nothing more.
            require_space(session, self.embedder.model_name)
            rows = list(
                session.scalars(
                    select(Article)
                    .where(
                        Article.id.in_(ids),
                        Article.claimed_by == self.worker_id,
                        Article.status == ArticleStatus.pending,
                    )
                    .order_by(Article.id)
                )
            )
            if not rows:
                return 0
            try:
                vectors = self.vectors_for(
                    session, [(r.title, r.body, r.content_hash) for r in rows]
                )
            except Exception as exc:  # the model failed: record it on every row, retry later
                log.exception("embedding %d articles failed", len(rows))
                self._record_failure(rows, f"{type(exc).__name__}: {exc}")
                session.commit()
                return 0
            model = self.embedder.model_name
            done = {"status": ArticleStatus.embedded, "error": None}
            if release:
                done |= {"claimed_by": None, "claimed_until": None}
            # Only rows still leased to this process as they were read: a revision
            # posted meanwhile took the lease away and will be embedded anew.
            session.execute(
                update(Article)
                .where(
                    Article.claimed_by == self.worker_id,
                    Article.status == ArticleStatus.pending,
                )
                .execution_options(synchronize_session=None),
                [
                    {
                        "id": row.id,
                        "embedding": np.asarray(vector, dtype=np.float32).tobytes(),
                        "embedding_model": model,
                        "embedding_dim": int(vector.shape[0]),
                        **done,
                    }
                    for row, vector in zip(rows, vectors, strict=True)
                ],
            )
            session.commit()
            return len(rows)

    def vectors_for(self, session: Session, texts: list[tuple[str, str, str]]) -> np.ndarray:
        """Vectors for (title, body, content_hash) triples.

        Exact duplicates (syndicated wire copy) reuse the vector already stored
        for the same content and model instead of running the model again.
        """
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        hashes = {h for _, _, h in texts}
        stored: dict[str, bytes] = {
            content_hash: vector
            for content_hash, vector in session.execute(
                select(Article.content_hash, Article.embedding).where(
                    Article.content_hash.in_(hashes),
                    Article.embedding_model == self.embedder.model_name,
                    # A revision waiting for its vector still holds the old text's.
                    Article.status.in_([ArticleStatus.embedded, ArticleStatus.grouped]),
                )
            )
            if vector is not None
        }
        missing = [i for i, (_, _, h) in enumerate(texts) if h not in stored]
        out = np.zeros((len(texts), self.embedder.dimension), dtype=np.float32)
        if missing:
            fresh = self.embed_texts(
                [embedding_text(texts[i][0], texts[i][1], self.max_tokens) for i in missing]
            )
            out[missing] = fresh
        for i, (_, _, h) in enumerate(texts):
            if h in stored:
                out[i] = np.frombuffer(stored[h], dtype=np.float32)
        self.reused_vectors += len(texts) - len(missing)
        return out

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of ``texts`` from the service's model, one caller at a time."""
        with self._embed_lock:
            started, cpu_started = time.perf_counter(), time.process_time()
            vectors = self.embedder.embed(texts)
            self.embed_seconds += time.perf_counter() - started
            self.embed_cpu_seconds += time.process_time() - cpu_started
            return vectors

    def _record_failure(self, rows: list[Article], error: str) -> None:
        for row in rows:
            row.error = error
            row.claimed_by = row.claimed_until = None
            if row.attempts >= self.policy.max_attempts:
                row.status = ArticleStatus.failed

    # -- place ----------------------------------------------------------------------------

    def place(
        self,
        now: datetime,
        *,
        ids: list[int] | None = None,
        limit: int = 500,
        wait: bool = True,
    ) -> dict[int, Placement] | None:
        """Place embedded articles in arrival order: ``ids``, else any not leased (up to ``limit``).

        Returns article id -> placement; None, with ``wait=False``, when another
        thread or process is placing (instead of queueing behind it).
        """
        pick = select(Article).where(Article.status == ArticleStatus.embedded)
        if ids is not None:
            pick = pick.where(Article.id.in_(ids), Article.claimed_by == self.worker_id)
        else:
            free = or_(Article.claimed_until.is_(None), Article.claimed_until < now)
            pick = pick.where(free).limit(limit)
        with self.db.session() as session:
            return self.runtime.place(session, pick.order_by(Article.id), now, wait=wait)

    def latest_placement(self) -> int:
        """The grouping order (``group_seq``) of the newest placement, any process's."""
        with self.db.session() as session:
            return session.scalar(select(func.max(Article.group_seq))) or 0

    def synced_seq(self) -> int:
        """The newest placement this process's grouper has folded in."""
        return self.runtime.synced_seq
