"""Time the identity lookup of posted articles in a SQLite store fed without URLs.

Usage (from the repository root)::

    .venv/bin/python benchmarks/identity_lookup.py --stored 100000 --rounds 2

Builds a throwaway SQLite store of ``--stored`` synthetic articles without URLs
(``benchmarks/queries.py``'s ``build``), runs ANALYZE, then times
``app.services.identity.existing`` for a batch of 8 new URLs: as the service
asks it (one id-only SELECT per kind of identity, joined by UNION ALL) and as it
asked before (one OR of the clauses), taking turns in one process. Prints the
median of each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime

from queries import build  # the sibling script: its synthetic store
from sqlalchemy import ColumnElement, or_, text

from app.db import Database, migrate
from app.services import identity
from app.services.prepare import PreparedArticle, content_hash


def new_article(n: int) -> PreparedArticle:
    title, body = f"New report {n}", f"Body of new report {n}."
    return PreparedArticle(
        "outlet1.example",
        title,
        body,
        f"https://outlet1.example/new-{n}",
        None,
        datetime(2026, 11, 27, tzinfo=UTC),
        "en",
        None,
        content_hash(title, body),
    )


def or_of_clauses(clauses: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """The lookup's WHERE before session 7: one OR over the identity clauses."""
    return or_(*clauses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    batch = [new_article(i) for i in range(8)]
    now_query = identity._any_of
    with tempfile.TemporaryDirectory() as directory:
        db = Database.from_url(f"sqlite:///{directory}/store.db")
        migrate(db.engine)
        build(db.engine, args.stored, 500, max(1, args.stored // 5), seed=7, urls=False)
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
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
