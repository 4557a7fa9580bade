"""Search storylines by meaning and by words."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.api.auth import AUTH_RESPONSES, ReadAccess
from app.api.deps import SessionDep, StateDep
from app.models import Storyline
from app.schemas import SearchHit, SearchResult, StorableText
from app.services.listing import summary
from app.services.search import MIN_SCORE, search

router = APIRouter(
    prefix="/search", tags=["search"], dependencies=[ReadAccess], responses=AUTH_RESPONSES
)


@router.get("", response_model=SearchResult)
def search_storylines(
    session: SessionDep,
    state: StateDep,
    q: Annotated[
        StorableText,
        Query(
            min_length=1,
            max_length=500,
            description="Words or a sentence.",
            examples=["staged chemical attack Idlib"],
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    min_score: Annotated[
        float,
        Query(
            ge=0,
            le=1,
            description="Drop hits scoring below this: a query that matches nothing "
            "for real returns no hits.",
        ),
    ] = MIN_SCORE,
) -> SearchResult:
    """Storylines whose centroid is close to the query's meaning, or whose label or
    headlines contain its words; each hit says why it matched."""
    vector = state.ingestor.embed_texts([q.strip()])[0]
    hits = [h for h in search(session, state.centroids, q, vector, limit) if h.score >= min_score]
    ids = [h.storyline_id for h in hits]
    rows = {s.id: s for s in session.scalars(select(Storyline).where(Storyline.id.in_(ids)))}
    return SearchResult(
        query=q,
        hits=[
            SearchHit(
                storyline=summary(rows[h.storyline_id]),
                score=h.score,
                reasons=list(h.reasons),
            )
            for h in hits
            if h.storyline_id in rows
        ],
    )
