"""Merges and splits that keep storyline ids meaningful for ever.

A merge keeps the oldest storyline's id; the others become ``merged`` with
``merged_into`` pointing at it. A split gives the split-off part a new id with
``split_from``. Every such change is recorded as a :class:`StorylineEvent`.
Callers hold the grouping lock and update the in-memory grouper.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound, input_error
from app.models import (
    Article,
    ChangeKind,
    LineageKind,
    Storyline,
    StorylineEvent,
    StorylineStatus,
)
from app.services.changes import ChangeRecorder
from app.services.coverage import recount_storylines
from app.services.labels import refresh_label
from app.services.members import get_or_404
from app.services.membership import record_membership
from clustering.labels import provisional_label


def merge_storylines(
    session: Session,
    ids: Collection[int],
    reason: str,
    now: datetime,
    changes: ChangeRecorder,
    relabel: bool = True,
) -> int:
    """Fold the storylines ``ids`` into the oldest of them; returns the surviving id.

    With ``relabel`` False the survivor's label is left to the background labeller
    (its membership changed, so it is due), keeping the transaction short.
    """
    rows = [_live(session, i) for i in sorted(set(ids))]
    if len(rows) < 2:
        raise InvalidInput([input_error(("ids",), "a merge needs two storylines", "too_short")])
    target = min(rows, key=lambda s: (s.created_at, s.id))
    for source in rows:
        if source is target:
            continue
        moved = source.article_count
        members = session.scalars(select(Article.id).where(Article.storyline_id == source.id))
        record_membership(session, dict.fromkeys(members, target.id), now)
        session.execute(
            update(Article).where(Article.storyline_id == source.id).values(storyline_id=target.id)
        )
        # Anything that pointed at the source now points straight at the survivor.
        session.execute(
            update(Storyline)
            .where(Storyline.merged_into == source.id)
            .values(merged_into=target.id)
        )
        source.status = StorylineStatus.merged
        source.merged_into = target.id
        source.article_count = source.outlet_count = 0
        source.updated_at = now
        changes.note(source, ChangeKind.merged, merged_into=target.id, reason=reason)
        session.add(
            StorylineEvent(
                at=now,
                kind=LineageKind.merged,
                storyline_id=source.id,
                other_id=target.id,
                articles_moved=moved,
                reason=reason,
            )
        )
    session.flush()
    recount_storylines(session, [r.id for r in rows])
    refresh_storyline(session, target, now)
    absorbed = sorted(r.id for r in rows if r is not target)
    changes.note(target, ChangeKind.grew, absorbed=absorbed, reason=reason)
    if relabel:
        refresh_label(session, target, changes)
    return target.id


def split_storyline(
    session: Session,
    storyline_id: int,
    article_ids: Collection[int],
    reason: str,
    now: datetime,
    changes: ChangeRecorder,
    relabel: bool = True,
) -> int:
    """Move ``article_ids`` out of a storyline into a new one; returns the new id.

    With ``relabel`` False the new storyline shows its first headline until the
    background labeller names it, and the parent keeps its label until then.
    """
    parent = _live(session, storyline_id)
    members = set(session.scalars(select(Article.id).where(Article.storyline_id == parent.id)))
    moving = set(article_ids)
    if not moving or not moving < members:
        msg = "a split moves some, not all, of the storyline's own articles"
        raise InvalidInput([input_error(("article_ids",), msg, "value_error")])
    first = session.scalar(select(func.min(Article.effective_at)).where(Article.id.in_(moving)))
    if first is None:  # moving is a non-empty subset of stored members
        raise NotFound(f"articles {sorted(moving)} not found")
    child = Storyline.opened(first, parent.centroid, now, split_from=parent.id)
    session.add(child)
    session.flush()
    record_membership(session, dict.fromkeys(moving, child.id), now)
    session.execute(update(Article).where(Article.id.in_(moving)).values(storyline_id=child.id))
    session.add(
        StorylineEvent(
            at=now,
            kind=LineageKind.split_off,
            storyline_id=parent.id,
            other_id=child.id,
            articles_moved=len(moving),
            reason=reason,
            article_ids=sorted(moving),
        )
    )
    session.flush()
    recount_storylines(session, [parent.id, child.id])
    refresh_storyline(session, parent, now)
    refresh_storyline(session, child, now)
    changes.note(parent, ChangeKind.split_off, split_into=child.id, reason=reason)
    changes.note(child, ChangeKind.created, split_from=parent.id, reason=reason)
    if not relabel:
        title = session.scalar(
            select(Article.title)
            .where(Article.storyline_id == child.id)
            .order_by(Article.effective_at, Article.id)
            .limit(1)
        )
        child.label = provisional_label(title or "", first, child.last_published_at)
        return child.id
    child.label = ""
    refresh_label(session, child, changes)
    refresh_label(session, parent, changes)
    return child.id


def move_articles(
    session: Session,
    source_id: int,
    target_id: int,
    article_ids: Collection[int],
    reason: str,
    now: datetime,
    changes: ChangeRecorder,
    relabel: bool = True,
) -> None:
    """Move some (not all) of a storyline's articles into another live storyline."""
    source, target = _live(session, source_id), _live(session, target_id)
    moving = set(article_ids)
    record_membership(session, dict.fromkeys(moving, target.id), now)
    session.execute(update(Article).where(Article.id.in_(moving)).values(storyline_id=target.id))
    session.add(
        StorylineEvent(
            at=now,
            kind=LineageKind.moved,
            storyline_id=source.id,
            other_id=target.id,
            articles_moved=len(moving),
            reason=reason,
            article_ids=sorted(moving),
        )
    )
    session.flush()
    recount_storylines(session, [source.id, target.id])
    refresh_storyline(session, source, now)
    refresh_storyline(session, target, now)
    changes.note(source, ChangeKind.shrank, moved_to=target.id, reason=reason)
    changes.note(target, ChangeKind.grew, moved_from=source.id, reason=reason)
    if relabel:
        refresh_label(session, source, changes)
        refresh_label(session, target, changes)


def refresh_storyline(session: Session, storyline: Storyline, now: datetime) -> None:
    """Recompute counts, span and mean vector of a storyline from its articles.

    A storyline left with no articles keeps its span and gets zero counts and a
    zero vector (the caller decides whether it closes).
    """
    members = select(Article).where(Article.storyline_id == storyline.id)
    articles = list(session.scalars(members.execution_options(populate_existing=True)))
    storyline.article_count = len(articles)
    storyline.outlet_count = len({a.outlet_id for a in articles})
    if articles:
        storyline.first_published_at = min(a.effective_at for a in articles)
        storyline.last_published_at = max(a.effective_at for a in articles)
    width = len(storyline.centroid) // np.dtype(np.float32).itemsize
    storyline.centroid = mean_vector((a.embedding for a in articles), width)
    storyline.updated_at = now
    storyline.label_basis = 0  # membership changed: the next label check rebuilds it
    session.flush()


def mean_vector(embeddings: Iterable[bytes | None], width: int) -> bytes:
    """The stored form of the mean of ``embeddings`` (float32 bytes; None skipped).

    The one place a storyline's vector is computed from its members: after
    moves, merges, splits and re-embedding. Placement folds one article into
    the stored mean instead (``placement._grow``), which is the same mean kept
    up to date; the in-memory grouper keeps sums of its own.
    """
    vectors = [np.frombuffer(e, dtype=np.float32) for e in embeddings if e is not None]
    if not vectors:
        return np.zeros(width, dtype=np.float32).tobytes()
    return bytes(np.stack(vectors).mean(axis=0).astype(np.float32).tobytes())


def follow_merges(session: Session, storyline: Storyline | None) -> Storyline | None:
    """Where ``storyline``'s articles are now: itself, or the end of its ``merged_into`` chain.

    None stays None. Reads through ``session``'s identity map, so storylines already
    loaded cost no query.
    """
    while storyline is not None and storyline.merged_into is not None:
        storyline = session.get(Storyline, storyline.merged_into)
    return storyline


def lineage_of(session: Session, storyline_id: int) -> list[StorylineEvent]:
    """Merge and split events that name the storyline, oldest first."""
    return list(
        session.scalars(
            select(StorylineEvent)
            .where(
                (StorylineEvent.storyline_id == storyline_id)
                | (StorylineEvent.other_id == storyline_id)
            )
            .order_by(StorylineEvent.id)
        )
    )


def _live(session: Session, storyline_id: int) -> Storyline:
    row = get_or_404(session, Storyline, storyline_id, "storyline")
    if row.status == StorylineStatus.merged:
        msg = f"storyline {storyline_id} was merged into {row.merged_into}"
        raise InvalidInput([input_error(("ids",), msg, "value_error")])
    return row
