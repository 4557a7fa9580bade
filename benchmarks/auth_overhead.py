"""What API keys and quotas cost per request: the same endpoint with and without them.

Usage: python benchmarks/auth_overhead.py [--requests 3000] [--stores sqlite,postgresql]
       [--path /storylines?limit=1] [--postgres-url URL]

Per store, two apps on one fresh database (stub embedder, no model): one as served
(the key checked, the read quota charged: per-process buckets on SQLite, on
PostgreSQL a lease of 16 tokens claimed in one upsert), one with the read
dependency overridden to let everything through (no key, no quota). Requests
alternate between the two in one run, in-process through the whole ASGI stack
(httpx's ASGI transport), so drift and load hit both alike.
Prints p50 and p95 of each and the p50 difference (target: under 1 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from numpy.typing import NDArray
from pydantic import SecretStr

from app.api.auth import require_read
from app.config import Settings
from app.db import scratch_database
from app.main import create_app

KEY = "sl_benchmark-admin-key-0123456789abcdef"
DIM = 384


class StubEmbedder:
    """The Embedder protocol without a model: every text on one axis."""

    model_name = "stub@bench"
    dimension = DIM

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        vectors = np.zeros((len(texts), DIM), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors


async def _no_auth() -> None:
    return None


@contextmanager
def store(kind: str, postgres_url: str) -> Iterator[str]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(kind, postgres_url, Path(tmp)) as url,
    ):
        yield url


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


async def measure(url: str, path: str, n: int) -> tuple[list[float], list[float]]:
    settings = Settings(
        database_url=url,
        admin_key=SecretStr(KEY),
        quota_reads_per_second=1e9,  # charged on every request, never refused
        label_interval_seconds=0,
        discovery_interval_seconds=0,
    )
    keyed_app = create_app(settings, StubEmbedder())
    open_app = create_app(settings.model_copy(update={"migrate_on_start": False}), StubEmbedder())
    open_app.dependency_overrides[require_read] = _no_auth
    auth = {"Authorization": f"Bearer {KEY}"}
    async with (
        keyed_app.router.lifespan_context(keyed_app),
        open_app.router.lifespan_context(open_app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=keyed_app), base_url="http://bench", headers=auth
        ) as keyed,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=open_app), base_url="http://bench"
        ) as bare,
    ):
        article = {"outlet": "a.com", "title": "Bridge closes after crack", "body": "Repairs."}
        assert (await keyed.post("/articles", json=article)).status_code == 201
        for _ in range(200):  # warm both paths (key cache, connections)
            assert (await keyed.get(path)).status_code == 200
            assert (await bare.get(path)).status_code == 200
        with_auth: list[float] = []
        without: list[float] = []
        for i in range(n):
            order = ((keyed, with_auth), (bare, without))
            for client, sink in order if i % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                response = await client.get(path)
                sink.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
    return with_auth, without


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--path", default="/storylines?limit=1")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()
    print(f"GET {args.path}, {args.requests} requests each way, alternating, in-process")
    header = ("keyed p50", "open p50", "diff p50", "keyed p95", "open p95")
    print(f"{'store':<12}" + "".join(f"{h:>11}" for h in header))
    for kind in args.stores.split(","):
        with store(kind, args.postgres_url) as url:
            keyed, bare = asyncio.run(measure(url, args.path, args.requests))
        p50k, p50o = statistics.median(keyed), statistics.median(bare)
        print(
            f"{kind:<12}{p50k:>8.3f} ms{p50o:>8.3f} ms{p50k - p50o:>8.3f} ms"
            f"{percentile(keyed, 95):>8.3f} ms{percentile(bare, 95):>8.3f} ms"
        )


if __name__ == "__main__":
    main()
