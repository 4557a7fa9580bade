"""`storyline eval`: replay a labelled corpus through the ingest path and score it."""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select

from app.config import Settings
from app.corpus import CorpusRow, read_corpus
from app.models import Article, Storyline, as_utc
from app.services.discovery import Discovery
from app.services.grouping import GroupingConfig
from app.services.identity import Outcome
from app.services.ingest import Ingestor
from app.services.lineage import follow_merges
from app.services.prepare import Limits, parse_payload
from app.state import ModelCall, ServiceState
from clustering.metrics import score
from embeddings.protocol import Embedder


@dataclass(frozen=True, slots=True)
class FileReport:
    """Quality and speed of one replayed corpus (keys of ``storyline eval --json``)."""

    file: str
    articles: int
    bcubed_p: float
    bcubed_r: float
    bcubed_f1: float
    pair_p: float
    pair_r: float
    pair_f1: float
    ami: float
    ari: float
    gold_stories: int
    pred_stories: int
    articles_per_s: float
    grouping_ms_per_article: float
    method_ms_per_article: float
    discovery_ms_per_article: float  # batch discovery, off the ingest path in the service
    labels_ms_per_article: float  # term counts and labels, off the ingest path likewise
    # Rows naming an article an earlier row stored (same id, else same URL): each
    # replayed as the service takes it, a revision or an unchanged re-post.
    revised: int
    unchanged: int
    embed_ms_per_article: float  # the model (or the embedding cache) in the same run
    undated: int  # articles replayed without a published_at
    # CPU time of the whole process (every thread), so a busy host inflates both
    # alike: the model's calls, and everything else of the replay (storing,
    # grouping, discovery, labels). Their ratio is the cost of grouping per
    # article of embedding; with a warm embedding cache it means nothing.
    embed_cpu_ms_per_article: float
    other_cpu_ms_per_article: float
    # First 16 hex of the SHA-256 of the sorted (article id, final storyline) lines:
    # two replays that decide every article alike have the same one.
    partition: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def replay_order(rows: list[CorpusRow]) -> list[CorpusRow]:
    """Rows by published_at (undated ones keep their place after the dated ones)."""
    dated = [r for r in rows if r.payload.get("published_at")]
    undated = [r for r in rows if not r.payload.get("published_at")]
    return sorted(dated, key=lambda r: as_utc(str(r.payload["published_at"]))) + undated


def evaluate_file(
    path: Path,
    embedder: Embedder,
    base: Settings,
    batch: int = 64,
    *,
    grouping: GroupingConfig | None = None,
    model_call: ModelCall | None = None,
    discovery_every: int = 256,
    drop_dates: float = 0.0,
) -> FileReport:
    """Ingest ``path`` in published order into a throwaway SQLite database and score it.

    Every row needs a gold ``story``. The prediction is each article's final
    storyline, following ``merged_into`` so later repairs count. ``drop_dates``
    is the share of articles replayed as if they carried no date (see
    :func:`drop_dates`).
    """
    replay = replay_file(
        path,
        embedder,
        base,
        batch,
        grouping=grouping,
        model_call=model_call,
        discovery_every=discovery_every,
        undated_share=drop_dates,
    )
    rows, ingestor, elapsed = replay.rows, replay.ingestor, replay.seconds
    gold = _codes([str(r.story) for r in rows])
    pred = np.array([replay.storyline_of[str(r.payload["external_id"])] for r in rows])
    s = score(gold, pred)
    n = len(rows)
    return FileReport(
        file=path.name,
        articles=n,
        bcubed_p=s.bcubed_precision,
        bcubed_r=s.bcubed_recall,
        bcubed_f1=s.bcubed_f1,
        pair_p=s.pair_precision,
        pair_r=s.pair_recall,
        pair_f1=s.pair_f1,
        ami=s.ami,
        ari=s.ari,
        gold_stories=s.gold_clusters,
        pred_stories=s.pred_clusters,
        articles_per_s=n / elapsed,
        grouping_ms_per_article=1000
        * (elapsed - ingestor.embed_seconds - replay.discovery_seconds - replay.label_seconds)
        / n,
        method_ms_per_article=1000 * ingestor.group_seconds / n,
        discovery_ms_per_article=1000 * replay.discovery_seconds / n,
        labels_ms_per_article=1000 * replay.label_seconds / n,
        revised=replay.revised,
        unchanged=replay.unchanged,
        embed_ms_per_article=1000 * ingestor.embed_seconds / n,
        undated=sum(not r.payload.get("published_at") for r in rows),
        embed_cpu_ms_per_article=1000 * ingestor.embed_cpu_seconds / n,
        other_cpu_ms_per_article=1000 * (replay.cpu_seconds - ingestor.embed_cpu_seconds) / n,
        partition=partition_hash(replay.storyline_of),
    )


def partition_hash(storyline_of: dict[str, int]) -> str:
    """First 16 hex of the SHA-256 of ``id<TAB>storyline`` lines in id order."""
    lines = "\n".join(f"{k}\t{v}" for k, v in sorted(storyline_of.items()))
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Replay:
    rows: list[CorpusRow]
    # Each row's external id (as replayed) -> the final storyline of the article
    # it was stored as (-1: never placed); rows naming one article share it.
    storyline_of: dict[str, int]
    revised: int  # rows that revised an article an earlier row stored
    unchanged: int  # rows that repeated one as stored
    ingestor: Ingestor
    seconds: float
    discovery_seconds: float  # part of ``seconds`` spent in batch discovery
    label_seconds: float  # part of ``seconds`` spent by the labeller
    cpu_seconds: float  # process CPU time over the same span as ``seconds``


def drop_dates(rows: list[CorpusRow], share: float) -> list[CorpusRow]:
    """``rows`` with ``published_at`` removed from ``share`` of them (in [0, 1]).

    The rows are chosen at random with a fixed seed, so a replay is repeatable.
    A corpus replayed this way is the same as the file with those dates blanked:
    its undated rows then come after the dated ones, in file order (the shared
    corpora are sorted by date, so with every date removed the stream still
    arrives in publication order, only without saying when).
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share of undated articles must lie in [0, 1], got {share}")
    drop = np.random.default_rng(0).random(len(rows)) < share
    return [
        replace(r, payload={**r.payload, "published_at": None}) if d else r
        for r, d in zip(rows, drop.tolist(), strict=True)
    ]


def replay_file(
    path: Path,
    embedder: Embedder,
    base: Settings,
    batch: int = 64,
    *,
    grouping: GroupingConfig | None = None,
    model_call: ModelCall | None = None,
    discovery_every: int = 256,
    undated_share: float = 0.0,
) -> Replay:
    """Ingest a labelled corpus in published order into a throwaway SQLite database.

    Discovery runs after every ``discovery_every`` articles and once at the end, as
    the serve process would over time (0: never). ``undated_share`` of the rows
    lose their date first (:func:`drop_dates`).
    """
    rows = _unique_ids([r for r in read_corpus(path) if r.payload])
    rows = replay_order(drop_dates(rows, undated_share) if undated_share else rows)
    missing = [r.line for r in rows if r.story is None]
    if missing:
        raise ValueError(f"{path}: lines {missing[:5]} have no gold 'story'")
    limits = Limits(10**9, 10**9, timedelta(days=36_500), title_chars=10**9, metadata_bytes=10**9)
    discovery_seconds = label_seconds = 0.0
    article_of: list[int] = []
    outcomes: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="storyline-eval-") as tmp:
        settings = base.model_copy(update={"database_url": f"sqlite:///{tmp}/eval.db"})
        state = ServiceState.start(settings, embedder, grouping=grouping, model_call=model_call)
        discovery = Discovery(state.db, state.runtime)
        every = discovery_every
        started, cpu_started = time.perf_counter(), time.process_time()
        since_discovery = 0
        for start in range(0, len(rows), batch):
            chunk = [r.payload for r in rows[start : start + batch]]
            now = datetime.now(UTC)
            for result in state.ingestor.ingest(parse_payload(chunk, limits, now), now):
                article_of.append(result.id)
                outcomes[result.outcome] += 1
            since_discovery += len(chunk)
            if every and since_discovery >= every:
                discovery_seconds += discovery.run().seconds
                label_seconds += state.labeller.run().seconds
                since_discovery = 0
        if every:
            discovery_seconds += discovery.run().seconds
        label_seconds += state.labeller.run().seconds
        elapsed = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        final = _final_storylines(state)
        predicted = {
            str(row.payload["external_id"]): final[article]
            for row, article in zip(rows, article_of, strict=True)
        }
        state.close()
    return Replay(
        rows,
        predicted,
        outcomes[Outcome.revised],
        outcomes[Outcome.unchanged],
        state.ingestor,
        elapsed,
        discovery_seconds,
        label_seconds,
        cpu_seconds,
    )


def _unique_ids(rows: list[CorpusRow]) -> list[CorpusRow]:
    """Rows whose ``id`` the file repeats get one qualified by their line.

    A corpus id shared by different articles (basil.jsonl has four rows with
    the placeholder "basil-empty") is no identity; replayed as is, the service
    would rightly take them for one article posted four times.
    """
    counts = Counter(r.payload.get("external_id") for r in rows)
    out = []
    for r in rows:
        external_id = r.payload.get("external_id")
        if external_id is not None and counts[external_id] > 1:
            r = replace(r, payload={**r.payload, "external_id": f"{external_id}#{r.line}"})
        out.append(r)
    return out


def _final_storylines(state: ServiceState) -> dict[int, int]:
    with state.db.session() as session:
        storylines = {s.id: s for s in session.scalars(select(Storyline))}
        final = {sid: follow_merges(session, s) for sid, s in storylines.items()}
        out: dict[int, int] = {}
        for article_id, placed in session.execute(select(Article.id, Article.storyline_id)):
            survivor = None if placed is None else final[placed]
            out[article_id] = -1 if survivor is None else survivor.id  # -1: a singleton
        return out


def _codes(labels: list[str]) -> np.ndarray:
    index: dict[str, int] = {}
    return np.array([index.setdefault(x, len(index)) for x in labels], dtype=np.int64)
