"""row_count: articles and storylines by status, vectors by model, kept by triggers

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03

/health counted every article by status and by vector model per request (350 ms at
1M articles on PostgreSQL). Triggers move the counts on every insert, delete and
change of those columns, whatever code path writes them, inside the writer's own
transaction: the counts stay exact and a read is a few rows. Row-level triggers on
both stores (PostgreSQL's transition tables would be filled even while disabled).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, counted columns): kind is "table.column"; null values are not counted.
_COUNTED = (("article", ("status", "embedding_model")), ("storyline", ("status",)))

_POSTGRES_ADD = """
CREATE FUNCTION row_count_add(k text, v text, d bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO row_count (kind, value, n) SELECT k, v, d WHERE v IS NOT NULL
    ON CONFLICT (kind, value) DO UPDATE SET n = row_count.n + EXCLUDED.n
$$
"""


def _postgres(table: str, columns: Sequence[str]) -> list[str]:
    def each(row: str, d: int) -> str:
        return " ".join(
            f"PERFORM row_count_add('{table}.{c}', {row}.{c}::text, {d});" for c in columns
        )

    changed = " ".join(
        f"IF OLD.{c} IS DISTINCT FROM NEW.{c} THEN "
        f"PERFORM row_count_add('{table}.{c}', OLD.{c}::text, -1); "
        f"PERFORM row_count_add('{table}.{c}', NEW.{c}::text, 1); END IF;"
        for c in columns
    )
    return [
        f"""
        CREATE FUNCTION row_count_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN {each("NEW", 1)}
            ELSIF TG_OP = 'DELETE' THEN {each("OLD", -1)}
            ELSE {changed}
            END IF;
            RETURN NULL;
        END $$
        """,
        f"""
        CREATE TRIGGER row_count_{table} AFTER INSERT OR DELETE OR UPDATE OF {", ".join(columns)}
        ON {table} FOR EACH ROW EXECUTE FUNCTION row_count_{table}()
        """,
    ]


def _sqlite(table: str, columns: Sequence[str]) -> list[str]:
    def add(kind: str, value: str, d: int) -> str:
        return (
            f"INSERT INTO row_count (kind, value, n) SELECT '{kind}', {value}, {d} "
            f"WHERE {value} IS NOT NULL ON CONFLICT (kind, value) DO UPDATE SET n = n + {d};"
        )

    statements = [
        f"CREATE TRIGGER row_count_{table}_insert AFTER INSERT ON {table} BEGIN "
        + " ".join(add(f"{table}.{c}", f"NEW.{c}", 1) for c in columns)
        + " END",
        f"CREATE TRIGGER row_count_{table}_delete AFTER DELETE ON {table} BEGIN "
        + " ".join(add(f"{table}.{c}", f"OLD.{c}", -1) for c in columns)
        + " END",
    ]
    statements += [
        f"CREATE TRIGGER row_count_{table}_{c} AFTER UPDATE OF {c} ON {table} "
        f"WHEN OLD.{c} IS NOT NEW.{c} BEGIN "
        f"{add(f'{table}.{c}', f'OLD.{c}', -1)} {add(f'{table}.{c}', f'NEW.{c}', 1)} END"
        for c in columns
    ]
    return statements


def upgrade() -> None:
    op.create_table(
        "row_count",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", name=op.f("pk_row_count")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(_POSTGRES_ADD)
    for table, columns in _COUNTED:
        for statement in (_postgres if postgres else _sqlite)(table, columns):
            op.execute(statement)
        for c in columns:
            op.execute(
                f"INSERT INTO row_count (kind, value, n) SELECT '{table}.{c}', {c}, COUNT(*) "
                f"FROM {table} WHERE {c} IS NOT NULL GROUP BY {c}"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, columns in _COUNTED:
        if postgres:
            op.execute(f"DROP TRIGGER row_count_{table} ON {table}")
            op.execute(f"DROP FUNCTION row_count_{table}()")
        else:
            for suffix in ("insert", "delete", *columns):
                op.execute(f"DROP TRIGGER row_count_{table}_{suffix}")
    if postgres:
        op.execute("DROP FUNCTION row_count_add(text, text, bigint)")
    op.drop_table("row_count")
