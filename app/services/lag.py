"""Delays between articles, in seconds and in a form people read."""

from __future__ import annotations

from datetime import datetime

from app.schemas_spread import Lag

_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def readable_lag(seconds: float) -> str:
    """``seconds`` as its two largest non-zero units: ``9d``, ``9d 3h``, ``2h 15m``, ``0s``.

    Negative delays (never produced by ordered members) read with a leading minus.
    """
    sign = "-" if seconds < 0 else ""
    rest = round(abs(seconds))
    parts: list[str] = []
    for unit, size in _UNITS:
        count, rest = divmod(rest, size)
        if count or parts:
            parts.append(f"{count}{unit}")
        if len(parts) == 2:
            break
    parts = [p for p in parts if not p.startswith("0")] or ["0s"]
    return sign + " ".join(parts)


def lag_between(earlier: datetime, later: datetime) -> Lag:
    """The delay from ``earlier`` to ``later`` (both timezone-aware)."""
    seconds = (later - earlier).total_seconds()
    return Lag(seconds=seconds, readable=readable_lag(seconds))
