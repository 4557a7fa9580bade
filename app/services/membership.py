"""The membership history: which storyline each article was in, from when to when.

Every writer of ``article.storyline_id`` (placement, revisions, discovery and
curation) calls :func:`record_membership` in the same transaction, so the
history and the current state never disagree. The current state stays on the
article row (a fast, indexed read); the history serves as-of reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.orm import Session

from app.models import StorylineMembership

_CHUNK = 1000  # ids per IN list: well inside every backend's parameter limit


def record_membership(session: Session, placed: Mapping[int, int], at: datetime) -> int:
    """Article id -> storyline id from ``at`` on; returns how many stays changed.

    Each article's open stay elsewhere is closed at ``at`` and a new one opened;
    an article already in the named storyline keeps its stay untouched. Rows
    must be flushed (their ids known); call under the write lock, before commit.
    """
    ids = sorted(placed)
    changed = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        stays = session.execute(
            select(StorylineMembership.article_id, StorylineMembership.storyline_id).where(
                StorylineMembership.article_id.in_(chunk),
                StorylineMembership.valid_to.is_(None),
            )
        )
        open_stays = {article: storyline for article, storyline in stays}
        moving = [a for a in chunk if open_stays.get(a) != placed[a]]
        if not moving:
            continue
        leaving = [a for a in moving if a in open_stays]
        if leaving:
            session.execute(
                update(StorylineMembership)
                .where(
                    StorylineMembership.article_id.in_(leaving),
                    StorylineMembership.valid_to.is_(None),
                )
                .values(valid_to=at)
            )
        session.execute(
            insert(StorylineMembership),
            [
                {"article_id": a, "storyline_id": placed[a], "valid_from": at, "valid_to": None}
                for a in moving
            ],
        )
        changed += len(moving)
    return changed


def member_at(at: datetime) -> ColumnElement[bool]:
    """Stays of the history that cover the instant ``at`` (valid_from <= at < valid_to)."""
    return and_(
        StorylineMembership.valid_from <= at,
        or_(StorylineMembership.valid_to.is_(None), StorylineMembership.valid_to > at),
    )
