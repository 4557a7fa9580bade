"""Liveness and readiness."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import SessionDep, StateDep
from app.models import ArticleStatus, StorylineStatus
from app.schemas import Health, VectorsOut
from app.schemas_access import Liveness, Readiness
from app.services import counts
from app.services.space import progress

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: SessionDep, state: StateDep) -> Health:
    """Database, model, storylines by status (active, dormant, merged), and articles by
    status (the queue's depth)."""
    # Kept by triggers (app.services.counts): exact, and a few rows to read at any size.
    by_status = counts.kept(session, counts.ARTICLE_STATUS)
    stories = counts.kept(session, counts.STORYLINE_STATUS)
    return Health(
        status="ok",
        database=state.db.engine.dialect.name,
        model=state.embedder.model_name,
        live_storylines=len(state.runtime.grouper),
        storylines={status.value: stories.get(status.value, 0) for status in StorylineStatus},
        articles={status.value: by_status.get(status.value, 0) for status in ArticleStatus},
        vectors=VectorsOut(
            **asdict(progress(session, state.embedder.model_name)),
            family=state.settings.embedding_model,
        ),
    )


@router.get("/health/live", response_model=Liveness)
async def live() -> Liveness:
    """The process is up and answering (no I/O): restart it only when this fails."""
    return Liveness(status="ok")


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready; `checks` says why."}},
)
async def ready(response: Response, state: StateDep) -> Readiness:
    """Database reachable, model loaded, migrations current, queue moving; else 503."""
    checks = await run_in_threadpool(state.readiness.check)
    ok = all(v == "ok" for v in checks.values())
    response.status_code = 200 if ok else 503
    return Readiness(status="ready" if ok else "not ready", checks=checks)
