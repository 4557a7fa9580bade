"""Editors' corrections: merge, split, move and edit storylines, audited and applied at once.

Each action is validated against the stored state (404 for unknown ids, 409
when the state forbids it, 422 for requests that can never work), applied in
one short transaction under the grouping lock through :mod:`app.services.lineage`
(labels of the storylines it changed are rebuilt by the background labeller)
(so lineage, change feed and membership history record it like any automatic
change), written to the audit log with who, why, and the state before and
after, and folded into this process's grouper before the lock is released.
Other processes fold it in at their next catch-up (:meth:`GroupingRuntime.follow_lineage`).

What an editor decided also binds discovery (:mod:`app.services.decisions`):
moved, split-off and merged articles are pinned where the editor put them, and
a split or move sets the two storylines apart for good.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import lock_writes
from app.errors import Conflict, InvalidInput, NotFound, input_error
from app.models import (
    Article,
    AuditEntry,
    ChangeKind,
    Storyline,
    StorylineSeparation,
    StorylineStatus,
)
from app.services.changes import ChangeRecorder
from app.services.grouping import GroupingRuntime
from app.services.lineage import merge_storylines, move_articles, split_storyline
from app.services.members import MAX_ID, get_or_404

MAX_LABEL = 300
_UNSET: Any = object()


class Curator:
    """Applies editors' actions for one process (its runtime holds the grouper)."""

    def __init__(self, runtime: GroupingRuntime) -> None:
        self.runtime = runtime

    def merge(
        self, session: Session, storyline_id: int, into: int, reason: str, actor: str, now: datetime
    ) -> tuple[AuditEntry, int]:
        """Merge two storylines (the older id survives); returns the audit entry and survivor."""
        if storyline_id == into:
            msg = f"storyline {storyline_id} cannot be merged into itself"
            raise InvalidInput([input_error(("body", "into"), msg, "value_error")])

        def act(changes: ChangeRecorder) -> tuple[AuditEntry, int]:
            rows = [_live(session, storyline_id), _live(session, into)]
            before = {str(r.id): snapshot(r) for r in rows}
            survivor = merge_storylines(
                session, [storyline_id, into], reason, now, changes, relabel=False
            )
            session.execute(
                update(Article).where(Article.storyline_id == survivor).values(pinned=True)
            )
            absorbed = into if survivor == storyline_id else storyline_id
            entry = _audit(session, now, actor, "merge", reason, absorbed, survivor, None)
            entry.before = before
            entry.after = {str(r.id): snapshot(r) for r in rows}
            return entry, survivor

        return self._apply(session, act)

    def split(
        self,
        session: Session,
        storyline_id: int,
        article_ids: Collection[int],
        reason: str,
        actor: str,
        now: datetime,
    ) -> tuple[AuditEntry, int]:
        """Split ``article_ids`` off into a new storyline; returns the audit entry and its id."""
        moving = sorted(set(article_ids))

        def act(changes: ChangeRecorder) -> tuple[AuditEntry, int]:
            parent = _live(session, storyline_id)
            _require_members(session, parent, moving)
            if len(moving) >= parent.article_count:
                msg = (
                    f"a split must leave at least one of storyline {storyline_id}'s "
                    f"{parent.article_count} articles behind; to move them all, merge"
                )
                raise InvalidInput([input_error(("body", "article_ids"), msg, "value_error")])
            before = {str(parent.id): snapshot(parent)}
            child = split_storyline(session, parent.id, moving, reason, now, changes, relabel=False)
            _pin_and_separate(session, moving, parent.id, child, now)
            entry = _audit(session, now, actor, "split", reason, parent.id, child, None)
            entry.before = before
            entry.after = {
                str(parent.id): snapshot(parent),
                str(child): snapshot(_row(session, child)),
                "article_ids": moving,
            }
            return entry, child

        return self._apply(session, act)

    def move(
        self,
        session: Session,
        article_id: int,
        target_id: int | None,
        reason: str,
        actor: str,
        now: datetime,
    ) -> tuple[AuditEntry, int]:
        """Move one article to ``target_id`` (None: a new storyline of its own)."""

        def act(changes: ChangeRecorder) -> tuple[AuditEntry, int]:
            article = get_or_404(session, Article, article_id, "article")
            if article.storyline_id is None:
                raise Conflict(f"article {article_id} is not in a storyline yet ({article.status})")
            source = _live(session, article.storyline_id)
            target = None if target_id is None else _live(session, target_id)
            if target is not None and target.id == source.id:
                msg = f"article {article_id} is already in storyline {source.id}"
                raise InvalidInput([input_error(("body", "storyline_id"), msg, "value_error")])
            if source.article_count <= 1:
                if target is None:
                    msg = f"article {article_id} is already alone in storyline {source.id}"
                    raise InvalidInput([input_error(("body", "storyline_id"), msg, "value_error")])
                raise Conflict(
                    f"article {article_id} is the only article of storyline {source.id}: "
                    f"merge storyline {source.id} into {target.id} instead"
                )
            before = {"storyline_id": source.id, str(source.id): snapshot(source)}
            if target is not None:
                before[str(target.id)] = snapshot(target)
                move_articles(
                    session, source.id, target.id, [article_id], reason, now, changes, False
                )
                destination = target.id
            else:
                destination = split_storyline(
                    session, source.id, [article_id], reason, now, changes, relabel=False
                )
            _pin_and_separate(session, [article_id], source.id, destination, now)
            entry = _audit(session, now, actor, "move", reason, source.id, destination, article_id)
            entry.before = before
            entry.after = {
                "storyline_id": destination,
                str(source.id): snapshot(source),
                str(destination): snapshot(_row(session, destination)),
            }
            return entry, destination

        return self._apply(session, act)

    def edit(
        self,
        session: Session,
        storyline_id: int,
        reason: str,
        actor: str,
        now: datetime,
        label: str | None = _UNSET,
        locked: bool | None = None,
    ) -> tuple[AuditEntry, int]:
        """Set or clear (None) the label, lock or unlock; either may be left out."""

        def act(changes: ChangeRecorder) -> tuple[AuditEntry, int]:
            storyline = _live(session, storyline_id)
            before = snapshot(storyline)
            if label is None:
                storyline.label_pinned = False
                storyline.label_basis = 0  # the labeller rebuilds it at its next run
            elif label is not _UNSET:
                changes.note(
                    storyline, ChangeKind.relabelled, previous_label=storyline.label, by="editor"
                )
                storyline.label, storyline.label_terms = label, None
                storyline.label_pinned = True
            if locked is not None and locked != storyline.locked:
                storyline.locked = locked
                changes.note(storyline, ChangeKind.edited, locked=locked)
            storyline.updated_at = now
            entry = _audit(session, now, actor, "edit", reason, storyline.id, None, None)
            entry.before = {str(storyline.id): before}
            entry.after = {str(storyline.id): snapshot(storyline)}
            return entry, storyline.id

        return self._apply(session, act)

    def _apply(
        self, session: Session, act: Callable[[ChangeRecorder], tuple[AuditEntry, int]]
    ) -> tuple[AuditEntry, int]:
        runtime = self.runtime
        with runtime.lock:
            try:
                lock_writes(session)
                runtime.catch_up(session)
                changes = ChangeRecorder()
                entry, result = act(changes)
                changes.flush(session, entry.at)
                session.commit()
            except Exception:
                session.rollback()
                raise
            runtime.follow_lineage(session)
            session.commit()
        return entry, result


def snapshot(storyline: Storyline) -> dict[str, Any]:
    """What the audit log keeps of a storyline's state."""
    return {
        "status": storyline.status.value,
        "merged_into": storyline.merged_into,
        "label": storyline.label,
        "label_pinned": storyline.label_pinned,
        "locked": storyline.locked,
        "article_count": storyline.article_count,
        "outlet_count": storyline.outlet_count,
    }


def _audit(
    session: Session,
    now: datetime,
    actor: str,
    action: str,
    reason: str,
    storyline_id: int,
    other_id: int | None,
    article_id: int | None,
) -> AuditEntry:
    entry = AuditEntry(
        at=now,
        actor=actor,
        action=action,
        storyline_id=storyline_id,
        other_id=other_id,
        article_id=article_id,
        reason=reason,
    )
    session.add(entry)
    return entry


def _row(session: Session, storyline_id: int) -> Storyline:
    row = session.get(Storyline, storyline_id)
    assert row is not None  # created or kept in this transaction
    return row


def _live(session: Session, storyline_id: int) -> Storyline:
    row = get_or_404(session, Storyline, storyline_id, "storyline")
    if row.status == StorylineStatus.merged:
        raise Conflict(f"storyline {storyline_id} was merged into {row.merged_into}")
    return row


def _require_members(session: Session, storyline: Storyline, article_ids: list[int]) -> None:
    """404 for ids that name no article, 409 for articles that are not in ``storyline``."""
    if not article_ids:
        msg = "a split needs at least one article"
        raise InvalidInput([input_error(("body", "article_ids"), msg, "too_short")])
    valid = [a for a in article_ids if 1 <= a <= MAX_ID]
    rows = session.execute(select(Article.id, Article.storyline_id).where(Article.id.in_(valid)))
    where = {article: storyline for article, storyline in rows}
    missing = [a for a in article_ids if a not in where]
    if missing:
        raise NotFound(f"articles {missing[:20]} not found")
    elsewhere = {a: s for a, s in where.items() if s != storyline.id}
    if elsewhere:
        shown = ", ".join(f"{a} is in {s}" for a, s in sorted(elsewhere.items())[:20])
        raise Conflict(f"not all articles are in storyline {storyline.id}: {shown}")


def _pin_and_separate(
    session: Session, article_ids: list[int], source: int, destination: int, now: datetime
) -> None:
    """Pin the articles an editor placed and keep the two storylines apart for discovery."""
    session.execute(update(Article).where(Article.id.in_(article_ids)).values(pinned=True))
    session.add(StorylineSeparation(at=now, storyline_id=source, other_id=destination))


def list_audit(
    session: Session, since: datetime | None, storyline_id: int | None, after: int, limit: int
) -> list[AuditEntry]:
    """Audit entries after id ``after`` (and at or after ``since``), oldest first.

    With ``storyline_id``, only entries that name it (as the storyline acted
    on or as the other side of a merge, split or move).
    """
    query = select(AuditEntry).where(AuditEntry.id > after)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if storyline_id is not None:
        query = query.where(
            (AuditEntry.storyline_id == storyline_id) | (AuditEntry.other_id == storyline_id)
        )
    return list(session.scalars(query.order_by(AuditEntry.id).limit(limit)))
