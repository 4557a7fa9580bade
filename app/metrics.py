"""Prometheus metrics of the service (``GET /metrics``), one set per process.

Counters and histograms are updated where things happen (requests, ingest,
embedding, grouping, background jobs). Gauges that describe the database
(queue depth, oldest waiting article, labeller backlog) and this process's
connection pool are read when ``/metrics`` is scraped.

Several processes on one host (API processes, ``storyline worker``) share
their figures through prometheus-client's multiprocess mode: set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory that every process can
write, the same for all of them, before they start; ``/metrics`` of any API
process then sums them all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.multiprocess import mark_process_dead as _mark_dead
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from app.db import Database
from app.models import Article, ArticleStatus, JobMark, as_utc
from app.services.space import progress, store_model
from embeddings.protocol import Embedder

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_PER_ARTICLE = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

REQUESTS = Counter(
    "storyline_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "storyline_http_request_duration_seconds",
    "Time to answer, by method, route template and status.",
    ["method", "route", "status"],
    buckets=_LATENCY,
)
ARTICLES = Counter(
    "storyline_articles",
    "Articles posted, by outcome: accepted (new), revised (new text), duplicate (as stored), "
    "refused (invalid, nothing written).",
    ["outcome"],
)
EMBEDDED = Counter("storyline_embedded_texts", "Texts embedded by the model.")
EMBED_SECONDS = Histogram(
    "storyline_embedding_seconds_per_text",
    "Model time per text, observed once per model call (its mean).",
    buckets=_PER_ARTICLE,
)
GROUPED = Counter("storyline_grouped_articles", "Articles placed in a storyline.")
GROUP_SECONDS = Histogram(
    "storyline_grouping_seconds_per_article",
    "Placement time per article (decide, write, commit), once per batch (its mean).",
    buckets=_PER_ARTICLE,
)
JOB_RUNS = Counter(
    "storyline_job_runs",
    "Background job runs (discovery, labels), by outcome (ok, failed).",
    ["job", "outcome"],
)
JOB_SECONDS = Histogram(
    "storyline_job_duration_seconds",
    "Duration of background job runs (discovery, labels).",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
SSE_CLIENTS = Gauge(
    "storyline_sse_clients",
    "Clients connected to /changes/stream.",
    multiprocess_mode="livesum",
)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class TimedEmbedder:
    """An embedder that records its model time per text (the Embedder protocol)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        started = time.perf_counter()
        vectors = self.inner.embed(texts)
        if texts:
            EMBED_SECONDS.observe((time.perf_counter() - started) / len(texts))
            EMBEDDED.inc(len(texts))
        return vectors


def observe_grouping(articles: int, seconds: float) -> None:
    if articles:
        GROUPED.inc(articles)
        GROUP_SECONDS.observe(seconds / articles)


class DatabaseGauges(Collector):
    """Figures read from the database at scrape time, and this process's pools."""

    def __init__(self, db: Database, quota_engine: Engine | None = None) -> None:
        self.db = db
        self.quota_engine = quota_engine

    def collect(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily(
            "storyline_queue_articles", "Stored articles by status.", labels=["status"]
        )
        oldest = GaugeMetricFamily(
            "storyline_queue_oldest_waiting_seconds",
            "Age of the oldest article waiting to be embedded or grouped (0: none).",
        )
        backlog = GaugeMetricFamily(
            "storyline_labeller_backlog_articles",
            "Grouped articles the labeller has not yet counted.",
        )
        vectors = GaugeMetricFamily(
            "storyline_vectors",
            "Stored vectors of the store's model (current) and of another one still to "
            "re-embed after a model switch (left).",
            labels=["state"],
        )
        waiting = [ArticleStatus.pending, ArticleStatus.embedded]
        with self.db.session() as session:
            counts = dict(
                session.execute(select(Article.status, func.count()).group_by(Article.status)).all()
            )
            first = session.scalar(
                select(func.min(Article.ingested_at)).where(Article.status.in_(waiting))
            )
            newest = session.scalar(select(func.max(Article.group_seq))) or 0
            mark = session.scalar(select(JobMark.value).where(JobMark.name == "labels")) or 0
            model = store_model(session)
            space = progress(session, model) if model is not None else None
        for status in ArticleStatus:
            depth.add_metric([status.value], counts.get(status, 0))
        age = (datetime.now(UTC) - as_utc(first)).total_seconds() if first else 0.0
        oldest.add_metric([], max(0.0, age))
        backlog.add_metric([], max(0, newest - mark))
        vectors.add_metric(["current"], space.current if space else 0)
        vectors.add_metric(["left"], space.left if space else 0)
        pool = GaugeMetricFamily(
            "storyline_db_pool_connections",
            "This process's database connections, by pool (app; quota: the shared quota "
            "buckets' own) and state (checked_out, idle).",
            labels=["pool", "state"],
        )
        engines = {"app": self.db.engine, "quota": self.quota_engine}
        for name, engine in engines.items():
            if engine is None:
                continue
            # QueuePool (PostgreSQL) and SQLite's pools count both; others report 0.
            checked_out = getattr(engine.pool, "checkedout", None)
            idle = getattr(engine.pool, "checkedin", None)
            pool.add_metric([name, "checked_out"], checked_out() if callable(checked_out) else 0)
            pool.add_metric([name, "idle"], idle() if callable(idle) else 0)
        yield from (depth, oldest, backlog, vectors, pool)


def exposition(db: Database, quota_engine: Engine | None = None) -> bytes:
    """The text format of every metric: this process's (or all processes') plus the database's.

    ``quota_engine``: the pool of the shared quota buckets, when they have one.
    """
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        own = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        own = generate_latest(REGISTRY)
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(DatabaseGauges(db, quota_engine))
    return own + generate_latest(scraped)


def mark_process_dead() -> None:
    """In multiprocess mode, drop this process's live gauges (call when it exits)."""
    if multiprocess():
        _mark_dead(os.getpid())  # type: ignore[no-untyped-call]
