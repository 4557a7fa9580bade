"""JSON values the service accepts: the same on SQLite and on PostgreSQL.

PostgreSQL refuses NUL characters and lone surrogates in text and JSON, and
``NaN``/``Infinity`` in JSON; SQLite would store them, and a stored lone
surrogate cannot be encoded again when the record is read. So both stores get
only what both can keep and give back: finite numbers, integers within 64 bits,
strings of real Unicode without NUL. :func:`value_problems` finds the rest,
naming where each one sits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.errors import input_error

MAX_INT = 2**63 - 1
_MAX_DIGITS = len(str(MAX_INT))
# A JSON string, escapes included: removed before brackets are counted.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_CHUNK = 1 << 20
_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


@dataclass(frozen=True, slots=True)
class OversizedInt:
    """An integer literal too long to convert: kept as its length, reported with its place."""

    digits: int


def parse_int(text: str) -> int | OversizedInt:
    """``json.loads`` hook: Python's own conversion refuses 4,300+ digits with a bare error."""
    digits = len(text.lstrip("-"))
    return OversizedInt(digits) if digits > _MAX_DIGITS else int(text)


def loads(raw: bytes | str) -> Any:
    """``json.loads`` whose huge integers come back as :class:`OversizedInt`.

    Call :func:`nesting_depth` first: the decoder recurses once per level.
    """
    return json.loads(raw, parse_int=parse_int)


def nesting_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in the JSON text ``raw``; linear, no recursion.

    Brackets inside strings do not count. On malformed text the figure is an
    upper bound, which is all a limit needs.
    """
    opened = raw.count(b"[") + raw.count(b"{")
    if opened <= 1:
        return opened
    text = _STRING.sub(b'""', raw) if b'"' in raw else raw
    depth = deepest = 0
    for start in range(0, len(text), _CHUNK):  # chunks keep the temporaries small
        chunk = np.frombuffer(
            text, dtype=np.uint8, count=min(_CHUNK, len(text) - start), offset=start
        )
        running = np.cumsum(_OPEN[chunk], dtype=np.int64) + depth
        deepest, depth = max(deepest, int(running.max())), int(running[-1])
    return deepest


def value_problems(value: Any, loc: tuple[str | int, ...]) -> list[dict[str, Any]]:
    """422 items for every value under ``value`` that a store could not keep faithfully.

    Walks with an explicit stack, so depth costs no recursion. Object keys are
    checked like strings; a bad key is named in ``loc`` with its escapes shown.
    """
    errors: list[dict[str, Any]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, loc)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                problem = text_problem(key) if isinstance(key, str) else None
                if problem:
                    errors.append(input_error((*where, printable(key)), f"key {problem}", "key"))
                    continue
                stack.append((child, (*where, key)))
        elif isinstance(item, list):
            stack.extend((child, (*where, i)) for i, child in enumerate(item))
        elif isinstance(item, str):
            if problem := text_problem(item):
                errors.append(input_error(where, problem, "string_unicode"))
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, OversizedInt):
            msg = f"integer of {item.digits} digits is out of range (64-bit integers only)"
            errors.append(input_error(where, msg, "int_too_big"))
        elif isinstance(item, int):
            if not -MAX_INT - 1 <= item <= MAX_INT:
                msg = "integer is out of range (64-bit integers only)"
                errors.append(input_error(where, msg, "int_too_big"))
        elif isinstance(item, float) and not np.isfinite(item):
            errors.append(input_error(where, "NaN and Infinity are not JSON numbers", "finite"))
    return errors


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as it is (a NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (not Unicode text)"
    return None


def printable(text: str) -> str:
    """``text`` with lone surrogates written as escapes, so an error can quote it."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def json_bytes(value: Any) -> int:
    """Size of ``value`` as compact UTF-8 JSON, as it is stored."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
