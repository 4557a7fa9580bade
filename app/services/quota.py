"""Per-key rate limits: a token bucket per subject, as GCRA (one number per bucket).

A bucket refills at ``rate`` tokens per second up to ``burst``; a request of
cost ``n`` passes when ``n`` tokens are there. GCRA keeps only the bucket's
theoretical arrival time ``tat``: the request passes when
``max(tat, now) + n / rate - now <= burst / rate``, and then ``tat`` moves there.

On SQLite (one host, usually one process) buckets live in memory. On
PostgreSQL every process of every host shares them through the
``quota_bucket`` table: one atomic upsert per request, timed
by the database's clock so hosts' clocks need not agree. No maintained
rate-limit library speaks PostgreSQL (``limits`` has memory, Redis, Memcached
and MongoDB backends), and this is two small functions over one formula.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError


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

    def close(self) -> None:
        """Release what the buckets hold (connections)."""
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

    def close(self) -> None:
        pass


_NOW = "EXTRACT(EPOCH FROM statement_timestamp())::float8"
# The whole GCRA step in one statement: a new subject's bucket is opened full and
# charged; a known one moves its tat when the request fits and is left alone (no
# row returned) when it does not. A cost over the burst never passes.
_TAKE = text(
    f"INSERT INTO quota_bucket AS b (subject, tat) "
    f"SELECT :subject, {_NOW} + :inc WHERE :inc <= :window "
    f"ON CONFLICT (subject) DO UPDATE SET tat = GREATEST(b.tat, {_NOW}) + :inc "
    f"WHERE GREATEST(b.tat, {_NOW}) + :inc - {_NOW} <= :window "
    "RETURNING tat"
)
# Only after a refusal: how long until the request would fit.
_WAIT = text(
    f"SELECT GREATEST(tat, {_NOW}) + :inc - {_NOW} - :window "
    "FROM quota_bucket WHERE subject = :subject"
)


class SharedQuotas:
    """Buckets in PostgreSQL, shared by every process that uses the database.

    A request that fits costs one round trip: one ``INSERT ... ON CONFLICT DO
    UPDATE ... RETURNING`` in autocommit. ``quota_bucket`` is UNLOGGED (migration
    0013), so that commit writes no WAL of its own and PostgreSQL does not wait for
    a disk flush (an unlogged write commits asynchronously whatever
    ``synchronous_commit`` says); after a database crash the table comes back
    empty, which only refills every bucket. The statements run on a small pool of
    their own without the app's pre-ping (a ``SELECT`` per checkout, as dear as
    the charge itself); a connection the server dropped is replaced and the
    charge retried once.
    """

    def __init__(self, engine: Engine, pool_size: int = 4) -> None:
        self.engine = create_engine(
            engine.url,
            isolation_level="AUTOCOMMIT",
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=False,
        )

    def take(self, subject: str, rate: Rate, cost: float) -> float:
        params = {"subject": subject, "inc": cost / rate.per_second, "window": rate.window()}
        try:
            return self._take(params)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            return self._take(params)  # the server dropped a pooled connection: once more

    def _take(self, params: dict[str, Any]) -> float:
        with self.engine.connect() as conn:
            if conn.execute(_TAKE, params).first() is not None:
                return 0.0
            wait = conn.scalar(_WAIT, params)
        if wait is None:  # no bucket yet and a cost over the burst
            wait = params["inc"] - params["window"]
        return max(float(wait), 1e-3)

    def close(self) -> None:
        self.engine.dispose()


def make_quotas(engine: Engine) -> Quotas:
    """Shared buckets on PostgreSQL, this process's own elsewhere."""
    if engine.dialect.name == "postgresql":
        return SharedQuotas(engine)
    return MemoryQuotas()


def retry_after(wait: float) -> int:
    """``Retry-After`` in whole seconds, at least 1."""
    return max(1, math.ceil(wait))
