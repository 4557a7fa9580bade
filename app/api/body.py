"""Request bodies of writes: JSON only, bounded in bytes and in nesting, read once."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from app.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType, input_error
from app.services import json_values

_JSON_TYPES = ("application/json",)


async def read_json(request: Request, max_bytes: int, max_depth: int) -> Any:
    """The request's JSON document, decoded; 415, 413 or 422 before anything is parsed.

    Only ``application/json`` is accepted, so a plain HTML form or a
    ``text/plain`` fetch from any web page (no CORS preflight) cannot write.
    Nesting deeper than ``max_depth`` is refused by a linear scan before the
    decoder, which would recurse once per level, ever sees it.
    """
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    structured = media.startswith("application/") and media.endswith("+json")
    if media not in _JSON_TYPES and not structured:
        raise UnsupportedMediaType(media or "none")
    raw = await _read(request, max_bytes)
    if not raw.strip():
        raise InvalidInput([input_error(("body",), "request body is empty", "missing")])
    depth = json_values.nesting_depth(raw)
    if depth > max_depth:
        msg = f"JSON nests {depth} levels deep, over the limit of {max_depth}"
        raise InvalidInput([input_error(("body",), msg, "json_depth")])
    try:
        return json_values.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            [input_error(("body",), f"body is not valid JSON: {exc}", "json_invalid")]
        ) from None


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    declared = declared if declared and declared.isascii() and declared.isdigit() else None
    if declared is not None and (len(declared) > 18 or int(declared) > limit):
        raise PayloadTooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
