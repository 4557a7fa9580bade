"""GET /metrics: Prometheus text that parses, counters that move, several processes summed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.main import create_app
from embeddings.protocol import Embedder
from tests.app.live_server import ROOT, live_server
from tests.conftest import ADMIN_HEADERS, mint_key


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _article(n: int) -> dict[str, str]:
    return {
        "outlet": "a.com",
        "title": f"Ferry strike halts island crossings {n}",
        "body": "Strike.",
    }


def test_metrics_need_a_read_key_or_a_local_scraper(client: TestClient) -> None:
    bare = TestClient(client.app)
    assert bare.get("/metrics").status_code == 401
    assert bare.get("/metrics", headers=mint_key(client, "ingest")).status_code == 403
    read = bare.get("/metrics", headers=mint_key(client, "read"))
    assert read.status_code == 200
    assert read.headers["content-type"].startswith("text/plain")
    local = TestClient(client.app, client=("127.0.0.1", 40000))
    assert local.get("/metrics").status_code == 200


def test_counters_move_when_articles_are_posted(client: TestClient) -> None:
    before = _samples(client.get("/metrics").text)
    first = client.post("/articles", json=[_article(1), _article(2)])
    assert first.status_code == 201
    again = client.post("/articles", json=[_article(1)])
    assert again.status_code == 200
    refused = client.post("/articles", json=[{"outlet": "a.com", "title": "", "body": ""}])
    assert refused.status_code == 422
    after = _samples(client.get("/metrics").text)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("storyline_articles_total", outcome="accepted") == 2
    assert moved("storyline_articles_total", outcome="duplicate") == 1
    assert moved("storyline_articles_total", outcome="refused") == 1
    post = {"method": "POST", "route": "/articles"}
    assert moved("storyline_http_requests_total", status="201", **post) == 1
    assert moved("storyline_http_requests_total", status="422", **post) == 1
    assert moved("storyline_http_request_duration_seconds_count", status="200", **post) == 1
    assert moved("storyline_embedded_texts_total") == 2
    assert moved("storyline_embedding_seconds_per_text_count") == 1  # one model call
    assert moved("storyline_grouped_articles_total") == 2
    assert moved("storyline_grouping_seconds_per_article_count") == 1
    assert _value(after, "storyline_queue_articles", status="grouped") == 2
    assert _value(after, "storyline_queue_oldest_waiting_seconds") == 0
    assert _value(after, "storyline_labeller_backlog_articles") == 2  # labeller is off in tests
    assert _value(after, "storyline_sse_clients") == 0
    pool = ("storyline_db_pool_connections", (("pool", "app"), ("state", "checked_out")))
    assert pool in after
    # A 404 is counted under one label, not one per path asked for.
    client.get("/no/such/path/1")
    client.get("/no/such/path/2")
    unmatched = _samples(client.get("/metrics").text)
    assert (
        _value(
            unmatched,
            "storyline_http_requests_total",
            method="GET",
            route="unmatched",
            status="404",
        )
        - _value(
            after, "storyline_http_requests_total", method="GET", route="unmatched", status="404"
        )
        == 2
    )


def test_the_pool_gauge_shows_the_quota_pool_where_quotas_have_one(
    settings: Settings, embedder: Embedder, database_url: str
) -> None:
    limited = settings.model_copy(update={"quota_reads_per_second": 50.0})
    with TestClient(create_app(limited, embedder), headers=ADMIN_HEADERS) as client:
        assert client.get("/storylines").status_code == 200  # charges the read quota
        samples = _samples(client.get("/metrics").text)
    quota = {
        state: samples.get(("storyline_db_pool_connections", (("pool", "quota"), ("state", state))))
        for state in ("checked_out", "idle")
    }
    if database_url.startswith("postgresql"):
        # One connection, opened by the first claim of a lease and back in the pool.
        assert quota == {"checked_out": 0, "idle": 1}
    else:  # SQLite: buckets in memory, no pool
        assert quota == {"checked_out": None, "idle": None}
    assert _value(samples, "storyline_db_pool_connections", pool="app", state="idle") >= 1


@pytest.mark.model  # the served process loads the default (ONNX) model
def test_a_worker_process_metrics_reach_the_apis_endpoint(tmp_path: Path, onnx_dir: Path) -> None:
    """PROMETHEUS_MULTIPROC_DIR: the API's /metrics sums what a separate worker grouped."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {
        "STORYLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'storyline.db'}",
        "STORYLINE_ASYNC_INGEST": "true",
        "STORYLINE_IN_PROCESS_WORKER": "false",
        "STORYLINE_WORKER_POLL_SECONDS": "0.1",
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    with live_server(env) as base:
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            posted = httpx.post(
                f"{base}/articles",
                json=[_article(1), _article(2), _article(3)],
                headers=ADMIN_HEADERS,
                timeout=60,
            )
            assert posted.status_code == 202
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                # A scraper on the same host needs no key.
                samples = _samples(httpx.get(f"{base}/metrics", timeout=60).text)
                if _value(samples, "storyline_grouped_articles_total") == 3:
                    break
                time.sleep(0.5)
            assert _value(samples, "storyline_grouped_articles_total") == 3
            assert _value(samples, "storyline_embedded_texts_total") == 3
            assert _value(samples, "storyline_articles_total", outcome="accepted") == 3
            assert _value(samples, "storyline_queue_articles", status="grouped") == 3
        finally:
            worker.terminate()
            worker.wait(30)
