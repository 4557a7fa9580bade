"""Latency of as-of reads and of editors' curation actions at scale, SQLite and PostgreSQL.

Usage: python benchmarks/curation.py [--articles 100000] [--changes 10000]
       [--samples 200] [--actions 40] [--stores sqlite,postgresql]

Builds the synthetic store of benchmarks/queries.py (outlets, storylines of
skewed sizes, articles with vectors and texts, the change feed), storylines of
the last 30 stream days active so the service replays them into its grouper,
then writes the membership history: every article's stay from its ingest time,
plus ``--changes`` moves of random articles to other storylines at random later
instants (closing one stay, opening another, as curation and discovery do).
It times, through the real app in-process (stub embedder, loopback client):

* as-of reads of random storylines at random instants: detail, articles,
  timeline, spread, and the list (GET /storylines?as_of=); target p95 <= 50 ms;
* curation actions on live storylines: move, split, merge, label; target
  p95 <= 200 ms; and once, for comparison, the full grouper rebuild that each
  split or move used to cost.
"""

from __future__ import annotations

import argparse
import bisect
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select, text, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import make_engine, migrate
from app.main import create_app
from app.models import (
    Article,
    Outlet,
    Storyline,
    StorylineMembership,
    StorylineStatus,
    as_utc,
)
from app.services.coverage import recount_all
from app.state import ServiceState
from benchmarks.queries import BENCH_KEY, StubEmbedder, build, percentiles, store


def write_history(engine: Engine, changes: int, seed: int) -> tuple[datetime, datetime]:
    """Every article's first stay, then ``changes`` moves; returns the history's span.

    Moves go to storylines that existed at their instant and never take a
    storyline's last article (editors merge instead), as the service's would.
    """
    rng = random.Random(seed)
    with engine.begin() as conn:
        conn.execute(
            update(Storyline).values(created_at=Storyline.first_published_at)
        )  # storylines exist from their first article, as if ingested live
        rows = conn.execute(
            select(Article.id, Article.storyline_id, Article.ingested_at).order_by(Article.id)
        ).all()
        created = conn.execute(
            select(Storyline.created_at, Storyline.id).order_by(Storyline.created_at)
        ).all()
    opened = [as_utc(at) for at, _ in created]
    stays: dict[int, dict[str, Any]] = {
        a: {"article_id": a, "storyline_id": s, "valid_from": at, "valid_to": None}
        for a, s, at in rows
    }
    sizes = Counter(s for _, s, _ in rows)
    closed: list[dict[str, Any]] = []
    start = min(at for _, _, at in rows)
    end = max(at for _, _, at in rows)
    span = (end - start).total_seconds()
    for article in rng.sample(sorted(stays), len(stays)):
        if len(closed) == changes:
            break
        stay = stays[article]
        source = stay["storyline_id"]
        at = stay["valid_from"] + timedelta(seconds=rng.uniform(0, span / 4))
        existing = bisect.bisect_right(opened, as_utc(at))
        target = created[rng.randrange(existing)][1] if existing else source
        if sizes[source] <= 1 or target == source:
            continue
        sizes[source] -= 1
        sizes[target] += 1
        closed.append({**stay, "valid_to": at})
        stays[article] = {
            "article_id": article,
            "storyline_id": target,
            "valid_from": at,
            "valid_to": None,
        }
    with engine.begin() as conn:
        history = closed + list(stays.values())
        for chunk in range(0, len(history), 5000):
            conn.execute(insert(StorylineMembership), history[chunk : chunk + 5000])
        # The current state follows the history (the moves included).
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "UPDATE article SET storyline_id = m.storyline_id FROM storyline_membership m "
                    "WHERE m.article_id = article.id AND m.valid_to IS NULL "
                    "AND article.storyline_id <> m.storyline_id"
                )
            )
        else:
            conn.execute(
                text(
                    "UPDATE article SET storyline_id = (SELECT m.storyline_id FROM "
                    "storyline_membership m WHERE m.article_id = article.id AND m.valid_to IS NULL)"
                )
            )
        # Counts and outlet coverage follow the moves too (curation checks them).
        conn.execute(
            text(
                "UPDATE storyline SET article_count = (SELECT count(*) FROM article a "
                "WHERE a.storyline_id = storyline.id), outlet_count = (SELECT "
                "count(DISTINCT a.outlet_id) FROM article a WHERE a.storyline_id = storyline.id)"
            )
        )
        recount_all(Session(bind=conn))
        conn.execute(text("ANALYZE"))
    return start, end


def timed(
    client: TestClient, calls: Sequence[tuple[str, str, dict[str, Any] | None]]
) -> list[float]:
    samples = []
    for method, path, body in calls:
        t0 = time.perf_counter()
        response = client.request(method, path, json=body)
        samples.append(time.perf_counter() - t0)
        assert response.status_code == 200, (method, path, response.text)
    return samples


def curation_calls(
    state: ServiceState, n: int, seed: int
) -> dict[str, list[tuple[str, str, dict[str, Any] | None]]]:
    """``n`` of each action over distinct live storylines that the grouper holds."""
    rng = random.Random(seed)
    with state.db.session() as session:
        live = list(
            session.execute(
                select(Storyline.id, Storyline.article_count)
                .where(Storyline.status == StorylineStatus.active, Storyline.article_count >= 3)
                .order_by(Storyline.id)
            )
        )
        rng.shuffle(live)
        n = min(n, len(live) // 6)
        assert n >= 2, f"only {len(live)} live storylines of 3+ articles: build more"
        picks = [sid for sid, _ in live[: 6 * n]]
        members = {
            sid: list(
                session.scalars(
                    select(Article.id).where(Article.storyline_id == sid).order_by(Article.id)
                )
            )
            for sid in picks
        }
    groups = [picks[i * n : (i + 1) * n] for i in range(6)]
    return {
        "move": [
            ("POST", f"/articles/{members[a][-1]}/move", {"storyline_id": b, "reason": "bench"})
            for a, b in zip(groups[0], groups[1], strict=True)
        ],
        "split": [
            ("POST", f"/storylines/{s}/split", {"article_ids": members[s][-2:], "reason": "b"})
            for s in groups[2]
        ],
        "merge": [
            ("POST", f"/storylines/{a}/merge", {"into": b, "reason": "bench"})
            for a, b in zip(groups[3], groups[4], strict=True)
        ],
        "label": [
            ("PATCH", f"/storylines/{s}", {"label": f"edited {s}", "locked": True})
            for s in groups[5]
        ],
    }


def history_span(url: str) -> tuple[datetime, datetime]:
    """First and last instant of a built store's membership history."""
    engine = make_engine(url)
    with engine.connect() as conn:
        low, high = conn.execute(
            select(
                func.min(StorylineMembership.valid_from), func.max(StorylineMembership.valid_from)
            )
        ).one()
    engine.dispose()
    return as_utc(low), as_utc(high)


def outlet_picks(url: str, rng: np.random.Generator, n: int) -> list[str]:
    """``n`` outlet names drawn from the store's outlets."""
    engine = make_engine(url)
    with engine.connect() as conn:
        names = list(conn.scalars(select(Outlet.name).order_by(Outlet.id)))
    engine.dispose()
    return [names[int(i)] for i in rng.integers(0, len(names), n)]


def days_before(instant: str, days: int) -> str:
    """The ISO instant ``days`` before ``instant`` (both with a ``Z``)."""
    at = datetime.fromisoformat(instant.replace("Z", "+00:00")) - timedelta(days=days)
    return at.isoformat().replace("+00:00", "Z")


def measure(
    url: str, args: argparse.Namespace, results: dict[tuple[str, str], tuple[float, float]]
) -> tuple[float, int]:
    """Time the as-of reads and curation actions on a built store; returns the rebuild's
    seconds and articles replayed (for comparison with an action)."""
    kind = make_engine(url).dialect.name
    start, end = history_span(url)
    rng = np.random.default_rng(args.seed + 1)
    picks = [int(i) for i in rng.integers(1, args.storylines + 1, args.samples)]
    span = (end - start).total_seconds()
    instants = [
        (end - timedelta(seconds=float(f) * span / 2)).isoformat().replace("+00:00", "Z")
        for f in rng.random(args.samples)
    ]
    pairs = list(zip(picks, instants, strict=True))
    reads = {
        "as-of storyline detail": [f"/storylines/{s}?as_of={t}" for s, t in pairs],
        "as-of articles (page of 50)": [f"/storylines/{s}/articles?as_of={t}" for s, t in pairs],
        "as-of timeline (day)": [f"/storylines/{s}/timeline?as_of={t}" for s, t in pairs],
        "as-of spread": [f"/storylines/{s}/spread?as_of={t}" for s, t in pairs],
        "as-of list (page of 50)": [f"/storylines?as_of={t}" for t in instants],
        # The filtered lists a researcher asks for: another order, one outlet, a window.
        "as-of list, by size": [f"/storylines?as_of={t}&sort=size" for t in instants],
        "as-of list, one outlet": [
            f"/storylines?as_of={t}&outlet={quote(o)}"
            for t, o in zip(instants, outlet_picks(url, rng, args.samples), strict=True)
        ],
        "as-of list, last 30 days": [
            f"/storylines?as_of={t}&active_since={days_before(t, 30)}" for t in instants
        ],
    }
    settings = Settings(
        database_url=url,
        migrate_on_start=False,
        label_interval_seconds=0,
        discovery_interval_seconds=0,
        admin_key=BENCH_KEY,
        quota_reads_per_second=0,  # the reads are measured, not the rate limit
    )
    app = create_app(settings, StubEmbedder())
    auth = {"Authorization": f"Bearer {BENCH_KEY.get_secret_value()}"}
    with TestClient(app, headers=auth) as client:
        for name, paths in reads.items():
            # A storyline created after its instant answers 404: time the existing ones.
            kept = [("GET", p, None) for p in paths if client.get(p).status_code == 200]
            results[(name, kind)] = percentiles(timed(client, list(kept)))
        state: ServiceState = app.state.storyline
        actions = curation_calls(state, args.actions, args.seed) if args.actions else {}
        for name, calls in actions.items():
            results[(f"curation: {name}", kind)] = percentiles(timed(client, calls))
        with state.db.session() as session:
            t0 = time.perf_counter()
            replayed = state.runtime.rebuild(session)
            return time.perf_counter() - t0, replayed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--outlets", type=int, default=500)
    parser.add_argument("--storylines", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200, help="as-of reads per endpoint")
    parser.add_argument("--actions", type=int, default=40, help="curation actions per kind")
    parser.add_argument("--live-days", type=float, default=30.0)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument(
        "--build-nice",
        type=int,
        default=0,
        help="lower the priority by this much while building (restored to measure: needs root)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    results: dict[tuple[str, str], tuple[float, float]] = {}
    rebuilds: dict[str, tuple[float, int]] = {}
    for kind in args.stores.split(","):
        with store(kind, args.postgres_url) as url:
            engine = make_engine(url)
            migrate(engine)
            t0 = time.perf_counter()
            os.nice(args.build_nice)
            build(engine, args.articles, args.outlets, args.storylines, args.seed, args.live_days)
            write_history(engine, args.changes, args.seed)
            os.nice(-args.build_nice)
            print(f"{kind}: built in {time.perf_counter() - t0:.1f} s", flush=True)
            engine.dispose()
            rebuilds[kind] = measure(url, args, results)

    stores = args.stores.split(",")
    print(
        f"\n{args.articles} articles, {args.storylines} storylines, {args.changes} membership "
        f"changes; {args.samples} as-of reads per endpoint, {args.actions} actions per kind; ms\n"
    )
    print("| request | " + " | ".join(f"{s} p50 | {s} p95" for s in stores) + " |")
    print("|---|" + "---:|" * (2 * len(stores)))
    for name in dict.fromkeys(n for n, _ in results):
        cells = " | ".join(
            f"{results[(name, s)][0]:.1f} | {results[(name, s)][1]:.1f}" for s in stores
        )
        print(f"| {name} | {cells} |")
    for kind, (seconds, replayed) in rebuilds.items():
        print(f"full grouper rebuild on {kind}: {seconds * 1000:.0f} ms ({replayed} articles)")


if __name__ == "__main__":
    main()
