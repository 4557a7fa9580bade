"""Storing posted articles and assigning each to a storyline, durably and idempotently."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Database, lock_writes
from app.models import Article, ChangeKind, Outlet, Storyline, StorylineStatus
from app.services.changes import ChangeRecorder
from app.services.grouping import GroupingRuntime, article_item
from app.services.labels import count_terms, refresh_label
from app.services.prepare import PreparedArticle
from embeddings.protocol import Embedder
from embeddings.text import embedding_text


@dataclass(frozen=True, slots=True)
class Ingested:
    id: int
    created: bool
    storyline_id: int
    storyline_is_new: bool
    similarity: float


class Ingestor:
    """Embeds prepared articles and commits them with their storyline, in order.

    Thread-safe: embedding is serialised by one lock (the model already uses
    every core), grouping and writing by the runtime's lock, so decisions are
    deterministic for a given arrival order.
    """

    def __init__(self, db: Database, embedder: Embedder, runtime: GroupingRuntime) -> None:
        self.db = db
        self.embedder = embedder
        self.runtime = runtime
        self._embed_lock = threading.Lock()
        # Cumulative seconds spent in the model and in the grouping method, for
        # benchmarks and `storyline eval` (wall time minus these is storage work).
        self.embed_seconds = 0.0
        self.group_seconds = 0.0

    def ingest(self, articles: list[PreparedArticle], now: datetime) -> list[Ingested]:
        """Store ``articles`` (already validated); results follow the input order."""
        with self.db.session() as session:
            known = _existing(session, articles)
        todo = _first_of_each_key([a for a in articles if _key(a) not in known])
        vectors = self._embed(todo) if todo else np.zeros((0, 0), np.float32)
        try:
            stored = self._store(todo, vectors, now)
        except IntegrityError:
            # Another process stored one of these between our check and our write:
            # our in-memory grouper ran ahead of the database, so rebuild it and redo.
            with self.db.session() as session:
                self.runtime.rebuild(session)
            stored = self._store(todo, vectors, now)
        known.update(stored)
        return [known[_key(a)] for a in articles]

    def _embed(self, articles: list[PreparedArticle]) -> np.ndarray:
        return self.embed_texts([embedding_text(a.title, a.body) for a in articles])

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of ``texts`` from the service's model, one caller at a time."""
        with self._embed_lock:
            started = time.perf_counter()
            vectors = self.embedder.embed(texts)
            self.embed_seconds += time.perf_counter() - started
            return vectors

    def _store(
        self, articles: list[PreparedArticle], vectors: np.ndarray, now: datetime
    ) -> dict[tuple[str, str], Ingested]:
        results: dict[tuple[str, str], Ingested] = {}
        runtime = self.runtime
        with runtime.lock, self.db.session() as session:
            try:
                lock_writes(session)
                changes = ChangeRecorder()
                results.update(_existing(session, articles))  # raced in since the first look
                outlets = _outlets(session, {a.outlet for a in articles}, now)
                for article, vector in zip(articles, vectors, strict=True):
                    if _key(article) in results:
                        continue
                    outlet = outlets[article.outlet]
                    results[_key(article)] = self._place(
                        session, article, vector, outlet, now, changes
                    )
                fresh = [a for a in articles if results[_key(a)].created]
                count_terms(session, ((a.title, a.body) for a in fresh))
                for storyline_id in sorted({results[_key(a)].storyline_id for a in fresh}):
                    storyline = session.get(Storyline, storyline_id)
                    if storyline is not None:
                        refresh_label(session, storyline, changes)
                runtime.retire_silent(session, changes)
                changes.flush(session, now)
                session.commit()
            except Exception:
                session.rollback()
                runtime.rebuild(session)
                raise
        return results

    def _place(
        self,
        session: Session,
        article: PreparedArticle,
        vector: np.ndarray,
        outlet: Outlet,
        now: datetime,
        changes: ChangeRecorder,
    ) -> Ingested:
        row = Article(
            external_id=article.external_id,
            url=article.url,
            outlet_id=outlet.id,
            title=article.title,
            body=article.body,
            language=article.language,
            published_at=article.published_at,
            ingested_at=now,
            effective_at=article.published_at or now,
            content_hash=article.content_hash,
            embedding=vector.astype(np.float32).tobytes(),
            embedding_model=self.embedder.model_name,
            embedding_dim=int(vector.shape[0]),
            extra=article.metadata,
        )
        item = article_item(row)
        started = time.perf_counter()
        decision = self.runtime.grouper.decide(item)
        self.group_seconds += time.perf_counter() - started
        storyline = None
        if decision.storyline is not None:
            storyline = session.get(Storyline, decision.storyline)
        is_new = storyline is None
        if storyline is None:
            storyline = _open_storyline(session, row.effective_at, vector, now)
        new_outlet = is_new or not session.scalar(
            select(Article.id)
            .where(Article.storyline_id == storyline.id, Article.outlet_id == outlet.id)
            .limit(1)
        )
        row.storyline_id = storyline.id
        row.similarity = 1.0 if is_new else decision.similarity
        session.add(row)
        _grow(storyline, row, vector, new_outlet, now)
        session.flush()
        changes.note(storyline, ChangeKind.created if is_new else ChangeKind.grew)
        # The grouper learns of the article only now; a failed commit triggers a rebuild.
        started = time.perf_counter()
        self.runtime.grouper.add(item, storyline.id)
        self.group_seconds += time.perf_counter() - started
        self.runtime.observe(row.effective_at)
        return Ingested(row.id, True, storyline.id, is_new, row.similarity)


def _key(article: PreparedArticle) -> tuple[str, str]:
    """Identity of a posted article: external id, else URL, else outlet + content."""
    if article.external_id is not None:
        return ("external_id", article.external_id)
    if article.url is not None:
        return ("url", article.url)
    return ("content", f"{article.outlet}\0{article.content_hash}")


def _first_of_each_key(articles: list[PreparedArticle]) -> list[PreparedArticle]:
    seen: dict[tuple[str, str], PreparedArticle] = {}
    for a in articles:
        seen.setdefault(_key(a), a)
    return list(seen.values())


def _existing(session: Session, articles: list[PreparedArticle]) -> dict[tuple[str, str], Ingested]:
    """Already stored articles among ``articles``, by every identity they carry."""
    ext = {a.external_id for a in articles if a.external_id is not None}
    urls = {a.url for a in articles if a.url is not None}
    content = {(a.outlet, a.content_hash) for a in articles if a.external_id is a.url is None}
    clauses: list[ColumnElement[bool]] = []
    if ext:
        clauses.append(Article.external_id.in_(ext))
    if urls:
        clauses.append(Article.url.in_(urls))
    if content:
        clauses.append(
            and_(
                Article.external_id.is_(None),
                Article.url.is_(None),
                Article.content_hash.in_({h for _, h in content}),
            )
        )
    if not clauses:
        return {}
    found: dict[tuple[str, str], Ingested] = {}
    for row in session.scalars(select(Article).where(or_(*clauses))):
        result = Ingested(row.id, False, row.storyline_id, False, row.similarity)
        if row.external_id is not None:
            found[("external_id", row.external_id)] = result
        if row.url is not None:
            found[("url", row.url)] = result
        if row.external_id is None and row.url is None:
            found[("content", f"{row.outlet.name}\0{row.content_hash}")] = result
    # An article posted with an external id that is new but a URL already stored
    # is the stored article: the URL names it.
    for a in articles:
        ext_key, url_key = ("external_id", a.external_id or ""), ("url", a.url or "")
        if a.external_id and a.url and ext_key not in found and url_key in found:
            found[("external_id", a.external_id)] = found[("url", a.url)]
    return found


def _outlets(session: Session, names: set[str], now: datetime) -> dict[str, Outlet]:
    rows = {o.name: o for o in session.scalars(select(Outlet).where(Outlet.name.in_(names)))}
    for name in sorted(names - rows.keys()):
        rows[name] = Outlet(name=name, first_seen_at=now)
        session.add(rows[name])
    session.flush()
    return rows


def _open_storyline(session: Session, at: datetime, vector: np.ndarray, now: datetime) -> Storyline:
    storyline = Storyline(
        created_at=now,
        updated_at=now,
        first_published_at=at,
        last_published_at=at,
        article_count=0,
        outlet_count=0,
        centroid=np.zeros_like(vector, dtype=np.float32).tobytes(),
        status=StorylineStatus.active,
    )
    session.add(storyline)
    session.flush()
    return storyline


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
