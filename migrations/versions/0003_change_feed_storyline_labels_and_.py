"""change feed, storyline labels and versions, term frequencies

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "term",
        sa.Column("term", sa.String(length=128), nullable=False),
        sa.Column("df", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_term")),
    )
    op.create_table(
        "storyline_change",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("storyline_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "created",
                "grew",
                "relabelled",
                "merged",
                "split",
                "dormant",
                name="change_kind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("outlet_count", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["storyline_id"],
            ["storyline.id"],
            name=op.f("fk_storyline_change_storyline_id_storyline"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_storyline_change")),
    )
    with op.batch_alter_table("storyline_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storyline_change_storyline_id"), ["storyline_id"], unique=False
        )

    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("label", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("label_terms", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("label_basis", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:

    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.drop_column("label_basis")
        batch_op.drop_column("label_terms")
        batch_op.drop_column("label")
        batch_op.drop_column("version")

    with op.batch_alter_table("storyline_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storyline_change_storyline_id"))

    op.drop_table("storyline_change")
    op.drop_table("term")
