"""Articles: ingest and read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import IngestorDep, SessionDep, SettingsDep
from app.config import Settings
from app.errors import InvalidInput, PayloadTooLarge, input_error
from app.schemas import ArticleIn, ArticleOut, IngestResponse, IngestResult
from app.services import queries
from app.services.prepare import Limits, parse_payload

router = APIRouter(prefix="/articles", tags=["articles"])

_BODY_SCHEMA = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {"$ref": "#/components/schemas/ArticleIn"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/ArticleIn"}},
                ]
            }
        }
    },
}


@router.post(
    "",
    response_model=IngestResponse,
    status_code=201,
    openapi_extra={"requestBody": _BODY_SCHEMA},
    responses={
        200: {"description": "Every article was already stored; nothing new was written."},
        201: {"description": "At least one article was stored."},
        413: {"description": "Request body over the configured byte limit."},
        422: {"description": "Invalid input; `detail` names each field and reason."},
    },
)
async def post_articles(
    request: Request, response: Response, settings: SettingsDep, ingestor: IngestorDep
) -> IngestResponse:
    """Store one article (an object) or a batch (a list), each joined to a storyline.

    Idempotent by `external_id`, else `url`, else outlet + text: re-posting answers
    with the stored article. Every article is committed before the response.
    """
    payload = await _read_json(request, settings.max_request_bytes)
    now = datetime.now(UTC)
    limits = _limits(settings)
    articles, _ = await run_in_threadpool(parse_payload, payload, limits, now)
    stored = await run_in_threadpool(ingestor.ingest, articles, now)
    if not any(s.created for s in stored):
        response.status_code = 200
    return IngestResponse(
        articles=[
            IngestResult(
                id=s.id,
                created=s.created,
                status=s.status.value,
                storyline_id=s.storyline_id,
                storyline_is_new=s.storyline_is_new,
                similarity=s.similarity,
            )
            for s in stored
        ]
    )


@router.get("/{article_id}", response_model=ArticleOut, responses={404: {}})
def get_article(article_id: int, session: SessionDep) -> ArticleOut:
    """One stored article with its storyline."""
    return queries.get_article(session, article_id)


def _limits(settings: Settings) -> Limits:
    return Limits(
        batch=settings.batch_limit,
        body_bytes=settings.max_body_bytes,
        future=timedelta(hours=settings.future_tolerance_hours),
    )


async def _read_json(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise InvalidInput([input_error(("body",), "request body is empty", "missing")])
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            [input_error(("body",), f"body is not valid JSON: {exc}", "json_invalid")]
        ) from None


# Referenced by the hand-written request body schema above.
__all__ = ["ArticleIn", "router"]
