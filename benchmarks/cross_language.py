"""Fit the cross-language weights of the multilingual join model, scored on held-out stories.

Usage (from the repository root; the vectors are the multilingual model's)::

    STORYLINE_EMBEDDING_MODEL=multilingual .venv/bin/python -m benchmarks.cross_language \\
        ../shared/data/semeval22_dev.jsonl ../shared/data/semeval22_dev_pairs.jsonl

Only ``cross_language`` and ``cross_dense_max`` are fitted, on top of
DEFAULT_MODEL's frozen weights and bias (:func:`benchmarks.fit.fit_on_top`),
from an oracle replay of the corpus: wherever a candidate shares the
article's language they are 0, so those decisions stay the default model's.
For each story half, the weights are fitted on that half and the other half
is replayed (the grouper alone, as ``benchmarks.replay`` does) and scored on
its rated pairs, against the default model on the same half. Last, the
weights fitted on the whole corpus are printed: those are MULTILINGUAL_MODEL's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.devset import gold_labels, half, load
from benchmarks.fit import fit_on_top, oracle
from benchmarks.pairs import pair_table
from benchmarks.replay import metrics_line, replay
from clustering import EvidenceGrouper, JoinModel
from clustering.join_model import DEFAULT_MODEL, FEATURES
from clustering.metrics import score

CROSS = ("cross_language", "cross_dense_max")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("pairs", type=Path)
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 strength")
    args = parser.parse_args()
    articles, vectors = load(args.corpus)
    pairs = [json.loads(line) for line in args.pairs.read_text().splitlines() if line]
    for train in (0, 1):
        train_half = half(articles, vectors, train)
        fitted = fit_on_top(DEFAULT_MODEL, [oracle(*train_half, by_language=True)], CROSS, args.c)
        print(f"fitted on half {train}: {_weights(fitted)}")
        test_articles, test_vectors = half(articles, vectors, 1 - train)
        for name, model in (("default", DEFAULT_MODEL), ("fitted", fitted)):
            grouper = EvidenceGrouper(model, by_language=True)
            labels, _ = replay(grouper, test_articles, test_vectors)
            s = score(gold_labels(test_articles), labels)
            storyline_of = {a.id: int(k) for a, k in zip(test_articles, labels, strict=True)}
            print(f"  half {1 - train}, {name:8s} {metrics_line(s)}")
            _print_pairs(pair_table(pairs, storyline_of))
    whole = fit_on_top(DEFAULT_MODEL, [oracle(articles, vectors, by_language=True)], CROSS, args.c)
    print(f"fitted on the whole file (MULTILINGUAL_MODEL): {_weights(whole)}")


def _weights(model: JoinModel) -> str:
    return ", ".join(f"{name} {model.weights[FEATURES.index(name)]:.3f}" for name in CROSS)


def _print_pairs(table: dict[str, tuple[int, int, int, int]]) -> None:
    for key in ("within", "cross", "de-en", "all"):
        tp, fp, fn, n = table.get(key, (0, 0, 0, 0))
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        print(
            f"    pairs {key:7s} n={n:4d} same={tp + fn:3d} joined={tp + fp:3d} "
            f"P={precision:.3f} R={recall:.3f}"
        )


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
