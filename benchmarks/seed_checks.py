"""Seed checks: the two founding articles must join each other and nothing else.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.seed_checks ../shared/seeds/idlib_sept2018.jsonl \\
        ../shared/data/basil.jsonl [--grouper evidence] [--param window_days=14,30]

(a) Interloper streams: [seed1, X, seed2] for each 2018 BASIL article X, dated
    midway between the seeds.
(c) Competing narratives: seed1, then the ten BASIL articles naming Middle-East or
    Russia actors most often, in file order, dated evenly between the seeds, then seed2.
"""

from __future__ import annotations

import argparse
import functools
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.devset import Article, Vectors, embed, load_articles
from benchmarks.replay import GROUPERS, grid
from clustering.online import OnlineGrouper

_COMPETITORS = re.compile(
    r"\b(Syria\w*|Assad|Idlib|Damascus|Iran\w*|Iraq\w*|ISIS|Israel\w*|Netanyahu|Russia\w*|"
    r"Putin|Saudi|Mattis|Pentagon)\b"
)


def stream_ok(
    factory: Callable[[], OnlineGrouper], stream: Sequence[Article], vectors: Vectors
) -> tuple[bool, str]:
    """Replay ``stream`` (first and last are the seeds, already in order); check the seeds.

    True when the last article joins the first one's storyline and no other
    article shares it. The detail names the intruders or the refused join.
    """
    grouper = factory()
    labels = []
    for n, (a, v) in enumerate(zip(stream, vectors, strict=True)):
        item = a.item(v)
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
    """Lines of report for the interloper (a) and competing-narrative (c) streams."""
    s1, s2 = sorted(seeds, key=lambda a: a.timestamp or 0.0)
    if s1.timestamp is None or s2.timestamp is None:
        raise ValueError("both seeds need a published_at")
    seed_vecs = embed([s1, s2])
    basil_vecs = embed(basil)
    mid = (s1.timestamp + s2.timestamp) / 2
    year = [i for i, a in enumerate(basil) if a.timestamp and _year(a.timestamp) == 2018]
    failures = []
    for i in year:
        stream = [s1, basil[i].redated(mid), s2]
        ok, why = stream_ok(factory, stream, np.vstack([seed_vecs[0], basil_vecs[i], seed_vecs[1]]))
        if not ok:
            failures.append(f"{basil[i].id} {basil[i].title[:50]!r}: {why}")
    lines = [f"(a) interloper streams: {len(year) - len(failures)}/{len(year)} ok"]
    lines += [f"    FAIL {f}" for f in failures]
    mentions = [len(_COMPETITORS.findall(f"{a.title} {a.body}")) for a in basil]
    rivals = sorted(sorted(range(len(basil)), key=lambda i: -mentions[i])[:10])
    step = (s2.timestamp - s1.timestamp) / (len(rivals) + 1)
    stream = [s1]
    stream += [basil[i].redated(s1.timestamp + (k + 1) * step) for k, i in enumerate(rivals)]
    stream.append(s2)
    ok, why = stream_ok(
        factory, stream, np.vstack([seed_vecs[0], basil_vecs[rivals], seed_vecs[1]])
    )
    lines.append(
        f"(c) competing narratives ({len(rivals)} rivals): {'ok' if ok else 'FAIL ' + why}"
    )
    return lines


def _year(timestamp: float) -> int:
    return datetime.fromtimestamp(timestamp, tz=UTC).year


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("seeds", type=Path)
    parser.add_argument("basil", type=Path)
    parser.add_argument("--grouper", default="evidence", choices=sorted(GROUPERS))
    parser.add_argument("--param", action="append", default=[], help="name=v1,v2,...")
    args = parser.parse_args(argv)
    seeds, basil = load_articles(args.seeds), load_articles(args.basil)
    for params in grid(args.param):
        print(f"seed checks {args.grouper} {params}", flush=True)
        factory = functools.partial(GROUPERS[args.grouper], **params)
        for line in seed_checks(factory, seeds, basil):
            print("  " + line, flush=True)


if __name__ == "__main__":
    main()
