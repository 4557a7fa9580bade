"""Articles: ingest and read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.api.auth import AUTH_RESPONSES, IngestKey, ReadAccess
from app.api.body import read_json
from app.api.deps import SessionDep, SettingsDep, StateDep
from app.api.limits import charge_articles
from app.config import Settings
from app.errors import InvalidInput, Overloaded
from app.metrics import ARTICLES
from app.schemas import ArticleIn, ArticleOut, ArticleRevisions, IngestResponse, IngestResult
from app.services import queries
from app.services.prepare import Limits, parse_payload
from app.state import MAX_WAITING_REQUESTS

router = APIRouter(prefix="/articles", tags=["articles"], responses=AUTH_RESPONSES)

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
        200: {"description": "Every article was already stored as posted; nothing was written."},
        201: {"description": "At least one article was stored or revised, and grouped."},
        202: {"description": "Asynchronous ingest: stored as pending, grouped shortly."},
        409: {"description": "A post would give an article a URL another article holds."},
        413: {"description": "Request body over the configured byte limit."},
        415: {"description": "The body is not `application/json`."},
        503: {"description": "Too much work waiting; retry after `Retry-After` seconds."},
        422: {"description": "Invalid input; `detail` names each field and reason."},
    },
)
async def post_articles(
    request: Request, response: Response, settings: SettingsDep, state: StateDep, key: IngestKey
) -> IngestResponse:
    """Store one article (an object) or a batch (a list), each joined to a storyline.

    An article is identified by its `external_id`, else its `url`, else outlet +
    text. Re-posting it unchanged answers with the stored article (`unchanged`);
    with a different title, body, date, URL or metadata it stays the same article
    (same id), the posted version becomes current and the old one is kept under
    `GET /articles/{id}/revisions` (`revised`); new text is embedded and placed
    again, and may move the article to another storyline (lineage and change
    feed say so). Items of one batch naming the same article apply in batch
    order, each a revision of the one before. An item with a new `external_id`
    and a stored `url` names the article of that URL. Every article is committed
    before the response. With
    asynchronous ingest the answer is 202 and `status` is `pending` until a worker
    has embedded and grouped it (see `GET /articles/{id}`).
    """
    payload = await read_json(request, settings.max_request_bytes, settings.max_json_depth)
    now = datetime.now(UTC)
    limits = _limits(settings)
    try:
        articles = await run_in_threadpool(parse_payload, payload, limits, now)
    except InvalidInput:
        ARTICLES.labels("refused").inc(len(payload) if isinstance(payload, list) else 1)
        raise
    await charge_articles(state, key, len(articles))
    if settings.async_ingest:
        backlog = await run_in_threadpool(state.ingestor.backlog)
        if backlog >= settings.max_backlog:
            raise Overloaded(
                f"{backlog} articles are waiting to be grouped (limit {settings.max_backlog})",
                retry_after=_retry_after(backlog),
            )
        stored = await run_in_threadpool(state.ingestor.accept, articles, now)
        created_status = 202
    else:
        if not state.waiting.acquire(blocking=False):
            msg = f"{MAX_WAITING_REQUESTS} requests are already waiting for the model"
            raise Overloaded(msg, retry_after=2)
        try:
            stored = await run_in_threadpool(state.ingestor.ingest, articles, now)
        finally:
            state.waiting.release()
        created_status = 201
    for s in stored:
        ARTICLES.labels(_OUTCOME_LABEL[s.outcome]).inc()
    changed = any(s.outcome != "unchanged" for s in stored)
    response.status_code = created_status if changed else 200
    return IngestResponse(
        articles=[
            IngestResult(
                id=s.id,
                outcome=s.outcome.value,
                created=s.created,
                status=s.status.value,
                storyline_id=s.storyline_id,
                storyline_is_new=s.storyline_is_new,
                similarity=s.similarity,
            )
            for s in stored
        ]
    )


@router.get(
    "/{article_id}", response_model=ArticleOut, responses={404: {}}, dependencies=[ReadAccess]
)
def get_article(article_id: int, session: SessionDep) -> ArticleOut:
    """One stored article with its storyline."""
    return queries.get_article(session, article_id)


@router.get(
    "/{article_id}/revisions",
    response_model=ArticleRevisions,
    responses={404: {}},
    dependencies=[ReadAccess],
)
def get_article_revisions(article_id: int, session: SessionDep) -> ArticleRevisions:
    """The earlier versions of an article that re-posts replaced, oldest first."""
    return queries.article_revisions(session, article_id)


# Ingest outcomes as /metrics counts them (storyline_articles_total{outcome}).
_OUTCOME_LABEL = {"created": "accepted", "revised": "revised", "unchanged": "duplicate"}


def _retry_after(backlog: int) -> int:
    """Seconds a client should wait: the backlog at a modest 20 articles/s, 1 to 60."""
    return max(1, min(60, backlog // 20))


def _limits(settings: Settings) -> Limits:
    return Limits(
        batch=settings.batch_limit,
        body_bytes=settings.max_body_bytes,
        future=timedelta(hours=settings.future_tolerance_hours),
        title_chars=settings.max_title_chars,
        metadata_bytes=settings.max_metadata_bytes,
    )


# Referenced by the hand-written request body schema above.
__all__ = ["ArticleIn", "router"]
