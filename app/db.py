"""Engine, sessions and schema migrations."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*"([^"]*)"', re.MULTILINE)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the settings each backend needs to be safe."""
    if url.startswith("sqlite"):
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", 30)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside the single writer; foreign keys are off by default.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Database:
    """One engine and its session factory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration that runs the project's revisions on ``engine``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent).

    A database already at the head revision is left alone without importing
    Alembic, whose import and script scan cost a start-up 0.3-1 s.
    """
    if revision == "head" and current_revision(engine) == head_revision():
        return
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str | None:
    """The newest revision in ``migrations/versions`` (None unless exactly one head)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        fields = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" in fields:
            revisions.add(fields["revision"])
            parents.add(fields.get("down_revision", ""))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The revision recorded in the database (None for a database never migrated)."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "alembic_version"):
            return None
        versions = list(conn.scalars(text("SELECT version_num FROM alembic_version")))
    return versions[0] if len(versions) == 1 else None


# Any constant works; it names "the writer" among PostgreSQL advisory locks.
_WRITE_LOCK_KEY = 0x5708_11E5


def reserve_ids(session: Session, model: type[Any], n: int, after: int = 0) -> list[int]:
    """``n`` unused ids of ``model``'s integer key, ascending, for rows not yet inserted.

    Knowing a row's id before its INSERT lets a transaction insert many rows in
    one statement. On PostgreSQL they come from the key's sequence (an id taken
    and never used is a harmless gap); on SQLite, where ids follow the largest
    one stored, they are the next ``n`` past it and past ``after``, the last id
    this transaction already handed out. Call it under :func:`lock_writes`: on
    SQLite, a writer in another process that inserts first makes the INSERT
    fail with an IntegrityError rather than reuse an id.
    """
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        query = text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)")
        return [int(i) for i in session.scalars(query, {"t": table.name, "n": n})]
    top = max(session.scalar(select(func.max(table.c.id))) or 0, after)
    return list(range(top + 1, top + 1 + n))


def lock_writes(session: Session) -> None:
    """Make this transaction the only writer of storylines until it ends.

    On PostgreSQL a transaction-scoped advisory lock serialises writers across
    processes and hosts, so change-feed numbers follow commit order. SQLite
    already admits one writer at a time; in-process writers share a lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK_KEY})


@contextmanager
def exclusive_job(engine: Engine, name: str) -> Iterator[bool]:
    """Yields True in at most one process at a time for the job ``name`` (PostgreSQL).

    A session-level advisory lock on its own connection, held for the block and
    released after, also when the block raises; False at once when another
    process holds it. SQLite databases serve one host, so it always yields True.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big")
    with engine.connect() as conn:
        taken = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
        conn.commit()
        try:
            yield taken
        finally:
            if taken:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()


def try_lock_writes(session: Session) -> bool:
    """:func:`lock_writes` without waiting: False when another transaction is the writer."""
    if session.get_bind().dialect.name == "postgresql":
        taken = session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK_KEY}
        )
        return bool(taken)
    return True


@contextmanager
def scratch_database(kind: str, postgres_url: str, directory: Path) -> Iterator[str]:
    """A URL to a new, empty database, removed on exit (tests and benchmarks).

    ``kind`` "sqlite": a file in ``directory``; "postgresql": a fresh schema of
    the database at ``postgres_url``, which every connection of the returned URL
    uses (search_path), dropped with everything in it afterwards.
    """
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'storyline.db'}"
        return
    schema = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
