"""Opaque keyset-pagination cursors: the sort value and id of the last item served."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from app.errors import InvalidInput, input_error
from app.schemas import UtcDateTime
from app.services.json_values import text_problem

MAX_INT32 = 2**31 - 1
_MAX_CURSOR_CHARS = 4096
_WHEN: TypeAdapter[datetime] = TypeAdapter(UtcDateTime)

T = TypeVar("T", int, str, datetime)


def encode_cursor(value: Any, last_id: int) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([value, last_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: type[T]) -> tuple[T, int]:
    """Inverse of :func:`encode_cursor` for a page sorted by a ``kind`` value.

    Anything else (another sort's cursor, a crafted one, numbers beyond the
    stored 32-bit range, dates outside the accepted years) is a 422 on ``cursor``.
    """
    try:
        if len(cursor) > _MAX_CURSOR_CHARS:
            raise ValueError("long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        if not isinstance(decoded, list) or len(decoded) != 2:
            raise ValueError("shape")
        value, last_id = decoded
        if not _is_int32(last_id):
            raise ValueError("id")
        return _typed(value, kind), last_id
    except (ValueError, TypeError, KeyError, RecursionError, binascii.Error, ValidationError):
        raise InvalidInput(
            [input_error(("query", "cursor"), "cursor is malformed", "value_error")]
        ) from None


def _typed(value: Any, kind: type[T]) -> T:
    if kind is datetime:
        if not isinstance(value, dict) or not isinstance(value.get("t"), str):
            raise ValueError("time")
        return _WHEN.validate_python(value["t"])  # type: ignore[return-value]
    if kind is int:
        if not _is_int32(value):
            raise ValueError("number")
        return value  # type: ignore[no-any-return]
    if not isinstance(value, str) or len(value) > 1024 or text_problem(value):
        raise ValueError("text")
    return value  # type: ignore[return-value]


def _is_int32(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT32
