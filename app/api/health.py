"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import SessionDep, StateDep
from app.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: SessionDep, state: StateDep) -> Health:
    """Whether the database answers, which model embeds, how many storylines are live."""
    session.execute(text("SELECT 1"))
    return Health(
        status="ok",
        database=state.db.engine.dialect.name,
        model=state.embedder.model_name,
        live_storylines=len(state.runtime.grouper),
    )
