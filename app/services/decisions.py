"""Human decisions win: what editors decided binds every automatic repair.

* An article an editor placed (moved, split off, or merged) is pinned: discovery
  never moves it again.
* Two storylines an editor set apart (a split, or a move between them) are
  never merged by discovery, nor is a storyline either of them was merged into
  with one the other went into.
* A locked storyline is never split, merged or robbed of articles by discovery
  (the online grouper may still add new articles to it).
* A label an editor set is kept until cleared (:func:`app.services.labels.apply_label`);
  its per-language variants still follow the members.

Discovery reads these under the grouping lock, just before it applies its
proposals, so an editor's action that commits first is always respected.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Article, Storyline, StorylineSeparation


@dataclass(frozen=True, slots=True)
class EditorDecisions:
    """Locked storylines and pairs kept apart, by the live ids they stand for now."""

    locked: frozenset[int]
    apart: frozenset[frozenset[int]]

    def may_split(self, storyline: int) -> bool:
        return storyline not in self.locked

    def may_merge(self, storylines: Iterable[int]) -> bool:
        ids = sorted(set(storylines))
        if any(s in self.locked for s in ids):
            return False
        return not any(frozenset(pair) in self.apart for pair in combinations(ids, 2))


def editor_decisions(session: Session) -> EditorDecisions:
    """The decisions in force now; call under the write lock before applying repairs."""
    locked = frozenset(session.scalars(select(Storyline.id).where(Storyline.locked.is_(True))))
    pairs = session.execute(select(StorylineSeparation.storyline_id, StorylineSeparation.other_id))
    named = {(a, b) for a, b in pairs}
    roots = _roots(session, {i for pair in named for i in pair})
    apart = frozenset(frozenset((roots[a], roots[b])) for a, b in named if roots[a] != roots[b])
    return EditorDecisions(locked, apart)


def unpinned(session: Session, article_ids: Collection[int]) -> set[int]:
    """Those of ``article_ids`` that no editor placed (discovery may move them)."""
    if not article_ids:
        return set()
    pinned = set(
        session.scalars(
            select(Article.id).where(Article.id.in_(article_ids), Article.pinned.is_(True))
        )
    )
    return set(article_ids) - pinned


def _roots(session: Session, ids: set[int]) -> dict[int, int]:
    """Each id -> the live storyline it went into (itself unless merged)."""
    roots = {i: i for i in ids}
    pending = set(ids)
    while pending:
        rows = session.execute(
            select(Storyline.id, Storyline.merged_into).where(
                Storyline.id.in_({roots[i] for i in pending})
            )
        )
        into = {sid: target for sid, target in rows if target is not None}
        pending = {i for i in pending if roots[i] in into}
        for i in pending:
            roots[i] = into[roots[i]]
    return roots
