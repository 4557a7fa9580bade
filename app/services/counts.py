"""Row counts kept by database triggers: articles and storylines by status, vectors by model.

``/health`` used to count a million articles by status (and again by vector model)
on every request: 350 ms at 1M articles on PostgreSQL. The ``row_count`` table
(:class:`~app.models.RowCount`) holds the same numbers, exact, moved by triggers
inside each writing transaction (see migration 0021), so a read is a few rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CompoundSelect, delete, func, insert, literal, select, union_all
from sqlalchemy.orm import Session

from app.models import Article, RowCount, Storyline

ARTICLE_STATUS = "article.status"
ARTICLE_MODEL = "article.embedding_model"
STORYLINE_STATUS = "storyline.status"


def kept(session: Session, kind: str) -> dict[str, int]:
    """The kept counts of ``kind``: stored value -> rows (values with no rows may be absent)."""
    rows = session.execute(select(RowCount.value, RowCount.n).where(RowCount.kind == kind))
    return {value: int(n) for value, n in rows if n}


def recount(session: Session) -> None:
    """Rebuild every kept count from the tables (bulk loads that wrote without triggers)."""
    session.execute(delete(RowCount))
    counted: CompoundSelect[Any] = union_all(
        select(literal(ARTICLE_STATUS), Article.status, func.count()).group_by(Article.status),
        select(literal(ARTICLE_MODEL), Article.embedding_model, func.count())
        .where(Article.embedding_model.is_not(None))
        .group_by(Article.embedding_model),
        select(literal(STORYLINE_STATUS), Storyline.status, func.count()).group_by(
            Storyline.status
        ),
    )
    session.execute(insert(RowCount).from_select(["kind", "value", "n"], counted))
