"""Opaque keyset-pagination cursors: the sort value and id of the last item served."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from app.errors import InvalidInput, input_error


def encode_cursor(value: Any, last_id: int) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([value, last_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, int]:
    """Inverse of :func:`encode_cursor`; a malformed cursor is a 422 on ``cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, last_id = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        if not isinstance(last_id, int):
            raise ValueError("id")
        return value, last_id
    except (ValueError, TypeError, KeyError, json.JSONDecodeError):
        raise InvalidInput(
            [input_error(("query", "cursor"), "cursor is malformed", "value_error")]
        ) from None
