"""full-text index of article headlines and storyline labels, for /search

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

SQLite: FTS5 tables over ``article.title`` and ``storyline.label`` (external content:
the text stays in its table, the index holds only tokens), kept in step by triggers
on insert, update of the text and delete, so ingest, revisions and relabels need no
code of their own. PostgreSQL: GIN indexes on ``to_tsvector('simple', ...)`` of the
same columns, which the database keeps in step itself.

On SQLite a later batch migration that rebuilds ``article`` or ``storyline`` drops
their triggers: it must create them again (``_sqlite_triggers`` below).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (FTS table, content table, text column)
INDEXED = (("article_fts", "article", "title"), ("storyline_fts", "storyline", "label"))


def _sqlite_triggers(fts: str, table: str, column: str) -> list[str]:
    remove = f"INSERT INTO {fts} ({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
    add = f"INSERT INTO {fts} (rowid, {column}) VALUES (new.id, new.{column});"
    return [
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {column} ON {table} BEGIN {remove} {add} END",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for _, table, column in INDEXED:
            op.execute(
                f"CREATE INDEX ix_{table}_{column}_fulltext ON {table} "
                f"USING gin (to_tsvector('simple', {column}))"
            )
        return
    for fts, table, column in INDEXED:
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5("
            f"{column}, content='{table}', content_rowid='id', tokenize='unicode61')"
        )
        for statement in _sqlite_triggers(fts, table, column):
            op.execute(statement)
        op.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for _, table, column in INDEXED:
            op.execute(f"DROP INDEX ix_{table}_{column}_fulltext")
        return
    for fts, _, _ in INDEXED:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {fts}_{event}")
        op.execute(f"DROP TABLE {fts}")
