"""Replay labelled corpora through an online grouper alone and print clustering metrics.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.replay ../shared/data/basil.jsonl \\
        --grouper centroid --param threshold=0.4,0.5,0.6 --param window_days=7

Every ``--param name=v1,v2`` is a list of values; the cartesian product of all
lists is run, one line of metrics per combination. Articles are fed in arrival
order exactly as the service does (``decide`` then ``add``), with no database,
discovery or labels: the fast loop for research (``storyline eval`` runs the
whole service path). ``--seeds FILE`` mixes the articles of FILE into the stream
and reports which predicted storylines they landed in and with what company.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from benchmarks.devset import Article, Vectors, arrival_order, embed, gold_labels, load_articles
from clustering import CentroidGrouper, EvidenceGrouper
from clustering.metrics import Scores, score
from clustering.online import OnlineGrouper

GROUPERS: dict[str, Callable[..., OnlineGrouper]] = {
    "centroid": CentroidGrouper,
    "evidence": EvidenceGrouper,
}

Param = bool | int | float | str | None


def replay(
    grouper: OnlineGrouper, articles: Sequence[Article], vectors: Vectors
) -> tuple[NDArray[np.int64], float]:
    """Feed articles in arrival order; predicted labels (file order) and ms per article."""
    labels = np.full(len(articles), -1, dtype=np.int64)
    next_key = 0
    spent = 0.0
    for i in arrival_order(articles):
        item = articles[i].item(vectors[i])
        t0 = time.perf_counter()
        key = grouper.decide(item).storyline
        if key is None:
            key = next_key
            next_key += 1
        grouper.add(item, key)
        spent += time.perf_counter() - t0
        labels[i] = key
    return labels, 1000.0 * spent / max(len(articles), 1)


def grid(params: Sequence[str]) -> list[dict[str, Param]]:
    """Every combination of ``name=v1,v2,...`` lists, as keyword dictionaries."""
    names, values = [], []
    for p in params:
        name, _, vals = p.partition("=")
        names.append(name)
        values.append([_parse_value(v) for v in vals.split(",")])
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def metrics_line(s: Scores) -> str:
    return (
        f"B3 P/R/F1 {s.bcubed_precision:.3f}/{s.bcubed_recall:.3f}/{s.bcubed_f1:.3f} "
        f"pair P/R/F1 {s.pair_precision:.3f}/{s.pair_recall:.3f}/{s.pair_f1:.3f} "
        f"AMI {s.ami:.3f} ARI {s.ari:.3f} clusters {s.pred_clusters}/{s.gold_clusters}"
    )


def seed_report(labels: NDArray[np.int64], n_corpus: int) -> str:
    """Whether the seeds (the rows after ``n_corpus``) share a storyline, and with how many."""
    seed_labels = labels[n_corpus:]
    together = len(set(seed_labels.tolist())) == 1
    company = int(np.isin(labels[:n_corpus], seed_labels).sum())
    return f"seeds together={together} corpus articles with seeds={company}"


def _parse_value(text: str) -> Param:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text in ("true", "false", "none"):
        return {"true": True, "false": False, "none": None}[text]
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("corpus", nargs="+", type=Path)
    parser.add_argument("--grouper", default="evidence", choices=sorted(GROUPERS))
    parser.add_argument("--param", action="append", default=[], help="name=v1,v2,...")
    parser.add_argument("--seeds", type=Path, default=None, help="articles mixed into each run")
    args = parser.parse_args(argv)
    factory = GROUPERS[args.grouper]
    seeds = load_articles(args.seeds) if args.seeds else []
    for corpus in args.corpus:
        articles = load_articles(corpus)
        n_corpus = len(articles)
        articles += seeds
        vectors = embed(articles)
        gold = gold_labels(articles)
        for params in grid(args.param):
            labels, ms = replay(factory(**params), articles, vectors)
            s = score(gold[:n_corpus], labels[:n_corpus])
            line = (
                f"{corpus.stem:14s} {args.grouper} {params} {metrics_line(s)} {ms:.2f} ms/article"
            )
            if seeds:
                line += " | " + seed_report(labels, n_corpus)
            print(line, flush=True)


if __name__ == "__main__":
    main()
