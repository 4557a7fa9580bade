"""Read latency of the spread views at scale, on SQLite and PostgreSQL.

Usage: python benchmarks/queries.py [--articles 100000] [--samples 200]
       [--stores sqlite,postgresql] [--postgres-url URL]

Builds a database per store (SQLite: a temporary file; PostgreSQL: a fresh schema,
dropped after) with synthetic outlets, storylines of skewed sizes (1-60 articles)
and articles whose bodies are drawn from per-storyline paragraph pools, so texts
within a storyline overlap in varied amounts and MinHash has real work. Rows go in
by SQLAlchemy Core executemany after the real migrations. Then it times GET
/storylines/{id}/timeline, /spread and /storylines/{id} for random storylines
through the real app in-process (no model: a stub embedder) and prints p50/p95.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from numpy.typing import NDArray
from pydantic import SecretStr
from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import make_engine, migrate, scratch_database
from app.main import create_app
from app.models import Article, ChangeKind, Outlet, Storyline, StorylineChange, StorylineStatus
from app.services.coverage import recount_all

DIM = 384
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

# Registered as the admin key of each scratch database; the reads send it.
BENCH_KEY = SecretStr("sl_benchmark-admin-key-0123456789abcdef")


class StubEmbedder:
    """Satisfies the Embedder protocol without loading a model; never called here."""

    model_name = "stub@bench"
    dimension = DIM

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        vectors = np.zeros((len(texts), DIM), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors


def storyline_sizes(rng: np.random.Generator, storylines: int, articles: int) -> NDArray[np.int64]:
    """Sizes 1..60 with a long tail (most storylines small), summing to ``articles``."""
    sizes = np.minimum(rng.zipf(1.7, storylines), 60).astype(np.int64)
    while (gap := articles - int(sizes.sum())) != 0:
        pick = rng.integers(0, storylines, abs(gap))
        if gap > 0:
            np.add.at(sizes, pick, 1)
        else:
            np.subtract.at(sizes, pick, 1)
        sizes = np.clip(sizes, 1, 60)
    return sizes


def build(
    engine: Engine,
    articles: int,
    outlets: int,
    storylines: int,
    seed: int,
    live_days: float | None = None,
    urls: bool = True,
) -> NDArray[np.int64]:
    """Fill a migrated, empty database with synthetic rows (fast: Core executemany).

    Articles carry a URL, as real ones nearly all do, unless ``urls`` is False.

    Every storyline is dormant unless ``live_days`` is given: then storylines
    whose last article lies within that many days of the newest stay active and
    every article gets a ``group_seq`` in published order, as ingest leaves
    them, so a starting service replays the live ones into its grouper.
    Returns the storyline sizes: storyline ``i + 1`` has ``sizes[i]`` articles.
    """
    rng = np.random.default_rng(seed)
    sizes = storyline_sizes(rng, storylines, articles)  # first: main() repeats this draw
    vocabulary = np.array([f"w{i:04d}" for i in range(3000)])
    paragraphs = [" ".join(vocabulary[rng.integers(0, 3000, 60)]) for _ in range(6000)]
    popularity = 1.0 / np.arange(1, outlets + 1)
    popularity /= popularity.sum()
    with engine.begin() as conn:
        conn.execute(
            insert(Outlet),
            [
                {"id": i, "name": f"outlet{i}.example", "first_seen_at": EPOCH}
                for i in range(1, outlets + 1)
            ],
        )
    story_rows: list[dict[str, Any]] = []
    article_rows: list[dict[str, Any]] = []
    article_id = 0
    for index, size in enumerate(sizes):
        storyline_id = index + 1
        start = EPOCH + timedelta(minutes=int(rng.integers(0, 2 * 365 * 24 * 60)))
        offsets = np.sort(rng.exponential(36.0, size))  # hours after the first article
        offsets -= offsets[0]
        outlet_ids = rng.choice(outlets, size=size, p=popularity) + 1
        pool = rng.integers(0, len(paragraphs), 8)
        times = []
        for k in range(size):
            article_id += 1
            at = start + timedelta(hours=float(offsets[k]))
            undated = rng.random() < 0.05  # no published_at: ingest time orders it
            vector = rng.standard_normal(DIM).astype(np.float32)
            vector /= np.linalg.norm(vector)
            body = "\n\n".join(paragraphs[p] for p in rng.choice(pool, 4, replace=False))
            article_rows.append(
                {
                    "id": article_id,
                    "external_id": f"bench-{article_id}",
                    "url": f"https://outlet{int(outlet_ids[k])}.example/{article_id}"
                    if urls
                    else None,
                    "outlet_id": int(outlet_ids[k]),
                    "title": f"story {storyline_id} article {k}",
                    "body": body,
                    "language": "en",
                    "published_at": None if undated else at,
                    "ingested_at": at,
                    "effective_at": at,
                    "content_hash": uuid.uuid4().hex,
                    "embedding": vector.tobytes(),
                    "embedding_model": StubEmbedder.model_name,
                    "embedding_dim": DIM,
                    "storyline_id": storyline_id,
                    "similarity": 1.0,
                }
            )
            times.append(at)
        story_rows.append(
            {
                "id": storyline_id,
                "first_published_at": times[0],
                "last_published_at": times[-1],
                "article_count": int(size),
                "outlet_count": len(set(outlet_ids.tolist())),
                "centroid": np.zeros(DIM, dtype=np.float32).tobytes(),
                # Dormant: start-up replays only live storylines into the grouper.
                "status": StorylineStatus.dormant,
            }
        )
    # The change feed as ingest would have written it: one entry per article
    # (created, then grew), in the order the articles were published.
    order = sorted(range(len(article_rows)), key=lambda i: article_rows[i]["effective_at"])
    change_rows: list[dict[str, Any]] = []
    counts: dict[int, int] = {}
    for seq, i in enumerate(order, start=1):
        sid = article_rows[i]["storyline_id"]
        counts[sid] = counts.get(sid, 0) + 1
        change_rows.append(
            {
                "seq": seq,
                "at": article_rows[i]["effective_at"],
                "storyline_id": sid,
                "kind": ChangeKind.created if counts[sid] == 1 else ChangeKind.grew,
                "article_count": counts[sid],
                "outlet_count": 1,
                "label": f"story {sid}",
                "details": None,
            }
        )
        story_rows[sid - 1]["version"] = seq
        if live_days is not None:
            article_rows[i]["group_seq"] = seq
    if live_days is not None:
        newest = max(row["last_published_at"] for row in story_rows)
        for row in story_rows:
            if row["last_published_at"] >= newest - timedelta(days=live_days):
                row["status"] = StorylineStatus.active
    with engine.begin() as conn:
        conn.execute(insert(Storyline), story_rows)
        for chunk in range(0, len(article_rows), 5000):
            conn.execute(insert(Article), article_rows[chunk : chunk + 5000])
        for chunk in range(0, len(change_rows), 5000):
            conn.execute(insert(StorylineChange), change_rows[chunk : chunk + 5000])
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Rows went in with explicit ids: move the sequences past them, so
            # articles ingested afterwards get fresh ids.
            for table in ("outlet", "storyline", "article"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                conn.execute(text(f"SELECT setval({sequence}, max(id)) FROM {table}"))
        # Outlet coverage is kept at write time by ingest; rows loaded in bulk get it here.
        recount_all(Session(bind=conn))
        conn.execute(text("ANALYZE"))
    return sizes


@contextmanager
def store(kind: str, postgres_url: str) -> Iterator[str]:
    """A URL to an empty database of ``kind``, removed afterwards."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(kind, postgres_url, Path(tmp)) as url,
    ):
        yield url


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000


def measure(client: TestClient, paths: list[str]) -> tuple[float, float]:
    for path in paths[:5]:  # warm-up: connections, statement caches
        assert client.get(path).status_code == 200, path
    samples = []
    for path in paths:
        t0 = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - t0)
        assert response.status_code == 200, (path, response.text)
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--outlets", type=int, default=500)
    parser.add_argument("--storylines", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=200, help="requests per endpoint")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed + 1)
    picks = [int(i) for i in rng.integers(1, args.storylines + 1, args.samples)]
    outlet_picks = [int(i) for i in rng.integers(1, args.outlets + 1, max(args.samples // 4, 10))]
    # The same seed gives the same sizes on every store: pick the largest storylines once.
    sizes = storyline_sizes(np.random.default_rng(args.seed), args.storylines, args.articles)
    largest = [int(i) + 1 for i in np.argsort(-sizes, kind="stable")[: max(args.samples // 4, 10)]]
    endpoints = {
        "timeline (day)": [f"/storylines/{i}/timeline?bucket=day" for i in picks],
        "timeline (hour)": [f"/storylines/{i}/timeline?bucket=hour" for i in picks],
        "timeline (hour), largest": [f"/storylines/{i}/timeline?bucket=hour" for i in largest],
        "spread": [f"/storylines/{i}/spread" for i in picks],
        "spread, largest": [f"/storylines/{i}/spread" for i in largest],
        "storyline detail": [f"/storylines/{i}" for i in picks],
        "outlet detail": [f"/outlets/{i}" for i in outlet_picks],
        "outlets list (by storylines)": ["/outlets?limit=50"] * len(outlet_picks),
        "outlets list (by name)": ["/outlets?limit=50&sort=name"] * len(outlet_picks),
        "changes, page of 100": [f"/changes?since={int(i) * 4}&limit=100" for i in picks],
        "changes, caught up": [f"/changes?since={args.articles}&limit=100"] * len(picks),
    }
    results: dict[tuple[str, str], tuple[float, float]] = {}
    for kind in args.stores.split(","):
        with store(kind, args.postgres_url) as url:
            engine = make_engine(url)
            migrate(engine)
            t0 = time.perf_counter()
            built = build(engine, args.articles, args.outlets, args.storylines, args.seed)
            assert (built == sizes).all(), "sizes must not depend on the store"
            print(f"{kind}: built {args.articles} articles in {time.perf_counter() - t0:.1f} s")
            engine.dispose()
            settings = Settings(database_url=url, migrate_on_start=False, admin_key=BENCH_KEY)
            auth = {"Authorization": f"Bearer {BENCH_KEY.get_secret_value()}"}
            with TestClient(create_app(settings, StubEmbedder()), headers=auth) as client:
                for name, paths in endpoints.items():
                    results[(name, kind)] = measure(client, paths)

    stores = args.stores.split(",")
    print(f"\n{args.articles} articles, {args.storylines} storylines, {args.outlets} outlets;")
    print(
        f"{args.samples} random storylines per storyline endpoint, the {len(largest)} largest "
        f"({int(sizes.max())} articles at most) for 'largest'; latency in ms\n"
    )
    header = "| endpoint | " + " | ".join(f"{s} p50 | {s} p95" for s in stores) + " |"
    print(header)
    print("|---|" + "---:|" * (2 * len(stores)))
    for name in endpoints:
        cells = " | ".join(
            f"{results[(name, s)][0]:.1f} | {results[(name, s)][1]:.1f}" for s in stores
        )
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
