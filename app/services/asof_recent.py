"""The default storyline list as of an instant, by walking articles newest first.

``GET /storylines?as_of=t`` with no filter, latest activity first, is what a
researcher asks most ("the board on that day"). Aggregating every stay of the
history for it costs seconds at 100k articles. A storyline's latest activity at
``t`` is its newest member at ``t``, so walking articles by date, newest first
(``ix_article_effective_at_id``), and keeping those whose stay covers ``t``
meets storylines in list order; the walk stops once a page is sure. It reads
the page's storylines and the articles dated between, not the whole history.

The walk starts ``lead`` after ``t``: an article may carry a date up to the
ingest's future tolerance ahead of the time it came in, never more. Articles
ingested after ``t`` but dated before it are read and skipped: a back-fill
running at ``t`` makes the walk longer by the articles it brought later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    Article,
    LineageKind,
    Storyline,
    StorylineChange,
    StorylineEvent,
    StorylineMembership,
    as_utc,
)
from app.services.members import MAX_ID
from app.services.membership import member_at

_STEP = 200  # articles read per round of the walk


@dataclass(frozen=True, slots=True)
class Members:
    """A storyline's members at an instant: count, outlets, span."""

    count: int
    outlets: int
    first: datetime
    last: datetime


def recent_at(
    session: Session,
    at: datetime,
    lead: timedelta,
    limit: int,
    after: tuple[datetime, int] | None,
) -> tuple[list[tuple[int, Members]], bool]:
    """Storylines live at ``at`` by (latest activity, id) descending, below ``after``.

    Returns up to ``limit`` (id, members) and whether more follow. Merged
    storylines have no stay at ``at``, so they never appear (the list's default).
    """
    found: dict[int, Members] = {}  # every storyline met so far, with its members
    # The last article read. Below a cursor, articles dated after it belong to
    # storylines of earlier pages: the walk starts at the cursor's date.
    position = None if after is None else (after[0], MAX_ID)
    while True:
        rows = session.execute(_walk(at, lead, position)).all()
        if rows:
            position = (as_utc(rows[-1][0]), rows[-1][1])
        new = {storyline for _, _, storyline in rows} - found.keys()
        if new:
            found.update(members_at(session, sorted(new), at))
        chosen = sorted(
            ((m.last, sid) for sid, m in found.items() if after is None or (m.last, sid) < after),
            reverse=True,
        )
        # Storylines met later have no member newer than the walk's position.
        sure = position is not None and len(chosen) > limit and chosen[limit][0] > position[0]
        if len(rows) < _STEP or sure:
            return [(sid, found[sid]) for _, sid in chosen[:limit]], len(chosen) > limit


def _walk(
    at: datetime, lead: timedelta, position: tuple[datetime, int] | None
) -> Select[datetime, int, int]:
    """The next articles of the walk: member somewhere at ``at``, newest first."""
    query = (
        select(Article.effective_at, Article.id, StorylineMembership.storyline_id)
        .join(StorylineMembership, StorylineMembership.article_id == Article.id)
        .where(member_at(at), Article.effective_at <= at + lead)
        .order_by(Article.effective_at.desc(), Article.id.desc())
        .limit(_STEP)
    )
    if position is not None:
        when, article_id = position
        query = query.where(
            or_(
                Article.effective_at < when,
                and_(Article.effective_at == when, Article.id < article_id),
            )
        )
    return query


def members_at(session: Session, ids: list[int], at: datetime) -> dict[int, Members]:
    """Members at ``at`` of the storylines ``ids`` (those with none are left out)."""
    rows = session.execute(
        select(
            StorylineMembership.storyline_id,
            func.count(Article.id),
            func.count(func.distinct(Article.outlet_id)),
            func.min(Article.effective_at),
            func.max(Article.effective_at),
        )
        .join(Article, Article.id == StorylineMembership.article_id)
        .where(StorylineMembership.storyline_id.in_(ids), member_at(at))
        .group_by(StorylineMembership.storyline_id)
    )
    return {
        sid: Members(n, outlets, as_utc(first), as_utc(last))
        for sid, n, outlets, first, last in rows
    }


def live_count_at(session: Session, at: datetime) -> int:
    """Storylines that existed at ``at`` and had not been merged away by then."""
    created = session.scalar(select(func.count(Storyline.id)).where(Storyline.created_at <= at))
    merged = session.scalar(
        select(func.count(func.distinct(StorylineEvent.storyline_id))).where(
            StorylineEvent.kind == LineageKind.merged, StorylineEvent.at <= at
        )
    )
    return (created or 0) - (merged or 0)


def latest_seq_at(session: Session, at: datetime) -> int:
    """The ``seq`` of the change feed's latest entry at or before ``at`` (0: none yet).

    One probe of ``ix_storyline_change_at``. Entries are numbered in commit order
    and stamped a moment before, so two concurrent writers' stamps may cross by that
    moment: this is the entry latest in time, not the highest number below a stamp.
    """
    latest = session.scalar(
        select(StorylineChange.seq)
        .where(StorylineChange.at <= at)
        .order_by(StorylineChange.at.desc(), StorylineChange.seq.desc())
        .limit(1)
    )
    return latest or 0
