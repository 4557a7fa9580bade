"""API keys: minted at random, stored only as a SHA-256 hash, with scopes.

A key is ``sl_`` followed by 32 random bytes (URL-safe base64): with 256 bits
of entropy a plain SHA-256 is as strong as a slow password hash, and lets the
lookup be one indexed equality on the hash.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Database
from app.models import ApiKey, utcnow

log = logging.getLogger("storyline.keys")

KEY_PREFIX = "sl_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Scope(enum.StrEnum):
    read = "read"  # every GET of the API and /metrics
    ingest = "ingest"  # POST /articles
    admin = "admin"  # managing keys; implies read and ingest


class KeyRefused(Exception):
    """A key operation that cannot be done (name taken, unknown, bad name)."""


class KeyTaken(KeyRefused):
    """The name (or the key) is already in use."""


@dataclass(frozen=True)
class KeyInfo:
    """What the service knows about a key (never the key itself)."""

    name: str
    scopes: frozenset[Scope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.admin in self.scopes


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """Hex SHA-256 of the key as sent (64 characters)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scopes(scopes: Iterable[str]) -> frozenset[Scope]:
    """The scopes named; raises KeyRefused naming an unknown one."""
    out = set()
    for scope in scopes:
        try:
            out.add(Scope(scope.strip().lower()))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise KeyRefused(f"unknown scope {scope!r} (known: {known})") from None
    if not out:
        raise KeyRefused("a key needs at least one scope")
    return frozenset(out)


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        name=row.name,
        scopes=parse_scopes(row.scopes.split()),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def create_key(
    session: Session, name: str, scopes: Iterable[str], key: str | None = None
) -> tuple[str, KeyInfo]:
    """Store a new key named ``name``; returns the key (shown once) and its record.

    ``key`` lets an operator register a key made elsewhere (a secret store);
    it must be at least 32 characters. Commits.
    """
    if not NAME_PATTERN.match(name):
        raise KeyRefused(
            f"bad key name {name!r}: 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    wanted = parse_scopes(scopes)
    if key is not None and len(key) < 32:
        raise KeyRefused("a key must be at least 32 characters long")
    key = key or new_key()
    row = ApiKey(
        name=name,
        key_hash=key_hash(key),
        scopes=" ".join(sorted(s.value for s in wanted)),
        created_at=utcnow(),
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise KeyTaken(f"a key named {name!r} already exists (or that key is in use)") from None
    return key, _info(row)


def list_keys(session: Session) -> list[KeyInfo]:
    return [_info(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.name))]


def revoke_key(session: Session, name: str) -> KeyInfo:
    """Revoke the key ``name`` for good (idempotent). Commits."""
    row = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise KeyRefused(f"no key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return _info(row)


def find_key(session: Session, key: str) -> KeyInfo | None:
    """The live (not revoked) key whose hash matches, else None."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash(key)))
    if row is None or row.revoked_at is not None:
        return None
    # The index found the row by hash; compare again in constant time so the
    # answer never depends on how much of a guess matched.
    if not secrets.compare_digest(row.key_hash, key_hash(key)):
        return None
    return _info(row)


def touch_key(session: Session, name: str, at: datetime) -> None:
    """Record that ``name`` was used at ``at``. Commits."""
    row = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is not None:
        row.last_used_at = at
        session.commit()


def first_admin_key(session: Session, key: str | None, key_file: Path) -> str | None:
    """On a database with no keys at all, create the admin key ``admin``.

    ``key`` (from the settings) is registered when given and nothing is
    printed. Otherwise a new key is written to ``key_file`` (mode 0600) and
    printed once on stderr. Returns the key created, None when keys exist.
    Safe when several processes start at once: one of them creates it.
    """
    if session.scalar(select(func.count(ApiKey.id))):
        return None
    try:
        created, _ = create_key(session, "admin", [Scope.admin.value], key)
    except KeyTaken:
        return None  # another process created it first
    if key is not None:
        log.warning("registered STORYLINE_ADMIN_KEY as the admin key 'admin'")
        return created
    where = _write_private(key_file, created)
    # On stderr through the service's log, so JSON logs stay one object per line.
    log.warning(
        "created the first API key, 'admin' (scope admin); it is shown only now: %s ; %s ; "
        "send it as 'Authorization: Bearer <key>' and make narrower keys with "
        "`storyline keys create`",
        created,
        where,
    )
    return created


def _write_private(path: Path, key: str) -> str:
    """Write ``key`` to ``path`` readable by its owner only; says where (or why not)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key + "\n")
        os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    except OSError as exc:
        return f"could not write it to {path} ({exc}); copy it from here"
    return f"also written to {path.resolve()} (readable only by its owner)"


# A process trusts what it read about a key for this long: revoking a key takes
# effect at once in the process that revokes it, within this time in the others
# (an entry is stamped before its read, so its age bounds how stale it is).
KEY_CACHE_SECONDS = 5.0
# last_used_at is written at most this often per key and process.
TOUCH_SECONDS = 60.0


class KeyRing:
    """Key lookups for one process, with a short cache so most requests do no I/O.

    ``clock`` is a monotonic clock in seconds (tests pass their own).
    """

    def __init__(
        self,
        db: Database,
        ttl: float = KEY_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.ttl = ttl
        self.clock = clock
        self._known: dict[str, tuple[float, KeyInfo]] = {}  # hash -> (read at, key)
        self._touched: dict[str, float] = {}  # name -> when last_used_at was written
        self._lock = threading.Lock()

    def cached(self, digest: str) -> KeyInfo | None:
        """The key with this hash if read less than ``ttl`` ago (no I/O), else None."""
        hit = self._known.get(digest)
        if hit is None or self.clock() - hit[0] >= self.ttl:
            return None
        return hit[1]

    def load(self, key: str) -> KeyInfo | None:
        """Read the key from the database (blocking); None when unknown or revoked."""
        read_at = self.clock()  # before the read: a revocation committed after it is seen
        with self.db.session() as session:
            info = find_key(session, key)
        digest = key_hash(key)
        with self._lock:
            if info is None:
                self._known.pop(digest, None)
            else:
                self._known[digest] = (read_at, info)
        return info

    def touch_due(self, name: str) -> bool:
        """True once per TOUCH_SECONDS per key: the caller then runs :meth:`touch`."""
        now = self.clock()
        with self._lock:
            if now - self._touched.get(name, -TOUCH_SECONDS) < TOUCH_SECONDS:
                return False
            self._touched[name] = now
            return True

    def touch(self, name: str) -> None:
        with self.db.session() as session:
            touch_key(session, name, utcnow())

    def forget(self, name: str) -> None:
        """Drop ``name`` from the cache (it was just revoked here)."""
        with self._lock:
            for digest, (_, info) in list(self._known.items()):
                if info.name == name:
                    del self._known[digest]
