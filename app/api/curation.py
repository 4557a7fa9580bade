"""Editors' corrections (merge, split, move, label and lock) and their audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request

from app.api.auth import AUTH_RESPONSES, AdminAccess
from app.api.deps import SessionDep, StateDep
from app.errors import InvalidInput, input_error
from app.models import AuditEntry, Storyline
from app.schemas import UtcDateTime
from app.schemas_curation import AuditOut, AuditPage, CurationOut, EditIn, MergeIn, MoveIn, SplitIn
from app.services.curation import Curator, list_audit
from app.services.cursor import MAX_INT32
from app.services.listing import summary

router = APIRouter(tags=["curation"], dependencies=[AdminAccess], responses=AUTH_RESPONSES)

_REFUSALS: dict[int | str, dict[str, str]] = {
    404: {"description": "Unknown storyline or article."},
    409: {"description": "The state forbids it (merged away, not where claimed)."},
}


def editor(
    request: Request,
    x_editor: Annotated[
        str | None,
        Header(
            max_length=64,
            pattern=r"^[\w .@-]+$",
            description="Who is editing (recorded in the audit log).",
        ),
    ] = None,
) -> str:
    """Who edits, for the audit log: the admin key's name, with the person it names
    in `X-Editor` when the client sends one ("dana (newsdesk)")."""
    key_name = str(getattr(request.state, "key_name", "") or "public")
    return f"{x_editor} ({key_name})" if x_editor else key_name


EditorDep = Annotated[str, Depends(editor)]


@router.post("/storylines/{storyline_id}/merge", response_model=CurationOut, responses=_REFUSALS)
def merge(
    storyline_id: int, body: MergeIn, state: StateDep, session: SessionDep, who: EditorDep
) -> CurationOut:
    """Merge this storyline and `into`; the older id survives, the other answers `merged`."""
    entry, survivor = Curator(state.runtime).merge(
        session, storyline_id, body.into, body.reason, who, datetime.now(UTC)
    )
    return _result(session, entry, survivor)


@router.post("/storylines/{storyline_id}/split", response_model=CurationOut, responses=_REFUSALS)
def split(
    storyline_id: int, body: SplitIn, state: StateDep, session: SessionDep, who: EditorDep
) -> CurationOut:
    """Split the listed articles off into a new storyline with `split_from`."""
    entry, child = Curator(state.runtime).split(
        session, storyline_id, body.article_ids, body.reason, who, datetime.now(UTC)
    )
    return _result(session, entry, child)


@router.post("/articles/{article_id}/move", response_model=CurationOut, responses=_REFUSALS)
def move(
    article_id: int, body: MoveIn, state: StateDep, session: SessionDep, who: EditorDep
) -> CurationOut:
    """Move an article to another storyline, or (`storyline_id: null`) to a new one."""
    entry, destination = Curator(state.runtime).move(
        session, article_id, body.storyline_id, body.reason, who, datetime.now(UTC)
    )
    return _result(session, entry, destination)


@router.patch("/storylines/{storyline_id}", response_model=CurationOut, responses=_REFUSALS)
def edit(
    storyline_id: int, body: EditIn, state: StateDep, session: SessionDep, who: EditorDep
) -> CurationOut:
    """Set a label (kept until cleared with null) and lock or unlock the storyline."""
    sent = body.model_fields_set & {"label", "locked"}
    if not sent or ("locked" in sent and body.locked is None):
        msg = "send `label` (a text, or null to clear) and/or `locked` (true or false)"
        raise InvalidInput([input_error(("body",), msg, "value_error")])
    curator = Curator(state.runtime)
    now = datetime.now(UTC)
    if "label" in sent:
        entry, kept = curator.edit(
            session, storyline_id, body.reason, who, now, label=body.label, locked=body.locked
        )
    else:
        entry, kept = curator.edit(session, storyline_id, body.reason, who, now, locked=body.locked)
    return _result(session, entry, kept)


@router.get("/audit", response_model=AuditPage)
def get_audit(
    session: SessionDep,
    since: Annotated[
        UtcDateTime | None, Query(description="Entries at or after this time.")
    ] = None,
    storyline_id: Annotated[
        int | None, Query(ge=1, le=MAX_INT32, description="Only entries naming this storyline.")
    ] = None,
    after: Annotated[
        int, Query(ge=0, le=MAX_INT32, description="`next_after` of the previous page.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Editors' actions, oldest first: who, when, what, why, and the state before and after."""
    rows = list_audit(session, since, storyline_id, after, limit)
    return AuditPage(entries=[_audit(r) for r in rows], next_after=rows[-1].id if rows else after)


def _result(session: SessionDep, entry: AuditEntry, storyline_id: int) -> CurationOut:
    row = session.get(Storyline, storyline_id)
    assert row is not None  # the action just kept or made it
    return CurationOut(audit=_audit(entry), storyline=summary(row))


def _audit(row: AuditEntry) -> AuditOut:
    return AuditOut.model_validate(row)
