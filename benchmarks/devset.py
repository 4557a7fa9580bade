"""Labelled corpora as the grouping research tools replay them: articles, vectors, order.

Articles are read with :func:`app.corpus.read_corpus`, cleaned with
:func:`app.text.clean_text` and embedded as the service embeds them
(:func:`embeddings.text.embedding_text` of the cleaned title and body, the model
that :func:`app.state.make_embedder` builds from the default settings). Vectors
are kept by :class:`embeddings.cache.CachedEmbedder` in ``.cache/embeddings``, the
cache ``storyline eval`` uses, so a text embedded by either is never embedded again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.config import Settings
from app.corpus import read_corpus
from app.state import ModelCall
from app.text import clean_text
from clustering.online import Item
from embeddings.cache import CachedEmbedder
from embeddings.protocol import Embedder
from embeddings.text import embedding_text

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "embeddings"

Vectors = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Article:
    """One labelled article, cleaned; ``timestamp`` in Unix seconds, None when undated."""

    id: str
    story: str
    title: str
    body: str
    timestamp: float | None
    outlet: str
    language: str = ""

    def item(self, vector: Vectors) -> Item:
        """The article as an online grouper sees it."""
        return Item(vector, self.title, self.body, self.timestamp, self.language)

    def redated(self, timestamp: float) -> Article:
        return replace(self, timestamp=timestamp)


def parse_timestamp(value: str | None) -> float | None:
    """ISO 8601 date or date-time (naive read as UTC) to Unix seconds, None if absent."""
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def load_articles(path: Path) -> list[Article]:
    """The articles of a corpus in the shared schema, in file order; every row needs a story."""
    out = []
    for row in read_corpus(path):
        if row.story is None:
            raise ValueError(f"{path}:{row.line}: no gold 'story'")
        p = row.payload
        out.append(
            Article(
                id=str(p["external_id"]),
                story=row.story,
                title=clean_text(p["title"]),
                body=clean_text(p["body"]),
                timestamp=parse_timestamp(p["published_at"]),
                outlet=p["outlet"] or "",
                language=str(p.get("language") or ""),
            )
        )
    return out


@cache
def embedder() -> Embedder:
    """The service's default model behind the shared on-disk cache (built once)."""
    from app.process import configure_process
    from app.state import make_embedder

    settings = Settings()
    configure_process(settings)
    return CachedEmbedder(make_embedder(settings), CACHE)


def embed(articles: Sequence[Article]) -> Vectors:
    """Unit-norm float32 vectors, shape (n, d), as the service computes them."""
    max_tokens = ModelCall().max_tokens
    texts = [embedding_text(a.title, a.body, max_tokens) for a in articles]
    return embedder().embed(texts)


def load(path: Path) -> tuple[list[Article], Vectors]:
    """Articles of ``path`` and their vectors."""
    articles = load_articles(path)
    return articles, embed(articles)


def arrival_order(articles: Sequence[Article]) -> list[int]:
    """Indices in arrival order: by timestamp, stable, undated articles last.

    The order ``storyline eval`` replays a corpus in (``app.services.evaluate.replay_order``).
    """
    return sorted(
        range(len(articles)),
        key=lambda i: (articles[i].timestamp is None, articles[i].timestamp or 0.0),
    )


def story_half(story: str) -> int:
    """0 or 1, a fixed hash split of stories for held-out evaluation."""
    return hashlib.sha256(story.encode("utf-8")).digest()[0] % 2


def half(
    articles: Sequence[Article], vectors: Vectors, which: int | None
) -> tuple[list[Article], Vectors]:
    """The articles (and vectors) of one story half; all of them for None."""
    if which is None:
        return list(articles), vectors
    keep = [i for i, a in enumerate(articles) if story_half(a.story) == which]
    return [articles[i] for i in keep], vectors[keep]


def gold_labels(articles: Sequence[Article]) -> NDArray[np.int64]:
    """Gold story of each article as an int64 code."""
    codes: NDArray[np.int64] = np.unique([a.story for a in articles], return_inverse=True)[1]
    return codes.astype(np.int64)
