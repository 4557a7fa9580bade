"""Conditional GET: weak ETags from storyline versions, 304 on a match."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request, Response


def storyline_etag(storyline_id: int, version: int, *variant: object) -> str:
    """Tag of a storyline view: changes whenever the storyline's change-feed version does."""
    extra = "".join(f".{v}" for v in variant)
    return f'W/"s{storyline_id}.v{version}{extra}"'


def not_modified(request: Request, response: Response, etag: str) -> Response | None:
    """Set ``ETag`` on ``response``; return a 304 when the client already holds it."""
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-cache"
    held = request.headers.get("if-none-match")
    if held is None:
        return None
    tags = {t.strip() for t in held.split(",")}
    if "*" in tags or etag in tags or etag.removeprefix("W/") in tags:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    return None


# A past instant's answer never changes: a year is the longest max-age HTTP caches honour.
_FOREVER = "public, max-age=31536000, immutable"


def as_of_etag(storyline_id: int, at: datetime, *variant: object) -> str:
    """Tag of a storyline view as of ``at``: the instant (in microseconds) names the answer."""
    micros = round(at.timestamp() * 1_000_000)
    return storyline_etag(storyline_id, 0, "asof", micros, *variant).replace(".v0.", ".")


def not_modified_as_of(
    request: Request, response: Response, etag: str, final: bool
) -> Response | None:
    """Like :func:`not_modified`; a ``final`` (settled past) answer is cacheable for ever."""
    cached = not_modified(request, response, etag)
    if final:
        response.headers["Cache-Control"] = _FOREVER
        if cached is not None:
            cached.headers["Cache-Control"] = _FOREVER
    return cached
