"""Outlets: what each covered, how often it was first, how late it joins, and with whom."""

from __future__ import annotations

import enum
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import Article, Outlet, as_utc
from app.schemas import OutletRef
from app.schemas_spread import CoveringOutlet, OutletDetail, OutletPage, OutletSummary
from app.services.cursor import decode_cursor, encode_cursor
from app.services.lag import lag_between
from app.services.members import MAX_ID

CO_COVERING_LIMIT = 10


class OutletSort(enum.StrEnum):
    storylines = "storylines"
    name = "name"


def _coverage(outlet_ids: list[int] | None = None) -> Any:
    """Per outlet (all, or those given): distinct storylines covered and articles in them."""
    query = select(
        Article.outlet_id.label("outlet_id"),
        func.count(func.distinct(Article.storyline_id)).label("storylines"),
        func.count(Article.id).label("articles"),
    ).where(Article.storyline_id.is_not(None))  # articles still waiting for grouping
    if outlet_ids is not None:
        query = query.where(Article.outlet_id.in_(outlet_ids))
    return query.group_by(Article.outlet_id).subquery()


def list_outlets(session: Session, sort: OutletSort, limit: int, cursor: str | None) -> OutletPage:
    """One page of outlets: most storylines first (then id), or by name; keyset cursor."""
    if sort is OutletSort.name:
        return _by_name(session, limit, cursor)
    coverage = _coverage()
    storylines = func.coalesce(coverage.c.storylines, 0)
    query: Select[Any] = select(
        Outlet, storylines, func.coalesce(coverage.c.articles, 0)
    ).outerjoin(coverage, coverage.c.outlet_id == Outlet.id)
    if cursor is not None:
        value, last_id = decode_cursor(cursor, int)
        query = query.where(or_(storylines < value, and_(storylines == value, Outlet.id > last_id)))
    rows = session.execute(query.order_by(storylines.desc(), Outlet.id).limit(limit + 1)).all()
    items = [_summary(outlet, covered, articles) for outlet, covered, articles in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(items[-1].storylines_covered, items[-1].id)
    return OutletPage(items=items, next_cursor=next_cursor)


def _by_name(session: Session, limit: int, cursor: str | None) -> OutletPage:
    """By name, the page is chosen first, so only its outlets' articles are counted."""
    query = select(Outlet)
    if cursor is not None:
        name, last_id = decode_cursor(cursor, str)
        query = query.where(or_(Outlet.name > name, and_(Outlet.name == name, Outlet.id > last_id)))
    page = list(session.scalars(query.order_by(Outlet.name, Outlet.id).limit(limit + 1)))
    shown = page[:limit]
    coverage = _coverage([o.id for o in shown])
    counts = {
        oid: (storylines, articles)
        for oid, storylines, articles in session.execute(
            select(coverage.c.outlet_id, coverage.c.storylines, coverage.c.articles)
        )
    }
    items = [_summary(o, *counts.get(o.id, (0, 0))) for o in shown]
    next_cursor = encode_cursor(shown[-1].name, shown[-1].id) if len(page) > limit else None
    return OutletPage(items=items, next_cursor=next_cursor)


def get_outlet(session: Session, outlet_id: int, tie_window_hours: float) -> OutletDetail:
    """An outlet's coverage and spread statistics (raises :class:`NotFound` when unknown).

    "First" means its first article in a storyline of two or more outlets came within
    ``tie_window_hours`` of that storyline's first article; the join lag of the other
    storylines is the delay from the storyline's first article to the outlet's first.
    """
    outlet = session.get(Outlet, outlet_id) if 1 <= outlet_id <= MAX_ID else None
    if outlet is None:
        raise NotFound(f"outlet {outlet_id} not found")
    covered = (
        select(Article.storyline_id)
        .where(Article.outlet_id == outlet_id, Article.storyline_id.is_not(None))
        .distinct()
    )
    own = {
        storyline_id: (as_utc(first), count)
        for storyline_id, first, count in session.execute(
            select(Article.storyline_id, func.min(Article.effective_at), func.count(Article.id))
            .where(Article.outlet_id == outlet_id, Article.storyline_id.is_not(None))
            .group_by(Article.storyline_id)
        )
    }
    stories = session.execute(
        select(
            Article.storyline_id,
            func.min(Article.effective_at),
            func.count(func.distinct(Article.outlet_id)),
        )
        .where(Article.storyline_id.in_(covered))
        .group_by(Article.storyline_id)
    ).all()
    tie = timedelta(hours=tie_window_hours)
    multi = first_in = 0
    join_lags: list[float] = []
    for storyline_id, started, outlets in stories:
        if outlets < 2:
            continue
        multi += 1
        started, mine = as_utc(started), own[storyline_id][0]
        if mine <= started + tie:
            first_in += 1
        else:
            join_lags.append((mine - started).total_seconds())
    median = None
    if join_lags:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        median = lag_between(epoch, epoch + timedelta(seconds=statistics.median(join_lags)))
    summary = _summary(outlet, len(own), sum(count for _, count in own.values()))
    return OutletDetail(
        **summary.model_dump(),
        tie_window_hours=tie_window_hours,
        multi_outlet_storylines=multi,
        first_in=first_in,
        median_join_lag=median,
        co_covering=_co_covering(session, outlet_id, covered),
    )


def _co_covering(session: Session, outlet_id: int, covered: Select[Any]) -> list[CoveringOutlet]:
    shared = func.count(func.distinct(Article.storyline_id))
    rows = session.execute(
        select(Outlet.id, Outlet.name, shared)
        .join(Article, Article.outlet_id == Outlet.id)
        .where(Article.storyline_id.in_(covered), Article.outlet_id != outlet_id)
        .group_by(Outlet.id, Outlet.name)
        .order_by(shared.desc(), Outlet.id)
        .limit(CO_COVERING_LIMIT)
    ).all()
    return [
        CoveringOutlet(outlet=OutletRef(id=oid, name=name), shared_storylines=count)
        for oid, name, count in rows
    ]


def _summary(outlet: Outlet, storylines: int, articles: int) -> OutletSummary:
    return OutletSummary(
        id=outlet.id,
        name=outlet.name,
        first_seen_at=outlet.first_seen_at,
        article_count=articles,
        storylines_covered=storylines,
    )
