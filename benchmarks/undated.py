"""Undated articles: single-pass replays with dates removed, and leave-one-corpus-out fits.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.undated ../shared/data/gva_dev.jsonl \
        ../shared/data/basil.jsonl ../shared/data/uci_headlines.jsonl \
        --features undated,undated_dense_max --train-shares 0.5,1 --shares 0,0.5,1

For each corpus held out in turn, the weights of ``--features`` are fitted on
top of :data:`~clustering.join_model.DEFAULT_MODEL` (its other weights and its
bias frozen, :func:`benchmarks.fit.fit_on_top`) from oracle
replays of the *other* corpora, each replayed with ``--train-shares`` of its
dates removed, every (corpus, share) weighing the same. The held-out corpus is
then replayed through the single pass with each of ``--shares`` of its dates
removed, with the default model and with the fitted one. The dates are removed
as ``storyline eval --drop-dates --undated-share`` removes them (same rows; the
undated ones replayed after the dated, in file order). ``--features ''`` only
replays the default model. Finally, with ``--all``, the fit on every corpus
(the weights a default would take) is printed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.devset import Article, embed, load_articles
from benchmarks.fit import Oracle, fit_on_top, oracle
from benchmarks.replay import replay
from clustering import EvidenceGrouper
from clustering.join_model import DEFAULT_MODEL, FEATURES
from clustering.metrics import score


def blank_dates(articles: Sequence[Article], share: float) -> list[Article]:
    """``articles`` with the timestamps of ``share`` of them removed (rows as drop_dates)."""
    drop = np.random.default_rng(0).random(len(articles)) < share
    return [
        replace(a, timestamp=None) if d else a for a, d in zip(articles, drop.tolist(), strict=True)
    ]


def _line(name: str, share: float, label: str, arts: Sequence[Article], labels: np.ndarray) -> str:
    gold = np.unique([a.story for a in arts], return_inverse=True)[1]
    s = score(gold, labels)
    return (
        f"  {name:14s} undated={share:<4} {label:8s} "
        f"B3 P/R/F1 {s.bcubed_precision:.3f}/{s.bcubed_recall:.3f}/{s.bcubed_f1:.3f} "
        f"pair F1 {s.pair_f1:.3f} clusters {s.pred_clusters}/{s.gold_clusters}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="+", type=Path)
    parser.add_argument("--features", default="")
    parser.add_argument("--shares", default="0,0.5,1")
    parser.add_argument("--train-shares", default="0.5,1")
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--all", action="store_true", help="also fit on every corpus")
    args = parser.parse_args(argv)
    features = [f for f in args.features.split(",") if f]
    shares = [float(v) for v in args.shares.split(",")]
    train_shares = [float(v) for v in args.train_shares.split(",")]
    corpora = {p.stem: load_articles(p) for p in args.corpus}
    vectors = {name: embed(arts) for name, arts in corpora.items()}
    oracles: dict[tuple[str, float], Oracle] = {}

    def oracle_set(name: str, share: float) -> Oracle:
        if (name, share) not in oracles:
            oracles[name, share] = oracle(blank_dates(corpora[name], share), vectors[name])
        return oracles[name, share]

    for held in corpora:
        print(f"held out: {held}", flush=True)
        model = None
        if features:
            train = [oracle_set(n, s) for n in corpora if n != held for s in train_shares]
            model = fit_on_top(DEFAULT_MODEL, train, features, args.C)
            fitted = {f: model.weights[FEATURES.index(f)] for f in features}
            print(f"  fitted on the others: {fitted}", flush=True)
        for share in shares:
            arts = blank_dates(corpora[held], share)
            for label, m in (("default", DEFAULT_MODEL), ("fitted", model)):
                if m is None:
                    continue
                labels, _ = replay(EvidenceGrouper(m), arts, vectors[held])
                print(_line(held, share, label, arts, labels), flush=True)
    if features and args.all:
        train = [oracle_set(n, s) for n in corpora for s in train_shares]
        model = fit_on_top(DEFAULT_MODEL, train, features, args.C)
        print(f"fit on all: {model}")


if __name__ == "__main__":
    main()
