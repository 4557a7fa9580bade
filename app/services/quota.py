"""Per-key rate limits: a token bucket per subject, as GCRA (one number per bucket).

A bucket refills at ``rate`` tokens per second up to ``burst``; a request of
cost ``n`` passes when ``n`` tokens are there. GCRA keeps only the bucket's
theoretical arrival time ``tat``: the request passes when
``max(tat, now) + n / rate - now <= burst / rate``, and then ``tat`` moves there.

On SQLite (one host, usually one process) buckets live in memory. On
PostgreSQL every process of every host shares them through the
``quota_bucket`` table, timed by the database's clock so hosts' clocks need not
agree; a process claims a small lease of tokens in one statement and spends it
in memory (:class:`SharedQuotas`, which states the overshoot this allows). No
maintained rate-limit library speaks PostgreSQL (``limits`` has memory, Redis,
Memcached and MongoDB backends), and this is a few statements over one formula.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
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
    @property
    def engine(self) -> Engine | None:
        """Where the buckets live, when a database holds them (a pool of its own)."""
        ...

    def take(self, subject: str, rate: Rate, cost: float) -> float:
        """Take ``cost`` tokens from ``subject``'s bucket: 0.0 when taken, else the
        seconds to wait before this request would pass (nothing is taken then)."""
        ...

    def take_held(self, subject: str, rate: Rate, cost: float) -> float | None:
        """:meth:`take` without I/O, for the event loop: None when only the store can
        answer (then call :meth:`take` in a thread)."""
        ...

    def close(self) -> None:
        """Release what the buckets hold (connections)."""
        ...


class MemoryQuotas:
    """Buckets of this process (SQLite deployments)."""

    def __init__(self) -> None:
        self.engine = None
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

    def take_held(self, subject: str, rate: Rate, cost: float) -> float | None:
        return self.take(subject, rate, cost)

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class LeaseTerms:
    """How many tokens a process claims from a shared bucket at once, and for how long.

    A lease is ``fraction`` of the burst, at most ``cap`` tokens, at least one
    (whole tokens); its unspent tokens may be spent for ``seconds`` after the claim.
    """

    fraction: float = 1 / 8
    cap: int = 16
    seconds: float = 1.0

    def size(self, rate: Rate) -> float:
        """Tokens one claim asks for (more only when a request costs more)."""
        return float(max(1, math.floor(min(rate.burst * self.fraction, self.cap))))


@dataclass
class _Lease:
    """Tokens this process holds of one subject's bucket, spendable until ``expires``."""

    tokens: float = 0.0
    expires: float = 0.0  # time.monotonic()
    per_second: float = 1.0  # the bucket's rate at the last claim
    # After a refusal: when the bucket would let that cost through, and until when
    # (a lease's lifetime at most) a request of at least that cost is refused here
    # without asking the database: a flood over quota costs few statements.
    refused_until: float = 0.0  # time.monotonic()
    refused_cost: float = math.inf
    refusal_kept: float = 0.0  # time.monotonic()
    claiming: threading.Lock = field(default_factory=threading.Lock)


_EPSILON = 1e-9  # tokens: grants come back from float8 seconds times a rate
_NOW = "EXTRACT(EPOCH FROM statement_timestamp())::float8"
# Seconds the bucket is short of full once :back (a lease's unspent tokens) is returned.
_AHEAD = f"GREATEST(b.tat - :back - {_NOW}, 0)"
# The whole claim in one statement, in seconds of refill: a new subject's bucket is
# opened full and charged; a known one takes back :back, and when :need fits it hands
# out as much as it holds up to :want, which ``granted`` returns; when :need does not
# fit the row is left alone (no row returned). A need over the burst never passes.
_CLAIM = text(
    f"INSERT INTO quota_bucket AS b (subject, tat, granted) "
    f"SELECT :subject, {_NOW} + LEAST(:want, :window), LEAST(:want, :window) "
    "WHERE :need <= :window "
    f"ON CONFLICT (subject) DO UPDATE SET tat = {_NOW} + LEAST({_AHEAD} + :want, :window), "
    f"granted = LEAST(:want, :window - {_AHEAD}) "
    f"WHERE {_AHEAD} + :need <= :window "
    "RETURNING granted"
)
# Only after a refusal: how long until :need would fit. The second form also returns
# the lease's unspent tokens, which the refused claim did not.
_WAIT = text(
    f"SELECT GREATEST(tat, {_NOW}) + :need - {_NOW} - :window "
    "FROM quota_bucket WHERE subject = :subject"
)
_GIVE_BACK_AND_WAIT = text(
    "UPDATE quota_bucket SET tat = tat - :back WHERE subject = :subject "
    f"RETURNING GREATEST(tat, {_NOW}) + :need - {_NOW} - :window"
)
_GIVE_BACK = text("UPDATE quota_bucket SET tat = tat - :back WHERE subject = :subject")


class SharedQuotas:
    """Buckets in PostgreSQL, shared by every process that uses the database, leased.

    A process claims a lease of ``L = LeaseTerms.size(rate)`` tokens (an eighth of
    the burst, at most 16, at least 1) in one statement and spends it in memory: of
    L requests that fit, one goes to the database, the others take a lock and
    subtract. A request that costs more than L (a batch of articles) claims its
    cost. Unspent tokens may be spent for ``LeaseTerms.seconds`` (1 s); after that
    they go back to the bucket with this process's next claim for that subject,
    with a refusal, or on :meth:`close`.

    Overshoot bound: tokens leave the bucket before they are spent, so over any
    interval of ``t`` seconds ``P`` processes admit at most
    ``burst + rate * t + P * (L - 1)`` tokens (exact GCRA: ``burst + rate * t``);
    at the defaults (50 reads a second, bursts of 100, L = 12) that is 11 reads per
    process. The converse: a request is refused while other processes may still
    hold up to ``L - 1`` tokens each, for at most a lease's lifetime; a process that
    stops asking keeps its remainder (lost to the others until the bucket makes it
    up, ``(L - 1) / rate`` seconds) until its next claim or :meth:`close`. Where
    ``burst / 8 < 2`` a lease is one token: every request is charged exactly, as
    before leases. ``Retry-After`` comes from the bucket after this process's
    remainder is returned, so it is exact for the bucket. For a lease's lifetime
    after a refusal (or until its wait is over, if sooner) this process refuses
    requests of at least the refused cost by itself: a client that ignores
    ``Retry-After`` costs the database one claim a second, not one per request.
    Tokens another process gives back meanwhile are seen after that second.

    The statements run in autocommit on ``quota_bucket``, which is UNLOGGED
    (migration 0013), so a commit writes no WAL of its own and PostgreSQL does not
    wait for a disk flush; after a database crash the table comes back empty,
    which only refills every bucket. They run on a small pool of their own without
    the app's pre-ping (a ``SELECT`` per checkout, as dear as the claim itself); a
    connection the server dropped is replaced and the statement retried once.
    """

    def __init__(self, engine: Engine, pool_size: int = 4, terms: LeaseTerms | None = None) -> None:
        self.engine = create_engine(
            engine.url,
            isolation_level="AUTOCOMMIT",
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=False,
        )
        self.terms = terms or LeaseTerms()
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def take_held(self, subject: str, rate: Rate, cost: float) -> float | None:
        with self._lock:
            lease = self._leases.get(subject)
            if lease is None:
                return None
            now = time.monotonic()
            if cost >= lease.refused_cost and now < min(lease.refused_until, lease.refusal_kept):
                # The bucket has not refilled enough since; more cost, more wait.
                return lease.refused_until - now + (cost - lease.refused_cost) / rate.per_second
            if lease.tokens + _EPSILON < cost or now >= lease.expires:
                return None
            lease.tokens -= cost
            return 0.0

    def take(self, subject: str, rate: Rate, cost: float) -> float:
        taken = self.take_held(subject, rate, cost)
        if taken is not None:
            return taken
        with self._lock:
            lease = self._leases.setdefault(subject, _Lease())
        with lease.claiming:  # one claim per subject at a time: one lease per process
            taken = self.take_held(subject, rate, cost)  # another thread's claim
            if taken is not None:
                return taken
            with self._lock:
                back, lease.tokens = lease.tokens, 0.0
            started = time.monotonic()
            want = max(cost, self.terms.size(rate))
            params = {
                "subject": subject,
                "back": back / rate.per_second,
                "need": cost / rate.per_second,
                "want": want / rate.per_second,
                "window": rate.window(),
            }
            try:
                granted, wait = self._claim(params)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                granted, wait = self._claim(params)  # the server dropped a pooled connection
            if granted is None:
                with self._lock:
                    now = time.monotonic()
                    lease.refused_until = now + wait
                    lease.refused_cost = cost
                    lease.refusal_kept = now + self.terms.seconds
                return wait
            with self._lock:
                lease.tokens = max(0.0, granted * rate.per_second - cost)
                lease.expires = started + self.terms.seconds
                lease.per_second = rate.per_second
            return 0.0

    def _claim(self, params: dict[str, Any]) -> tuple[float | None, float]:
        """(seconds of refill granted, 0.0), or (None, seconds to wait) on a refusal."""
        with self.engine.connect() as conn:
            granted = conn.scalar(_CLAIM, params)
            if granted is not None:
                return float(granted), 0.0
            wait = conn.scalar(_GIVE_BACK_AND_WAIT if params["back"] else _WAIT, params)
        if wait is None:  # no bucket yet and a need over the burst
            wait = params["need"] - params["window"]
        return None, max(float(wait), 1e-3)

    def close(self) -> None:
        """Give every unspent token back to its bucket, then close the pool."""
        with self._lock:
            held = [
                {"subject": subject, "back": lease.tokens / lease.per_second}
                for subject, lease in self._leases.items()
                if lease.tokens > 0
            ]
            self._leases.clear()
        try:
            if held:
                with self.engine.connect() as conn:
                    conn.execute(_GIVE_BACK, held)
        except DBAPIError:
            pass  # the database is gone: what was held refills with the bucket
        finally:
            self.engine.dispose()


def make_quotas(engine: Engine) -> Quotas:
    """Shared buckets on PostgreSQL, this process's own elsewhere."""
    if engine.dialect.name == "postgresql":
        return SharedQuotas(engine)
    return MemoryQuotas()


def retry_after(wait: float) -> int:
    """``Retry-After`` in whole seconds, at least 1."""
    return max(1, math.ceil(wait))
