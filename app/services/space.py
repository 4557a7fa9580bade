"""The store's vector space: which model's vectors are compared, and re-embedding after a switch.

Vectors of two models (or of one model run by two backends: torch and int8
ONNX agree closely, not exactly) are never compared. The store records one
model in ``vector_space``; grouping replays only that model's vectors; a
placement by a process embedding with another model is refused (409). A
process that starts with a new model takes the store over, and the
:class:`Reembedder` re-embeds the older vectors in the background, in
batches, resumably: what is left is simply every vector of another model.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import Database, lock_writes
from app.errors import ModelMismatch
from app.models import Article, Storyline, VectorSpace
from app.services.counts import ARTICLE_MODEL, kept
from app.services.lineage import mean_vector

if TYPE_CHECKING:  # placement imports this module, and ingest imports placement
    from app.services.grouping import GroupingRuntime
    from app.services.ingest import Ingestor

log = logging.getLogger("storyline.space")

_ROW = 1


def store_model(session: Session) -> str | None:
    """The model whose vectors the store compares; None for a store with none yet."""
    return session.scalar(select(VectorSpace.model).where(VectorSpace.id == _ROW))


def adopt(
    session: Session, model: str, dimension: int, now: datetime, family: str = "english"
) -> str | None:
    """Make ``model`` (of ``family``: english, multilingual) the store's vector space and
    commit; returns the model it replaced."""
    lock_writes(session)
    row = session.get(VectorSpace, _ROW)
    previous = None if row is None else row.model
    if row is None:
        session.add(
            VectorSpace(id=_ROW, model=model, dimension=dimension, since=now, family=family)
        )
    elif row.model != model:
        log.warning("the store's vectors were %s; re-embedding them with %s", row.model, model)
        row.model, row.dimension, row.since, row.family = model, dimension, now, family
    session.commit()
    return previous if previous != model else None


def require(session: Session, model: str) -> None:
    """Raise :class:`ModelMismatch` unless the store compares ``model``'s vectors.

    Call holding the write lock, so no process takes the store over meanwhile.
    """
    current = store_model(session)
    if current is not None and current != model:
        raise ModelMismatch(
            f"this store now holds vectors of {current}; this process embeds with {model} "
            "and may not mix them: restart it with the store's backend"
        )


def store_family(session: Session) -> str | None:
    """The setting (english, multilingual) that chose the store's model; None before any."""
    return session.scalar(select(VectorSpace.family).where(VectorSpace.id == _ROW))


@dataclass(frozen=True, slots=True)
class Progress:
    model: str
    current: int  # stored vectors of ``model``
    left: int  # stored vectors of any other model, still to re-embed


def progress(session: Session, model: str) -> Progress:
    """How many stored vectors are of ``model`` and how many still wait for it."""
    # The model is written and cleared with the vector; triggers keep the count per model
    # (app.services.counts): counting its index read every article (1M: hundreds of ms).
    counts = kept(session, ARTICLE_MODEL)
    current = counts.pop(model, 0)
    return Progress(model, current, sum(counts.values()))


class Reembedder:
    """Re-embeds vectors of other models with this process's model, a batch at a time.

    Each batch commits on its own, so a stopped run resumes where it left off.
    When none are left, storyline centroids are recomputed from their members
    and the grouper is rebuilt with the re-embedded articles.
    """

    def __init__(
        self, db: Database, ingestor: Ingestor, runtime: GroupingRuntime, batch: int = 64
    ) -> None:
        self.db = db
        self.ingestor = ingestor
        self.runtime = runtime
        self.batch = batch
        self.model = ingestor.embedder.model_name
        self.stopping = threading.Event()
        self._left: bool | None = None  # unknown until asked

    def due(self) -> bool:
        if self._left is None:
            with self.db.session() as session:
                self._left = progress(session, self.model).left > 0
        return self._left

    def run(self) -> int:
        """Re-embed everything left (or until ``stopping``); returns how many vectors."""
        done = 0
        while not self.stopping.is_set():
            count = self.run_batch()
            if count == 0:
                break
            done += count
        if done and not self.stopping.is_set():
            self._finish()
        return done

    def run_batch(self) -> int:
        """Re-embed up to ``batch`` vectors; 0 once none of another model are left."""
        with self.db.session() as session:
            rows = session.execute(
                select(Article.id, Article.title, Article.body, Article.content_hash)
                .where(Article.embedding.is_not(None), Article.embedding_model != self.model)
                .order_by(Article.id)
                .limit(self.batch)
            ).all()
            if not rows:
                self._left = False
                return 0
            # Duplicates of content already in this model reuse its vector.
            vectors = self.ingestor.vectors_for(session, [(t, b, h) for _, t, b, h in rows])
        with self.db.session() as session:
            lock_writes(session)
            require(session, self.model)
            for (article_id, *_), vector in zip(rows, vectors, strict=True):
                session.execute(
                    update(Article)
                    .where(Article.id == article_id, Article.embedding_model != self.model)
                    .values(
                        embedding=np.asarray(vector, dtype=np.float32).tobytes(),
                        embedding_model=self.model,
                        embedding_dim=int(vector.shape[0]),
                    )
                )
            session.commit()
        return len(rows)

    def _finish(self) -> None:
        with self.db.session() as session:
            lock_writes(session)
            recompute_centroids(session)
            session.commit()
        self.runtime.refresh(self.db)
        log.info("re-embedding done: every stored vector is of %s", self.model)


def recompute_centroids(session: Session) -> int:
    """Set every storyline's centroid to the mean of its members' vectors; returns how many."""
    rows = session.execute(
        select(Article.storyline_id, Article.embedding)
        .where(Article.storyline_id.is_not(None), Article.embedding.is_not(None))
        .order_by(Article.storyline_id)
        .execution_options(yield_per=1000)
    )
    done = 0
    for storyline_id, members in groupby(rows, key=lambda row: row[0]):
        embeddings = [embedding for _, embedding in members if embedding is not None]
        width = len(embeddings[0]) // np.dtype(np.float32).itemsize
        session.execute(
            update(Storyline)
            .where(Storyline.id == storyline_id)
            .values(centroid=mean_vector(embeddings, width))
        )
        done += 1
    return done
