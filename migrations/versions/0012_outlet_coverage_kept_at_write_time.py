"""outlet coverage kept at write time: outlet_storyline and outlet counters

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outlet", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("article_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("storyline_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_outlet_storyline_count"), ["storyline_count"], unique=False
        )
    op.create_table(
        "outlet_storyline",
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("storyline_id", sa.Integer(), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outlet_id"], ["outlet.id"], name=op.f("fk_outlet_storyline_outlet_id_outlet")
        ),
        sa.ForeignKeyConstraint(
            ["storyline_id"],
            ["storyline.id"],
            name=op.f("fk_outlet_storyline_storyline_id_storyline"),
        ),
        sa.PrimaryKeyConstraint("outlet_id", "storyline_id", name=op.f("pk_outlet_storyline")),
    )
    op.create_index(
        "ix_outlet_storyline_storyline_id_first_at",
        "outlet_storyline",
        ["storyline_id", "first_at"],
        unique=False,
    )
    # Existing stores: count what is already grouped.
    op.execute(
        "INSERT INTO outlet_storyline (outlet_id, storyline_id, article_count, first_at, last_at) "
        "SELECT outlet_id, storyline_id, COUNT(*), MIN(effective_at), MAX(effective_at) "
        "FROM article WHERE storyline_id IS NOT NULL GROUP BY outlet_id, storyline_id"
    )
    op.execute(
        "UPDATE outlet SET "
        "article_count = (SELECT COALESCE(SUM(s.article_count), 0) FROM outlet_storyline s "
        "WHERE s.outlet_id = outlet.id), "
        "storyline_count = (SELECT COUNT(*) FROM outlet_storyline s WHERE s.outlet_id = outlet.id)"
    )


def downgrade() -> None:
    op.drop_index("ix_outlet_storyline_storyline_id_first_at", table_name="outlet_storyline")
    op.drop_table("outlet_storyline")
    with op.batch_alter_table("outlet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outlet_storyline_count"))
        batch_op.drop_column("storyline_count")
        batch_op.drop_column("article_count")
