"""Spread of a storyline: who published first, who followed whom, whose text was reused."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Article
from app.schemas_spread import (
    FollowerEdge,
    NearDuplicateScan,
    RepublishEdge,
    Spread,
    SpreadOutlet,
)
from app.services.lag import lag_between
from app.services.members import (
    Member,
    first_per_outlet,
    language_counts,
    load_members,
    outlet_languages,
)
from clustering import minhash

# Texts compared per request: the earliest members, where copying starts. Bounds the
# work (about 0.15 ms of MinHash per article, pairs grow with the square).
SCAN_LIMIT = 150
# Candidates from the MinHash estimate may sit this far below the threshold (its
# standard error is about 0.045 at 128 permutations); the exact Jaccard decides.
_ESTIMATE_SLACK = 0.15
# Exact checks per article, best estimates first: a wire story copied by fifty
# outlets must not cost fifty squared set intersections.
_VERIFY_PER_ARTICLE = 5


def storyline_spread(
    session: Session,
    storyline_id: int,
    tie_window_hours: float,
    min_jaccard: float,
    as_of: datetime | None = None,
) -> Spread:
    """How the storyline spread across outlets (raises :class:`NotFound` when unknown).

    Outlets come in adoption order (time of their first article, then article id);
    those whose first article lies within ``tie_window_hours`` of the earliest are
    all first publishers. Times are effective times: published_at, or ingested_at
    when the article had none (``published_at_missing``). With ``as_of``, the
    storyline as it was at that instant (its members then).
    """
    members = load_members(session, storyline_id, as_of)
    firsts = first_per_outlet(members)
    scanned = members[:SCAN_LIMIT]
    scan = NearDuplicateScan(
        articles_compared=len(scanned),
        truncated=len(members) > SCAN_LIMIT,
        min_jaccard=min_jaccard,
        permutations=minhash.PERMUTATIONS,
    )
    if not members:
        return Spread(
            storyline_id=storyline_id,
            article_count=0,
            languages={},
            tie_window_hours=tie_window_hours,
            first_at=None,
            uses_ingest_time=False,
            first_publishers=[],
            outlets=[],
            follower_edges=[],
            republish_edges=[],
            near_duplicates=scan,
        )
    start = members[0].effective_at
    tie_end = start + timedelta(hours=tie_window_hours)
    counts = Counter(m.outlet_id for m in members)
    languages = outlet_languages(members)
    outlets = [
        SpreadOutlet(
            outlet=first.outlet,
            language=languages[first.outlet_id],
            rank=rank,
            first_publisher=first.effective_at <= tie_end,
            article_count=counts[first.outlet_id],
            first_article=first.first_article(),
            lag=lag_between(start, first.effective_at),
        )
        for rank, first in enumerate(firsts, start=1)
    ]
    return Spread(
        storyline_id=storyline_id,
        article_count=len(members),
        languages=language_counts(members),
        tie_window_hours=tie_window_hours,
        first_at=start,
        uses_ingest_time=any(m.published_at_missing for m in members),
        first_publishers=[o for o in outlets if o.first_publisher],
        outlets=outlets,
        follower_edges=_follower_edges(session, firsts, tie_end),
        republish_edges=_republish_edges(session, scanned, min_jaccard),
        near_duplicates=scan,
    )


def _follower_edges(
    session: Session, firsts: list[Member], tie_end: datetime
) -> list[FollowerEdge]:
    """One edge per outlet that is not a first publisher, from the earlier outlet whose
    first article its own first article most resembles (cosine of embeddings).

    When no earlier first article has a comparable embedding (another model), the
    leader is the first publisher. At most ``len(firsts) - 1`` edges.
    """
    followers = [i for i, f in enumerate(firsts) if f.effective_at > tie_end]
    if not followers:
        return []
    vectors, models = _embeddings(session, [f.id for f in firsts])
    edges: list[FollowerEdge] = []
    for index in followers:
        follower = firsts[index]
        earlier = [
            i
            for i in range(index)
            if firsts[i].effective_at < follower.effective_at
            and models.get(firsts[i].id) == models.get(follower.id) is not None
        ]
        similarity: float | None = None
        leader = firsts[0]
        if earlier:
            sims = vectors[earlier] @ vectors[index]
            best = int(np.argmax(sims))  # first maximum: the earliest of equals
            leader, similarity = firsts[earlier[best]], round(float(sims[best]), 4)
        edges.append(
            FollowerEdge(
                leader=leader.ref(),
                follower=follower.ref(),
                lag=lag_between(leader.effective_at, follower.effective_at),
                similarity=similarity,
            )
        )
    return edges


def _embeddings(
    session: Session, article_ids: list[int]
) -> tuple[NDArray[np.float32], dict[int, tuple[str, int]]]:
    """Unit vectors of the articles, row i for ``article_ids[i]`` (zeros when unreadable),
    and each article's (model, dimension) so only like vectors are compared."""
    rows = session.execute(
        select(Article.id, Article.embedding, Article.embedding_model, Article.embedding_dim).where(
            Article.id.in_(article_ids)
        )
    ).all()
    by_id = {row[0]: row for row in rows}
    dim = max((row[3] or 0 for row in rows), default=0)
    vectors = np.zeros((len(article_ids), dim), dtype=np.float32)
    models: dict[int, tuple[str, int]] = {}
    for i, article_id in enumerate(article_ids):
        row = by_id.get(article_id)
        if row is None:
            continue
        _, blob, model, size = row
        if blob is None or model is None or size != dim or len(blob) != 4 * dim:
            continue  # not embedded (yet), or by a model of another size
        vector = np.frombuffer(blob, dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        if norm > 0:
            vectors[i] = vector / norm
            models[article_id] = (model, size)
    return vectors, models


def _republish_edges(
    session: Session, scanned: list[Member], min_jaccard: float
) -> list[RepublishEdge]:
    """For each scanned article, the earlier article of another outlet whose text it
    overlaps most, when the exact Jaccard of their word 5-shingles is >= ``min_jaccard``.

    MinHash estimates pick the candidates; exact set overlap scores them. At most one
    edge per article, so at most ``len(scanned) - 1``.
    """
    if len(scanned) < 2:
        return []
    rows = session.execute(
        select(Article.id, Article.body).where(Article.id.in_([m.id for m in scanned]))
    )
    texts = {article_id: body for article_id, body in rows}
    # Bodies only: shared headlines are common across outlets and say nothing of copying.
    shingle_sets = [minhash.shingles(texts.get(m.id) or "") for m in scanned]
    estimates = minhash.estimated_jaccard(np.stack([minhash.signature(s) for s in shingle_sets]))
    outlet_ids = np.array([m.outlet_id for m in scanned])
    edges: list[RepublishEdge] = []
    for j in range(1, len(scanned)):
        row = estimates[j, :j].copy()
        row[outlet_ids[:j] == outlet_ids[j]] = -1.0  # an outlet re-running itself is no spread
        candidates = np.flatnonzero(row >= min_jaccard - _ESTIMATE_SLACK)
        if candidates.size == 0:
            continue
        candidates = candidates[np.argsort(-row[candidates], kind="stable")][:_VERIFY_PER_ARTICLE]
        best: tuple[float, float, int] | None = None
        for i in sorted(int(c) for c in candidates):
            jaccard, containment = minhash.exact_overlap(shingle_sets[i], shingle_sets[j])
            if jaccard >= min_jaccard and (best is None or jaccard > best[0]):
                best = (jaccard, containment, i)
        if best is not None:
            source = scanned[best[2]]
            edges.append(
                RepublishEdge(
                    source=source.ref(),
                    republished=scanned[j].ref(),
                    jaccard=round(best[0], 4),
                    containment=round(best[1], 4),
                    lag=lag_between(source.effective_at, scanned[j].effective_at),
                )
            )
    return edges
