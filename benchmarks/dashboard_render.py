"""First render of the dashboard in headless Chromium: the board, and the spread page of
a 500-article storyline.

Usage: python benchmarks/dashboard_render.py [--articles 20000] [--runs 15]
       [--spread-articles 500] [--spread-outlets 80] [--chromium /usr/bin/chromium]

Builds a SQLite store with the synthetic rows of benchmarks/queries.py plus one
storyline of ``--spread-articles`` articles from ``--spread-outlets`` outlets over ten
days (bodies drawn from a shared paragraph pool, so republish edges exist), serves it
with uvicorn in a subprocess (stub embedder: no model), and loads each page ``--runs``
times in a fresh browser context (cold cache). "First render" is the page's own
performance mark, set once the rows or the charts and article table are in the DOM:
milliseconds from navigation start, so it includes every API request the page makes.
Also reports the bytes the page loaded: its static files and its JSON. Target: <= 1 s.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from fastapi import FastAPI
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import make_engine, migrate
from app.main import create_app
from app.models import Article, ChangeKind, Outlet, Storyline, StorylineChange, StorylineStatus
from app.services.coverage import recount_all
from benchmarks.queries import DIM, EPOCH, StubEmbedder, build

TARGET_MS = 1000.0
ROOT = Path(__file__).resolve().parents[1]


def stub_app() -> FastAPI:
    """The service without a model (uvicorn --factory target for this benchmark)."""
    settings = Settings(label_interval_seconds=0, discovery_interval_seconds=0)
    return create_app(settings, StubEmbedder())


def add_big_storyline(url: str, articles: int, outlets: int, seed: int) -> int:
    """One active storyline of ``articles`` articles from ``outlets`` outlets; its id."""
    rng = np.random.default_rng(seed)
    engine = make_engine(url)
    with engine.begin() as conn:
        session = Session(bind=conn)
        sid = (session.scalar(select(func.max(Storyline.id))) or 0) + 1
        next_id = (session.scalar(select(func.max(Article.id))) or 0) + 1
        seq = session.scalar(select(func.max(StorylineChange.seq))) or 0
        names = list(session.scalars(select(Outlet.id).order_by(Outlet.id).limit(outlets)))
        start = EPOCH + timedelta(days=800)  # after every synthetic storyline: tops the board
        offsets = np.sort(rng.exponential(48.0, articles))
        offsets -= offsets[0]
        vocabulary = [f"v{i:04d}" for i in range(2000)]
        pool = [" ".join(rng.choice(vocabulary, 80)) for _ in range(40)]
        rows = []
        for k in range(articles):
            at = start + timedelta(hours=float(offsets[k]))
            body = "\n\n".join(pool[int(p)] for p in rng.choice(len(pool), 4, replace=False))
            vector = rng.standard_normal(DIM).astype(np.float32)
            rows.append(
                {
                    "id": next_id + k,
                    "external_id": f"big-{k}",
                    "url": f"https://big{k}.example/a/{k}",
                    "outlet_id": int(names[min(int(rng.zipf(1.3)) - 1, len(names) - 1)])
                    if k
                    else int(names[0]),
                    "title": f"Big story update {k}: {' '.join(rng.choice(vocabulary, 6))}",
                    "body": body,
                    "language": "en",
                    "published_at": at,
                    "ingested_at": at,
                    "effective_at": at,
                    "content_hash": uuid.uuid4().hex,
                    "embedding": (vector / np.linalg.norm(vector)).tobytes(),
                    "embedding_model": StubEmbedder.model_name,
                    "embedding_dim": DIM,
                    "storyline_id": sid,
                    "similarity": 0.8,
                }
            )
        conn.execute(
            insert(Storyline),
            [
                {
                    "id": sid,
                    "first_published_at": rows[0]["effective_at"],
                    "last_published_at": rows[-1]["effective_at"],
                    "article_count": articles,
                    "outlet_count": len({r["outlet_id"] for r in rows}),
                    "centroid": np.zeros(DIM, dtype=np.float32).tobytes(),
                    "status": StorylineStatus.active,
                    "label": "big story · update · spread — benchmark",
                    "version": seq + 1,
                }
            ],
        )
        conn.execute(insert(Article), rows)
        conn.execute(
            insert(StorylineChange),
            [
                {
                    "seq": seq + 1,
                    "at": rows[-1]["effective_at"],
                    "storyline_id": sid,
                    "kind": ChangeKind.created,
                    "article_count": articles,
                    "outlet_count": len({r["outlet_id"] for r in rows}),
                    "label": "big story",
                    "details": None,
                }
            ],
        )
        recount_all(session)
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return sid


def serve(url: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Public reads, as a public dashboard runs: a page asked for a key would wait on a prompt.
    env = {
        **os.environ,
        "STORYLINE_DATABASE_URL": url,
        "STORYLINE_PUBLIC_READS": "true",
        "STORYLINE_QUOTA_READS_PER_SECOND": "0",
        "STORYLINE_ADMIN_KEY_FILE": str(Path(url.removeprefix("sqlite:///")).parent / "admin.key"),
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.dashboard_render:stub_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("server did not start")


def render_times(
    browser: Any, url: str, mark: str, runs: int
) -> tuple[list[float], dict[str, int]]:
    times: list[float] = []
    weight: dict[str, int] = {}
    for _ in range(runs + 1):  # the first run warms the server's caches and is dropped
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(
            "m => performance.getEntriesByName(m).length > 0", arg=mark, timeout=30_000
        )
        times.append(page.evaluate("m => performance.getEntriesByName(m)[0].startTime", mark))
        weight = page.evaluate(
            """() => {
                const out = {static: 0, json: 0, requests: 0};
                const nav = performance.getEntriesByType('navigation')[0];
                out.static += nav.encodedBodySize;
                for (const r of performance.getEntriesByType('resource')) {
                    out.requests += 1;
                    if (r.name.includes('/static/')) out.static += r.encodedBodySize;
                    else out.json += r.encodedBodySize;
                }
                return out;
            }"""
        )
        context.close()
    return times[1:], weight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--storylines", type=int, default=4_000)
    parser.add_argument("--outlets", type=int, default=300)
    parser.add_argument("--spread-articles", type=int, default=500)
    parser.add_argument("--spread-outlets", type=int, default=80)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'render.db'}"
        engine = make_engine(url)
        migrate(engine)
        build(engine, args.articles, args.outlets, args.storylines, args.seed)
        engine.dispose()
        sid = add_big_storyline(url, args.spread_articles, args.spread_outlets, args.seed)
        process, base = serve(url)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium)
                pages = {
                    "board (/)": (f"{base}/", "board-rendered"),
                    f"spread page, {args.spread_articles} articles": (
                        f"{base}/ui/storylines/{sid}",
                        "spread-rendered",
                    ),
                }
                print(
                    f"store: {args.articles + args.spread_articles} articles; {args.runs} cold "
                    f"loads per page in headless Chromium; first render in ms "
                    f"(target <= {TARGET_MS:.0f})\n"
                )
                print("| page | median | p95 | max | static bytes | JSON bytes | requests |")
                print("|---|---:|---:|---:|---:|---:|---:|")
                for name, (page_url, mark) in pages.items():
                    times, weight = render_times(browser, page_url, mark, args.runs)
                    cuts = statistics.quantiles(times, n=20, method="inclusive")
                    print(
                        f"| {name} | {statistics.median(times):.0f} | {cuts[18]:.0f} | "
                        f"{max(times):.0f} | {weight['static']:,} | {weight['json']:,} | "
                        f"{weight['requests']} |",
                        flush=True,
                    )
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=20)
    static = sorted((ROOT / "app" / "static").iterdir())
    total = sum(p.stat().st_size for p in static)
    print(f"\napp/static: {len(static)} files, {total:,} bytes uncompressed")


if __name__ == "__main__":
    main()
