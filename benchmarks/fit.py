"""Fit the evidence grouper's join model on labelled corpora, and score what it fits.

``DEFAULT_MODEL`` (``clustering/join_model.py``) is reproduced, step by step as
its comment records, by one command::

    .venv/bin/python -m benchmarks.fit provenance ../shared/data/gva_dev.jsonl \\
        ../shared/data/basil.jsonl

It prints each step's model and, last, every weight next to DEFAULT_MODEL's.
Research fits (a feature set, held-out story halves, weights fitted on top of
the frozen model) are scored by replay::

    .venv/bin/python -m benchmarks.fit refit ../shared/data/gva_dev.jsonl \\
        ../shared/data/basil.jsonl ../shared/data/uci_headlines.jsonl \\
        --fit ../shared/data/gva_dev.jsonl ../shared/data/basil.jsonl \\
        --on-top --halves --features fact_conflict --param threshold=0.3

Features come from an oracle replay: every article is added to its gold
storyline, so they describe the decisions a perfect grouper would face.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.devset import Article, Vectors, arrival_order, gold_labels, half, load
from benchmarks.replay import grid, metrics_line, replay
from clustering import EvidenceGrouper, JoinModel
from clustering.join_model import DEFAULT_MODEL, FEATURES
from clustering.metrics import score

F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Oracle:
    """Candidate features of one corpus's oracle replay and which are the gold story.

    ``x`` is (rows, len(FEATURES)), one row per shortlisted candidate of every
    article; ``y`` (rows,) is True where the candidate is the article's story.
    """

    x: F64
    y: NDArray[np.bool_]


def oracle(articles: Sequence[Article], vectors: Vectors, **grouper: Any) -> Oracle:
    """Oracle replay of one corpus through an ``EvidenceGrouper(**grouper)``."""
    g = EvidenceGrouper(**grouper)
    keys = {story: k for k, story in enumerate(dict.fromkeys(a.story for a in articles))}
    xs, ys = [], []
    for i in arrival_order(articles):
        item = articles[i].item(vectors[i])
        candidates, feats = g.candidates(item)
        xs.append(feats)
        ys.append(np.asarray([c == keys[articles[i].story] for c in candidates], dtype=bool))
        g.add(item, keys[articles[i].story])
    return Oracle(np.vstack(xs), np.concatenate(ys))


def _stacked(data: Sequence[Oracle]) -> tuple[F64, NDArray[np.bool_], F64]:
    """All rows, labels, and weights under which each corpus weighs the same in total."""
    w = np.concatenate([np.full(d.y.size, 1.0 / max(d.y.size, 1)) for d in data])
    return (
        np.vstack([d.x for d in data]),
        np.concatenate([d.y for d in data]),
        w / w.mean(),
    )


def fit_join_model(
    data: Sequence[Oracle], features: Sequence[str], c: float = 1.0, threshold: float = 0.5
) -> JoinModel:
    """L2 logistic regression (``c``) over ``features``; the other weights are 0."""
    from sklearn.linear_model import LogisticRegression

    cols = [FEATURES.index(f) for f in features]
    x, y, w = _stacked(data)
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(x[:, cols], y, sample_weight=w)
    weights = [0.0] * len(FEATURES)
    for col, coef in zip(cols, model.coef_[0], strict=True):
        weights[col] = round(float(coef), 3)
    return JoinModel(tuple(weights), round(float(model.intercept_[0]), 3), threshold)


def fit_on_top(
    base: JoinModel, data: Sequence[Oracle], features: Sequence[str], c: float = 1.0
) -> JoinModel:
    """Fit only ``features``' weights, the base model's score a fixed offset (no new bias).

    The other weights and the bias stay as in ``base``, so wherever the new
    features are 0 (a corpus without the facts they read) decisions are exactly
    the base model's. Same loss as :func:`fit_join_model`.
    """
    from scipy.optimize import minimize

    cols = [FEATURES.index(f) for f in features]
    frozen = np.asarray(base.weights, dtype=np.float64)
    frozen[cols] = 0.0
    x_all, y, w = _stacked(data)
    z = x_all @ frozen + base.bias
    x = x_all[:, cols]

    def loss(beta: F64) -> tuple[float, F64]:
        t = z + x @ beta
        p = 1.0 / (1.0 + np.exp(-t))
        value = float((w * (np.logaddexp(0.0, t) - y * t)).sum()) + 0.5 * float(beta @ beta) / c
        return value, x.T @ (w * (p - y)) + beta / c

    beta = minimize(loss, np.zeros(len(cols)), jac=True, method="L-BFGS-B").x
    weights = frozen.tolist()
    for col, coef in zip(cols, beta, strict=True):
        weights[col] = round(float(coef), 3)
    return JoinModel(tuple(weights), base.bias, base.threshold)


# The seven features fitted jointly first (see DEFAULT_MODEL's comment).
JOINT = (
    "dense_max",
    "word_max",
    "entity_max",
    "title_max",
    "log_gap_weak_title",
    "dense_z",
    "dense_margin",
)


def provenance(corpora: Sequence[Path]) -> JoinModel:
    """DEFAULT_MODEL's recipe on ``corpora`` (gva_dev and basil), printing each step."""
    data = [oracle(*load(p)) for p in corpora]
    joint = fit_join_model(data, JOINT, c=1.0, threshold=0.3)
    print(f"1. joint fit of {', '.join(JOINT)}, threshold 0.3:\n   {joint}", flush=True)
    conflict = fit_on_top(joint, data, ["fact_conflict"], c=1.0)
    print(f"2. fact_conflict fitted on top:\n   {conflict}", flush=True)
    weights = list(conflict.weights)
    weak, untied = FEATURES.index("log_gap_weak_title"), FEATURES.index("log_gap_untied")
    weights[untied], weights[weak] = weights[weak], 0.0
    final = JoinModel(tuple(weights), conflict.bias, conflict.threshold)
    print("3. log_gap_weak_title's weight moved to log_gap_untied\n", flush=True)
    print(f"{'feature':<24}{'fitted':>9}{'DEFAULT':>9}")
    for name, mine, theirs in zip(FEATURES, final.weights, DEFAULT_MODEL.weights, strict=True):
        print(f"{name:<24}{mine:>9.3f}{theirs:>9.3f}")
    print(f"{'bias':<24}{final.bias:>9.3f}{DEFAULT_MODEL.bias:>9.3f}")
    gap = max(abs(a - b) for a, b in zip(final.weights, DEFAULT_MODEL.weights, strict=True))
    print(f"largest weight difference {gap:.3f}, bias {abs(final.bias - DEFAULT_MODEL.bias):.3f}")
    return final


def refit(args: argparse.Namespace) -> None:
    """Fit per ``--param`` combination (and story half), then replay and score each corpus."""
    features = [f for f in args.features.split(",") if f] or list(FEATURES)
    fit_data = [load(p) for p in args.fit]
    eval_data = [(p, *load(p)) for p in args.corpus]
    for params in grid(args.param):
        c = float(params.get("C") or 1.0)
        grouper: dict[str, Any] = {k: v for k, v in params.items() if k not in ("C", "threshold")}
        for train_half in (0, 1) if args.halves else (None,):
            train = [oracle(*half(a, v, train_half), **grouper) for a, v in fit_data]
            if args.on_top:
                base = DEFAULT_MODEL
                if train_half is not None:  # held out: refit the base on this half too
                    kept = [
                        f
                        for f, w in zip(FEATURES, base.weights, strict=True)
                        if w and f not in features
                    ]
                    refitted = fit_join_model(train, kept, c=c)
                    base = JoinModel(refitted.weights, refitted.bias, base.threshold)
                model = fit_on_top(base, train, features, c=c)
            else:
                model = fit_join_model(train, features, c=c)
            if "threshold" in params:
                model = JoinModel(model.weights, model.bias, float(params["threshold"] or 0.0))
            print(f"fit half={train_half} {params} {model}", flush=True)
            test_half = None if train_half is None else 1 - train_half
            for path, articles, vectors in eval_data:
                arts, vecs = half(articles, vectors, test_half)
                labels, ms = replay(EvidenceGrouper(model, **grouper), arts, vecs)
                s = score(gold_labels(arts), labels)
                print(f"  {path.stem:14s} half={test_half} {metrics_line(s)} {ms:.2f} ms")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prov = commands.add_parser("provenance", help="reproduce DEFAULT_MODEL's fit")
    prov.add_argument("fit", nargs="+", type=Path, help="gva_dev.jsonl and basil.jsonl")
    research = commands.add_parser("refit", help="fit, then replay and score corpora")
    research.add_argument("corpus", nargs="+", type=Path, help="corpora to score")
    research.add_argument("--fit", type=Path, nargs="+", required=True, help="corpora to fit on")
    research.add_argument("--features", default="", help="comma list (default: all)")
    research.add_argument("--halves", action="store_true", help="fit one story half, score other")
    research.add_argument(
        "--on-top",
        action="store_true",
        help="fit only --features' weights on top of DEFAULT_MODEL's other weights and bias "
        "(with --halves, on top of those refitted on the half)",
    )
    research.add_argument(
        "--param", action="append", default=[], help="C, threshold or grouper keyword=v1,v2"
    )
    args = parser.parse_args(argv)
    if args.command == "provenance":
        provenance(args.fit)
    else:
        refit(args)


if __name__ == "__main__":
    main()
