"""As-of reads: storylines as the service would have shown them at a past instant.

Membership comes from the membership history (:mod:`app.services.membership`):
an article counts at ``t`` when one of its stays covers ``t`` (valid_from <= t
< valid_to). Label, status and ``merged_into`` come from the change feed: the
storyline's latest entry at or before ``t``. Lineage is the events up to ``t``.
Articles ingested after ``t`` are absent; a merge after ``t`` is not applied.
A storyline created after ``t`` did not exist then (404). An article revised
after ``t`` is listed as it read then (its title, URL, language and date from
the revision that replaced that version), in the storyline it was in then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound, input_error
from app.models import (
    Article,
    ArticleRevision,
    ChangeKind,
    Outlet,
    Storyline,
    StorylineChange,
    StorylineEvent,
    StorylineMembership,
    StorylineStatus,
    as_utc,
    utcnow,
)
from app.schemas import (
    ArticleBrief,
    ArticlePage,
    LineageEvent,
    OutletRef,
    StorylineDetail,
    StorylineOutlet,
    StorylinePage,
    StorylineRow,
    StorylineSummary,
)
from app.services.asof_recent import latest_seq_at, live_count_at, recent_at
from app.services.cursor import decode_cursor, encode_cursor
from app.services.listing import FIRST_PUBLISHER_TIE, SPARKLINE_DAYS
from app.services.members import get_or_404
from app.services.membership import member_at
from app.services.queries import StorylineFilter, article_page, brief

# Commits take a moment after their clock reading: an instant this recent may
# still gain history, so its answer is not yet final (not cacheable for ever).
SETTLE = timedelta(seconds=60)

# Kinds that say whether a storyline was live, dormant or merged.
_STATUS_KINDS = (
    ChangeKind.created,
    ChangeKind.grew,
    ChangeKind.split_off,
    ChangeKind.shrank,
    ChangeKind.merged,
    ChangeKind.dormant,
)


def check_instant(as_of: datetime) -> datetime:
    """``as_of`` in UTC; a 422 when it lies in the future."""
    at = as_utc(as_of)
    if at > utcnow():
        msg = f"as_of {at.isoformat()} lies in the future"
        raise InvalidInput([input_error(("query", "as_of"), msg, "value_error")])
    return at


def settled(at: datetime) -> bool:
    """True when nothing can still be recorded as happening at or before ``at``."""
    return at <= utcnow() - SETTLE


def members_query(storyline_id: int, at: datetime) -> Select[Article]:
    """The storyline's member articles at ``at`` (unordered)."""
    return (
        select(Article)
        .join(StorylineMembership, StorylineMembership.article_id == Article.id)
        .where(StorylineMembership.storyline_id == storyline_id, member_at(at))
    )


def existing_at(session: Session, storyline_id: int, at: datetime) -> Storyline:
    """The storyline row, if it existed at ``at`` (else :class:`NotFound`)."""
    row = get_or_404(session, Storyline, storyline_id, "storyline")
    if row.created_at > at:
        raise NotFound(f"storyline {storyline_id} did not exist yet at {at.isoformat()}")
    return row


def storyline_at(session: Session, storyline_id: int, at: datetime) -> StorylineDetail:
    """``GET /storylines/{id}`` as it answered at ``at``."""
    row = existing_at(session, storyline_id, at)
    per_outlet = session.execute(
        select(Outlet.id, Outlet.name, func.count(Article.id), func.min(Article.effective_at))
        .join(Article, Article.outlet_id == Outlet.id)
        .join(StorylineMembership, StorylineMembership.article_id == Article.id)
        .where(StorylineMembership.storyline_id == storyline_id, member_at(at))
        .group_by(Outlet.id, Outlet.name)
        .order_by(func.min(Article.effective_at), Outlet.id)
    ).all()
    members = members_query(storyline_id, at)
    first = session.scalars(members.order_by(Article.effective_at, Article.id).limit(1)).first()
    last = session.scalars(
        members.order_by(Article.effective_at.desc(), Article.id.desc()).limit(1)
    ).first()
    ends = as_then(session, [brief(first), brief(last)], at) if first and last else []
    count = sum(c for _, _, c, _ in per_outlet)
    span = (first.effective_at, last.effective_at) if first and last else None
    events = session.scalars(
        select(StorylineEvent)
        .where(
            or_(
                StorylineEvent.storyline_id == storyline_id,
                StorylineEvent.other_id == storyline_id,
            ),
            StorylineEvent.at <= at,
        )
        .order_by(StorylineEvent.id)
    )
    return StorylineDetail(
        **_summary(session, row, at, count, len(per_outlet), span).model_dump(),
        outlets=[
            StorylineOutlet(
                outlet=OutletRef(id=oid, name=name),
                article_count=n,
                first_published_at=as_utc(first_at),
            )
            for oid, name, n, first_at in per_outlet
        ],
        first_article=ends[0] if ends else None,
        last_article=ends[-1] if ends else None,
        lineage=[LineageEvent.model_validate(e) for e in events],
    )


def storyline_articles_at(
    session: Session, storyline_id: int, at: datetime, limit: int, cursor: str | None
) -> ArticlePage:
    """``GET /storylines/{id}/articles`` as it answered at ``at``: oldest first, by keyset."""
    existing_at(session, storyline_id, at)
    page = article_page(session, members_query(storyline_id, at), limit, cursor)
    page.items = as_then(session, page.items, at)
    return page


def as_then(session: Session, items: list[ArticleBrief], at: datetime) -> list[ArticleBrief]:
    """``items`` as they read at ``at``: those revised since show the version then current.

    The version current at ``at`` is the one the first revision after ``at``
    replaced (a revision row keeps the values it replaced). Order and cursor
    stay those of the current dates; similarity is the current placement's.
    """
    if not items:
        return items
    ids = [item.id for item in items]
    then: dict[int, ArticleRevision] = {}
    for revision in session.scalars(
        select(ArticleRevision)
        .where(ArticleRevision.article_id.in_(ids), ArticleRevision.revised_at > at)
        .order_by(ArticleRevision.revised_at.desc(), ArticleRevision.id.desc())
    ):
        then[revision.article_id] = revision  # the earliest after ``at`` is written last
    if not then:
        return items
    rows = session.execute(select(Article.id, Article.ingested_at).where(Article.id.in_(then)))
    ingested = {article_id: when for article_id, when in rows}
    out = []
    for item in items:
        old = then.get(item.id)
        if old is None:
            out.append(item)
            continue
        out.append(
            item.model_copy(
                update={
                    "title": old.title,
                    "url": old.url,
                    "language": old.language,
                    "published_at": old.published_at,
                    "effective_at": old.published_at or ingested[item.id],
                }
            )
        )
    return out


@dataclass(frozen=True)
class _Standing:
    """What a storyline's place in a filtered as-of list depends on, at an instant."""

    id: int
    status: str
    article_count: int
    outlet_count: int
    first_published_at: datetime
    last_published_at: datetime

    def count(self, sort_key: str) -> int:
        return self.article_count if sort_key == "size" else self.outlet_count


def _candidates(at: datetime, where: StorylineFilter) -> Select[int] | None:
    """Storylines that can pass the outlet or activity filter at ``at``, found through
    indexes from that outlet's or that window's articles; None when no filter narrows."""
    narrowing = []
    if where.outlet is not None:
        narrowing.append(
            Article.outlet_id
            == select(Outlet.id).where(Outlet.name == where.outlet).scalar_subquery()
        )
    if where.active_since is not None:
        narrowing.append(Article.effective_at >= where.active_since)
    if not narrowing:
        return None
    return (
        select(StorylineMembership.storyline_id)
        .join(Article, Article.id == StorylineMembership.article_id)
        .where(member_at(at), *narrowing)
        .distinct()
    )


def _standings(session: Session, at: datetime, among: Select[int] | None) -> list[_Standing]:
    """Counts, span and status at ``at`` of every storyline that existed then, or of
    those of ``among`` with members then.

    Plain columns, no ORM rows: a list sorted by size at 100k articles reads every
    stay of the instant, and building a summary of each was most of its time.
    """
    aggregates = (
        select(
            StorylineMembership.storyline_id,
            func.count(Article.id),
            func.count(func.distinct(Article.outlet_id)),
            func.min(Article.effective_at),
            func.max(Article.effective_at),
        )
        .join(Article, Article.id == StorylineMembership.article_id)
        .where(member_at(at))
        .group_by(StorylineMembership.storyline_id)
    )
    newest = (
        select(StorylineChange.storyline_id, func.max(StorylineChange.seq).label("seq"))
        .where(StorylineChange.at <= at, StorylineChange.kind.in_(_STATUS_KINDS))
        .group_by(StorylineChange.storyline_id)
    )
    if among is not None:
        aggregates = aggregates.where(StorylineMembership.storyline_id.in_(among))
        newest = newest.where(StorylineChange.storyline_id.in_(among))
    sub = newest.subquery()
    kinds = dict(
        session.execute(
            select(StorylineChange.storyline_id, StorylineChange.kind).join(
                sub, sub.c.seq == StorylineChange.seq
            )
        ).all()
    )
    out = [
        _Standing(sid, _status_of(kinds.get(sid)), n, outlets, as_utc(lo), as_utc(hi))
        for sid, n, outlets, lo, hi in session.execute(aggregates)
    ]
    if among is None:
        # Storylines of the instant with no member then: those merged away by then (and
        # one caught between its creation and its first article's stay), dated as the
        # row is, as their summaries are.
        staying = select(StorylineMembership.storyline_id).where(
            StorylineMembership.storyline_id == Storyline.id, member_at(at)
        )
        out += [
            _Standing(sid, _status_of(kinds.get(sid)), 0, 0, lo, hi)
            for sid, lo, hi in session.execute(
                select(
                    Storyline.id, Storyline.first_published_at, Storyline.last_published_at
                ).where(Storyline.created_at <= at, ~staying.exists())
            )
        ]
    return out


def _status_of(kind: ChangeKind | None) -> str:
    if kind == ChangeKind.merged:
        return StorylineStatus.merged.value
    if kind == ChangeKind.dormant:
        return StorylineStatus.dormant.value
    return StorylineStatus.active.value


def list_storylines_at(
    session: Session,
    at: datetime,
    where: StorylineFilter,
    sort_key: str,
    limit: int,
    cursor: str | None,
    lead: timedelta,
) -> StorylinePage:
    """``GET /storylines`` as it answered at ``at``: the same filters, order and cursor.

    The default list (no filter, latest activity first) walks articles newest first
    (:mod:`app.services.asof_recent`). The others rank every storyline of the
    instant by plain aggregates over its stays (narrowed first through the outlet's
    or the window's articles when those filters are given), then summarise only the
    page. ``lead`` is how far past its ingest an article's date may lie (the
    ingest's future tolerance).
    """
    if sort_key == "last_activity" and where == StorylineFilter():
        return _recent_page(session, at, lead, limit, cursor)
    standings = _standings(session, at, _candidates(at, where))
    languages = _languages_at(session, at) if where.language or where.min_languages else {}

    def keep(s: _Standing) -> bool:
        if where.status is not None and s.status != where.status.value:
            return False
        if where.status is None and s.status == StorylineStatus.merged.value:
            return False
        if where.active_since is not None and s.last_published_at < where.active_since:
            return False
        if where.active_until is not None and s.first_published_at > where.active_until:
            return False
        if where.min_outlets is not None and s.outlet_count < where.min_outlets:
            return False
        if where.language is not None and where.language not in languages.get(s.id, ()):
            return False
        return where.min_languages is None or len(languages.get(s.id, ())) >= where.min_languages

    kept = [s for s in standings if keep(s)]
    if sort_key == "last_activity":
        kept.sort(key=lambda s: (s.last_published_at, s.id), reverse=True)
        if cursor is not None:
            when, last_id = decode_cursor(cursor, datetime)
            kept = [s for s in kept if (s.last_published_at, s.id) < (when, last_id)]
    else:
        kept.sort(key=lambda s: (s.count(sort_key), s.id), reverse=True)
        if cursor is not None:
            count, last_id = decode_cursor(cursor, int)
            kept = [s for s in kept if (s.count(sort_key), s.id) < (count, last_id)]
    chosen = kept
    page = chosen[:limit]
    more = len(chosen) > limit
    rows = {
        r.id: r
        for r in session.scalars(select(Storyline).where(Storyline.id.in_([s.id for s in page])))
    }
    latest = _latest_changes(session, list(rows), at)
    summaries = [
        _summarise(
            rows[s.id],
            latest.get(s.id, ()),
            s.article_count,
            s.outlet_count,
            None
            if s.first_published_at is None or s.last_published_at is None
            else (s.first_published_at, s.last_published_at),
        )
        for s in page
    ]
    return StorylinePage(
        items=_rows_at(session, summaries, at),
        next_cursor=_cursor_after(page[-1], sort_key) if more else None,
        total=len(chosen),
        latest_seq=latest_seq_at(session, at),
    )


def _cursor_after(last: _Standing, sort_key: str) -> str:
    if sort_key == "last_activity":
        return encode_cursor(last.last_published_at, last.id)
    return encode_cursor(last.count(sort_key), last.id)


def _recent_page(
    session: Session, at: datetime, lead: timedelta, limit: int, cursor: str | None
) -> StorylinePage:
    after = None if cursor is None else decode_cursor(cursor, datetime)
    found, more = recent_at(session, at, lead, limit, after)
    rows = {
        r.id: r
        for r in session.scalars(
            select(Storyline).where(Storyline.id.in_([sid for sid, _ in found]))
        )
    }
    latest = _latest_changes(session, list(rows), at)
    page = [
        _summarise(rows[sid], latest.get(sid, ()), m.count, m.outlets, (m.first, m.last))
        for sid, m in found
    ]
    last = page[-1] if more else None
    return StorylinePage(
        items=_rows_at(session, page, at),
        next_cursor=None if last is None else encode_cursor(last.last_published_at, last.id),
        total=live_count_at(session, at),
        latest_seq=latest_seq_at(session, at),
    )


def _rows_at(session: Session, page: list[StorylineSummary], at: datetime) -> list[StorylineRow]:
    """List items for ``page`` as they stood at ``at``: first publishers and the
    sparkline come from the members of that instant, as the live list's come from now."""
    ids = [s.id for s in page if s.status != StorylineStatus.merged.value]
    members: dict[int, list[tuple[datetime, int, str]]] = {}
    if ids:
        for sid, when, oid, name in session.execute(
            select(StorylineMembership.storyline_id, Article.effective_at, Outlet.id, Outlet.name)
            .join(Article, Article.id == StorylineMembership.article_id)
            .join(Outlet, Outlet.id == Article.outlet_id)
            .where(StorylineMembership.storyline_id.in_(ids), member_at(at))
        ):
            members.setdefault(sid, []).append((as_utc(when), oid, name))
    rows = []
    for s in page:
        mine = members.get(s.id, [])
        end = as_utc(s.last_published_at).date()
        start = max(as_utc(s.first_published_at).date(), end - timedelta(days=SPARKLINE_DAYS - 1))
        line = [0] * ((end - start).days + 1) if mine else []
        firsts: dict[int, OutletRef] = {}
        opened = min((when for when, _, _ in mine), default=None)
        for when, oid, name in sorted(mine):
            day = (when.date() - start).days
            if 0 <= day < len(line):
                line[day] += 1
            if opened is not None and when <= opened + FIRST_PUBLISHER_TIE:
                firsts.setdefault(oid, OutletRef(id=oid, name=name))
        rows.append(
            StorylineRow(
                **s.model_dump(),
                first_publishers=list(firsts.values()),
                sparkline_start=start,
                sparkline=line,
            )
        )
    return rows


_SORT_ATTRIBUTE = {
    "last_activity": "last_published_at",
    "size": "article_count",
    "outlets": "outlet_count",
}


def _summary(
    session: Session,
    row: Storyline,
    at: datetime,
    count: int,
    outlets: int,
    span: tuple[datetime, datetime] | None,
) -> StorylineSummary:
    latest = _latest_changes(session, [row.id], at).get(row.id, ())
    return _summarise(row, latest, count, outlets, span)


def _latest_changes(
    session: Session, ids: list[int], at: datetime
) -> dict[int, tuple[StorylineChange, StorylineChange | None]]:
    """Per storyline: its latest change at or before ``at``, and its latest status change."""
    if not ids:
        return {}
    known: dict[int, StorylineChange] = {}
    status: dict[int, StorylineChange] = {}
    for kinds, into in ((None, known), (_STATUS_KINDS, status)):
        newest = select(
            StorylineChange.storyline_id, func.max(StorylineChange.seq).label("seq")
        ).where(StorylineChange.at <= at)
        if len(ids) <= 1000:
            newest = newest.where(StorylineChange.storyline_id.in_(ids))
        if kinds is not None:
            newest = newest.where(StorylineChange.kind.in_(kinds))
        sub = newest.group_by(StorylineChange.storyline_id).subquery()
        for change in session.scalars(
            select(StorylineChange).join(sub, sub.c.seq == StorylineChange.seq)
        ):
            into[change.storyline_id] = change
    return {sid: (change, status.get(sid)) for sid, change in known.items()}


def _summarise(
    row: Storyline,
    latest: tuple[StorylineChange, StorylineChange | None] | tuple[()],
    count: int,
    outlets: int,
    span: tuple[datetime, datetime] | None,
) -> StorylineSummary:
    change, state = latest if latest else (None, None)
    status, merged_into = StorylineStatus.active, None
    if state is not None and state.kind == ChangeKind.merged:
        status = StorylineStatus.merged
        merged_into = (state.details or {}).get("merged_into", row.merged_into)
    elif state is not None and state.kind == ChangeKind.dormant:
        status = StorylineStatus.dormant
    first, last = span or (row.first_published_at, row.last_published_at)
    return StorylineSummary(
        id=row.id,
        status=status.value,
        merged_into=merged_into,
        split_from=row.split_from,
        label=change.label if change is not None else row.label,
        created_at=row.created_at,
        updated_at=change.at if change is not None else row.created_at,
        first_published_at=first,
        last_published_at=last,
        article_count=count,
        outlet_count=outlets,
        version=change.seq if change is not None else 0,
    )


def _languages_at(session: Session, at: datetime) -> dict[int, set[str]]:
    """The languages of each storyline's members at ``at``."""
    rows = session.execute(
        select(StorylineMembership.storyline_id, Article.language)
        .join(Article, Article.id == StorylineMembership.article_id)
        .where(member_at(at))
        .distinct()
    )
    out: dict[int, set[str]] = {}
    for storyline_id, language in rows:
        out.setdefault(storyline_id, set()).add(language)
    return out
