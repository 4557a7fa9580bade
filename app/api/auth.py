"""API keys on requests: who is calling, and may they.

Clients send ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). Each
router declares the scope it needs with ``dependencies=[ReadAccess]`` and so
on; the dependency answers 401 (no usable key, with ``WWW-Authenticate``) or
403 (a key without the scope), and leaves the key's name on
``request.state.key_name`` for the logs and quotas.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.concurrency import run_in_threadpool

from app.api.deps import StateDep
from app.api.limits import charge_read
from app.errors import Forbidden, Unauthorized
from app.schemas_access import Problem
from app.services.keys import KeyInfo, Scope, key_hash

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="`Authorization: Bearer <key>`; keys come from `storyline keys create`.",
)
_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="apiKey", description="The same key."
)

# Every keyed route documents these answers (merged into each router's responses).
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": Problem,
        "description": "No API key, or an unknown or revoked one; see `WWW-Authenticate`.",
    },
    403: {"model": Problem, "description": "The key lacks the scope this endpoint needs."},
    429: {
        "model": Problem,
        "description": "The key is over its quota; retry after `Retry-After` seconds.",
    },
}

_SAFE_METHODS = frozenset({"GET", "HEAD"})


def _sent_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Unauthorized(
                "the Authorization header must be `Bearer <key>`", invalid_token=True
            )
        return credentials.strip()
    return request.headers.get("x-api-key") or None


async def current_key(
    request: Request,
    state: StateDep,
    _bearer_doc: Annotated[Any, Security(_bearer)] = None,
    _header_doc: Annotated[Any, Security(_header)] = None,
) -> KeyInfo | None:
    """The caller's key (None when none was sent); 401 for an unknown or revoked one."""
    key = _sent_key(request)
    if key is None:
        return None
    ring = state.keys
    info = ring.cached(key_hash(key))
    if info is None:
        info = await run_in_threadpool(ring.load, key)
    if info is None:
        raise Unauthorized("unknown or revoked API key", invalid_token=True)
    request.state.key_name = info.name
    if ring.touch_due(info.name):
        await run_in_threadpool(ring.touch, info.name)
    return info


KeyDep = Annotated[KeyInfo | None, Depends(current_key)]


def _check(info: KeyInfo | None, scope: Scope) -> KeyInfo:
    if info is None:
        raise Unauthorized(
            "this endpoint needs an API key: send `Authorization: Bearer <key>` "
            "or `X-API-Key: <key>`"
        )
    if not info.allows(scope):
        have = " ".join(sorted(info.scopes))
        raise Forbidden(
            f"the key {info.name!r} has scopes [{have}]; this endpoint needs {scope.value!r}"
        )
    return info


async def require_read(request: Request, state: StateDep, info: KeyDep) -> KeyInfo | None:
    """A key with ``read`` (none for GETs when STORYLINE_PUBLIC_READS is on), within quota."""
    if not (info is None and state.settings.public_reads and request.method in _SAFE_METHODS):
        info = _check(info, Scope.read)
    await charge_read(request, state, info)
    return info


async def require_ingest(info: KeyDep) -> KeyInfo:
    """A key with ``ingest``."""
    return _check(info, Scope.ingest)


async def require_admin(info: KeyDep) -> KeyInfo:
    """A key with ``admin``."""
    return _check(info, Scope.admin)


async def require_read_or_loopback(
    request: Request, state: StateDep, info: KeyDep
) -> KeyInfo | None:
    """A ``read`` key, or a caller on this host (a local Prometheus agent)."""
    if info is None and _is_loopback(request):
        return None
    return await require_read(request, state, info)


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ReadAccess = Depends(require_read)
IngestAccess = Depends(require_ingest)
AdminAccess = Depends(require_admin)
IngestKey = Annotated[KeyInfo, IngestAccess]
