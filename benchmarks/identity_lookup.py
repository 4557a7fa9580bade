"""Time the identity lookup of posted articles in a SQLite store fed without URLs.

Usage (from the repository root)::

    .venv/bin/python benchmarks/identity_lookup.py --stored 100000 --rounds 2

Builds a throwaway SQLite store of ``--stored`` articles that carry neither URL
nor external id, runs ANALYZE, then times ``app.services.identity.existing``
for a batch of 8 new URLs: as the service asks it (one id-only SELECT per kind
of identity, joined by UNION ALL) and as it asked before (one OR of the
clauses), taking turns in one process. Prints the median of each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, insert, or_, text

from app.db import Database, migrate
from app.models import Article, ArticleStatus, Outlet
from app.services import identity
from app.services.prepare import PreparedArticle, content_hash

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def article(n: int, url: str | None = None) -> PreparedArticle:
    title, body = f"Report {n}", f"Body of report {n}, as an outlet without URLs posts it."
    return PreparedArticle(
        "example.org", title, body, url, None, NOW, "en", None, content_hash(title, body)
    )


def url_less_store(directory: str, stored: int) -> Database:
    db = Database.from_url(f"sqlite:///{directory}/store.db")
    migrate(db.engine)
    with db.session() as session:
        outlet = Outlet(name="example.org", first_seen_at=NOW)
        session.add(outlet)
        session.flush()
        common = dict(outlet_id=outlet.id, language="en", published_at=NOW, ingested_at=NOW)
        rows = [
            dict(
                common,
                title=a.title,
                body=a.body,
                effective_at=NOW,
                content_hash=a.content_hash,
                status=ArticleStatus.grouped,
                attempts=0,
            )
            for a in map(article, range(stored))
        ]
        session.execute(insert(Article), rows)
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()
    return db


def or_of_clauses(clauses: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """The lookup's WHERE before session 7: one OR over the identity clauses."""
    return or_(*clauses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    batch = [article(args.stored + i, url=f"https://example.org/{i}") for i in range(8)]
    now_query = identity._any_of
    with tempfile.TemporaryDirectory() as directory:
        db = url_less_store(directory, args.stored)
        for _ in range(args.rounds):
            for name, where in (("OR of clauses (before)", or_of_clauses), ("now", now_query)):
                identity._any_of = where
                spent = []
                with db.session() as session:
                    for _ in range(args.lookups):
                        t0 = time.perf_counter()
                        identity.existing(session, batch)
                        spent.append(time.perf_counter() - t0)
                median_ms = 1000 * statistics.median(spent)
                print(f"{name:24s} {median_ms:7.2f} ms per lookup of 8 new URLs", flush=True)
        identity._any_of = now_query
        db.dispose()


if __name__ == "__main__":
    main()
