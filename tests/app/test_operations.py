"""Request ids, JSON logs that reach every project logger, liveness and readiness."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, update

from app.api.deps import get_session
from app.config import Settings
from app.db import Database, alembic_config, current_revision, head_revision
from app.logs import PROJECT_LOGGERS, configure_logging
from app.main import create_app
from app.models import Article, ArticleStatus, Storyline, StorylineStatus
from app.services.readiness import Readiness
from embeddings.protocol import Embedder
from embeddings.sentence import SentenceTransformerEmbedder
from tests.app.live_server import live_server
from tests.conftest import ADMIN_HEADERS, TEST_ADMIN_KEY, as_payload, shared_rows

ARTICLE = {"outlet": "a.com", "title": "Storm cuts power to coastal towns", "body": "Outage."}


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the service's JSON log handler writes during the test (logging restored after)."""
    root = logging.getLogger()
    saved = (
        root.level,
        list(root.handlers),
        {n: logging.getLogger(n).level for n in PROJECT_LOGGERS},
    )
    out = io.StringIO()
    handler = configure_logging("DEBUG", "json")
    handler.setStream(out)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)


def _records(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_request_ids_are_echoed_or_made(client: TestClient) -> None:
    sent = client.get("/storylines", headers={"X-Request-ID": "edge-7f3a.42"})
    assert sent.headers["x-request-id"] == "edge-7f3a.42"
    made = client.get("/storylines").headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0
    assert made != client.get("/storylines").headers["x-request-id"]
    # An id that could forge log lines is replaced, not echoed.
    forged = client.get("/storylines", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert len(forged.headers["x-request-id"]) == 32
    refused = client.get(
        "/storylines", headers={"Authorization": "Bearer nope", "X-Request-ID": "r1"}
    )
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "r1"


def test_json_log_lines_carry_request_id_route_status_and_key_name(
    client: TestClient, json_log: io.StringIO
) -> None:
    posted = client.post("/articles", json=ARTICLE, headers={"X-Request-ID": "post-1"})
    storyline = posted.json()["articles"][0]["storyline_id"]
    client.get(f"/storylines/{storyline}", headers={"X-Request-ID": "read-2"})
    client.get("/storylines", headers={"Authorization": "Bearer wrong", "X-Request-ID": "bad-3"})
    access = {r["request_id"]: r for r in _records(json_log) if r["logger"] == "storyline.access"}
    post, read, bad = access["post-1"], access["read-2"], access["bad-3"]
    assert (post["method"], post["route"], post["status"], post["key"]) == (
        "POST",
        "/articles",
        201,
        "admin",
    )
    assert (read["route"], read["path"], read["status"]) == (
        "/storylines/{storyline_id}",
        f"/storylines/{storyline}",
        200,
    )
    assert (bad["status"], bad["key"]) == (401, None)
    assert isinstance(post["duration_ms"], float) and post["duration_ms"] > 0
    assert {"time", "level", "message"} <= set(post)
    assert TEST_ADMIN_KEY not in json_log.getvalue()


def test_services_loggers_reach_the_handler(json_log: io.StringIO) -> None:
    """Discovery logs its report at INFO, the labeller at DEBUG, under app.services.*."""
    logging.getLogger("app.services.discovery").info("discovery: 2 splits")
    logging.getLogger("app.services.labeller").debug("labelled 3 storylines")
    logging.getLogger("sqlalchemy.engine").info("third-party chatter stays out")
    messages = [(r["logger"], r["level"], r["message"]) for r in _records(json_log)]
    assert messages == [
        ("app.services.discovery", "INFO", "discovery: 2 splits"),
        ("app.services.labeller", "DEBUG", "labelled 3 storylines"),
    ]


@pytest.mark.model  # the served process loads the default (ONNX) model
def test_serve_writes_one_json_object_per_line(tmp_path: Path, onnx_dir: Path) -> None:
    log = tmp_path / "serve.log"
    env = {
        "STORYLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'storyline.db'}",
        "STORYLINE_LOG_FORMAT": "json",
        "STORYLINE_ADMIN_KEY_FILE": str(tmp_path / "admin.key"),
        "STORYLINE_ADMIN_KEY": "",
    }
    with live_server(env, log) as base:
        key = (tmp_path / "admin.key").read_text().strip()
        answer = httpx.get(
            f"{base}/storylines",
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": "from-the-edge"},
            timeout=60,
        )
        assert answer.status_code == 200
    records = [json.loads(line) for line in log.read_text().splitlines()]
    access = [r for r in records if r.get("request_id") == "from-the-edge"]
    assert [(r["route"], r["status"], r["key"]) for r in access] == [("/storylines", 200, "admin")]
    assert any("created the first API key" in str(r["message"]) for r in records)
    assert any(r["logger"].startswith("uvicorn") for r in records)


def test_liveness_and_readiness(client: TestClient) -> None:
    bare = TestClient(client.app)
    assert bare.get("/health/live").json() == {"status": "ok"}
    ready = bare.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "model": "ok", "migrations": "ok", "queue": "ok"},
    }
    assert bare.get("/health").status_code == 200  # unchanged, for old probes


def test_not_ready_when_migrations_are_behind(client: TestClient) -> None:
    state = client.app.state.storyline  # type: ignore[attr-defined]
    head = alembic_config(state.db.engine)
    command.downgrade(head, "-1")
    try:
        behind = client.get("/health/ready")
        assert behind.status_code == 503
        assert behind.json()["status"] == "not ready"
        previous = current_revision(state.db.engine)
        assert previous is not None and previous != head_revision()
        expected = f"database at {previous}, this code expects {head_revision()}"
        assert behind.json()["checks"]["migrations"] == expected
    finally:
        command.upgrade(head, "head")
    assert client.get("/health/ready").status_code == 200


def test_not_ready_when_articles_wait_and_nothing_is_grouped(
    settings: Settings, embedder: SentenceTransformerEmbedder
) -> None:
    stalled = settings.model_copy(update={"async_ingest": True, "in_process_worker": False})
    with TestClient(create_app(stalled, embedder), headers=ADMIN_HEADERS) as client:
        assert client.post("/articles", json=ARTICLE).status_code == 202
        client.app.state.storyline.readiness.stall_seconds = 0.0  # type: ignore[attr-defined]
        client.get("/health/ready")  # the first look starts the clock
        wedged = client.get("/health/ready")
        assert wedged.status_code == 503
        assert wedged.json()["checks"]["queue"].startswith("wedged: 1 articles waiting")


def test_not_ready_when_the_database_is_unreachable() -> None:
    db = Database.from_url("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    try:
        checks = Readiness(db, None, stall_seconds=60).check()
    finally:
        db.dispose()
    assert checks == {
        "database": "unreachable: OperationalError",
        "model": "not loaded",
        "migrations": "unknown: no database",
        "queue": "unknown: no database",
    }


def test_a_500_answers_with_the_requests_own_id(
    settings: Settings, embedder: SentenceTransformerEmbedder
) -> None:
    app = create_app(settings, embedder)

    def broken() -> Iterator[None]:
        raise RuntimeError("the disk is on fire")
        yield

    app.dependency_overrides[get_session] = broken
    with TestClient(app, raise_server_exceptions=False, headers=ADMIN_HEADERS) as client:
        response = client.get("/articles/1", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.json()["request_id"] == "boom-1"
    assert response.headers.get_list("x-request-id") == ["boom-1"]


def _real_counts(url: str, model: str) -> dict[str, Any]:
    """What /health reports, counted from the tables themselves."""
    engine = create_engine(url)
    with engine.connect() as conn:
        articles = dict(
            conn.execute(select(Article.status, func.count()).group_by(Article.status)).all()
        )
        stories = dict(
            conn.execute(select(Storyline.status, func.count()).group_by(Storyline.status)).all()
        )
        models = dict(
            conn.execute(
                select(Article.embedding_model, func.count())
                .where(Article.embedding_model.is_not(None))
                .group_by(Article.embedding_model)
            ).all()
        )
    engine.dispose()
    return {
        "articles": {s.value: articles.get(s, 0) for s in ArticleStatus},
        "storylines": {s.value: stories.get(s, 0) for s in StorylineStatus},
        "current": models.pop(model, 0),
        "left": sum(models.values()),
    }


def test_health_counts_equal_real_counts_after_ingest_revision_merge_and_raw_sql(
    settings: Settings, embedder: Embedder
) -> None:
    """Kept by triggers: right whichever path writes, a raw SQL UPDATE included."""
    rows = shared_rows("data/basil.jsonl")[:60]
    with TestClient(
        create_app(settings, embedder), client=("127.0.0.1", 50000), headers=ADMIN_HEADERS
    ) as client:

        def check(step: str) -> None:
            health = client.get("/health").json()
            got = {
                "articles": health["articles"],
                "storylines": health["storylines"],
                "current": health["vectors"]["current"],
                "left": health["vectors"]["left"],
            }
            assert got == _real_counts(settings.database_url, health["vectors"]["model"]), step

        posted = client.post("/articles", json=[as_payload(r) for r in rows])
        assert posted.status_code == 201, posted.text
        ids = [a["id"] for a in posted.json()["articles"]]
        check("ingest")
        assert client.get("/health").json()["articles"]["grouped"] == len(rows)

        revised = {**as_payload(rows[0]), "body": "A wholly different report on a trade summit."}
        assert client.post("/articles", json=[revised]).status_code == 201
        check("revision")

        homes = sorted({client.get(f"/articles/{i}").json()["storyline_id"] for i in ids})
        merged = client.post(
            f"/storylines/{homes[1]}/merge", json={"into": homes[0], "reason": "test: one story"}
        )
        assert merged.status_code == 200, merged.text
        check("merge")
        assert client.get("/health").json()["storylines"]["merged"] == 1

        engine = create_engine(settings.database_url)
        with engine.begin() as conn:
            conn.execute(
                update(Article)
                .where(Article.id.in_(ids[:3]))
                .values(status=ArticleStatus.failed, embedding_model="another@model")
            )
            conn.execute(update(Storyline).where(Storyline.id == homes[2]).values(status="dormant"))
        engine.dispose()
        check("raw SQL")
        assert client.get("/health").json()["vectors"]["left"] == 3
