"""Storyline beside BERTopic on one labelled corpus, with the same embeddings.

Usage: python benchmarks/peer_bertopic.py ../shared/data/basil.jsonl [--min-topic-size 2 10]

BERTopic comes from the `peer` extra (pip install -e '.[peer]'), never from
the service's dependencies. Both methods see the same cleaned texts and the
same all-MiniLM-L6-v2 vectors (cached on disk, shared with `storyline eval`).
BERTopic's outliers (topic -1) count as singletons, as an unassigned article
looks to a reader.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from app.config import Settings
from app.corpus import read_corpus
from app.services.evaluate import evaluate_file, replay_order
from app.text import clean_text
from clustering.metrics import score
from embeddings.cache import CachedEmbedder
from embeddings.sentence import SentenceTransformerEmbedder
from embeddings.text import embedding_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--min-topic-size", type=int, nargs="+", default=[2, 10])
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/embeddings"))
    args = parser.parse_args()

    from bertopic import BERTopic
    from umap import UMAP

    settings = Settings()
    embedder = CachedEmbedder(SentenceTransformerEmbedder(), args.cache_dir)
    rows = replay_order([r for r in read_corpus(args.corpus) if r.payload])
    titles = [clean_text(str(r.payload["title"])) for r in rows]
    bodies = [clean_text(str(r.payload["body"])) for r in rows]
    texts = [embedding_text(t, b) for t, b in zip(titles, bodies, strict=True)]
    vectors = embedder.embed(texts)
    gold = np.unique([str(r.story) for r in rows], return_inverse=True)[1]

    print(f"{'method':<34}{'B3 P':>7}{'B3 R':>7}{'B3 F1':>7}{'pair F1':>9}{'pred':>7}{'s':>8}")
    ours = evaluate_file(args.corpus, embedder, settings)
    print(
        f"{'storyline (default)':<34}{ours.bcubed_p:>7.3f}{ours.bcubed_r:>7.3f}"
        f"{ours.bcubed_f1:>7.3f}{ours.pair_f1:>9.3f}{ours.pred_stories:>7}"
        f"{ours.articles / ours.articles_per_s:>8.1f}"
    )
    for size in args.min_topic_size:
        started = time.perf_counter()
        # A fixed UMAP seed makes the peer's numbers repeatable run to run.
        umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=42)
        model = BERTopic(umap_model=umap, min_topic_size=size, calculate_probabilities=False)
        topics, _ = model.fit_transform(texts, vectors)
        elapsed = time.perf_counter() - started
        pred = np.asarray(topics, dtype=np.int64)
        s = score(gold, pred)
        print(
            f"{f'BERTopic min_topic_size={size}':<34}{s.bcubed_precision:>7.3f}"
            f"{s.bcubed_recall:>7.3f}{s.bcubed_f1:>7.3f}{s.pair_f1:>9.3f}"
            f"{s.pred_clusters:>7}{elapsed:>8.1f}"
        )


if __name__ == "__main__":
    main()
