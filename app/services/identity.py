"""Which posted articles are already stored, and the rows for those that are not."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.models import Article, ArticleRevision, ArticleStatus, Outlet
from app.services.prepare import PreparedArticle

Key = tuple[str, str]


class Outcome(enum.StrEnum):
    """What a post did to the article it names."""

    created = "created"  # a new article
    unchanged = "unchanged"  # the stored article, as posted again
    revised = "revised"  # the stored article, changed: the old version is a revision


@dataclass(frozen=True, slots=True)
class Ingested:
    """What became of one posted article."""

    id: int
    outcome: Outcome
    status: ArticleStatus
    storyline_id: int | None
    storyline_is_new: bool
    similarity: float | None

    @property
    def created(self) -> bool:
        return self.outcome == Outcome.created

    @classmethod
    def of(cls, row: Article, outcome: Outcome) -> Ingested:
        return cls(row.id, outcome, row.status, row.storyline_id, False, row.similarity)


def key_of(article: PreparedArticle) -> Key:
    """Identity of a posted article: external id, else URL, else outlet + content."""
    if article.external_id is not None:
        return ("external_id", article.external_id)
    if article.url is not None:
        return ("url", article.url)
    return ("content", f"{article.outlet}\0{article.content_hash}")


class Identities:
    """The articles of one accept by every identity they carry: stored ones, then new ones.

    An article is found by its external id; else (no external id, or one not
    stored) by its URL, since a URL names one page; else, with neither, by
    outlet and text.
    """

    def __init__(self, rows: Iterable[Article]) -> None:
        self._by_key: dict[Key, Article] = {}
        for row in rows:
            self.register(row)

    def find(self, article: PreparedArticle) -> Article | None:
        if article.external_id is not None:
            row = self._by_key.get(("external_id", article.external_id))
            if row is not None:
                return row
        if article.url is not None:
            return self._by_key.get(("url", article.url))
        if article.external_id is None:
            return self._by_key.get(("content", f"{article.outlet}\0{article.content_hash}"))
        return None

    def owner_of_url(self, url: str) -> Article | None:
        return self._by_key.get(("url", url))

    def register(self, row: Article) -> None:
        if row.external_id is not None:
            self._by_key[("external_id", row.external_id)] = row
        if row.url is not None:
            self._by_key[("url", row.url)] = row
        if row.external_id is None and row.url is None:
            self._by_key[("content", f"{row.outlet.name}\0{row.content_hash}")] = row


def existing(session: Session, articles: list[PreparedArticle]) -> dict[Key, Ingested]:
    """The stored articles that ``articles`` name, by the posted article's key."""
    statement = lookup(articles)
    index = Identities([] if statement is None else session.scalars(statement))
    found = {}
    for article in articles:
        row = index.find(article)
        if row is not None:
            found[key_of(article)] = Ingested.of(row, Outcome.unchanged)
    return found


def resolve(
    session: Session, articles: list[PreparedArticle], now: datetime
) -> list[tuple[Article, Outcome]]:
    """Store ``articles`` in order (nothing committed): new ones, revisions, or nothing.

    A post that names a stored article (or one earlier in the batch) with the
    same text, date and metadata changes nothing; with different ones it keeps
    the article's id, saves the replaced version as an :class:`ArticleRevision`
    and makes the posted one current, so duplicates inside a batch apply in
    batch order. A revision whose text or date changed goes back to ``pending``
    to be embedded and placed again. Raises :class:`Conflict` when a post would
    give an article a URL another article holds.
    """
    statement = lookup(articles)
    stored: Iterable[Article] = (
        [] if statement is None else session.scalars(statement.with_for_update(of=Article))
    )
    index = Identities(stored)
    unknown = {a.outlet for a in articles if index.find(a) is None}
    outlets = outlets_named(session, unknown, now) if unknown else {}
    out: list[tuple[Article, Outcome]] = []
    for position, article in enumerate(articles):
        row = index.find(article)
        if row is None:
            row = new_row(article, outlets[article.outlet], now)
            session.add(row)
            index.register(row)
            out.append((row, Outcome.created))
            continue
        if article.url is not None and article.url != row.url:
            holder = index.owner_of_url(article.url)
            if holder is not None and holder is not row:
                raise Conflict(
                    f"article {position}: url {article.url!r} belongs to another article "
                    f"(id {holder.id or 'new in this batch'}) than the one its external_id "
                    f"{article.external_id!r} names (id {row.id or 'new in this batch'})"
                )
        if revise(session, row, article, now):
            index.register(row)
            out.append((row, Outcome.revised))
        else:
            out.append((row, Outcome.unchanged))
    return out


def revise(session: Session, row: Article, article: PreparedArticle, now: datetime) -> bool:
    """Make ``article`` the current version of ``row``, keeping the old one; False if equal."""
    replaced = article.content_hash != row.content_hash or article.published_at != row.published_at
    url = article.url if article.url is not None else row.url
    if not replaced and article.metadata == row.extra and url == row.url:
        return False
    if row.id is None:  # stored earlier in this batch: its revision needs its id
        session.flush()
    # The version the live groupers hold: placing the new text takes it out again.
    placed = replaced and row.status == ArticleStatus.grouped
    session.add(
        ArticleRevision(
            article_id=row.id,
            revised_at=now,
            url=row.url,
            title=row.title,
            body=row.body,
            language=row.language,
            published_at=row.published_at,
            content_hash=row.content_hash,
            extra=row.extra,
            storyline_id=row.storyline_id,
            embedding=row.embedding if placed else None,
            embedding_model=row.embedding_model if placed else None,
            group_seq=row.group_seq if placed else None,
        )
    )
    row.url = url
    row.extra = article.metadata
    if replaced:
        row.title, row.body, row.content_hash = article.title, article.body, article.content_hash
        row.language = article.language
        row.published_at = article.published_at
        row.effective_at = article.published_at or row.ingested_at
        # Embedded and placed again, as if new; its storyline keeps it until then.
        row.status = ArticleStatus.pending
        row.attempts = 0
        row.error = None
        row.claimed_by = row.claimed_until = None
    return True


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
