"""Ingest throughput against the bare model on the same texts.

Usage: python benchmarks/ingest.py ../shared/data/gva_dev.jsonl -n 400 [--database-url URL]

Embeds the first N articles of a corpus twice in one run: with
SentenceTransformer.encode alone (the model's own limit), and through the
service's import path (validation, cleaning, embedding, grouping, commit) into
a fresh database. Prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.config import Settings
from app.corpus import read_corpus
from app.services.prepare import Limits, parse_payload
from app.state import ServiceState
from embeddings.sentence import SentenceTransformerEmbedder
from embeddings.text import embedding_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("-n", type=int, default=400, help="articles to ingest")
    parser.add_argument("--batch", type=int, default=64, help="articles per ingest call")
    parser.add_argument("--repeats", type=int, default=3, help="bare-encode repeats (median)")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()

    rows = [r for r in read_corpus(args.corpus) if r.payload][: args.n]
    limits = Limits(10_000, 10_000_000, timedelta(days=1))
    now = datetime.now(UTC)
    prepared = parse_payload([r.payload for r in rows], limits, now)
    texts = [embedding_text(a.title, a.body) for a in prepared]

    embedder = SentenceTransformerEmbedder()
    embedder.embed(texts[:8])  # warm-up: first call pays one-off allocation costs
    bare: list[float] = []

    def time_bare() -> None:
        t0 = time.perf_counter()
        embedder.embed(texts)
        bare.append(len(texts) / (time.perf_counter() - t0))

    # Bare runs before and after the service run, so a change in machine load
    # during the run shows up as spread instead of a skewed ratio.
    for _ in range(max(1, args.repeats // 2)):
        time_bare()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        state = ServiceState.start(Settings(database_url=url), embedder)
        t0 = time.perf_counter()
        for start in range(0, len(rows), args.batch):
            chunk = [r.payload for r in rows[start : start + args.batch]]
            articles = parse_payload(chunk, Limits(10_000, 10_000_000, timedelta(days=1)), now)
            state.ingestor.ingest(articles, now)
        service = len(rows) / (time.perf_counter() - t0)
        reused = state.ingestor.reused_vectors
        state.close()
    for _ in range(max(1, args.repeats - args.repeats // 2)):
        time_bare()

    bare_median = statistics.median(bare)
    print(f"corpus:          {args.corpus.name}, {len(rows)} articles, {embedder.model_name}")
    runs = ", ".join(f"{r:.1f}" for r in bare)
    print(f"bare encode:     {bare_median:.1f} articles/s (median of {len(bare)}: {runs})")
    print(f"service import:  {service:.1f} articles/s ({reused} exact duplicates reused a vector)")
    print(f"ratio:           {service / bare_median:.2f}x of bare encode")


if __name__ == "__main__":
    main()
