"""p95 of every read the dashboard makes, at scale, on SQLite and PostgreSQL.

Usage: python benchmarks/dashboard_reads.py [--articles 100000] [--storylines 20000]
       [--outlets 500] [--samples 200] [--stores sqlite,postgresql] [--postgres-url URL]
       [--bulk]   (PostgreSQL rows generated in SQL: a million articles in minutes)

Builds the synthetic store of benchmarks/queries.py (skewed storyline sizes, outlet
popularity by Zipf, a change feed of one entry per article, outlet coverage counted
as ingest keeps it), then times, through the real app in-process, each request the
board, the spread page and the outlet page send. Search uses a stub embedder (no
model): its figure is the service's work without the ~3 ms of embedding the query.
Target: p95 <= 50 ms for each at 100k articles.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.config import Settings
from app.db import make_engine, migrate
from app.main import create_app
from app.models import Outlet, StorylineChange
from benchmarks.bulk_postgres import build_postgres
from benchmarks.queries import StubEmbedder, build, measure, store, storyline_sizes

TARGET_P95_MS = 50.0


def endpoints(
    args: argparse.Namespace, latest: int, big_outlets: list[int]
) -> dict[str, list[str]]:
    rng = np.random.default_rng(args.seed + 1)
    n = args.samples
    picks = [int(i) for i in rng.integers(1, args.storylines + 1, n)]
    outlets = [int(i) for i in rng.integers(1, args.outlets + 1, n)]
    sizes = storyline_sizes(np.random.default_rng(args.seed), args.storylines, args.articles)
    largest = [int(i) + 1 for i in np.argsort(-sizes, kind="stable")[: max(n // 4, 10)]]
    behind = [max(0, latest - int(k)) for k in rng.integers(1, 200, n)]
    words = ["w0001", "w0420 w0999", "story 17", "article", "w2999 w0003 w1500"]
    return {
        "board: /storylines (recent)": ["/storylines?limit=50"] * n,
        "board: /storylines (by size)": ["/storylines?limit=50&sort=size"] * n,
        "board: /storylines (by outlets, min 3)": [
            "/storylines?limit=50&sort=outlets&min_outlets=3"
        ]
        * n,
        "board: /storylines?outlet= (big outlet)": [
            f"/storylines?limit=50&outlet=outlet{big_outlets[i % len(big_outlets)]}.example"
            for i in range(n)
        ],
        "board: /storylines?active_since= (30 d)": [
            "/storylines?limit=50&active_since=2025-12-01T00:00:00Z"
        ]
        * n,
        "board: /storylines?changed_since= (live)": [
            f"/storylines?changed_since={b}&limit=500" for b in behind
        ],
        "board: /health": ["/health"] * n,
        "board: /outlets?limit=500 (suggestions)": ["/outlets?limit=500"] * n,
        "board: /search": [f"/search?q={words[i % len(words)]}" for i in range(n)],
        "spread: /storylines/{id}": [f"/storylines/{i}" for i in picks],
        "spread: /spread": [f"/storylines/{i}/spread" for i in picks],
        "spread: /spread, largest": [f"/storylines/{i}/spread" for i in largest],
        "spread: /timeline (day)": [f"/storylines/{i}/timeline?bucket=day" for i in picks],
        "spread: /articles?limit=500": [f"/storylines/{i}/articles?limit=500" for i in picks],
        "spread: /changes?storyline_id=": [f"/changes?storyline_id={i}&limit=1000" for i in picks],
        "outlet: /outlets/{id}": [f"/outlets/{i}" for i in outlets],
        "outlet: /outlets/{id}, biggest": [
            f"/outlets/{big_outlets[i % len(big_outlets)]}" for i in range(n)
        ],
        "outlet: /storylines?outlet=&limit=100": [
            f"/storylines?limit=100&outlet=outlet{i}.example" for i in outlets
        ],
    }


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
    parser.add_argument(
        "--bulk",
        action="store_true",
        help="PostgreSQL: generate the rows in SQL (benchmarks/bulk_postgres.py), for 1M",
    )
    args = parser.parse_args()

    stores = args.stores.split(",")
    results: dict[tuple[str, str], tuple[float, float]] = {}
    names: list[str] = []
    for kind in stores:
        with store(kind, args.postgres_url) as url:
            engine = make_engine(url)
            migrate(engine)
            t0 = time.perf_counter()
            if kind == "postgresql" and args.bulk:
                build_postgres(engine, args.articles, args.outlets, args.storylines, args.seed)
            else:
                build(engine, args.articles, args.outlets, args.storylines, args.seed)
            print(f"{kind}: built {args.articles} articles in {time.perf_counter() - t0:.1f} s")
            with engine.connect() as conn:
                latest = conn.scalar(select(func.max(StorylineChange.seq))) or 0
                big = list(
                    conn.scalars(select(Outlet.id).order_by(Outlet.storyline_count.desc()).limit(5))
                )
            engine.dispose()
            # No background labeller or discovery: they would compete with the reads (and,
            # on a shared PostgreSQL, hold advisory locks other runs wait for).
            # Public reads, as a public dashboard runs (every read needs a key otherwise).
            settings = Settings(
                database_url=url,
                migrate_on_start=False,
                label_interval_seconds=0,
                discovery_interval_seconds=0,
                public_reads=True,
                quota_reads_per_second=0,  # the reads are measured, not the rate limit
                admin_key_file=str(Path(tempfile.gettempdir()) / "dashboard-reads-admin.key"),
            )
            with TestClient(create_app(settings, StubEmbedder())) as client:
                for name, paths in endpoints(args, latest, big).items():
                    results[(name, kind)] = measure(client, paths)
                    if name not in names:
                        names.append(name)
                    p50, p95 = results[(name, kind)]
                    print(f"  {kind:10s} {name:45s} p50 {p50:6.1f}  p95 {p95:6.1f} ms", flush=True)

    print(
        f"\n{args.articles} articles, {args.storylines} storylines, {args.outlets} outlets; "
        f"{args.samples} requests per row; latency in ms (target p95 <= {TARGET_P95_MS:.0f})\n"
    )
    print("| request | " + " | ".join(f"{s} p50 | {s} p95" for s in stores) + " |")
    print("|---|" + "---:|" * (2 * len(stores)))
    for name in names:
        cells = " | ".join(
            f"{results[(name, s)][0]:.1f} | {results[(name, s)][1]:.1f}"
            + (" ✗" if results[(name, s)][1] > TARGET_P95_MS else "")
            for s in stores
        )
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
