"""Storing posted articles and assigning each to a storyline, durably and idempotently."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Database
from app.models import Article
from app.services.grouping import GroupingRuntime
from app.services.identity import (
    Ingested,
    existing,
    first_of_each_key,
    key_of,
    new_row,
    outlets_named,
)
from app.services.placement import Placer
from app.services.prepare import PreparedArticle
from embeddings.protocol import Embedder
from embeddings.text import embedding_text


class Ingestor:
    """Embeds prepared articles and commits them with their storyline, in order.

    Thread-safe: embedding is serialised by one lock (the model already uses
    every core), placement by the grouping step's locks, so decisions are
    deterministic for a given arrival order.
    """

    def __init__(self, db: Database, embedder: Embedder, runtime: GroupingRuntime) -> None:
        self.db = db
        self.embedder = embedder
        self.runtime = runtime
        self.placer = Placer(runtime)
        self._embed_lock = threading.Lock()
        # Cumulative seconds in the model, for benchmarks and `storyline eval`
        # (wall time minus this is storage and grouping work).
        self.embed_seconds = 0.0
        self.reused_vectors = 0

    @property
    def group_seconds(self) -> float:
        """Seconds spent inside the grouping method (decide and add)."""
        return self.placer.method_seconds

    def ingest(self, articles: list[PreparedArticle], now: datetime) -> list[Ingested]:
        """Store and place ``articles`` (already validated); results follow the input order."""
        with self.db.session() as session:
            known = existing(session, articles)
            todo = first_of_each_key([a for a in articles if key_of(a) not in known])
            vectors = self.vectors_for(session, [(a.title, a.body, a.content_hash) for a in todo])
        try:
            stored = self._store(todo, vectors, now)
        except IntegrityError:
            # Another process stored one of these between our look and our write
            # (the placer has rebuilt the grouper): look again and store the rest.
            stored = self._store(todo, vectors, now)
        known.update(stored)
        return [known[key_of(a)] for a in articles]

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
                )
            )
            if vector is not None
        }
        missing = [i for i, (_, _, h) in enumerate(texts) if h not in stored]
        out = np.zeros((len(texts), self.embedder.dimension), dtype=np.float32)
        if missing:
            fresh = self.embed_texts([embedding_text(texts[i][0], texts[i][1]) for i in missing])
            out[missing] = fresh
        for i, (_, _, h) in enumerate(texts):
            if h in stored:
                out[i] = np.frombuffer(stored[h], dtype=np.float32)
        self.reused_vectors += len(texts) - len(missing)
        return out

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
        with self.db.session() as session:
            # Checked again under the write lock: an identical request may have won.
            with self.runtime.lock:
                results = existing(session, articles)
                todo = [
                    (a, v)
                    for a, v in zip(articles, vectors, strict=True)
                    if key_of(a) not in results
                ]
                outlets = outlets_named(session, {a.outlet for a, _ in todo}, now)
                rows = [(new_row(a, outlets[a.outlet], now), v) for a, v in todo]
                placed = self.placer.place(session, rows, now, self.embedder.model_name)
            for (article, _), (row, _) in zip(todo, rows, strict=True):
                p = placed[row.id]
                results[key_of(article)] = Ingested(
                    row.id, True, row.status, p.storyline_id, p.storyline_is_new, p.similarity
                )
        return results
