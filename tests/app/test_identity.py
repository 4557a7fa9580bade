"""Identity lookup of posted articles stays an index search whatever the store holds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from app.db import Database, migrate
from app.models import Article, ArticleStatus, Outlet
from app.services.identity import existing, lookup
from app.services.prepare import PreparedArticle, content_hash

NOW = datetime(2026, 11, 27, tzinfo=UTC)
STORED = 3000


def prepared(n: int, *, url: str | None = None, external_id: str | None = None) -> PreparedArticle:
    title, body = f"Report {n}", f"Body of report {n}."
    return PreparedArticle(
        outlet="example.org",
        title=title,
        body=body,
        url=url,
        external_id=external_id,
        published_at=NOW,
        language="en",
        metadata=None,
        content_hash=content_hash(title, body),
    )


@pytest.fixture
def url_less_store(tmp_path: Path) -> Iterator[Database]:
    """A SQLite store of articles posted without URL or external id, then ANALYZEd."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(db.engine)
    with db.session() as session:
        outlet = Outlet(name="example.org", first_seen_at=NOW)
        session.add(outlet)
        session.flush()
        rows = [
            dict(
                outlet_id=outlet.id,
                title=a.title,
                body=a.body,
                language="en",
                published_at=NOW,
                ingested_at=NOW,
                effective_at=NOW,
                content_hash=a.content_hash,
                status=ArticleStatus.grouped,
                attempts=0,
            )
            for a in map(prepared, range(STORED))
        ]
        session.execute(insert(Article), rows)
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()
    yield db
    db.dispose()


BATCHES = {
    "urls": [prepared(1, url="https://example.org/a"), prepared(2, url="https://example.org/b")],
    "urls and content": [prepared(1, url="https://example.org/a"), prepared(7)],
    "every identity": [prepared(1, url="https://example.org/a", external_id="x-1"), prepared(7)],
    "content": [prepared(7), prepared(8)],
}


@pytest.mark.parametrize("batch", BATCHES)
def test_lookup_searches_indexes_in_a_store_without_urls(
    url_less_store: Database, batch: str
) -> None:
    """Once ANALYZE sees only NULL URLs, a lookup must still not read the whole table."""
    statement = lookup(BATCHES[batch])
    assert statement is not None
    sql = str(statement.compile(url_less_store.engine, compile_kwargs={"literal_binds": True}))
    with url_less_store.session() as session:
        plan = [row[-1] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql))]
    assert not [step for step in plan if step.startswith("SCAN article")], plan


def test_lookup_finds_a_stored_article_by_its_content(url_less_store: Database) -> None:
    with url_less_store.session() as session:
        found = existing(session, [prepared(7), prepared(STORED + 1)])
        (key,) = found
        assert key == ("content", f"example.org\0{prepared(7).content_hash}")
        stored = session.get(Article, found[key].id)
        assert stored is not None and stored.title == "Report 7"
        # Posted again with a URL it is another article: the stored one had none.
        assert existing(session, [replace(prepared(7), url="https://example.org/7")]) == {}
