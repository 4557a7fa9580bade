"""The change feed: every storyline change, numbered in commit order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.models import ChangeKind, Storyline, StorylineChange


@dataclass
class _Pending:
    storyline: Storyline
    kinds: list[ChangeKind] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


class ChangeRecorder:
    """Collects the changes of one write transaction and numbers them at the end.

    A storyline gets one entry per kind per transaction (a batch that adds five
    articles to it is one ``grew``); ``created`` absorbs ``grew``. Call
    :meth:`flush` once, after :func:`app.db.lock_writes`, just before commit.
    """

    def __init__(self) -> None:
        self._pending: dict[int, _Pending] = {}

    def note(self, storyline: Storyline, kind: ChangeKind, **details: Any) -> None:
        entry = self._pending.setdefault(storyline.id, _Pending(storyline))
        if kind == ChangeKind.grew and ChangeKind.created in entry.kinds:
            return
        if kind not in entry.kinds:
            entry.kinds.append(kind)
        entry.details.update(details)

    def flush(self, session: Session, now: datetime) -> int:
        """Write the entries with consecutive seq numbers; returns the last seq (0 if none)."""
        if not self._pending:
            return 0
        seq = session.scalar(select(func.coalesce(func.max(StorylineChange.seq), 0))) or 0
        rows = []
        for entry in self._pending.values():
            s = entry.storyline
            for kind in entry.kinds:
                seq += 1
                rows.append(
                    {
                        "seq": seq,
                        "at": now,
                        "storyline_id": s.id,
                        "kind": kind,
                        "article_count": s.article_count,
                        "outlet_count": s.outlet_count,
                        "label": s.label or "",
                        "details": entry.details or None,
                    }
                )
            s.version = seq
            s.updated_at = now  # every change moves it, a relabel included
        # One executemany: a batch that opens dozens of storylines writes as many entries.
        session.execute(insert(StorylineChange), rows)
        self._pending.clear()
        session.flush()
        return seq


def list_changes(
    session: Session, since: int, limit: int, storyline_id: int | None = None
) -> list[StorylineChange]:
    """Entries with ``seq > since``, in order, at most ``limit``; of one storyline if given."""
    query = select(StorylineChange).where(StorylineChange.seq > since)
    if storyline_id is not None:
        query = query.where(StorylineChange.storyline_id == storyline_id)
    return list(session.scalars(query.order_by(StorylineChange.seq).limit(limit)))
