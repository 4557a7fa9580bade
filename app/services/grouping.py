"""The live grouper of this process: built from its config, kept in step with the database.

Grouping runs one transaction at a time across every process and host (the
global write lock). Each placement gets the next ``group_seq``; before placing
anything a process replays, in ``group_seq`` order, what others placed since
it last looked, and folds in the merges, splits and moves others made (each
lineage event names the articles it moved, so only those storylines change in
memory: no rebuild). So every process's grouper follows the same state.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from sqlalchemy import Select, func, select, text, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Database, lock_writes, try_lock_writes
from app.errors import ModelMismatch
from app.metrics import observe_grouping
from app.models import (
    Article,
    ArticleStatus,
    ChangeKind,
    LineageKind,
    Storyline,
    StorylineEvent,
    StorylineStatus,
    as_utc,
)
from app.services.changes import ChangeRecorder
from app.services.lineage import merge_storylines, split_storyline
from app.services.placement import (
    Placement,
    PlacementBatch,
    article_item,
    placed_versions,
    stored_item,
)
from app.services.space import require as require_space
from clustering import CentroidGrouper, EvidenceGrouper, OnlineGrouper
from clustering.join_model import DEFAULT_MODEL, MULTILINGUAL_MODEL

_PLACE_ATTEMPTS = 5  # placements lost to another grouper's commit before giving up


@dataclass(frozen=True, slots=True)
class GroupingConfig:
    """How the live grouper is built: constants of the method, not operator settings.

    The join model was fitted with a 30-day window and storylines live for 30 days,
    so other values break its calibration; they are for experiments
    (``storyline eval --grouping-method centroid --window-days 14``).
    """

    method: Literal["evidence", "centroid"] = "evidence"
    window_days: float = 30.0  # how far from a storyline's dates an article may join it
    # Storylines silent this long in stream time go dormant and leave the grouper:
    # one horizon for the database and the in-memory grouper alike.
    live_days: float = 30.0
    # Dormant storylines the grouper still holds for undated articles, which may
    # report a story of any age (a back-fill, or undated rows after dated ones).
    dormant_kept: int = 5000
    join_threshold: float = 0.5  # centroid method only: the cosine needed to join
    # The vectors' model family (STORYLINE_EMBEDDING_MODEL), which picks the join
    # model: only multilingual vectors are compared across languages.
    family: Literal["english", "multilingual"] = "english"


def make_grouper(config: GroupingConfig) -> OnlineGrouper:
    """The grouping method ``config`` names."""
    if config.method == "centroid":
        return CentroidGrouper(threshold=config.join_threshold, window_days=config.window_days)
    if config.family == "multilingual":
        return EvidenceGrouper(
            MULTILINGUAL_MODEL,
            window_days=config.window_days,
            evict_after_days=config.live_days,
            dormant_kept=config.dormant_kept,
            by_language=True,
        )
    return EvidenceGrouper(
        DEFAULT_MODEL,
        window_days=config.window_days,
        evict_after_days=config.live_days,
        dormant_kept=config.dormant_kept,
    )


class GroupingRuntime:
    """Owns the in-memory grouper and serialises this process's decisions through ``lock``.

    The database is the truth; the grouper is a cache of the live window that
    :meth:`rebuild` recreates from stored articles (at start-up, after a failed
    write, and when another process merged or split storylines).
    """

    def __init__(self, config: GroupingConfig | None = None, model: str | None = None) -> None:
        self.config = config or GroupingConfig()
        # Only vectors of this model are grouped (None: any, for stores of one model).
        self.model = model
        self.lock = threading.RLock()
        self.grouper: OnlineGrouper = make_grouper(self.config)
        self.horizon = timedelta(days=self.config.live_days)
        self.stream_time: datetime | None = None
        self.synced_seq = 0  # highest group_seq folded into the grouper
        self.lineage_seen = 0  # highest storyline_event id accounted for
        # Revised articles whose placed version follow_lineage gave back this catch-up.
        self.withdrawn: set[int] = set()
        self.refreshing = False  # a refresh() is replaying; see catch_up
        self.method_seconds = 0.0  # time inside the grouping method itself (decide and add)

    def place(
        self, session: Session, pick: Select[Article], now: datetime, *, wait: bool = True
    ) -> dict[int, Placement] | None:
        """Place the embedded articles ``pick`` selects, in its order, and commit.

        The one grouping step of every process: it takes this process's lock and
        the global write lock, folds in what other processes placed, and only then
        runs ``pick``, so two processes never place the same article. Returns
        article id -> placement; None, with ``wait=False``, when another thread or
        process is placing. On any failure it rolls back and rebuilds the
        grouper, which had run ahead of the database.
        """
        if not self.lock.acquire(blocking=wait):
            return None
        try:
            attempt = 0
            while True:
                attempt += 1
                if wait:
                    lock_writes(session)
                elif not try_lock_writes(session):
                    return None
                try:
                    _take_sqlite_write_lock(session)
                    if self.model is not None:
                        require_space(session, self.model)
                    self.catch_up(session)
                    rows = self._in_this_space(list(session.scalars(pick)))
                    if not rows:
                        session.commit()
                        return {}
                    started = time.perf_counter()
                    batch = PlacementBatch(self, session, len(rows), now)
                    placed = batch.run(rows)
                    session.flush()
                    own = [e.id for e in batch.events]
                    named = all(e.article_ids is not None for e in batch.events)
                    session.commit()
                    if own and not self.refreshing:
                        # Caught up before, under the write lock: these are the only new
                        # events. This grouper gave the revised versions back already;
                        # a revision too old to have kept its version needs a rebuild.
                        self.lineage_seen = max(own)
                        if not named:
                            self.rebuild(session)
                    observe_grouping(len(rows), time.perf_counter() - started)
                    return placed
                except ModelMismatch:
                    session.rollback()
                    raise
                except IntegrityError:
                    # SQLite: another grouper on this file (another process) committed
                    # the same next ids or group_seq first. The rebuild catches up with
                    # it, and the placement runs again (the fast ONNX model made two
                    # writers collide twice in a row).
                    session.rollback()
                    self.rebuild(session)
                    if attempt == _PLACE_ATTEMPTS:
                        raise
                except Exception:
                    session.rollback()
                    self.rebuild(session)
                    raise
        finally:
            self.lock.release()

    def rebuild(self, session: Session) -> int:
        """Replay the articles of live storylines in grouping order; returns how many."""
        with self.lock:
            self.grouper = make_grouper(self.config)
            lock_writes(session)
            latest = session.scalar(select(func.max(Article.published_at)))
            self.stream_time = None if latest is None else as_utc(latest)
            self.synced_seq = session.scalar(select(func.max(Article.group_seq))) or 0
            self.lineage_seen = session.scalar(select(func.max(StorylineEvent.id))) or 0
            changes = ChangeRecorder()
            self.retire_silent(session, changes)
            changes.flush(session, datetime.now(UTC))
            session.commit()
            return self._replay(session, self.grouper, self.synced_seq)

    def refresh(self, db: Database) -> int:
        """Rebuild the grouper off the lock, then swap it in; returns articles replayed.

        The replay, the slow part, reads a snapshot up to the current ``group_seq``
        while placements go on with the old grouper; under the lock the new one
        catches up with what was placed meanwhile and replaces it. Should the
        lineage move during the replay, it falls back to :meth:`rebuild`.
        """
        self.refreshing = True
        try:
            fresh = make_grouper(self.config)
            with db.session() as session:
                seq = session.scalar(select(func.max(Article.group_seq))) or 0
                lineage = session.scalar(select(func.max(StorylineEvent.id))) or 0
                count = self._replay(session, fresh, seq)
            with self.lock, db.session() as session:
                lock_writes(session)
                self.refreshing = False
                now_lineage = session.scalar(select(func.max(StorylineEvent.id))) or 0
                if now_lineage != lineage:
                    return self.rebuild(session)
                self.grouper = fresh
                self.synced_seq = seq
                self.lineage_seen = lineage
                self.catch_up(session)
                session.commit()
            return count
        finally:
            self.refreshing = False

    def _replay(self, session: Session, grouper: OnlineGrouper, seq: int) -> int:
        live = select(Storyline.id).where(Storyline.status == StorylineStatus.active)
        # Columns, not Article rows: a replay after every discovery that changed
        # something reads the whole live window, and loading ORM objects was a third
        # of it on a headline stream.
        rows = session.execute(
            select(
                Article.id,
                Article.storyline_id,
                Article.embedding,
                Article.title,
                Article.body,
                Article.published_at,
                Article.language,
            )
            .where(
                Article.storyline_id.in_(live),
                Article.group_seq <= seq,
                # A revision waiting to be placed again counts from its new placement.
                Article.status == ArticleStatus.grouped,
            )
            .where(true() if self.model is None else Article.embedding_model == self.model)
            .order_by(Article.group_seq)
            .execution_options(yield_per=1000)
        )
        count = 0
        for article_id, storyline_id, embedding, title, body, published_at, language in rows:
            if embedding is None or storyline_id is None:
                raise ValueError(f"article {article_id} is grouped without a vector or storyline")
            vector = np.frombuffer(embedding, dtype=np.float32)
            item = stored_item(vector, title, body, published_at, language)
            grouper.add(item, storyline_id)
            count += 1
        session.expunge_all()
        return count

    def catch_up(self, session: Session) -> None:
        """Fold in what other processes grouped; call holding the lock and the write lock."""
        # While refresh() replays off the lock, the old grouper stays in use: its
        # storylines are at worst a merged one (placement follows merged_into) or a
        # split one's parent (still live), so lineage waits for the swap meanwhile.
        if not self.refreshing and self.follow_lineage(session):
            lock_writes(session)  # a rebuild committed, which released the write lock
            return
        others = list(
            session.scalars(
                select(Article)
                .where(Article.group_seq > self.synced_seq, Article.status == ArticleStatus.grouped)
                .order_by(Article.group_seq)
            )
        )
        # Revised articles placed again where they were: no event named them, and
        # the version this grouper placed is still in the storyline they stayed in.
        # (While refresh() replays, lineage waits: the grouper in use is replaced.)
        if not self.refreshing:
            by_id = {a.id: a for a in others}
            stayed = placed_versions(
                session, by_id.keys() - self.withdrawn, self.synced_seq, self.model
            )
            for article_id, item in stayed.items():
                self.grouper.detach(item, _storyline_of(by_id[article_id]))
        self.withdrawn = set()
        for article in others:
            # Skipped: placed by a process still embedding with the store's previous model.
            if self.model is None or article.embedding_model == self.model:
                self.grouper.add(article_item(article), _storyline_of(article))
            self.observe(article.published_at)
            self.synced_seq = article.group_seq or self.synced_seq

    def _in_this_space(self, rows: list[Article]) -> list[Article]:
        """The rows embedded with this runtime's model.

        The others were embedded by a process with the store's previous model
        before it switched: they go back to pending, to be embedded again.
        """
        if self.model is None:
            return rows
        for row in rows:
            if row.embedding_model != self.model:
                row.status = ArticleStatus.pending
                row.embedding = row.embedding_model = row.embedding_dim = None
                row.claimed_by = row.claimed_until = None
        return [row for row in rows if row.embedding_model == self.model]

    def follow_lineage(self, session: Session) -> bool:
        """Fold merges, splits and moves recorded since ``lineage_seen`` into the grouper.

        Articles an event names are moved in the grouper as the version it holds:
        the current one, or for an article revised and not placed again yet, the
        placed version kept on its revision. One placed again since this grouper
        looked (a revision another process placed) leaves the storyline the first
        such event names as its old version, without joining the other: catch-up
        adds the new version where it is now. Returns True when it had to rebuild
        (and so committed ``session``).
        """
        self.withdrawn = set()
        events = list(
            session.scalars(
                select(StorylineEvent)
                .where(StorylineEvent.id > self.lineage_seen)
                .order_by(StorylineEvent.id)
            )
        )
        if not events:
            return False
        if any(e.kind != LineageKind.merged and e.article_ids is None for e in events):
            self.rebuild(session)  # recorded before events named their articles
            return True
        named = {i for e in events for i in e.article_ids or ()}
        rows = list(session.scalars(select(Article).where(Article.id.in_(named))))
        synced = self.synced_seq
        held = {
            a.id: article_item(a)
            for a in rows
            if a.status == ArticleStatus.grouped and (a.group_seq or 0) <= synced
        }
        # Revised: waiting to be placed again (held as placed), or placed since (given back).
        revised = {a.id for a in rows} - held.keys()
        older = placed_versions(session, revised, synced, self.model)
        placed_since = {a.id for a in rows if (a.group_seq or 0) > synced}
        for event in events:
            for article_id in event.article_ids or ():
                item = held.get(article_id) or older.get(article_id)
                if item is None or article_id in self.withdrawn:
                    continue  # not in this grouper: catch-up adds it where it is now
                self.grouper.detach(item, event.storyline_id)
                if article_id in placed_since:
                    self.withdrawn.add(article_id)
                elif event.kind != LineageKind.merged:
                    self.grouper.attach(item, event.other_id)
            if event.kind == LineageKind.merged:
                self.grouper.merge(event.storyline_id, event.other_id)
        self.lineage_seen = events[-1].id
        return False

    def next_group_seq(self) -> int:
        """The grouping order of the next placement (valid only after :meth:`catch_up`)."""
        self.synced_seq += 1
        return self.synced_seq

    def merge(self, session: Session, ids: list[int], reason: str, now: datetime) -> int:
        """Merge storylines (oldest id survives), commit, and fold them in the grouper."""
        with self.lock:
            lock_writes(session)
            self.catch_up(session)
            changes = ChangeRecorder()
            target = merge_storylines(session, ids, reason, now, changes)
            changes.flush(session, now)
            session.commit()
            for source in sorted(set(ids) - {target}):
                self.grouper.merge(source, target)
            self.lineage_seen = session.scalar(select(func.max(StorylineEvent.id))) or 0
            return target

    def split(
        self,
        session: Session,
        storyline_id: int,
        article_ids: list[int],
        reason: str,
        now: datetime,
    ) -> int:
        """Split articles off into a new storyline, commit, and move them in the grouper."""
        with self.lock:
            lock_writes(session)
            self.catch_up(session)
            changes = ChangeRecorder()
            child = split_storyline(session, storyline_id, article_ids, reason, now, changes)
            changes.flush(session, now)
            session.commit()
            self.follow_lineage(session)
            return child

    def observe(self, published_at: datetime | None) -> None:
        """Advance stream time, the clock that decides when storylines go dormant.

        Only dates move it: an undated article's ingest time says nothing of
        the stream (a back-filled one would otherwise send every dated
        storyline dormant at once, out of the grouper's reach).
        """
        if published_at is None:
            return
        published_at = as_utc(published_at)
        if self.stream_time is None or published_at > self.stream_time:
            self.stream_time = published_at

    def retire_silent(self, session: Session, changes: ChangeRecorder) -> None:
        """Mark active storylines silent for longer than the horizon as dormant."""
        if self.stream_time is None:
            return
        cutoff = self.stream_time - self.horizon
        silent = session.scalars(
            select(Storyline)
            .where(Storyline.status == StorylineStatus.active)
            .where(Storyline.last_published_at < cutoff)
        )
        for storyline in silent:
            storyline.status = StorylineStatus.dormant
            changes.note(storyline, ChangeKind.dormant)


def _storyline_of(article: Article) -> int:
    if article.storyline_id is None:
        raise ValueError(f"article {article.id} has a group_seq but no storyline")
    return article.storyline_id


def _take_sqlite_write_lock(session: Session) -> None:
    """On SQLite, hold the file's one write lock from the placement's first read.

    Another grouper on the same file (another process) would otherwise read the
    same next ``group_seq`` and ids, and one of the two commits fail; under load
    that happened five times in a row. Only the placement takes it this early,
    so embedding writes elsewhere wait for one placement at most (milliseconds).
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    driver: Any = session.connection().connection.driver_connection
    if not driver.in_transaction:  # pysqlite opens one only before DML
        session.execute(text("BEGIN IMMEDIATE"))
