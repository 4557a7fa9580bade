"""Per-key rate limits: a token bucket per subject, as GCRA (one number per bucket).

A bucket refills at ``rate`` tokens per second up to ``burst``; a request of
cost ``n`` passes when ``n`` tokens are there. GCRA keeps only the bucket's
theoretical arrival time ``tat``: the request passes when
``max(tat, now) + n / rate - now <= burst / rate``, and then ``tat`` moves there.

On SQLite (one host, usually one process) buckets live in memory. On
PostgreSQL every process of every host shares them through the
``quota_bucket`` table: one atomic ``UPDATE ... RETURNING`` per request, timed
by the database's clock so hosts' clocks need not agree. No maintained
rate-limit library speaks PostgreSQL (``limits`` has memory, Redis, Memcached
and MongoDB backends), and this is two small functions over one formula.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, text


@dataclass(frozen=True)
class Rate:
    """``per_second`` tokens flow in; at most ``burst`` wait in the bucket."""

    per_second: float
    burst: float

    def window(self) -> float:
        """Seconds of refill the burst represents."""
        return self.burst / self.per_second


class Quotas(Protocol):
    def take(self, subject: str, rate: Rate, cost: float) -> float:
        """Take ``cost`` tokens from ``subject``'s bucket: 0.0 when taken, else the
        seconds to wait before this request would pass (nothing is taken then)."""
        ...


class MemoryQuotas:
    """Buckets of this process (SQLite deployments)."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, subject: str, rate: Rate, cost: float) -> float:
        now = time.monotonic()
        with self._lock:
            due = max(self._tat.get(subject, now), now) + cost / rate.per_second
            wait = due - now - rate.window()
            if wait > 1e-9:
                return wait
            self._tat[subject] = due
            return 0.0


_NOW = "EXTRACT(EPOCH FROM statement_timestamp())::float8"
_TAKE = text(
    f"UPDATE quota_bucket SET tat = GREATEST(tat, {_NOW}) + :inc "
    f"WHERE subject = :subject AND GREATEST(tat, {_NOW}) + :inc - {_NOW} <= :window "
    "RETURNING tat"
)
_WAIT = text(
    f"SELECT GREATEST(tat, {_NOW}) + :inc - {_NOW} - :window "
    "FROM quota_bucket WHERE subject = :subject"
)
_OPEN = text(
    "INSERT INTO quota_bucket (subject, tat) VALUES (:subject, 0) ON CONFLICT (subject) DO NOTHING"
)


class SharedQuotas:
    """Buckets in PostgreSQL, shared by every process that uses the database."""

    def __init__(self, engine: Engine) -> None:
        # One statement per request, committed by itself: no BEGIN/COMMIT round trips.
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    def take(self, subject: str, rate: Rate, cost: float) -> float:
        params = {"subject": subject, "inc": cost / rate.per_second, "window": rate.window()}
        with self.engine.connect() as conn:
            for _ in range(2):
                if conn.execute(_TAKE, params).first() is not None:
                    return 0.0
                wait = conn.scalar(_WAIT, params)
                if wait is not None:
                    return max(float(wait), 1e-3)
                conn.execute(_OPEN, params)  # a new subject: open its bucket, full
        raise RuntimeError(f"quota bucket {subject!r} could not be opened")


def make_quotas(engine: Engine) -> Quotas:
    """Shared buckets on PostgreSQL, this process's own elsewhere."""
    if engine.dialect.name == "postgresql":
        return SharedQuotas(engine)
    return MemoryQuotas()


def retry_after(wait: float) -> int:
    """``Retry-After`` in whole seconds, at least 1."""
    return max(1, math.ceil(wait))
