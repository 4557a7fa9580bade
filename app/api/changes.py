"""The change feed: poll it, or stream it over Server-Sent Events."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.api.auth import AUTH_RESPONSES, ReadAccess
from app.api.deps import SessionDep, StateDep
from app.db import Database
from app.errors import InvalidInput, input_error
from app.metrics import SSE_CLIENTS
from app.models import StorylineChange
from app.schemas import ChangeOut, ChangePage
from app.server import stopping_event
from app.services.changes import list_changes

router = APIRouter(
    prefix="/changes", tags=["changes"], dependencies=[ReadAccess], responses=AUTH_RESPONSES
)

_POLL_SECONDS = 0.5

_HEARTBEAT_SECONDS = 15.0
# seq is a 32-bit column on both stores.
MAX_SEQ = 2**31 - 1
_EVENT_ID = re.compile(r"[0-9]{1,10}")
Since = Annotated[
    int, Query(ge=0, le=MAX_SEQ, description="Last seq already seen (0: from the start).")
]

StorylineOnly = Annotated[
    int | None,
    Query(ge=1, le=MAX_SEQ, description="Only changes about this storyline."),
]


@router.get("", response_model=ChangePage)
def get_changes(
    session: SessionDep,
    since: Since = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    storyline_id: StorylineOnly = None,
) -> ChangePage:
    """Storyline changes after `since`, in order; none is skipped or repeated."""
    rows = list_changes(session, since, limit, storyline_id)
    return ChangePage(changes=[_out(r) for r in rows], next_since=rows[-1].seq if rows else since)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_changes(
    request: Request,
    state: StateDep,
    since: Since = 0,
    max_events: Annotated[
        int | None,
        Query(ge=1, le=MAX_SEQ, description="Close after this many events (scripts, tests)."),
    ] = None,
    last_event_id: Annotated[
        str | None, Header(description="Resume point (SSE): the last seq seen, a decimal number.")
    ] = None,
    storyline_id: StorylineOnly = None,
) -> StreamingResponse:
    """The same changes as `GET /changes`, pushed as they commit; resumable by Last-Event-ID."""
    start = since
    if last_event_id is not None and last_event_id.strip():
        # Checked before the stream starts: a bad resume point is a 422, not a dead stream.
        resume = last_event_id.strip()
        if not _EVENT_ID.fullmatch(resume) or int(resume) > MAX_SEQ:
            msg = f"Last-Event-ID must be a change seq: a non-negative integer up to {MAX_SEQ}"
            raise InvalidInput([input_error(("header", "last-event-id"), msg, "int_parsing")])
        start = int(resume)
    events = _counted(
        _events(request, state.db, start, max_events, stopping_event(request.app), storyline_id)
    )
    return StreamingResponse(
        events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


async def _events(
    request: Request,
    db: Database,
    since: int,
    max_events: int | None,
    stopping: threading.Event,
    storyline_id: int | None,
) -> AsyncIterator[str]:
    sent, quiet_since = 0, time.monotonic()
    yield "retry: 2000\n\n"
    # The server stopping ends the stream; the client resumes elsewhere by Last-Event-ID.
    while (max_events is None or sent < max_events) and not stopping.is_set():
        rows = await run_in_threadpool(_fetch, db, since, storyline_id)
        for row in rows:
            yield f"id: {row.seq}\nevent: change\ndata: {_out(row).model_dump_json()}\n\n"
            since, sent = row.seq, sent + 1
            if max_events is not None and sent >= max_events:
                return
        if rows:
            quiet_since = time.monotonic()
            continue
        if await request.is_disconnected():
            return
        if time.monotonic() - quiet_since > _HEARTBEAT_SECONDS:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(_POLL_SECONDS)


async def _counted(events: AsyncIterator[str]) -> AsyncIterator[str]:
    """``events``, with the stream counted in the SSE clients gauge while it is open."""
    SSE_CLIENTS.inc()
    try:
        async for event in events:
            yield event
    finally:
        SSE_CLIENTS.dec()


def _fetch(db: Database, since: int, storyline_id: int | None) -> list[StorylineChange]:
    with db.session() as session:
        rows = list_changes(session, since, 200, storyline_id)
        session.expunge_all()
        return rows


def _out(row: StorylineChange) -> ChangeOut:
    return ChangeOut.model_validate(row)
