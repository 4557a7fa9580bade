"""HDBSCAN over a whole corpus at once (a back-fill "recluster"), scored like storyline eval.

Usage (from the repository root)::

    .venv/bin/pip install -e '.[peer]'   # hdbscan is not a service dependency
    .venv/bin/python -m benchmarks.recluster_hdbscan ../shared/data/basil.jsonl ...

Every article of the file is clustered at once, without time (so dated and
undated replays are the same), by the ``hdbscan`` package on a precomputed
distance, 1 - similarity, for two similarities: the dense cosine, and
discovery's blend (0.3 x dense + 0.7 x tf-idf cosine over words, names and
numbers, :func:`clustering.window_terms.lexical_vectors`). Noise points are
singletons. ``min_cluster_size=2`` (stories of two articles are most stories)
and ``min_samples`` 1 and 2, both cluster selections (excess of mass, leaf).
One line per setting: BCubed and pairwise F1, predicted vs gold stories, seconds.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np

from benchmarks.devset import embed, load_articles
from clustering.discovery import WindowArticle
from clustering.metrics import score
from clustering.window_terms import lexical_vectors


def main() -> None:
    import hdbscan

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="+", type=Path)
    args = parser.parse_args()
    for path in args.corpus:
        arts = load_articles(path)
        dense = embed(arts).astype(np.float64)
        window = [
            WindowArticle(i, 0, dense[i].astype(np.float32), a.title, a.body, a.timestamp)
            for i, a in enumerate(arts)
        ]
        lex = lexical_vectors(window)
        cos = dense @ dense.T
        sims = {"dense": cos, "blend": 0.3 * cos + 0.7 * (lex @ lex.T).toarray()}
        gold = np.unique([a.story for a in arts], return_inverse=True)[1]
        for (name, sim), samples, method in itertools.product(
            sims.items(), (1, 2), ("eom", "leaf")
        ):
            dist = np.clip(1.0 - (sim + sim.T) / 2.0, 0.0, None)
            np.fill_diagonal(dist, 0.0)
            t0 = time.perf_counter()
            labels = hdbscan.HDBSCAN(
                metric="precomputed",
                min_cluster_size=2,
                min_samples=samples,
                cluster_selection_method=method,
            ).fit_predict(dist)
            took = time.perf_counter() - t0
            noise = labels < 0
            labels = labels.astype(np.int64)
            labels[noise] = labels.max() + 1 + np.arange(int(noise.sum()))
            s = score(gold, labels)
            print(
                f"{path.stem:14s} {name:6s} min_samples={samples} {method:4s} "
                f"B3 P/R/F1 {s.bcubed_precision:.3f}/{s.bcubed_recall:.3f}/{s.bcubed_f1:.3f} "
                f"pair F1 {s.pair_f1:.3f} clusters {s.pred_clusters}/{s.gold_clusters} "
                f"{took:.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
