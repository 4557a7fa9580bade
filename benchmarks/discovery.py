"""Time batch discovery on a window of real articles, as large as the service allows.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.discovery --articles 20000 [--repeats 3]

The window is built from the dev corpora (gva_dev, uci_headlines, basil, read
from ../shared/data at run time) with their cached embeddings, repeated with
fresh keys and dates moved on by 60 days until it holds ``--articles`` articles;
each copy's gold stories become its storylines, so storyline sizes are those of
real streams. Prints
the median seconds of :func:`clustering.discovery.discover` and of its parts,
and what it proposed. The service's limit is ``discovery_max_articles`` (20k).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from benchmarks.devset import embed, load_articles
from clustering.discovery import DiscoveryConfig, WindowArticle, discover
from clustering.window_terms import TermCache, lexical_vectors

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def build_window(size: int) -> list[WindowArticle]:
    base: list[WindowArticle] = []
    stories: dict[str, int] = {}
    for name in ("gva_dev", "uci_headlines", "basil"):
        articles = load_articles(SHARED / f"{name}.jsonl")
        vectors = embed(articles)
        for a, v in zip(articles, vectors, strict=True):
            story = stories.setdefault(f"{name}/{a.story}", len(stories))
            base.append(WindowArticle(len(base), story, v, a.title, a.body, a.timestamp))
    window: list[WindowArticle] = []
    copy = 0
    while len(window) < size:
        offset = copy * len(stories)
        shift = copy * 60 * 86_400.0  # copies lie apart in time, as later news would
        for a in base[: size - len(window)]:
            key = len(window)
            ts = None if a.timestamp is None else a.timestamp + shift
            window.append(WindowArticle(key, a.storyline + offset, a.vector, a.title, a.body, ts))
        copy += 1
    return window


def _fresh(articles: list[WindowArticle]) -> list[WindowArticle]:
    """The same articles under new keys, as new arrivals."""
    return [
        WindowArticle(a.key + 10_000_000, a.storyline, a.vector, a.title, a.body, a.timestamp)
        for a in articles
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    window = build_window(args.articles)
    storylines = len({a.storyline for a in window})
    print(f"window: {len(window)} articles in {storylines} storylines")
    cold, warm, lexical = [], [], []
    with threadpool_limits(1, user_api="blas"):  # as in the service
        for _ in range(args.repeats):
            cache = TermCache()
            t0 = time.perf_counter()
            discover(window, DiscoveryConfig(), cache)
            t1 = time.perf_counter()
            # The next run, one minute later: the window moved on by 1% of its articles.
            moved = window[len(window) // 100 :] + _fresh(window[: len(window) // 100])
            proposals = discover(moved, DiscoveryConfig(), cache)
            t2 = time.perf_counter()
            lexical_vectors(moved, cache)
            t3 = time.perf_counter()
            cold.append(t1 - t0)
            warm.append(t2 - t1)
            lexical.append(t3 - t2)
    print(f"first run (no cache): median {statistics.median(cold):.2f} s")
    print(
        f"next run (1% new articles): median {statistics.median(warm):.2f} s, "
        f"of which tf-idf rows {statistics.median(lexical):.2f} s"
    )
    print(f"proposed: {len(proposals.splits)} splits, {len(proposals.merges)} merges")


if __name__ == "__main__":
    main()
