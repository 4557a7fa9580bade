"""Liveness and readiness."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from sqlalchemy import func, select

from app.api.deps import SessionDep, StateDep
from app.models import Article, ArticleStatus
from app.schemas import Health, VectorsOut
from app.services.space import progress

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: SessionDep, state: StateDep) -> Health:
    """Database, model, live storylines, and articles by status (the queue's depth)."""
    rows = session.execute(select(Article.status, func.count()).group_by(Article.status))
    by_status = {status: count for status, count in rows}
    return Health(
        status="ok",
        database=state.db.engine.dialect.name,
        model=state.embedder.model_name,
        live_storylines=len(state.runtime.grouper),
        articles={status.value: by_status.get(status, 0) for status in ArticleStatus},
        vectors=VectorsOut(**asdict(progress(session, state.embedder.model_name))),
    )
