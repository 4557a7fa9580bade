"""Prometheus metrics: a read key, or a scraper on this host."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from app.api.auth import AUTH_RESPONSES, require_read_or_loopback
from app.api.deps import StateDep
from app.metrics import CONTENT_TYPE, exposition

router = APIRouter(
    tags=["operations"],
    dependencies=[Depends(require_read_or_loopback)],
    responses=AUTH_RESPONSES,
)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def metrics(state: StateDep) -> Response:
    """Request counts and latencies, ingest outcomes, queue, model, jobs, SSE clients, pool."""
    body = await run_in_threadpool(exposition, state.db, state.quotas.engine)
    return Response(body, media_type=CONTENT_TYPE)
