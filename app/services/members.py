"""A storyline's member articles as light rows: who published when, nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import Article, Outlet, Storyline, StorylineMembership, as_utc
from app.schemas import OutletRef
from app.schemas_spread import ArticleRef, FirstArticle
from app.services.membership import member_at

_Row = TypeVar("_Row")


@dataclass(frozen=True, slots=True)
class Member:
    """One article of a storyline; ``effective_at`` is published_at or, failing it, ingested_at."""

    id: int
    outlet_id: int
    outlet_name: str
    published_at: datetime | None
    effective_at: datetime
    language: str

    @property
    def published_at_missing(self) -> bool:
        return self.published_at is None

    @property
    def outlet(self) -> OutletRef:
        return OutletRef(id=self.outlet_id, name=self.outlet_name)

    def first_article(self) -> FirstArticle:
        return FirstArticle(
            id=self.id,
            effective_at=self.effective_at,
            published_at=self.published_at,
            published_at_missing=self.published_at_missing,
        )

    def ref(self) -> ArticleRef:
        return ArticleRef(
            id=self.id,
            outlet=self.outlet,
            effective_at=self.effective_at,
            published_at_missing=self.published_at_missing,
        )


# Ids are 32-bit INTEGER columns; a larger number cannot name a row, and PostgreSQL
# would reject it in a query (a 500), so it is answered as unknown without asking.
MAX_ID = 2**31 - 1


def get_or_404(session: Session, model: type[_Row], row_id: int, noun: str) -> _Row:
    """The row of ``model`` with primary key ``row_id``, else :class:`NotFound` naming ``noun``."""
    row = session.get(model, row_id) if 1 <= row_id <= MAX_ID else None
    if row is None:
        raise NotFound(f"{noun} {row_id} not found")
    return row


def require_storyline(session: Session, storyline_id: int, at: datetime | None = None) -> None:
    """Raise :class:`NotFound` unless the storyline exists (merged ones exist, empty).

    With ``at``, unless it existed already at that instant.
    """
    created = None
    if 1 <= storyline_id <= MAX_ID:
        created = session.scalar(select(Storyline.created_at).where(Storyline.id == storyline_id))
    if created is None:
        raise NotFound(f"storyline {storyline_id} not found")
    if at is not None and as_utc(created) > at:
        raise NotFound(f"storyline {storyline_id} did not exist yet at {at.isoformat()}")


def load_members(session: Session, storyline_id: int, at: datetime | None = None) -> list[Member]:
    """Every member of the storyline, ordered by effective time then id (404 if unknown).

    With ``at``, the members it had at that instant (from the membership history).
    """
    require_storyline(session, storyline_id, at)
    query = (
        select(
            Article.id,
            Article.outlet_id,
            Outlet.name,
            Article.published_at,
            Article.effective_at,
            Article.language,
        )
        .join(Outlet, Outlet.id == Article.outlet_id)
        .order_by(Article.effective_at, Article.id)
    )
    if at is None:
        query = query.where(Article.storyline_id == storyline_id)
    else:
        query = query.join(StorylineMembership, StorylineMembership.article_id == Article.id).where(
            StorylineMembership.storyline_id == storyline_id, member_at(at)
        )
    return [Member(*row) for row in session.execute(query).all()]


def first_per_outlet(members: list[Member]) -> list[Member]:
    """Each outlet's first member, in adoption order (members must be time-ordered)."""
    seen: set[int] = set()
    firsts: list[Member] = []
    for member in members:
        if member.outlet_id not in seen:
            seen.add(member.outlet_id)
            firsts.append(member)
    return firsts


def language_counts(members: list[Member]) -> dict[str, int]:
    """Articles per language, most first (ties by code)."""
    counts: dict[str, int] = {}
    for member in members:
        counts[member.language] = counts.get(member.language, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def outlet_languages(members: list[Member]) -> dict[int, str]:
    """Each outlet's language in these members: that of most of its articles (ties: first)."""
    per_outlet: dict[int, dict[str, int]] = {}
    for member in members:
        counts = per_outlet.setdefault(member.outlet_id, {})
        counts[member.language] = counts.get(member.language, 0) + 1
    return {outlet: max(counts, key=counts.__getitem__) for outlet, counts in per_outlet.items()}
