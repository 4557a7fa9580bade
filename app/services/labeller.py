"""Labels and the term counts behind them, kept up to date off the grouping step.

Placing an article gives a new storyline its first headline as a provisional
label and nothing more: the grouping step holds the one write lock every
process and host shares, so work there limits the whole service. A
:class:`Labeller` run, in the background of a serve process, does the rest:

1. counts the label terms of every article grouped since its mark (the
   highest ``group_seq`` counted, kept in ``job_mark`` in the same transaction
   as the counts, so each article is counted exactly once, whatever fails);
2. rebuilds the label of every storyline, among those changed since its last
   pass (``version``, indexed), that has none yet or has grown by half since
   (:func:`app.services.labels.label_due`; per language too, when the
   members span several), reading members and
   term counts with no lock held, then writes the labels in one short
   transaction under the write lock, so ``relabelled`` entries of the change
   feed keep commit order.

On PostgreSQL one process runs it at a time (a session advisory lock); the
others skip their turn.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Database, exclusive_job, lock_writes
from app.models import Article, JobMark, Storyline, StorylineChange, StorylineStatus
from app.services.changes import ChangeRecorder
from app.services.grouping import GroupingRuntime
from app.services.labels import (
    StorylineLabels,
    apply_label,
    compute_labels,
    count_term_sets,
    label_due_clause,
)
from clustering.labels import tracked_terms

log = logging.getLogger(__name__)

_MARK = "labels"
_COUNT_BATCH = 1000
_LABEL_BATCH = 500
_KNOWN_CAP = 20_000  # term sets kept from counting to spare re-extraction in labelling


@dataclass(frozen=True, slots=True)
class LabelReport:
    """What one run did."""

    counted: int  # articles whose terms were added to the counts
    labelled: int  # storylines whose label was rebuilt
    relabelled: int  # of which the label changed materially (a change-feed entry)
    seconds: float


class Labeller:
    """Counts label terms and rebuilds due labels for one database."""

    def __init__(self, db: Database, runtime: GroupingRuntime) -> None:
        self.db = db
        # In-process writers share the runtime's lock (SQLite's one writer; on
        # PostgreSQL, lock_writes is what orders writers across hosts).
        self.runtime = runtime
        # Change seq when the last complete pass began: storylines not changed
        # since were looked at then (each change bumps a storyline's version).
        # -1 at first: the first pass also sees storylines from before the feed.
        self.seen_version = -1

    def due(self) -> bool:
        """True when an article was grouped past the mark."""
        with self.db.session() as session:
            latest = session.scalar(select(func.max(Article.group_seq))) or 0
            return latest > _mark(session)

    def run(self, now: datetime | None = None) -> LabelReport:
        """Count and label everything due; an empty report while another process runs."""
        started = time.perf_counter()
        with exclusive_job(self.db.engine, "storyline-labels") as mine:
            if not mine:
                return LabelReport(0, 0, 0, 0.0)
            known: dict[int, set[str]] = {}
            counted = 0
            while (n := self._count(known)) > 0:
                counted += n
            with self.db.session() as session:
                version = session.scalar(select(func.max(StorylineChange.seq))) or 0
            labelled = relabelled = 0
            after = 0  # storylines in id order, each looked at once per run
            while (batch := self._label(known, after, now or datetime.now(UTC))) is not None:
                labelled += batch[0]
                relabelled += batch[1]
                after = batch[2]
            self.seen_version = version
        report = LabelReport(counted, labelled, relabelled, time.perf_counter() - started)
        log.debug("labels: %s", report)
        return report

    def _count(self, known: dict[int, set[str]]) -> int:
        """Count the next batch of grouped articles past the mark; returns how many."""
        with self.db.session() as session:
            mark = _mark(session)
            rows = session.execute(
                select(Article.id, Article.group_seq, Article.title, Article.body)
                .where(Article.group_seq > mark)
                .order_by(Article.group_seq)
                .limit(_COUNT_BATCH)
            ).all()
        if not rows:
            return 0
        terms = {article_id: _terms(article_id, title, body) for article_id, _, title, body in rows}
        with self.runtime.lock, self.db.session() as session:
            if _mark(session) != mark:  # cannot happen under exclusive_job; never count twice
                return 0
            count_term_sets(session, terms.values())
            _set_mark(session, max(seq or 0 for _, seq, _, _ in rows))
            session.commit()
        if len(known) < _KNOWN_CAP:
            known.update(terms)
        return len(rows)

    def _label(
        self, known: dict[int, set[str]], after: int, now: datetime
    ) -> tuple[int, int, int] | None:
        """Label the due storylines next after id ``after``; None when none is left.

        Returns how many were labelled, how many of those changed materially,
        and the last id looked at.
        """
        with self.db.session() as session:
            due = list(
                session.scalars(
                    select(Storyline)
                    .where(
                        Storyline.id > after,
                        Storyline.version > self.seen_version,
                        Storyline.status != StorylineStatus.merged,
                        label_due_clause(),
                    )
                    .order_by(Storyline.id)
                    .limit(_LABEL_BATCH)
                )
            )
            if not due:
                return None
            computed = _compute(session, due, known)
            labels: dict[int, tuple[StorylineLabels | None, int]] = {
                s.id: (computed.get(s.id), s.article_count) for s in due
            }
        relabelled = 0
        with self.runtime.lock, self.db.session() as session:
            lock_writes(session)
            changes = ChangeRecorder()
            # One read for the batch (a get per storyline was a query each: 500 a batch).
            current = {
                s.id: s for s in session.scalars(select(Storyline).where(Storyline.id.in_(labels)))
            }
            for storyline_id, (label, basis) in labels.items():
                storyline = current.get(storyline_id)
                if storyline is None or storyline.status == StorylineStatus.merged:
                    continue
                if label is None:
                    # Marked as labelled at this size: it keeps its label and is tried
                    # again only once it has grown, never on every pass.
                    storyline.label_basis = basis
                else:
                    relabelled += apply_label(storyline, label, basis, changes)
            changes.flush(session, now)
            session.commit()
        return len(labels), relabelled, due[-1].id


def _terms(article_id: int, title: str, body: str) -> set[str]:
    """The article's label terms; none (logged) when extracting them fails.

    The article is counted either way, so the mark moves past it and it never
    holds up the articles behind it.
    """
    try:
        return tracked_terms(title, body)
    except Exception:
        log.exception(
            "labels: article %d: term extraction failed; counted without terms", article_id
        )
        return set()


def _compute(
    session: Session, due: list[Storyline], known: dict[int, set[str]]
) -> dict[int, StorylineLabels]:
    """Labels of ``due`` by id; a storyline whose label cannot be built is left out, logged."""
    try:
        return compute_labels(session, due, known)
    except Exception:
        log.warning("labels: a batch of %d failed; labelling one by one", len(due))
        session.rollback()  # a failed statement ends PostgreSQL's transaction
    labels: dict[int, StorylineLabels] = {}
    for storyline in due:
        try:
            labels.update(compute_labels(session, [storyline], known))
        except Exception:
            log.exception("labels: storyline %d: labelling failed; marked, skipped", storyline.id)
            session.rollback()
    return labels


def _mark(session: Session) -> int:
    return session.scalar(select(JobMark.value).where(JobMark.name == _MARK)) or 0


def _set_mark(session: Session, value: int) -> None:
    row = session.get(JobMark, _MARK)
    if row is None:
        session.add(JobMark(name=_MARK, value=value))
    else:
        row.value = value
