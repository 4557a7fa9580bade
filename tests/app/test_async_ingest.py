"""Asynchronous ingest: 202 now, grouped by workers; leases, retries, back-pressure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.config import Settings
from app.db import lock_writes
from app.main import create_app
from app.models import Article, ArticleStatus, Outlet, Term
from app.services.prepare import Limits, parse_payload
from app.services.worker import Worker
from app.state import ServiceState, WorkerConfig
from embeddings.protocol import Embedder
from tests.conftest import ADMIN_HEADERS, as_payload, shared_rows

ROOT = Path(__file__).resolve().parents[2]


def _async(settings: Settings, **extra: object) -> Settings:
    return settings.model_copy(update={"async_ingest": True, **extra})


def _worker(batch: int = 128) -> WorkerConfig:
    return WorkerConfig(batch=batch, poll_seconds=0.05)


def _wait_grouped(
    client: TestClient, ids: list[int], seconds: float = 60
) -> list[dict[str, object]]:
    deadline = time.monotonic() + seconds
    while True:
        articles = [client.get(f"/articles/{i}").json() for i in ids]
        if all(a["status"] == "grouped" for a in articles) or time.monotonic() > deadline:
            return articles
        time.sleep(0.1)


def test_post_answers_202_and_the_worker_groups_the_seeds(
    settings: Settings, embedder: Embedder
) -> None:
    seeds = [as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl")]
    with TestClient(create_app(_async(settings), embedder), headers=ADMIN_HEADERS) as client:
        response = client.post("/articles", json=seeds)
        assert response.status_code == 202
        accepted = response.json()["articles"]
        assert {a["status"] for a in accepted} == {"pending"}
        assert all(a["storyline_id"] is None for a in accepted)
        grouped = _wait_grouped(client, [a["id"] for a in accepted])
        assert [a["status"] for a in grouped] == ["grouped", "grouped"]
        assert grouped[0]["storyline_id"] == grouped[1]["storyline_id"] is not None
        again = client.post("/articles", json=seeds[0])
        assert again.status_code == 200
        assert again.json()["articles"][0]["status"] == "grouped"


def test_backlog_over_the_limit_gets_503_with_retry_after(
    settings: Settings, embedder: Embedder
) -> None:
    quiet = _async(settings, in_process_worker=False, max_backlog=2)
    rows = [as_payload(r) for r in shared_rows("data/basil.jsonl")[:3]]
    with TestClient(create_app(quiet, embedder), headers=ADMIN_HEADERS) as client:
        assert client.post("/articles", json=rows[:2]).status_code == 202
        refused = client.post("/articles", json=rows[2])
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) >= 1
        assert "waiting to be grouped" in refused.json()["detail"]


class _BrokenModel:
    """Stands in for a model that crashes: only the failure bookkeeping is under test."""

    model_name = "broken@1"
    dimension = 4

    def embed(self, texts: object) -> np.ndarray:
        raise RuntimeError("model exploded")


def test_an_article_that_keeps_failing_is_marked_failed_with_the_error(
    settings: Settings,
) -> None:
    state = ServiceState.start(_async(settings, max_attempts=2), _BrokenModel())
    try:
        now = datetime.now(UTC)
        batch = parse_payload(
            as_payload(shared_rows("data/basil.jsonl")[0]),
            Limits(10, 1_000_000, timedelta(days=1)),
            now,
        )
        article_id = state.ingestor.accept(batch, now)[0].id
        worker = Worker(state.ingestor, 0.01)
        for _ in range(3):
            worker.run_once()
        with state.db.session() as session:
            row = session.get(Article, article_id)
            assert row is not None
            assert row.status == ArticleStatus.failed
            assert row.attempts == 2
            assert row.error == "RuntimeError: model exploded"
    finally:
        state.close()


@pytest.fixture
def pending_corpus(settings: Settings, embedder: Embedder) -> Iterator[tuple[Settings, list[int]]]:
    """48 accepted, unprocessed articles; settings with short leases."""
    fast = _async(settings, in_process_worker=False, lease_seconds=3.0)
    state = ServiceState.start(fast, embedder, worker=_worker(48))
    now = datetime.now(UTC)
    rows = [as_payload(r) for r in shared_rows("data/basil.jsonl")[:48]]
    batch = parse_payload(rows, Limits(100, 1_000_000, timedelta(days=1)), now)
    ids = [r.id for r in state.ingestor.accept(batch, now)]
    state.close()
    yield fast, ids


def _worker_process(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "STORYLINE_DATABASE_URL": settings.database_url,
        "STORYLINE_ASYNC_INGEST": "true",
        "STORYLINE_LEASE_SECONDS": str(settings.lease_seconds),
    }
    command = [sys.executable, "-m", "app.cli", "worker", "--batch", "48", "--poll-seconds", "0.05"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _counts(state: ServiceState) -> dict[ArticleStatus, int]:
    with state.db.session() as session:
        rows = session.execute(select(Article.status, func.count()).group_by(Article.status))
        return {status: count for status, count in rows}


def test_worker_killed_mid_batch_loses_nothing(
    pending_corpus: tuple[Settings, list[int]], embedder: Embedder
) -> None:
    settings, ids = pending_corpus
    assert len(ids) == 48
    observer = ServiceState.start(settings, embedder)
    victim = _worker_process(settings)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until it holds its claims
            with observer.db.session() as session:
                claimed = session.scalar(
                    select(func.count()).where(Article.claimed_by.is_not(None))
                )
            if claimed:
                break
            time.sleep(0.05)
        assert claimed == 48, "the worker never claimed the batch"
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        assert _counts(observer) == {ArticleStatus.pending: 48}
        # A second worker process takes the batch again once the lease runs out.
        rescuer = _worker_process(settings)
        try:
            deadline = time.monotonic() + 180
            while _counts(observer).get(ArticleStatus.grouped) != 48:
                assert time.monotonic() < deadline, _counts(observer)
                time.sleep(0.2)
        finally:
            rescuer.send_signal(signal.SIGTERM)
            rescuer.wait(30)
        with observer.db.session() as session:
            attempts = set(session.scalars(select(Article.attempts)))
        assert attempts == {2}
    finally:
        if victim.poll() is None:
            victim.kill()
        observer.close()


def test_parallel_posts_bringing_the_same_new_outlets_all_succeed(
    settings: Settings, embedder: Embedder
) -> None:
    quiet = _async(settings, in_process_worker=False)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def post(client: TestClient, n: int) -> None:
        batch = [
            {
                "outlet": f"fresh-{k}.example",
                "url": f"https://fresh.example/{n}/{k}",
                "title": f"Report {n}-{k} on the council vote",
                "body": "The council voted on Tuesday.",
            }
            for k in range(5)
        ]
        barrier.wait()
        statuses.append(client.post("/articles", json=batch).status_code)

    with TestClient(create_app(quiet, embedder), headers=ADMIN_HEADERS) as client:
        threads = [threading.Thread(target=post, args=(client, n)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [202] * 8
        state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
        with state.db.session() as session:
            assert session.scalar(select(func.count()).select_from(Outlet)) == 5
            assert session.scalar(select(func.count()).select_from(Article)) == 40


def test_a_worker_embeds_on_while_another_is_grouping(
    settings: Settings, embedder: Embedder
) -> None:
    state = ServiceState.start(
        _async(settings, in_process_worker=False), embedder, worker=_worker(2)
    )
    holding, release = threading.Event(), threading.Event()

    def another_grouper() -> None:
        # What a grouping step elsewhere holds: this process's grouping lock and,
        # on PostgreSQL, the write lock every host's grouping step takes.
        with state.ingestor.runtime.lock, state.db.session() as session:
            lock_writes(session)
            holding.set()
            release.wait(60)

    try:
        now = datetime.now(UTC)
        rows = [as_payload(r) for r in shared_rows("data/basil.jsonl")[:4]]
        batch = parse_payload(rows, Limits(10, 1_000_000, timedelta(days=1)), now)
        state.ingestor.accept(batch, now)
        worker = Worker(state.ingestor, 0.01)
        holder = threading.Thread(target=another_grouper)
        holder.start()
        assert holding.wait(30)
        rounds = threading.Thread(target=lambda: [worker.run_once() for _ in range(2)])
        rounds.start()
        rounds.join(120)
        stalled = rounds.is_alive()
        counts = _counts(state)
        release.set()
        holder.join(30)
        rounds.join(30)
        assert not stalled, "the worker waited for the other grouping step"
        assert counts == {ArticleStatus.embedded: 4}
        # Nothing left to embed: now it waits its turn and groups everything.
        _drain(worker)
        assert _counts(state) == {ArticleStatus.grouped: 4}
    finally:
        release.set()
        state.close()


def test_a_worker_with_more_to_embed_leaves_grouping_to_the_current_grouper(
    settings: Settings, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    # Two hosts on one database, each with its own grouping runtime.
    config, worker = _async(settings, in_process_worker=False), _worker(2)
    first = ServiceState.start(config, embedder, worker=worker)
    second = ServiceState.start(config, embedder, worker=worker)
    try:
        now = datetime.now(UTC)
        rows = [as_payload(r) for r in shared_rows("data/basil.jsonl")[:6]]
        batch = parse_payload(rows, Limits(10, 1_000_000, timedelta(days=1)), now)
        grouper, other = Worker(first.ingestor, 0.01), Worker(second.ingestor, 0.01)
        first.ingestor.accept(batch[:2], now)
        _drain(grouper)
        first.ingestor.accept(batch[2:], now)
        # More to embed, behind the first host, which has placed since this
        # worker last looked: it embeds and leaves the placing, replaying nothing.
        assert other.run_once() == 2
        assert _counts(first) == {
            ArticleStatus.grouped: 2,
            ArticleStatus.embedded: 2,
            ArticleStatus.pending: 2,
        }
        assert second.runtime.synced_seq == 0
        # Nobody has placed since its last look: the other grouper may be gone,
        # so it catches up and places everything embedded.
        with caplog.at_level("DEBUG", logger="storyline.worker"):
            assert other.run_once() == 2 + 4
        assert _counts(first) == {ArticleStatus.grouped: 6}
        # At DEBUG each round says what it moved and how long each step took.
        assert "claimed and embedded 2 in " in caplog.messages[-1]
        assert ", grouped 4 in " in caplog.messages[-1]
        assert second.runtime.synced_seq == 6
    finally:
        first.close()
        second.close()


def test_claims_shrink_to_a_fair_share_at_the_end_of_a_burst(
    settings: Settings, embedder: Embedder
) -> None:
    # Two hosts' workers on one database; batches of 4, shares of at least 2.
    config, worker = _async(settings, in_process_worker=False), _worker(4)
    first = ServiceState.start(config, embedder, worker=worker)
    second = ServiceState.start(config, embedder, worker=worker)
    try:
        for ingestor in (first.ingestor, second.ingestor):
            ingestor.policy = replace(ingestor.policy, min_claim=2)
        now = datetime.now(UTC)
        rows = [as_payload(r) for r in shared_rows("data/basil.jsonl")[:10]]
        batch = parse_payload(rows, Limits(10, 1_000_000, timedelta(days=1)), now)
        first.ingestor.accept(batch, now)
        # Alone, a worker takes a full batch; then each takes its share of what
        # is left with the other holding a lease, never less than the minimum.
        assert len(first.ingestor.lease(now)) == 4  # 10 free, nobody else: min(4, 10)
        assert len(second.ingestor.lease(now)) == 3  # 6 free, one other: ceil(6 / 2)
        assert len(first.ingestor.lease(now)) == 2  # 3 free, one other: ceil(3 / 2)
        assert len(second.ingestor.lease(now)) == 1  # 1 free: the minimum share, capped
        assert second.ingestor.lease(now) == []
        # Leases that lapsed are nobody's: a worker alone takes a full batch again.
        later = now + config.lease_seconds * timedelta(seconds=1) + timedelta(seconds=1)
        assert len(first.ingestor.lease(later)) == 4
    finally:
        first.close()
        second.close()


def test_labels_count_the_grouped_articles_not_the_pending_ones(
    settings: Settings, embedder: Embedder
) -> None:
    state = ServiceState.start(_async(settings, in_process_worker=False), embedder)

    def documents() -> int | None:
        with state.db.session() as session:
            return session.scalar(select(Term.df).where(Term.term == ""))

    try:
        now = datetime.now(UTC)
        rows = [as_payload(r) for r in shared_rows("data/basil.jsonl")[:8]]
        batch = parse_payload(rows, Limits(10, 1_000_000, timedelta(days=1)), now)
        worker = Worker(state.ingestor, 0.01)
        state.ingestor.accept(batch[:5], now)
        _drain(worker)
        state.ingestor.accept(batch[5:], now)
        state.labeller.run()
        assert documents() == 5
        _drain(worker)
        state.labeller.run()
        assert documents() == 8
        assert _counts(state) == {ArticleStatus.grouped: 8}
    finally:
        state.close()


def _drain(worker: Worker) -> None:
    """Run worker rounds until one finds nothing to do."""
    while worker.run_once():
        continue
