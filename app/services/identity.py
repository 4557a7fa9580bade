"""Which posted articles are already stored, and the rows for those that are not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models import Article, ArticleStatus, Outlet
from app.services.prepare import PreparedArticle

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Ingested:
    """What became of one posted article."""

    id: int
    created: bool
    status: ArticleStatus
    storyline_id: int | None
    storyline_is_new: bool
    similarity: float | None

    @classmethod
    def stored(cls, row: Article) -> Ingested:
        return cls(row.id, False, row.status, row.storyline_id, False, row.similarity)


def key_of(article: PreparedArticle) -> Key:
    """Identity of a posted article: external id, else URL, else outlet + content."""
    if article.external_id is not None:
        return ("external_id", article.external_id)
    if article.url is not None:
        return ("url", article.url)
    return ("content", f"{article.outlet}\0{article.content_hash}")


def first_of_each_key(articles: list[PreparedArticle]) -> list[PreparedArticle]:
    seen: dict[Key, PreparedArticle] = {}
    for a in articles:
        seen.setdefault(key_of(a), a)
    return list(seen.values())


def existing(session: Session, articles: list[PreparedArticle]) -> dict[Key, Ingested]:
    """Already stored articles among ``articles``, by every identity they carry."""
    statement = lookup(articles)
    if statement is None:
        return {}
    found: dict[Key, Ingested] = {}
    for row in session.scalars(statement):
        result = Ingested.stored(row)
        if row.external_id is not None:
            found[("external_id", row.external_id)] = result
        if row.url is not None:
            found[("url", row.url)] = result
        if row.external_id is None and row.url is None:
            found[("content", f"{row.outlet.name}\0{row.content_hash}")] = result
    # An article posted with an external id that is new but a URL already stored
    # is the stored article: the URL names it.
    for a in articles:
        ext_key, url_key = ("external_id", a.external_id or ""), ("url", a.url or "")
        if a.external_id and a.url and ext_key not in found and url_key in found:
            found[ext_key] = found[url_key]
    return found


def lookup(articles: list[PreparedArticle]) -> Select[Article] | None:
    """The stored rows that share an identity with any of ``articles``; None if none can."""
    ext = {a.external_id for a in articles if a.external_id is not None}
    urls = {a.url for a in articles if a.url is not None}
    content = {a.content_hash for a in articles if a.external_id is a.url is None}
    clauses: list[ColumnElement[bool]] = []
    if ext:
        clauses.append(Article.external_id.in_(ext))
    if urls:
        clauses.append(Article.url.in_(urls))
    if content:
        clauses.append(
            and_(
                Article.external_id.is_(None),
                Article.url.is_(None),
                Article.content_hash.in_(content),
            )
        )
    if not clauses:
        return None
    return select(Article).where(_any_of(clauses))


def _any_of(clauses: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """Rows matching any of ``clauses``, each looked up through its own index.

    Once ANALYZE has seen a column that is mostly NULL (a store fed without
    URLs), SQLite prices that column's index as matching every row, and reads
    the whole table for ``url IN (...)``, alone or in an OR, when it must also
    fetch the rows. Asked for ids alone, it reads them from the index (a
    covering search); one such SELECT per clause, joined by UNION ALL, keeps
    every lookup a search, and the rows are then fetched by primary key.
    """
    return Article.id.in_(union_all(*(select(Article.id).where(c) for c in clauses)))


def outlets_named(session: Session, names: set[str], now: datetime) -> dict[str, Outlet]:
    """Outlet rows for ``names``, creating the missing ones.

    Concurrent requests often bring the same new outlet; INSERT ... ON CONFLICT
    DO NOTHING lets every one of them go on with the single row that wins.
    """
    rows = {o.name: o for o in session.scalars(select(Outlet).where(Outlet.name.in_(names)))}
    missing = sorted(names - rows.keys())
    if missing:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(Outlet)
            .values([{"name": name, "first_seen_at": now} for name in missing])
            .on_conflict_do_nothing(index_elements=[Outlet.name])
        )
        created = session.scalars(select(Outlet).where(Outlet.name.in_(missing)))
        rows.update({o.name: o for o in created})
    return rows


def new_row(article: PreparedArticle, outlet: Outlet, now: datetime) -> Article:
    """An article row waiting for its vector and storyline (status pending)."""
    return Article(
        external_id=article.external_id,
        url=article.url,
        outlet_id=outlet.id,
        outlet=outlet,
        title=article.title,
        body=article.body,
        language=article.language,
        published_at=article.published_at,
        ingested_at=now,
        effective_at=article.published_at or now,
        content_hash=article.content_hash,
        extra=article.metadata,
        status=ArticleStatus.pending,
        attempts=0,
    )
