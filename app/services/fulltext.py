"""Word lookups in headlines and storyline labels through the full-text index (revision 0014).

SQLite asks its FTS5 tables, PostgreSQL its GIN indexes on ``to_tsvector('simple', ...)``.
Each query word matches words that start with it ("helmet" finds "Helmets"). Rows come
newest first (highest id) and at most ``limit`` of them, so the cost follows ``limit``,
not how many rows contain a common word: rows holding every word are asked for first,
then rows holding any.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, literal_column, select, text
from sqlalchemy.orm import Session

from app.models import Article, Storyline, StorylineStatus

_TOKEN = re.compile(r"[^\W_]+")


def headlines(session: Session, words: Sequence[str], limit: int) -> list[tuple[int, int, str]]:
    """(storyline id, article id, title) of grouped articles whose headline has the words."""
    query: Select[*tuple[Any, ...]] = (
        select(Article.storyline_id, Article.id, Article.title)
        .join(Storyline, Storyline.id == Article.storyline_id)
        .where(Storyline.status != StorylineStatus.merged)
    )
    found = _best_first(session, query, Article.id, Article.title, "article_fts", words, limit)
    return [(sid, aid, title) for sid, aid, title in found]


def labels(session: Session, words: Sequence[str], limit: int) -> list[tuple[int, str]]:
    """(storyline id, label) of storylines not merged away whose label has the words."""
    query: Select[*tuple[Any, ...]] = select(Storyline.id, Storyline.label).where(
        Storyline.status != StorylineStatus.merged
    )
    found = _best_first(
        session, query, Storyline.id, Storyline.label, "storyline_fts", words, limit
    )
    return [(sid, label) for sid, label in found]


def _best_first(
    session: Session,
    query: Select[*tuple[Any, ...]],
    key: Any,
    column: Any,
    fts: str,
    words: Sequence[str],
    limit: int,
) -> list[Any]:
    terms = [t for t in (_TOKEN.findall(w.lower()) for w in words) if t]
    if not terms:
        return []
    rows: dict[tuple[Any, ...], Any] = {}
    postgres = session.get_bind().dialect.name == "postgresql"
    for every in (True, False) if len(terms) > 1 else (True,):
        matching = (_postgres if postgres else _sqlite)(key, column, fts, terms, every, limit)
        for row in session.execute(query.where(matching).order_by(key.desc()).limit(limit)):
            rows.setdefault(tuple(row), row)
        if len(rows) >= limit:
            break
    return list(rows.values())[:limit]


def _sqlite(
    key: Any, column: Any, fts: str, terms: list[list[str]], every: bool, limit: int
) -> Any:
    # Each word is a phrase of its tokens ("o'brien" -> "o" + "brien"), the last a prefix.
    phrases = ['"' + " ".join(t) + '"*' for t in terms]
    expression = (" AND " if every else " OR ").join(phrases)
    ids = text(
        f"SELECT rowid FROM {fts} WHERE {fts} MATCH :expression ORDER BY rowid DESC LIMIT :n"
    ).bindparams(expression=expression, n=limit)
    return key.in_(ids)


def _postgres(
    key: Any, column: Any, fts: str, terms: list[list[str]], every: bool, limit: int
) -> Any:
    # Lexemes are quoted (quotes doubled), so no query word is read as tsquery syntax.
    def lexeme(token: str, prefix: bool) -> str:
        return "'" + token.replace("'", "''") + "'" + (":*" if prefix else "")

    phrases = [
        "(" + " <-> ".join(lexeme(tok, i == len(t) - 1) for i, tok in enumerate(t)) + ")"
        for t in terms
    ]
    expression = (" & " if every else " | ").join(phrases)
    vector = func.to_tsvector(literal_column("'simple'"), column)
    matches = vector.op("@@")(func.to_tsquery(literal_column("'simple'"), expression))
    if fts == "storyline_fts":
        # Labels: always through the index. Asked directly, the planner may walk the
        # storylines newest first testing each label (seconds at 200k storylines when
        # few labels exist yet, as its statistics of empty labels suggest many matches).
        found = select(key.label("id")).where(matches).cte(f"{fts}_match")
        return key.in_(select(found.prefix_with("MATERIALIZED").c.id))
    return matches
