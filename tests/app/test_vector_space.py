"""One vector space per store: backends never mix, a switch re-embeds in the background."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.config import Settings
from app.errors import ModelMismatch
from app.main import create_app
from app.models import Article, ArticleStatus, Storyline
from app.services.prepare import Limits, PreparedArticle, parse_payload
from app.services.space import progress, store_model
from app.services.worker import Worker
from app.state import ServiceState
from embeddings.protocol import Embedder
from embeddings.text import embedding_text
from tests.conftest import ADMIN_HEADERS, as_payload, shared_rows


def _articles(rows: list[dict[str, object]]) -> list[PreparedArticle]:
    now = datetime.now(UTC)
    return parse_payload(rows, Limits(50, 1_000_000, timedelta(days=1)), now)


def _seeds() -> list[dict[str, object]]:
    return [as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl")]


def _stored_models(state: ServiceState) -> list[str | None]:
    with state.db.session() as session:
        return list(session.scalars(select(Article.embedding_model).order_by(Article.id)))


def test_a_switched_store_reembeds_every_vector_and_groups_with_them(
    settings: Settings, embedder: Embedder, torch_embedder: Embedder
) -> None:
    seeds = _articles(_seeds())
    old = ServiceState.start(settings, torch_embedder)
    try:
        first = old.ingestor.ingest(seeds, datetime.now(UTC))
    finally:
        old.close()
    assert first[0].storyline_id == first[1].storyline_id

    state = ServiceState.start(settings, embedder)
    try:
        with state.db.session() as session:
            assert store_model(session) == embedder.model_name
            assert progress(session, embedder.model_name).left == 2
        # The torch vectors are never compared with ONNX ones: the grouper starts empty.
        assert len(state.runtime.grouper) == 0
        assert state.reembedder.due()
        assert state.reembedder.run() == 2
        assert not state.reembedder.due()
        assert _stored_models(state) == [embedder.model_name] * 2
        with state.db.session() as session:
            assert progress(session, embedder.model_name).left == 0
            stored = [
                np.frombuffer(v, dtype=np.float32)
                for v in session.scalars(select(Article.embedding).order_by(Article.id))
            ]
            centroid = session.scalar(select(Storyline.centroid))
        expected = embedder.embed([embedding_text(a.title, a.body) for a in seeds])
        np.testing.assert_allclose(np.stack(stored), expected, atol=1e-6)
        np.testing.assert_allclose(
            np.frombuffer(centroid or b"", dtype=np.float32), expected.mean(axis=0), atol=1e-6
        )
        assert len(state.runtime.grouper) == 1
        # The re-embedded storyline takes a repost of its story.
        repost = _articles([{**_seeds()[1], "external_id": "repost", "url": None}])
        (again,) = state.ingestor.ingest(repost, datetime.now(UTC))
        assert again.created and again.storyline_id == first[0].storyline_id
    finally:
        state.close()


def test_a_process_with_the_old_backend_is_refused_once_the_store_switched(
    settings: Settings, embedder: Embedder, torch_embedder: Embedder
) -> None:
    first, second = _seeds()
    with TestClient(create_app(settings, torch_embedder), headers=ADMIN_HEADERS) as old:
        assert old.post("/articles", json=first).status_code == 201
        new = ServiceState.start(settings, embedder)
        try:
            refused = old.post("/articles", json=second)
            assert refused.status_code == 409
            detail = refused.json()["detail"]
            assert embedder.model_name in detail and torch_embedder.model_name in detail
            old_state: ServiceState = old.app.state.storyline  # type: ignore[attr-defined]
            with pytest.raises(ModelMismatch, match="may not mix"):
                old_state.ingestor.ingest(_articles([second]), datetime.now(UTC))
            assert _stored_models(new) == [torch_embedder.model_name]
            (stored,) = new.ingestor.ingest(_articles([second]), datetime.now(UTC))
            assert stored.created
            assert _stored_models(new) == [torch_embedder.model_name, embedder.model_name]
        finally:
            new.close()


def test_health_shows_the_background_reembedding_until_none_are_left(
    settings: Settings, embedder: Embedder, torch_embedder: Embedder
) -> None:
    old = ServiceState.start(settings, torch_embedder)
    try:
        old.ingestor.ingest(_articles(_seeds()), datetime.now(UTC))
    finally:
        old.close()
    with TestClient(create_app(settings, embedder), headers=ADMIN_HEADERS) as client:
        health = client.get("/health").json()
        assert health["vectors"]["model"] == embedder.model_name
        assert health["vectors"]["current"] + health["vectors"]["left"] == 2
        deadline = time.monotonic() + 60
        # Once none are left, the grouper is rebuilt with the re-embedded storyline.
        while health["live_storylines"] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
            health = client.get("/health").json()
        assert health["vectors"] == {
            "model": embedder.model_name,
            "family": "english",
            "current": 2,
            "left": 0,
        }
        assert health["live_storylines"] == 1
        metrics = client.get("/metrics").text
        assert 'storyline_vectors{state="current"} 2.0' in metrics
        assert 'storyline_vectors{state="left"} 0.0' in metrics


def test_articles_embedded_by_the_old_backend_are_embedded_again_before_grouping(
    settings: Settings, embedder: Embedder, torch_embedder: Embedder
) -> None:
    config = settings.model_copy(update={"async_ingest": True, "in_process_worker": False})
    old = ServiceState.start(config, torch_embedder)
    try:
        now = datetime.now(UTC)
        old.ingestor.accept(_articles(_seeds()), now)
        old.ingestor.embed(old.ingestor.lease(now))
        assert _stored_models(old) == [torch_embedder.model_name] * 2
    finally:
        old.close()

    state = ServiceState.start(config, embedder)
    try:
        worker = Worker(state.ingestor, 0.01)
        for _ in range(4):
            worker.run_once()
        with state.db.session() as session:
            statuses = session.execute(
                select(Article.status, func.count()).group_by(Article.status)
            ).all()
        assert dict(statuses) == {ArticleStatus.grouped: 2}
        assert _stored_models(state) == [embedder.model_name] * 2
        assert len(state.runtime.grouper) == 1
    finally:
        state.close()
