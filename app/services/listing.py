"""What a storyline list shows beside each summary: first publishers and a daily sparkline.

Both are read for a whole page at once (two queries, whatever the page size), from
indexed ranges: coverage rows for first publishers, articles of the last days for
the sparkline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.orm import Session

from app.models import Article, Outlet, OutletStoryline, Storyline, StorylineStatus, as_utc
from app.schemas import OutletRef, StorylineRow, StorylineSummary

SPARKLINE_DAYS = 30
FIRST_PUBLISHER_TIE_HOURS = 1
FIRST_PUBLISHER_TIE = timedelta(hours=FIRST_PUBLISHER_TIE_HOURS)


def storyline_rows(session: Session, rows: Sequence[Storyline]) -> list[StorylineRow]:
    """``rows`` as list items, in the same order."""
    live = [r for r in rows if r.status != StorylineStatus.merged]
    firsts = _first_publishers(session, live)
    days = _days(session, live)
    items = []
    for row in rows:
        start, end = _span(row)
        counts = days.get(row.id, {})
        line = [counts.get(start + timedelta(days=i), 0) for i in range((end - start).days + 1)]
        items.append(
            StorylineRow(
                **summary(row).model_dump(),
                first_publishers=firsts.get(row.id, []),
                sparkline_start=start,
                sparkline=line if row.status != StorylineStatus.merged else [],
            )
        )
    return items


def _span(row: Storyline) -> tuple[date, date]:
    """The sparkline's first and last UTC day: the storyline's last 30 days at most."""
    end = as_utc(row.last_published_at).date()
    start = max(as_utc(row.first_published_at).date(), end - timedelta(days=SPARKLINE_DAYS - 1))
    return start, end


def _first_publishers(session: Session, rows: Sequence[Storyline]) -> dict[int, list[OutletRef]]:
    if not rows:
        return {}
    cutoff = _later(session, Storyline.first_published_at, FIRST_PUBLISHER_TIE_HOURS)
    found: dict[int, list[OutletRef]] = {}
    for sid, oid, name in session.execute(
        select(OutletStoryline.storyline_id, Outlet.id, Outlet.name)
        .join(Storyline, Storyline.id == OutletStoryline.storyline_id)
        .join(Outlet, Outlet.id == OutletStoryline.outlet_id)
        .where(OutletStoryline.storyline_id.in_([r.id for r in rows]))
        .where(OutletStoryline.first_at <= cutoff)
        .order_by(OutletStoryline.storyline_id, OutletStoryline.first_at, Outlet.name)
    ):
        found.setdefault(sid, []).append(OutletRef(id=oid, name=name))
    return found


def _days(session: Session, rows: Sequence[Storyline]) -> dict[int, dict[date, int]]:
    """Articles per storyline and UTC day within each one's sparkline span."""
    if not rows:
        return {}
    # The span's first day, as :func:`_span` has it: no article precedes the first.
    since = _later(
        session, _day_start(session, Storyline.last_published_at), 24 * (1 - SPARKLINE_DAYS)
    )
    day = _utc_day(session, Article.effective_at)
    counts: dict[int, dict[date, int]] = {}
    for sid, value, n in session.execute(
        select(Article.storyline_id, day, func.count())
        .join(Storyline, Storyline.id == Article.storyline_id)
        .where(Article.storyline_id.in_([r.id for r in rows]))
        .where(Article.effective_at >= since)
        .group_by(Article.storyline_id, day)
    ):
        counts.setdefault(sid, {})[_as_date(value)] = n
    return counts


def _utc_day(session: Session, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, in the store's own SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite keeps naive UTC text


def _day_start(session: Session, column: Any) -> ColumnElement[Any]:
    """Midnight UTC of a timestamp column's day, comparable with the store's timestamps."""
    if session.get_bind().dialect.name == "postgresql":
        return func.timezone("UTC", func.date_trunc("day", func.timezone("UTC", column)))
    return func.date(column)  # "2024-01-31" sorts before every time of that day


def _later(session: Session, column: Any, hours: int) -> ColumnElement[Any]:
    """``column`` (a UTC timestamp) ``hours`` later, comparable with the store's timestamps.

    Computed in SQL so one statement serves a whole page of storylines, each with its
    own cut-off. SQLite keeps timestamps as text ("2024-01-31 10:00:00.000000"): its
    shifted value keeps that shape, fraction included, so text order stays time order.
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(ColumnElement[Any], column + func.make_interval(0, 0, 0, 0, hours))
    fraction = func.coalesce(func.substr(column, 20), "")
    shifted = func.strftime("%Y-%m-%d %H:%M:%S", column, literal(f"{hours:+d} hours"))
    return cast(ColumnElement[Any], shifted.concat(fraction))


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def summary(row: Storyline) -> StorylineSummary:
    return StorylineSummary(
        id=row.id,
        status=row.status.value,
        merged_into=row.merged_into,
        split_from=row.split_from,
        label=row.label,
        label_variants=row.label_variants or {},
        created_at=row.created_at,
        updated_at=row.updated_at,
        first_published_at=row.first_published_at,
        last_published_at=row.last_published_at,
        article_count=row.article_count,
        outlet_count=row.outlet_count,
        version=row.version,
    )
