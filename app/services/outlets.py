"""Outlets: what each covered, how often it was first, how late it joins, and with whom."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.models import Outlet, OutletStoryline
from app.schemas import OutletRef
from app.schemas_spread import CoveringOutlet, OutletDetail, OutletPage, OutletSummary
from app.services.cursor import decode_cursor, encode_cursor
from app.services.lag import lag_between
from app.services.members import get_or_404

CO_COVERING_LIMIT = 10
CO_COVERING_WINDOW = 1000  # the outlet's newest storylines that co-coverage counts


class OutletSort(enum.StrEnum):
    storylines = "storylines"
    name = "name"


def list_outlets(session: Session, sort: OutletSort, limit: int, cursor: str | None) -> OutletPage:
    """One page of outlets: most storylines first (then id), or by name; keyset cursor.

    Counts are kept at write time (:mod:`app.services.coverage`): no aggregation here.
    """
    query: Select[Any] = select(Outlet)
    if sort is OutletSort.name:
        if cursor is not None:
            name, last_id = decode_cursor(cursor, str)
            query = query.where(
                or_(Outlet.name > name, and_(Outlet.name == name, Outlet.id > last_id))
            )
        query = query.order_by(Outlet.name, Outlet.id)
    else:
        if cursor is not None:
            value, last_id = decode_cursor(cursor, int)
            count = Outlet.storyline_count
            query = query.where(or_(count < value, and_(count == value, Outlet.id > last_id)))
        query = query.order_by(Outlet.storyline_count.desc(), Outlet.id)
    rows = list(session.scalars(query.limit(limit + 1)))
    items = [_summary(outlet) for outlet in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        key: Any = last.name if sort is OutletSort.name else last.storylines_covered
        next_cursor = encode_cursor(key, last.id)
    return OutletPage(items=items, next_cursor=next_cursor)


def get_outlet(session: Session, outlet_id: int, tie_window_hours: float) -> OutletDetail:
    """An outlet's coverage and spread statistics (raises :class:`NotFound` when unknown).

    "First" means its first article in a storyline of two or more outlets came within
    ``tie_window_hours`` of that storyline's first article; the join lag of the other
    storylines is the delay from the storyline's first article to the outlet's first.
    Both come from the join lags kept at write time on its coverage rows
    (:mod:`app.services.coverage`): two counts over a range of an index on
    ``(outlet_id, join_lag_us)`` and the one or two middle lags, never every row
    (5,000 for the biggest outlet at 100k articles, 72 ms a request when all were read).
    """
    outlet = get_or_404(session, Outlet, outlet_id, "outlet")
    tie_us = timedelta(hours=tie_window_hours) // timedelta(microseconds=1)
    lag = OutletStoryline.join_lag_us
    mine = OutletStoryline.outlet_id == outlet_id
    multi = session.scalar(select(func.count()).where(mine, lag.is_not(None))) or 0
    first_in = session.scalar(select(func.count()).where(mine, lag <= tie_us)) or 0
    joined = multi - first_in
    median = None
    if joined:
        # statistics.median's middle: one value when odd, the mean of two when even.
        middle = [
            timedelta(microseconds=us).total_seconds()
            for us in session.scalars(
                select(lag)
                .where(mine, lag > tie_us)
                .order_by(lag)
                .offset((joined - 1) // 2)
                .limit(2 - joined % 2)
            )
            if us is not None  # lag > tie_us holds no nulls
        ]
        seconds = middle[0] if len(middle) == 1 else (middle[0] + middle[1]) / 2
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        median = lag_between(epoch, epoch + timedelta(seconds=seconds))
    return OutletDetail(
        **_summary(outlet).model_dump(),
        tie_window_hours=tie_window_hours,
        multi_outlet_storylines=multi,
        first_in=first_in,
        median_join_lag=median,
        co_covering=_co_covering(session, outlet_id),
    )


def _co_covering(session: Session, outlet_id: int) -> list[CoveringOutlet]:
    """The outlets sharing most of its latest storylines, with how often each came first.

    Only the outlet's ``CO_COVERING_WINDOW`` newest storylines count: a request reads
    at most that many coverage rows of its own, however much it has covered.
    """
    latest = (
        select(OutletStoryline.storyline_id, OutletStoryline.first_at)
        .where(OutletStoryline.outlet_id == outlet_id)
        .order_by(OutletStoryline.storyline_id.desc())
        .limit(CO_COVERING_WINDOW)
        .subquery()
    )
    mine = latest.c
    other = aliased(OutletStoryline)
    shared = func.count()
    rows = session.execute(
        select(
            Outlet.id,
            Outlet.name,
            shared,
            func.sum(case((mine.first_at < other.first_at, 1), else_=0)),
            func.sum(case((mine.first_at > other.first_at, 1), else_=0)),
        )
        .select_from(latest)
        .join(other, other.storyline_id == mine.storyline_id)
        .join(Outlet, Outlet.id == other.outlet_id)
        .where(other.outlet_id != outlet_id)
        .group_by(Outlet.id, Outlet.name)
        .order_by(shared.desc(), Outlet.id)
        .limit(CO_COVERING_LIMIT)
    ).all()
    return [
        CoveringOutlet(
            outlet=OutletRef(id=oid, name=name),
            shared_storylines=count,
            led=int(led or 0),
            followed=int(followed or 0),
        )
        for oid, name, count, led, followed in rows
    ]


def _summary(outlet: Outlet) -> OutletSummary:
    return OutletSummary(
        id=outlet.id,
        name=outlet.name,
        first_seen_at=outlet.first_seen_at,
        article_count=outlet.article_count,
        storylines_covered=outlet.storyline_count,
    )
