"""One placement transaction: decide each embedded article's storyline and write it down.

:class:`PlacementBatch` is what :meth:`GroupingRuntime.place` runs once it
holds the grouping locks and has caught up: it asks the grouper about each
article in order, opens storylines, folds articles into their counters and
records the change feed, with nothing reaching the database until every
article is decided.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import reserve_ids
from app.models import (
    Article,
    ArticleRevision,
    ArticleStatus,
    ChangeKind,
    LineageKind,
    Storyline,
    StorylineEvent,
    StorylineStatus,
)
from app.services.changes import ChangeRecorder
from app.services.coverage import count_placed, recount_storylines
from app.services.lineage import follow_merges, refresh_storyline
from app.services.membership import record_membership
from clustering import Item
from clustering.labels import provisional_label

if TYPE_CHECKING:
    from app.services.grouping import GroupingRuntime


@dataclass(frozen=True, slots=True)
class Placement:
    storyline_id: int
    storyline_is_new: bool
    similarity: float


def article_item(article: Article, vector: np.ndarray | None = None) -> Item:
    """How grouping sees a stored article (``vector`` when not yet on the row)."""
    if vector is None:
        if article.embedding is None:
            raise ValueError(f"article {article.id} has no embedding yet")
        vector = np.frombuffer(article.embedding, dtype=np.float32)
    return stored_item(vector, article.title, article.body, article.published_at, article.language)


def stored_item(
    vector: np.ndarray, title: str, body: str, published_at: datetime | None, language: str
) -> Item:
    """:func:`article_item` from the article's columns, for replays that read no rows."""
    ts = published_at.timestamp() if published_at is not None else None
    return Item(
        vector=vector, title=title, body=body, timestamp=ts, language=grouping_language(language)
    )


def grouping_language(code: str) -> str:
    """The language grouping compares words within: "pt-br" -> "pt"; "und" -> "" (unknown)."""
    primary = code.split("-")[0]
    return "" if primary == "und" else primary


def placed_versions(
    session: Session, article_ids: Collection[int], upto_seq: int, model: str | None
) -> dict[int, Item]:
    """The versions a grouper synced to ``upto_seq`` holds of articles revised since.

    Per article, the revision that replaced its latest placement at or below
    ``upto_seq`` (vectors of ``model`` only, when given); articles without one
    (never placed by then, or revised before revisions kept vectors) are left out.
    """
    if not article_ids:
        return {}
    query = (
        select(ArticleRevision)
        .where(
            ArticleRevision.article_id.in_(sorted(article_ids)),
            ArticleRevision.group_seq <= upto_seq,
            ArticleRevision.embedding.is_not(None),
        )
        .order_by(ArticleRevision.group_seq)
    )
    if model is not None:
        query = query.where(ArticleRevision.embedding_model == model)
    held: dict[int, Item] = {}
    for revision in session.scalars(query):  # the latest placement is written last
        published = revision.published_at
        held[revision.article_id] = Item(
            vector=np.frombuffer(revision.embedding or b"", dtype=np.float32),
            title=revision.title,
            body=revision.body,
            timestamp=None if published is None else published.timestamp(),
        )
    return held


class PlacementBatch:
    """What one placement transaction has decided so far, before any of it is flushed.

    Built by :meth:`GroupingRuntime.place` under the grouping locks, after it
    caught up; :meth:`run` places embedded rows in order and flushes nothing
    the caller does not commit.
    """

    def __init__(self, runtime: GroupingRuntime, session: Session, size: int, now: datetime):
        self.runtime = runtime
        self.session = session
        self.size = size  # rows in the batch: no more storylines than that are opened
        self.now = now
        self.changes = ChangeRecorder()
        self.opened: dict[int, Storyline] = {}  # by id, not yet inserted
        self._free_ids: list[int] | None = None  # reserved at the first opening, last first
        # (storyline, outlet) pairs placed in this batch: the database knows the rest.
        self._pairs: set[tuple[int, int]] = set()
        # Revised articles placed again: the storyline each one left, by article id.
        self._left: dict[int, Storyline] = {}
        # Their placed versions, by article id: the grouper gives each back once the
        # new version is decided (those without one need a rebuild).
        self._held: dict[int, tuple[Item, int]] = {}
        self.events: list[StorylineEvent] = []  # lineage this batch recorded

    def run(self, rows: list[Article]) -> dict[int, Placement]:
        """Place ``rows`` (embedded) in order; returns article id -> placement.

        A row still in a storyline is a revision placed again: it leaves its
        storyline first (whose counters are recomputed) and may come back to
        it or move; a move is recorded in the lineage, and a storyline left
        empty is merged into where its article went, so its id keeps a meaning.
        """
        self._withdraw([row for row in rows if row.storyline_id is not None])
        placed: dict[int, Placement] = {}
        # Nothing reaches the database until every row is decided: the storylines
        # the batch opens go in first, in one INSERT with their final counts, then
        # the articles that point at them.
        with self.session.no_autoflush:
            for row in rows:
                placed[row.id] = self._place_one(row)
        self.session.add_all(self.opened.values())
        self.session.flush()
        for row in rows:
            _settle(row, placed[row.id], self.runtime.next_group_seq())
        self._record_moves(placed)
        # New and revised articles alike: a revision that moved closes its old stay.
        moves = {row.id: placed[row.id].storyline_id for row in rows}
        record_membership(self.session, moves, self.now)
        count_placed(self.session, rows)
        self.runtime.retire_silent(self.session, self.changes)
        self.changes.flush(self.session, self.now)
        return placed

    def _place_one(self, row: Article) -> Placement:
        runtime = self.runtime
        vector = np.frombuffer(row.embedding or b"", dtype=np.float32)
        item = article_item(row, vector)
        started = time.perf_counter()
        decision = runtime.grouper.decide(item)
        runtime.method_seconds += time.perf_counter() - started
        storyline = None if decision.storyline is None else self.storyline(decision.storyline)
        is_new = storyline is None
        if storyline is None:
            storyline = self.open(row, vector)
        new_outlet = is_new or self.new_outlet(storyline.id, row.outlet_id)
        _grow(storyline, row, vector, new_outlet, self.now)
        left = self._left.get(row.id)
        if left is not None and left.id == storyline.id:
            self.changes.note(storyline, ChangeKind.revised, article_id=row.id)
        else:
            self.changes.note(storyline, ChangeKind.created if is_new else ChangeKind.grew)
        # The grouper learns of the article only now; a failed commit triggers a rebuild.
        started = time.perf_counter()
        if row.id in self._held:
            runtime.grouper.detach(*self._held[row.id])
        runtime.grouper.add(item, storyline.id)
        runtime.method_seconds += time.perf_counter() - started
        runtime.observe(row.published_at)
        return Placement(storyline.id, is_new, 1.0 if is_new else decision.similarity)

    def _withdraw(self, rows: list[Article]) -> None:
        """Take revised ``rows`` out of their storylines and recompute those from the rest.

        The new version is decided with the old one still in the grouper (as
        before: an article alone in its storyline keeps it), then the grouper gives
        back the version it placed (kept on the revision row) and takes the new
        one, ending as a grouper rebuilt from the store would be. Other processes
        do the same at catch-up (:meth:`GroupingRuntime.follow_lineage`). A
        revision recorded before revisions kept vectors cannot be given back: its
        move is recorded without article ids, on which every process rebuilds.
        """
        if not rows:
            return
        runtime = self.runtime
        held = placed_versions(
            self.session, [r.id for r in rows], runtime.synced_seq, runtime.model
        )
        for row in rows:
            left = self.storyline(row.storyline_id or 0)
            if left is not None:
                self._left[row.id] = left
                item = held.get(row.id)
                if item is not None:
                    self._held[row.id] = (item, left.id)
            row.storyline_id = None
        self.session.flush()
        # Outlet coverage forgets the old version; count_placed counts the new one.
        recount_storylines(self.session, [s.id for s in self._left.values()])
        for storyline in {s.id: s for s in self._left.values()}.values():
            remaining = select(Article.id).where(Article.storyline_id == storyline.id)
            if self.session.scalar(remaining.limit(1)) is None:
                storyline.article_count = storyline.outlet_count = 0
                storyline.centroid = np.zeros_like(
                    np.frombuffer(storyline.centroid, dtype=np.float32)
                ).tobytes()
            else:
                refresh_storyline(self.session, storyline, self.now)

    def _record_moves(self, placed: dict[int, Placement]) -> None:
        """Lineage and change-feed entries of revised articles that changed storyline."""
        for article_id, left in self._left.items():
            target = placed[article_id].storyline_id
            if target == left.id:
                continue
            reason = f"article {article_id} was revised; its new text joined storyline {target}"
            emptied = left.article_count == 0 and left.status != StorylineStatus.merged
            if emptied:
                left.status = StorylineStatus.merged
                left.merged_into = target
                left.updated_at = self.now
                self.session.execute(
                    update(Storyline)
                    .where(Storyline.merged_into == left.id)
                    .values(merged_into=target)
                )
                self.changes.note(left, ChangeKind.merged, merged_into=target, reason=reason)
            else:
                self.changes.note(left, ChangeKind.revised, article_id=article_id, moved_to=target)
            event = StorylineEvent(
                at=self.now,
                kind=LineageKind.merged if emptied else LineageKind.moved,
                storyline_id=left.id,
                other_id=target,
                articles_moved=1,
                reason=reason,
                # Named: other processes give back its old version, as this one did.
                article_ids=[article_id] if article_id in self._held else None,
            )
            self.session.add(event)
            self.events.append(event)

    def storyline(self, storyline_id: int) -> Storyline | None:
        """The live storyline ``storyline_id`` stands for (following merges), or None."""
        storyline = self.opened.get(storyline_id) or self.session.get(Storyline, storyline_id)
        # A grouper a step behind a merge may name the absorbed storyline: follow it.
        return follow_merges(self.session, storyline)

    def open(self, row: Article, vector: np.ndarray) -> Storyline:
        if self._free_ids is None:
            # One reservation covers the batch: it opens at most one storyline per row.
            self._free_ids = reserve_ids(self.session, Storyline, self.size)[::-1]
        at = row.effective_at
        zeros = np.zeros_like(vector, dtype=np.float32).tobytes()
        storyline = Storyline.opened(at, zeros, self.now)
        storyline.id = self._free_ids.pop()
        # Labels are built in the background (app.services.labeller); until then, the headline.
        storyline.label = provisional_label(row.title, at, at)
        self.opened[storyline.id] = storyline
        self._pairs.add((storyline.id, row.outlet_id))
        return storyline

    def new_outlet(self, storyline_id: int, outlet_id: int) -> bool:
        """Whether ``outlet_id`` has no article in the (existing) storyline yet."""
        pair = (storyline_id, outlet_id)
        if pair in self._pairs:
            return False
        self._pairs.add(pair)
        if storyline_id in self.opened:
            return True
        query = select(Article.id).where(
            Article.storyline_id == storyline_id, Article.outlet_id == outlet_id
        )
        return self.session.scalar(query.limit(1)) is None


def _settle(row: Article, placement: Placement, group_seq: int) -> None:
    """Write a placed article's outcome onto its row."""
    row.storyline_id = placement.storyline_id
    row.similarity = placement.similarity
    row.status = ArticleStatus.grouped
    row.group_seq = group_seq
    row.claimed_by = row.claimed_until = None


def _grow(
    storyline: Storyline, row: Article, vector: np.ndarray, new_outlet: bool, now: datetime
) -> None:
    """Fold one article into the storyline's counters, span and mean vector."""
    n = storyline.article_count
    mean = np.frombuffer(storyline.centroid, dtype=np.float32)
    storyline.centroid = ((mean * n + vector) / (n + 1)).astype(np.float32).tobytes()
    storyline.article_count = n + 1
    storyline.outlet_count += int(new_outlet)
    storyline.first_published_at = min(storyline.first_published_at, row.effective_at)
    storyline.last_published_at = max(storyline.last_published_at, row.effective_at)
    storyline.updated_at = now
    if storyline.status == StorylineStatus.dormant:
        storyline.status = StorylineStatus.active
