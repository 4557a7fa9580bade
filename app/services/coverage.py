"""Outlet coverage kept at write time: who covered which storyline, and how much.

``outlet_storyline`` holds one row per (outlet, storyline) with the outlet's
article count and first/last effective time there; ``outlet.article_count`` and
``outlet.storyline_count`` sum it. Reads (``/outlets``, first publishers on the
board) then never aggregate articles. Writers call :func:`count_placed` for
newly placed articles and :func:`recount_storylines` after articles move
between storylines (merge, split, move, revision); both run inside the writer's
transaction, under the global write lock, so read-modify-write is safe.

Each row also keeps its ``join_lag_us`` (see :class:`~app.models.OutletStoryline`),
refreshed for every storyline whose rows these functions touch: the rows are the
only input, so the lags are right whenever the rows are.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, case, cast, delete, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from app.models import Article, Outlet, OutletStoryline


@dataclass(slots=True)
class _Share:
    articles: int
    first_at: datetime
    last_at: datetime


def count_placed(session: Session, rows: Iterable[Article]) -> None:
    """Fold articles just placed in storylines into the coverage counts.

    Each row must carry its ``storyline_id`` and must not have been counted before.
    Cost: one SELECT for the batch's pairs plus one write per pair and per outlet.
    """
    shares: dict[tuple[int, int], _Share] = {}
    for row in rows:
        if row.storyline_id is None:
            continue
        key = (row.outlet_id, row.storyline_id)
        share = shares.get(key)
        if share is None:
            shares[key] = _Share(1, row.effective_at, row.effective_at)
        else:
            share.articles += 1
            share.first_at = min(share.first_at, row.effective_at)
            share.last_at = max(share.last_at, row.effective_at)
    if not shares:
        return
    known = {
        (r.outlet_id, r.storyline_id): r
        for r in session.scalars(
            select(OutletStoryline).where(
                OutletStoryline.storyline_id.in_({sid for _, sid in shares}),
                OutletStoryline.outlet_id.in_({oid for oid, _ in shares}),
            )
        )
        if (r.outlet_id, r.storyline_id) in shares
    }
    per_outlet: dict[int, tuple[int, int]] = {}
    for (outlet_id, storyline_id), share in shares.items():
        kept = known.get((outlet_id, storyline_id))
        if kept is None:
            session.add(
                OutletStoryline(
                    outlet_id=outlet_id,
                    storyline_id=storyline_id,
                    article_count=share.articles,
                    first_at=share.first_at,
                    last_at=share.last_at,
                )
            )
        else:
            kept.article_count += share.articles
            kept.first_at = min(kept.first_at, share.first_at)
            kept.last_at = max(kept.last_at, share.last_at)
        articles, new = per_outlet.get(outlet_id, (0, 0))
        per_outlet[outlet_id] = (articles + share.articles, new + int(kept is None))
    _shift_outlet_totals(session, per_outlet)
    session.flush()
    refresh_join_lags(session, {sid for _, sid in shares})
    _expire(session, Outlet)


def recount_storylines(session: Session, storyline_ids: Collection[int]) -> None:
    """Rebuild the coverage rows of ``storyline_ids`` from their articles (after a move).

    Flushes first. The outlets involved change their totals by the difference
    between the old rows and the new ones: recounting them from all their rows
    cost a big outlet's every storyline per edit (136 ms a merge at 100k articles).
    """
    ids = sorted(set(storyline_ids))
    if not ids:
        return
    session.flush()
    before = session.execute(
        select(OutletStoryline.outlet_id, OutletStoryline.article_count).where(
            OutletStoryline.storyline_id.in_(ids)
        )
    ).all()
    session.execute(
        delete(OutletStoryline)
        .where(OutletStoryline.storyline_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    fresh = session.execute(
        select(
            Article.outlet_id,
            Article.storyline_id,
            func.count(Article.id),
            func.min(Article.effective_at),
            func.max(Article.effective_at),
        )
        .where(Article.storyline_id.in_(ids))
        .group_by(Article.outlet_id, Article.storyline_id)
    ).all()
    if fresh:
        session.execute(
            insert(OutletStoryline),
            [
                {
                    "outlet_id": o,
                    "storyline_id": s,
                    "article_count": n,
                    "first_at": first,
                    "last_at": last,
                }
                for o, s, n, first, last in fresh
            ],
        )
    # Per outlet: (articles, storylines) gained, negative when lost.
    delta: dict[int, tuple[int, int]] = {}
    for outlet_id, n in before:
        articles, storylines = delta.get(outlet_id, (0, 0))
        delta[outlet_id] = (articles - n, storylines - 1)
    for outlet_id, _, n, _, _ in fresh:
        articles, storylines = delta.get(outlet_id, (0, 0))
        delta[outlet_id] = (articles + n, storylines + 1)
    _shift_outlet_totals(session, delta)
    refresh_join_lags(session, ids)
    _expire(session, Outlet)


def _shift_outlet_totals(session: Session, delta: dict[int, tuple[int, int]]) -> None:
    """Move each outlet's article and storyline totals by (articles, storylines)."""
    for outlet_id, (articles, storylines) in sorted(delta.items()):
        if articles or storylines:
            session.execute(
                update(Outlet)
                .where(Outlet.id == outlet_id)
                .values(
                    article_count=Outlet.article_count + articles,
                    storyline_count=Outlet.storyline_count + storylines,
                )
                .execution_options(synchronize_session=False)
            )


def recount_all(session: Session) -> None:
    """Rebuild every coverage row and outlet total from the articles (bulk loads, repairs)."""
    session.execute(delete(OutletStoryline))
    session.execute(
        insert(OutletStoryline).from_select(
            ["outlet_id", "storyline_id", "article_count", "first_at", "last_at"],
            select(
                Article.outlet_id,
                Article.storyline_id,
                func.count(Article.id),
                func.min(Article.effective_at),
                func.max(Article.effective_at),
            )
            .where(Article.storyline_id.is_not(None))
            .group_by(Article.outlet_id, Article.storyline_id),
        )
    )
    mine = OutletStoryline.outlet_id == Outlet.id
    session.execute(
        update(Outlet).values(
            article_count=select(func.coalesce(func.sum(OutletStoryline.article_count), 0))
            .where(mine)
            .scalar_subquery(),
            storyline_count=select(func.count()).where(mine).scalar_subquery(),
        )
    )
    refresh_join_lags(session, None)
    _expire(session, Outlet)


def refresh_join_lags(session: Session, storyline_ids: Collection[int] | None) -> None:
    """Recompute ``join_lag_us`` of the coverage rows of ``storyline_ids`` (None: all).

    One UPDATE: each row against the earliest ``first_at`` and the row count of its
    storyline, read from an index on ``(storyline_id, first_at)``.
    """
    if storyline_ids is not None and not storyline_ids:
        return
    row = OutletStoryline
    other = aliased(OutletStoryline)
    same = other.storyline_id == row.storyline_id
    start = select(func.min(other.first_at)).where(same).scalar_subquery()
    outlets = select(func.count()).where(same).scalar_subquery()
    lag = case((outlets >= 2, micros_between(session, row.first_at, start)), else_=None)
    statement = update(row).values(join_lag_us=lag)
    if storyline_ids is not None:
        statement = statement.where(row.storyline_id.in_(sorted(storyline_ids)))
    session.execute(statement.execution_options(synchronize_session=False))
    _expire(session, OutletStoryline)


def micros_between(session: Session, later: Any, earlier: Any) -> ColumnElement[int]:
    """``later - earlier`` in whole microseconds, exactly, on either store.

    Integers compare exactly at a tie window's edge, where a float of seconds since
    1970 keeps only about 0.1 ms. SQLite stores ``YYYY-MM-DD HH:MM:SS.ffffff`` text.
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", later - earlier) * 1_000_000, BigInteger)

    def micros(column: Any) -> ColumnElement[int]:
        seconds = cast(func.strftime("%s", func.substr(column, 1, 19)), BigInteger)
        return seconds * 1_000_000 + cast(func.substr(column, 21, 6), BigInteger)

    return micros(later) - micros(earlier)


def _expire(session: Session, kind: type[Outlet] | type[OutletStoryline]) -> None:
    """Loaded rows of ``kind`` may be stale after a bulk write: reload them on next access."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, kind) and obj not in session.new:
            session.expire(obj)
