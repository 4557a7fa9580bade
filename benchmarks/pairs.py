"""The join decision on rated article pairs, by language pair (semeval22_dev_pairs.jsonl).

Usage (from the repository root)::

    STORYLINE_EMBEDDING_MODEL=multilingual .venv/bin/python -m benchmarks.pairs \\
        ../shared/data/semeval22_dev.jsonl ../shared/data/semeval22_dev_pairs.jsonl

The corpus is replayed through the service's ingest path exactly as
``storyline eval`` replays it (same database, grouping, discovery, labels);
a rated pair counts as joined when both articles end in the same storyline.
Pairs rated same story (``same_story``, overall <= 1.5) are the positives,
pairs rated different (``different_story``, >= 3) the negatives; pairs rated
in between are left out. Prints precision and recall of "joined" per language
pair, with counts, and the file's BCubed scores from the same replay.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import defaultdict
from pathlib import Path

from app.config import Settings
from app.corpus import CorpusRow
from app.process import configure_process
from app.services.evaluate import partition_hash, replay_file
from app.state import make_embedder
from benchmarks.devset import CACHE
from clustering.metrics import score
from embeddings.cache import CachedEmbedder


def pair_table(
    pairs: list[dict[str, object]], storyline_of: dict[str, int]
) -> dict[str, tuple[int, int, int, int]]:
    """Per language pair ("de-en", "all"): (true joins, false joins, missed, rated pairs)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for pair in pairs:
        same, different = bool(pair["same_story"]), bool(pair["different_story"])
        a, b = str(pair["id1"]), str(pair["id2"])
        if not (same or different) or a not in storyline_of or b not in storyline_of:
            continue
        joined = storyline_of[a] == storyline_of[b] and storyline_of[a] != -1
        languages = "-".join(sorted((str(pair["lang1"]), str(pair["lang2"]))))
        for key in (languages, "all", "cross" if pair["lang1"] != pair["lang2"] else "within"):
            row = counts[key]
            row[0] += joined and same
            row[1] += joined and not same
            row[2] += same and not joined
            row[3] += 1
    return {k: (v[0], v[1], v[2], v[3]) for k, v in counts.items()}


def cross_language_pairs(rows: list[CorpusRow], storyline_of: dict[str, int]) -> tuple[int, ...]:
    """Over all pairs of articles in two languages: (joined, joined and same story, same story)."""
    joined = correct = same = 0
    for a, b in itertools.combinations(rows, 2):
        if a.payload.get("language") == b.payload.get("language"):
            continue
        together = (
            storyline_of[str(a.payload["external_id"])]
            == storyline_of[str(b.payload["external_id"])]
        )
        gold = a.story == b.story
        joined += together
        correct += together and gold
        same += gold
    return joined, correct, same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("pairs", type=Path)
    parser.add_argument("--cache-dir", type=Path, default=CACHE)
    args = parser.parse_args()
    settings = Settings()
    configure_process(settings)
    embedder = CachedEmbedder(make_embedder(settings), args.cache_dir)
    replay = replay_file(args.corpus, embedder, settings)
    pairs = [json.loads(line) for line in args.pairs.read_text().splitlines() if line]
    table = pair_table(pairs, replay.storyline_of)
    gold = [str(r.story) for r in replay.rows]
    codes = {s: n for n, s in enumerate(dict.fromkeys(gold))}
    import numpy as np

    s = score(
        np.array([codes[g] for g in gold]),
        np.array([replay.storyline_of[str(r.payload["external_id"])] for r in replay.rows]),
    )
    print(f"{args.corpus.name}, model {embedder.model_name}")
    print(
        f"B3 P {s.bcubed_precision:.3f} R {s.bcubed_recall:.3f} F1 {s.bcubed_f1:.3f}, "
        f"pair F1 {s.pair_f1:.3f}, {s.pred_clusters} storylines vs {s.gold_clusters} stories, "
        f"partition {partition_hash(replay.storyline_of)}"
    )
    # The rated pairs hold no cross-language negative (their articles are not in the
    # corpus file): count every cross-language pair of the corpus by its gold stories.
    cross = cross_language_pairs(replay.rows, replay.storyline_of)
    print(
        f"every cross-language article pair: {cross[0]} joined, of which {cross[1]} "
        f"the same gold story; {cross[2]} same-story pairs in all"
    )
    print("\n| languages | rated pairs | same story | joined | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|")
    for key in sorted(table, key=lambda k: (k in ("all", "cross", "within"), k)):
        tp, fp, fn, n = table[key]
        precision = f"{tp / (tp + fp):.3f}" if tp + fp else "-"
        recall = f"{tp / (tp + fn):.3f}" if tp + fn else "-"
        print(f"| {key} | {n} | {tp + fn} | {tp + fp} | {precision} | {recall} |")


if __name__ == "__main__":
    main()
