"""Per-key quotas: 429 with Retry-After over them, one bucket per key, shared on PostgreSQL."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text

from app.config import Settings
from app.db import migrate
from app.main import create_app
from app.services.quota import LeaseTerms, MemoryQuotas, Rate, SharedQuotas, retry_after
from embeddings.sentence import SentenceTransformerEmbedder
from tests.app.live_server import live_server
from tests.conftest import ADMIN_HEADERS, TEST_ADMIN_KEY, mint_key


@pytest.fixture
def limited(settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    """2 reads a second (bursts of 4) and 3 articles a minute, batches of at most 2."""
    quota = settings.model_copy(
        update={"quota_reads_per_second": 2.0, "quota_articles_per_minute": 3.0, "batch_limit": 2}
    )
    with TestClient(create_app(quota, embedder), headers=ADMIN_HEADERS) as client:
        yield client


def test_reads_over_the_quota_get_429_with_retry_after(limited: TestClient) -> None:
    answers = [limited.get("/storylines") for _ in range(5)]
    assert [a.status_code for a in answers[:4]] == [200] * 4  # the burst
    refused = answers[4]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json() == {"detail": "the key 'admin' is over its quota of 2 reads a second"}
    # Another key has its own bucket.
    other = mint_key(limited, "read")
    assert limited.get("/storylines", headers=other).status_code == 200
    time.sleep(0.6)  # a token flows back every 0.5 s
    assert limited.get("/storylines").status_code == 200


def test_articles_over_the_quota_get_429_and_smaller_posts_still_fit(
    limited: TestClient,
) -> None:
    def article(n: int) -> dict[str, str]:
        return {"outlet": "a.com", "title": f"Council votes on budget item {n}", "body": "Vote."}

    assert limited.post("/articles", json=[article(1), article(2)]).status_code == 201
    refused = limited.post("/articles", json=[article(3), article(4)])
    assert refused.status_code == 429
    # One token left, two wanted, one flows back every 20 s (less the time spent embedding).
    assert 10 <= int(refused.headers["retry-after"]) <= 20
    assert "3 articles a minute (2 in this request)" in refused.json()["detail"]
    assert limited.post("/articles", json=article(3)).status_code == 201
    assert limited.post("/articles", json=article(4)).status_code == 429


def test_posting_articles_uses_none_of_the_read_quota(limited: TestClient) -> None:
    posted = [
        {"outlet": "a.com", "title": f"Harbour dredging starts {n}", "body": "Work."}
        for n in (1, 2)
    ]
    assert limited.post("/articles", json=posted).status_code == 201  # 40 s of article refill
    assert [limited.get("/storylines").status_code for _ in range(5)] == [200] * 4 + [429]


def test_public_reads_are_limited_per_address(
    settings: Settings, embedder: SentenceTransformerEmbedder
) -> None:
    public = settings.model_copy(update={"public_reads": True, "quota_reads_per_second": 1.0})
    with TestClient(create_app(public, embedder)) as client:
        statuses = [client.get("/changes").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert "this address is over" in client.get("/changes").json()["detail"]


def test_gcra_refills_at_the_rate_and_never_past_the_burst() -> None:
    quotas, rate = MemoryQuotas(), Rate(per_second=10.0, burst=3.0)
    assert [quotas.take("k", rate, 1) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = quotas.take("k", rate, 1)
    assert 0.09 < wait <= 0.1
    assert quotas.take("k", rate, 4) > 0  # more than the burst never passes
    time.sleep(1.0)  # ten tokens' worth of time, but the bucket holds three
    assert [quotas.take("k", rate, 1) for _ in range(4)][3] > 0


@pytest.fixture
def shared_engine(database_url: str) -> Iterator[Engine]:
    """A migrated PostgreSQL store (shared buckets are PostgreSQL's)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("shared buckets are PostgreSQL's")
    engine = create_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_postgresql_buckets_are_shared_by_every_connection(shared_engine: Engine) -> None:
    a, b = SharedQuotas(shared_engine), SharedQuotas(shared_engine)  # a pool each
    try:
        rate = Rate(per_second=0.01, burst=3.0)
        taken = [q.take("key:shared", rate, 1) for q in (a, b, a, b)]
        assert taken[:3] == [0.0, 0.0, 0.0]
        assert 99 < taken[3] <= 100  # one token every 100 s
        assert a.take("key:other", rate, 1) == 0.0
        assert 99 < b.take("key:big", rate, 4) <= 100  # a new bucket holds 3: one short
        assert b.take("key:big", rate, 3) == 0.0  # the refusal took nothing
    finally:
        a.close()
        b.close()


def test_a_postgresql_claim_is_one_statement_without_a_wal_flush_and_serves_a_lease(
    shared_engine: Engine,
) -> None:
    quotas = SharedQuotas(shared_engine)
    statements: list[str] = []
    event.listen(quotas.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        rate = Rate(per_second=100.0, burst=200.0)
        assert LeaseTerms().size(rate) == 16  # an eighth of the burst is 25: capped
        assert quotas.take("key:new", rate, 1) == 0.0  # opens the bucket, claims 16
        assert len(statements) == 1  # no ping, no BEGIN, no second look
        assert [quotas.take("key:new", rate, 1) for _ in range(15)] == [0.0] * 15
        assert len(statements) == 1  # spent in memory
        assert quotas.take("key:new", rate, 1) == 0.0
        assert len(statements) == 2  # the 17th request claims the next lease
        with shared_engine.connect() as conn:
            persistence = conn.scalar(
                text("SELECT relpersistence FROM pg_class WHERE oid = 'quota_bucket'::regclass")
            )
        assert persistence == "u"  # unlogged: its commits wait for no disk flush
    finally:
        quotas.close()


def test_leases_of_two_processes_never_hand_out_more_than_the_bucket(
    shared_engine: Engine,
) -> None:
    a, b = SharedQuotas(shared_engine), SharedQuotas(shared_engine)
    try:
        rate = Rate(per_second=0.001, burst=64.0)  # a token every 1000 s: no refill
        assert LeaseTerms().size(rate) == 8
        admitted = 0
        for i in range(100):
            admitted += (a, b)[i % 2].take("key:both", rate, 1) == 0.0
        assert admitted == 64  # claims, remainders and refusals lose and add nothing
    finally:
        a.close()
        b.close()


def test_two_processes_overshoot_by_at_most_their_leases(shared_engine: Engine) -> None:
    """Over t seconds, P processes admit at most burst + rate * t + P * (L - 1)."""
    a, b = SharedQuotas(shared_engine), SharedQuotas(shared_engine)
    try:
        rate = Rate(per_second=20.0, burst=32.0)
        size = LeaseTerms().size(rate)
        assert size == 4
        started = time.monotonic()

        def hammer(quotas: SharedQuotas) -> int:  # one request thread of a process
            admitted = 0
            while time.monotonic() - started < 1.5:
                admitted += quotas.take("key:busy", rate, 1) == 0.0
            return admitted

        with ThreadPoolExecutor(4) as threads:
            admitted = sum(threads.map(hammer, (a, b, a, b)))
        elapsed = time.monotonic() - started
        assert admitted <= 32 + 20 * elapsed + 2 * (size - 1), (admitted, elapsed)
        # Nor far under it: the refill, less what the leases still hold, less a last wait.
        assert admitted >= 32 + 20 * (elapsed - 0.5) - 2 * (size - 1), (admitted, elapsed)
    finally:
        a.close()
        b.close()


def test_an_expired_lease_is_not_spent_and_goes_back_to_the_bucket(
    shared_engine: Engine,
) -> None:
    terms = LeaseTerms(seconds=0.3)
    a, b = SharedQuotas(shared_engine, terms=terms), SharedQuotas(shared_engine, terms=terms)
    try:
        rate = Rate(per_second=0.001, burst=64.0)  # no refill; leases of 8
        assert a.take("key:k", rate, 1) == 0.0  # a holds 7
        assert sum(b.take("key:k", rate, 1) == 0.0 for _ in range(60)) == 56
        assert a.take_held("key:k", rate, 1) == 0.0  # a's lease is still good: 6 left
        time.sleep(0.35)
        assert a.take_held("key:k", rate, 1) is None  # expired: only the bucket can say
        assert a.take("key:k", rate, 1) == 0.0  # gives its 6 back, claims them again: 5 held
        assert b.take("key:k", rate, 1) > 0  # the bucket is empty
        a.close()  # gives the 5 back
        time.sleep(0.35)  # b remembers its refusal for a lease's lifetime
        assert sum(b.take("key:k", rate, 1) == 0.0 for _ in range(10)) == 5
    finally:
        a.close()
        b.close()


def test_retry_after_a_shared_refusal_is_the_buckets_wait(shared_engine: Engine) -> None:
    a, b = SharedQuotas(shared_engine), SharedQuotas(shared_engine)
    try:
        rate = Rate(per_second=0.01, burst=16.0)  # a token every 100 s, leases of 2
        assert sum(b.take("key:r", rate, 1) == 0.0 for _ in range(16)) == 16
        assert 99 < a.take("key:r", rate, 1) <= 100  # one token short
        assert 199 < a.take("key:r", rate, 2) <= 200  # two short: the refusal took nothing
        assert retry_after(a.take("key:r", rate, 1)) == 100
    finally:
        a.close()
        b.close()


def test_a_refused_process_refuses_again_without_asking_the_database(
    shared_engine: Engine,
) -> None:
    quotas = SharedQuotas(shared_engine, terms=LeaseTerms(seconds=0.3))
    statements: list[str] = []
    event.listen(quotas.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        rate = Rate(per_second=0.01, burst=8.0)  # a token every 100 s, leases of 1
        assert [quotas.take("key:flood", rate, 1) for _ in range(8)] == [0.0] * 8
        assert 99 < quotas.take("key:flood", rate, 1) <= 100  # refused by the bucket
        asked = len(statements)
        waits = [quotas.take("key:flood", rate, 1) for _ in range(50)]
        assert len(statements) == asked  # the flood stays in this process
        assert all(99 < w <= 100 for w in waits)
        assert 199 < quotas.take("key:flood", rate, 2) <= 200  # a dearer request waits longer
        assert len(statements) == asked
        assert 99 < quotas.take("key:other", rate, 9) <= 100  # another bucket still asks
        assert len(statements) > asked
        asked = len(statements)
        time.sleep(0.35)  # the refusal is remembered for a lease's lifetime (0.3 s here)
        assert 99 < quotas.take("key:flood", rate, 1) <= 100
        assert len(statements) > asked  # then the bucket is asked again
    finally:
        quotas.close()


def test_a_batch_takes_its_whole_cost_from_the_shared_bucket(shared_engine: Engine) -> None:
    a, b = SharedQuotas(shared_engine), SharedQuotas(shared_engine)
    try:
        rate = Rate(per_second=1.0, burst=60.0)  # 60 articles a minute; leases of 7
        assert b.take("articles:key:w", rate, 1) == 0.0  # b holds 6 of them
        assert a.take("articles:key:w", rate, 20) == 0.0
        assert a.take("articles:key:w", rate, 20) == 0.0  # 60 - 7 - 40 = 13 left
        wait = a.take("articles:key:w", rate, 20)
        assert 6.5 < wait <= 7  # 7 more flow back in 7 s (less the time since)
        assert a.take("articles:key:w", rate, 13) == 0.0
    finally:
        a.close()
        b.close()


def test_a_dropped_quota_connection_is_replaced_and_the_charge_retried(
    shared_engine: Engine,
) -> None:
    quotas = SharedQuotas(shared_engine, pool_size=1)
    try:
        rate = Rate(per_second=100.0, burst=8.0)
        assert LeaseTerms().size(rate) == 1  # every charge a claim: the second one too
        assert quotas.take("key:k", rate, 1) == 0.0
        with quotas.engine.connect() as pooled:  # the one connection of its pool
            pid = pooled.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
        with shared_engine.begin() as conn:  # a server restart, as the pool sees it
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert quotas.take("key:k", rate, 1) == 0.0
    finally:
        quotas.close()


@pytest.mark.model  # the served process loads the default (ONNX) model
def test_two_server_processes_on_postgresql_share_one_quota(
    database_url: str, onnx_dir: Path
) -> None:
    """Two `storyline serve` processes: together they let through one key's burst, not two."""
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite each process keeps its own buckets")
    env = {
        "STORYLINE_DATABASE_URL": database_url,
        "STORYLINE_ADMIN_KEY": TEST_ADMIN_KEY,
        "STORYLINE_QUOTA_READS_PER_SECOND": "2",  # bursts of 4
    }
    with live_server(env) as first, live_server(env) as second:
        started = time.monotonic()
        statuses, refused_by = [], set()
        with httpx.Client(headers=ADMIN_HEADERS, timeout=60) as http:
            for i in range(16):
                base = (first, second)[i % 2]
                response = http.get(f"{base}/storylines")
                statuses.append(response.status_code)
                if response.status_code == 429:
                    refused_by.add(base)
                    assert int(response.headers["retry-after"]) >= 1
        elapsed = time.monotonic() - started
    passed = statuses.count(200)
    assert set(statuses) == {200, 429}
    # Alone, each process would have let 4 through (8 in all).
    assert 4 <= passed <= 4 + math.ceil(2 * elapsed), (statuses, elapsed)
    assert refused_by == {first, second}
