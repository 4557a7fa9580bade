"""API keys: list, create and revoke (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.api.auth import AUTH_RESPONSES, AdminAccess
from app.api.deps import SessionDep, StateDep
from app.errors import Conflict, InvalidInput, NotFound, input_error
from app.schemas_access import KeyCreated, KeyIn, KeyList, KeyOut
from app.services import keys
from app.services.keys import KeyInfo, KeyRefused, KeyTaken

router = APIRouter(
    prefix="/keys", tags=["keys"], dependencies=[AdminAccess], responses=AUTH_RESPONSES
)


@router.get("", response_model=KeyList)
def list_keys(session: SessionDep) -> KeyList:
    """Every key, revoked ones included, by name."""
    return KeyList(keys=[_out(info) for info in keys.list_keys(session)])


@router.post("", response_model=KeyCreated, status_code=201, responses={409: {}, 422: {}})
def create_key(body: KeyIn, session: SessionDep) -> KeyCreated:
    """Create a key; the answer is the only time the key itself is shown."""
    try:
        secret, info = keys.create_key(session, body.name, body.scopes)
    except KeyTaken as exc:
        raise Conflict(str(exc)) from None
    except KeyRefused as exc:
        raise InvalidInput([input_error(("body",), str(exc), "value_error")]) from None
    return KeyCreated(key=secret, **_out(info).model_dump())


@router.delete("/{name}", response_model=KeyOut, responses={404: {}})
async def revoke_key(name: str, state: StateDep) -> KeyOut:
    """Revoke a key for good: at once here, within seconds in other processes."""

    def revoke() -> KeyInfo:
        with state.db.session() as session:
            try:
                return keys.revoke_key(session, name)
            except KeyRefused as exc:
                raise NotFound(str(exc)) from None

    info = await run_in_threadpool(revoke)
    state.keys.forget(name)
    return _out(info)


def _out(info: KeyInfo) -> KeyOut:
    return KeyOut(
        name=info.name,
        scopes=sorted(s.value for s in info.scopes),
        created_at=info.created_at,
        last_used_at=info.last_used_at,
        revoked_at=info.revoked_at,
    )
