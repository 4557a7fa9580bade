"""Exports: a storyline's articles as CSV or JSON lines, its spread graph as GraphML or GEXF."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.api.auth import AUTH_RESPONSES, ReadAccess
from app.api.deps import StateDep
from app.db import Database
from app.schemas import UtcDateTime
from app.services import asof
from app.services.export import (
    ExportFormat,
    article_records,
    encode_graph,
    encode_records,
    spread_graph,
    storyline_articles,
)
from app.services.members import require_storyline
from app.services.spread import storyline_spread

router = APIRouter(tags=["export"], dependencies=[ReadAccess], responses=AUTH_RESPONSES)

_CONTENT: dict[str, Any] = {fmt.media_type.split(";")[0]: {} for fmt in ExportFormat}


@router.get(
    "/storylines/{storyline_id}/export",
    response_class=StreamingResponse,
    responses={200: {"content": _CONTENT}, 404: {}},
)
def export_storyline(
    storyline_id: int,
    state: StateDep,
    fmt: Annotated[
        ExportFormat,
        Query(
            alias="format",
            description="csv or jsonl: the articles (outlet, time, url, language, "
            "similarity); graphml or gexf: the spread graph (outlets with first-seen "
            "time; follower and republish edges with lags), for networkx or Gephi.",
        ),
    ] = ExportFormat.csv,
    as_of: Annotated[
        UtcDateTime | None, Query(description="Export the storyline as it was at this instant.")
    ] = None,
    tie_window_hours: Annotated[float, Query(ge=0, le=24 * 365)] = 1.0,
    min_jaccard: Annotated[float, Query(ge=0.1, le=1.0)] = 0.5,
) -> StreamingResponse:
    """Download the storyline; articles stream out as they are read, never held whole."""
    at = asof.check_instant(as_of) if as_of is not None else None
    body: Iterator[bytes]
    with state.db.session() as session:
        require_storyline(session, storyline_id, at)
        if fmt.is_graph:
            spread = storyline_spread(session, storyline_id, tie_window_hours, min_jaccard, at)
            body = encode_graph(spread_graph([spread]), fmt)
        else:
            body = _stream(state.db, storyline_id, at, fmt)
    name = f"storyline-{storyline_id}.{fmt.value}"
    return StreamingResponse(
        body,
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _stream(
    db: Database, storyline_id: int, at: UtcDateTime | None, fmt: ExportFormat
) -> Iterator[bytes]:
    # Its own session: the request's is closed by the time the body is sent.
    with db.session() as session:
        records = article_records(session, storyline_articles(storyline_id, at))
        yield from encode_records(records, fmt)
