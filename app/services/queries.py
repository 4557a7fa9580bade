"""Read side: articles and storylines as the API shows them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, distinct, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, defer

from app.errors import NotFound
from app.models import (
    Article,
    ArticleRevision,
    Outlet,
    OutletStoryline,
    Storyline,
    StorylineChange,
    StorylineStatus,
    as_utc,
)
from app.schemas import (
    ArticleBrief,
    ArticleOut,
    ArticlePage,
    ArticleRevisionOut,
    ArticleRevisions,
    LineageEvent,
    OutletRef,
    StorylineDetail,
    StorylineOutlet,
    StorylinePage,
)
from app.services.cursor import decode_cursor, encode_cursor
from app.services.lineage import lineage_of
from app.services.listing import storyline_rows, summary
from app.services.members import MAX_ID, get_or_404


class StorylineSort(enum.StrEnum):
    last_activity = "last_activity"
    size = "size"
    outlets = "outlets"


_SORT_COLUMN: dict[StorylineSort, InstrumentedAttribute[int] | InstrumentedAttribute[datetime]] = {
    StorylineSort.last_activity: Storyline.last_published_at,
    StorylineSort.size: Storyline.article_count,
    StorylineSort.outlets: Storyline.outlet_count,
}


@dataclass(frozen=True, slots=True)
class StorylineFilter:
    active_since: datetime | None = None
    active_until: datetime | None = None
    outlet: str | None = None
    min_outlets: int | None = None
    status: StorylineStatus | None = None
    language: str | None = None  # an article in this language
    min_languages: int | None = None  # articles in at least this many languages


def get_article(session: Session, article_id: int) -> ArticleOut:
    row = get_or_404(session, Article, article_id, "article")
    return ArticleOut(
        id=row.id,
        external_id=row.external_id,
        url=row.url,
        outlet=OutletRef(id=row.outlet.id, name=row.outlet.name),
        title=row.title,
        body=row.body,
        language=row.language,
        published_at=row.published_at,
        ingested_at=row.ingested_at,
        content_hash=row.content_hash,
        status=row.status.value,
        error=row.error,
        attempts=row.attempts,
        storyline_id=row.storyline_id,
        similarity=row.similarity,
        embedding_model=row.embedding_model,
        metadata=row.extra,
    )


def article_revisions(session: Session, article_id: int) -> ArticleRevisions:
    """The earlier versions of an article, oldest first."""
    get_or_404(session, Article, article_id, "article")
    rows = session.scalars(
        select(ArticleRevision)
        .where(ArticleRevision.article_id == article_id)
        .order_by(ArticleRevision.id)
    )
    return ArticleRevisions(
        article_id=article_id,
        revisions=[
            ArticleRevisionOut(
                revised_at=r.revised_at,
                url=r.url,
                title=r.title,
                body=r.body,
                language=r.language,
                published_at=r.published_at,
                content_hash=r.content_hash,
                metadata=r.extra,
                storyline_id=r.storyline_id,
            )
            for r in rows
        ],
    )


def list_storylines(
    session: Session,
    where: StorylineFilter,
    sort: StorylineSort,
    limit: int,
    cursor: str | None,
) -> StorylinePage:
    """One page of storylines, most recent / largest first, by keyset pagination."""
    column = _SORT_COLUMN[sort]
    query = select(Storyline)
    for clause in _filter_clauses(where):
        query = query.where(clause)
    counted = query
    covered = _covered_by(session, where.outlet)
    if covered is not None:
        # A page walks the outlet's own coverage rows when they are few, else it walks
        # the sort index and stops at the page's end.
        outlet_id, many = covered
        in_coverage = Storyline.id.in_(
            select(OutletStoryline.storyline_id).where(OutletStoryline.outlet_id == outlet_id)
        )
        counted = query.where(in_coverage)
        query = query.where(_covers(outlet_id) if many else in_coverage)
    total, capped = _total(session, where, counted, covered)
    if cursor is not None:
        value: int | datetime
        if sort is StorylineSort.last_activity:
            value, last_id = decode_cursor(cursor, datetime)
        else:
            value, last_id = decode_cursor(cursor, int)
        query = query.where(or_(column < value, and_(column == value, Storyline.id < last_id)))
    rows = list(
        session.scalars(query.order_by(column.desc(), Storyline.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, column.key), last.id)
    return StorylinePage(
        items=storyline_rows(session, rows),
        next_cursor=next_cursor,
        total=total,
        total_capped=capped,
        latest_seq=latest_seq(session),
    )


# Filtered totals count this many matches at most: counting every match of a broad
# filter read 217-358 ms a page at 1M articles (min_outlets=3, a big outlet).
TOTAL_COUNT_LIMIT = 10_000


def _total(
    session: Session,
    where: StorylineFilter,
    counted: Select[Any],
    covered: tuple[int, bool] | None,
) -> tuple[int, bool]:
    """The page's total and whether it stopped at :data:`TOTAL_COUNT_LIMIT`.

    Exact without filters (status aside), and for one outlet alone: its kept
    ``storyline_count`` (merged storylines have no coverage rows, so it counts the
    same storylines as the filter). Any other filter is counted up to the limit.
    """
    others = replace(where, outlet=None, status=None)
    if where.outlet is None and others == StorylineFilter():
        return session.scalar(select(func.count()).select_from(counted.subquery())) or 0, False
    if covered is not None and where.status is None and others == StorylineFilter():
        outlet_id, _ = covered
        kept = session.scalar(select(Outlet.storyline_count).where(Outlet.id == outlet_id))
        return kept or 0, False
    bounded = counted.with_only_columns(Storyline.id).limit(TOTAL_COUNT_LIMIT + 1)
    n = session.scalar(select(func.count()).select_from(bounded.subquery())) or 0
    return min(n, TOTAL_COUNT_LIMIT), n > TOTAL_COUNT_LIMIT


def changed_storylines(
    session: Session, where: StorylineFilter, changed_since: int, limit: int
) -> StorylinePage:
    """Storylines whose latest change is after seq ``changed_since``, oldest change first.

    Merged ones are included unless a status is asked for, so a client can fold
    them into their survivor. When ``next_cursor`` is not null there are more:
    ask again with ``changed_since`` set to the last item's ``version``.
    """
    query = select(Storyline).where(Storyline.version > changed_since)
    for clause in _filter_clauses(where, merged_too=where.status is None):
        query = query.where(clause)
    covered = _covered_by(session, where.outlet)
    if covered is not None:
        query = query.where(_covers(covered[0]))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(Storyline.version).limit(limit)))
    more = total > len(rows)
    return StorylinePage(
        items=storyline_rows(session, rows),
        next_cursor=str(rows[-1].version) if more else None,
        total=total,
        latest_seq=latest_seq(session),
    )


def latest_seq(session: Session) -> int:
    """The change feed's latest seq (0 when empty)."""
    return session.scalar(select(func.coalesce(func.max(StorylineChange.seq), 0))) or 0


def _filter_clauses(where: StorylineFilter, merged_too: bool = False) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if where.status is not None:
        clauses.append(Storyline.status == where.status)
    elif not merged_too:
        clauses.append(Storyline.status != StorylineStatus.merged)
    if where.active_since is not None:
        clauses.append(Storyline.last_published_at >= where.active_since)
    if where.active_until is not None:
        clauses.append(Storyline.first_published_at <= where.active_until)
    if where.min_outlets is not None:
        clauses.append(Storyline.outlet_count >= where.min_outlets)
    if where.language is not None:
        clauses.append(
            select(Article.id)
            .where(Article.storyline_id == Storyline.id, Article.language == where.language)
            .exists()
        )
    if where.min_languages is not None and where.min_languages > 1:
        languages = (
            select(func.count(distinct(Article.language)))
            .where(Article.storyline_id == Storyline.id)
            .scalar_subquery()
        )
        clauses.append(languages >= where.min_languages)
    return clauses


# An outlet with more storylines than this is found on a page by walking the sort
# index (it covers many storylines, so a page fills quickly); a smaller one by its
# own coverage rows (walking the index could pass every storyline before 50 match).
_MANY_STORYLINES = 2000


def _covered_by(session: Session, outlet: str | None) -> tuple[int, bool] | None:
    """The outlet's id and whether it has many storylines; (0, False) when unknown."""
    if outlet is None:
        return None
    row = session.execute(
        select(Outlet.id, Outlet.storyline_count).where(Outlet.name == outlet)
    ).first()
    return (0, False) if row is None else (row[0], row[1] > _MANY_STORYLINES)


def _covers(outlet_id: int) -> ColumnElement[bool]:
    return (
        select(OutletStoryline.outlet_id)
        .where(OutletStoryline.storyline_id == Storyline.id, OutletStoryline.outlet_id == outlet_id)
        .exists()
    )


def get_storyline(session: Session, storyline_id: int) -> StorylineDetail:
    row = _storyline(session, storyline_id)
    per_outlet = session.execute(
        select(Outlet.id, Outlet.name, func.count(Article.id), func.min(Article.effective_at))
        .join(Article, Article.outlet_id == Outlet.id)
        .where(Article.storyline_id == storyline_id)
        .group_by(Outlet.id, Outlet.name)
        .order_by(func.min(Article.effective_at), Outlet.id)
    ).all()
    members = select(Article).where(Article.storyline_id == storyline_id)
    first = session.scalars(members.order_by(Article.effective_at, Article.id).limit(1)).first()
    last = session.scalars(
        members.order_by(Article.effective_at.desc(), Article.id.desc()).limit(1)
    ).first()
    outlets = [
        StorylineOutlet(
            outlet=OutletRef(id=oid, name=name),
            article_count=count,
            first_published_at=as_utc(first_at),
        )
        for oid, name, count, first_at in per_outlet
    ]
    return StorylineDetail(
        **summary(row).model_dump(),
        outlets=outlets,
        first_article=brief(first) if first else None,
        last_article=brief(last) if last else None,
        lineage=[LineageEvent.model_validate(e) for e in lineage_of(session, storyline_id)],
    )


def list_storyline_articles(
    session: Session, storyline_id: int, limit: int, cursor: str | None
) -> ArticlePage:
    """Members of a storyline in time order (oldest first), by keyset pagination."""
    _storyline(session, storyline_id)
    query = select(Article).where(Article.storyline_id == storyline_id)
    return article_page(session, query, limit, cursor)


def article_page(
    session: Session, query: Select[Article], limit: int, cursor: str | None
) -> ArticlePage:
    """One page of ``query``'s articles, oldest first, by keyset on (effective_at, id)."""
    if cursor is not None:
        when, last_id = decode_cursor(cursor, datetime)
        query = query.where(
            or_(
                Article.effective_at > when,
                and_(Article.effective_at == when, Article.id > last_id),
            )
        )
    # A page shows briefs: texts and vectors stay in the database.
    slim = query.options(defer(Article.body), defer(Article.embedding), defer(Article.extra))
    rows = list(session.scalars(slim.order_by(Article.effective_at, Article.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].effective_at, rows[-1].id) if more else None
    return ArticlePage(items=[brief(r) for r in rows], next_cursor=next_cursor)


def storyline_version(session: Session, storyline_id: int) -> int:
    """The storyline's change-feed version (404 when it does not exist)."""
    version = None
    if 1 <= storyline_id <= MAX_ID:
        version = session.scalar(select(Storyline.version).where(Storyline.id == storyline_id))
    if version is None:
        raise NotFound(f"storyline {storyline_id} not found")
    return version


def storyline_detail_tag(session: Session, storyline_id: int) -> tuple[int, int]:
    """The storyline's version and ``label_basis`` (404 when it does not exist).

    Its detail shows per-language label variants, which a rebuild may change with
    no change-feed entry (only a material change of the main label makes one);
    every rebuild moves ``label_basis``, so the pair tags what the detail shows.
    """
    row = None
    if 1 <= storyline_id <= MAX_ID:
        row = session.execute(
            select(Storyline.version, Storyline.label_basis).where(Storyline.id == storyline_id)
        ).first()
    if row is None:
        raise NotFound(f"storyline {storyline_id} not found")
    return row.version, row.label_basis


def _storyline(session: Session, storyline_id: int) -> Storyline:
    return get_or_404(session, Storyline, storyline_id, "storyline")


def brief(row: Article) -> ArticleBrief:
    return ArticleBrief(
        id=row.id,
        outlet=OutletRef(id=row.outlet.id, name=row.outlet.name),
        title=row.title,
        url=row.url,
        language=row.language,
        published_at=row.published_at,
        effective_at=row.effective_at,
        similarity=row.similarity,
    )
