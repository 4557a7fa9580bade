"""Conditional GET: weak ETags from storyline versions, 304 on a match."""

from __future__ import annotations

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
