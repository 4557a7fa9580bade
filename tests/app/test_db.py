"""Storage helpers on both stores."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from app.db import Database, lock_writes, migrate, reserve_ids
from app.models import Storyline


def test_reserved_ids_are_unused_and_insertable(database_url: str) -> None:
    db = Database.from_url(database_url)
    migrate(db.engine)
    now = datetime(2026, 11, 27, tzinfo=UTC)
    try:
        with db.session() as session:
            lock_writes(session)
            session.add_all(Storyline.opened(now, b"", now) for _ in range(3))
            session.flush()
            stored = set(session.scalars(select(Storyline.id)))
            first = reserve_ids(session, Storyline, 4)
            # Handed-out ids count as taken even before their rows are inserted.
            second = reserve_ids(session, Storyline, 2, after=max(first))
            assert len(set(first + second)) == 6
            assert first == sorted(first) and second == sorted(second)
            assert min(first) > max(stored) and min(second) > max(first)
            for i in first + second:
                row = Storyline.opened(now, b"", now)
                row.id = i
                session.add(row)
            session.commit()
        with db.session() as session:
            assert session.scalar(select(func.count(Storyline.id))) == 9
            # A row inserted without an id afterwards gets a fresh one as well.
            fresh = Storyline.opened(now, b"", now)
            session.add(fresh)
            session.commit()
            assert fresh.id not in stored | set(first + second)
    finally:
        db.dispose()
