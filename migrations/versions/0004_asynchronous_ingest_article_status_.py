"""asynchronous ingest: article status, leases, grouping order

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "pending",
                    "embedded",
                    "grouped",
                    "failed",
                    name="article_status",
                    native_enum=False,
                    length=16,
                ),
                nullable=False,
                server_default="grouped",
            )
        )
        batch_op.add_column(sa.Column("group_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.alter_column("embedding", existing_type=sa.LargeBinary(), nullable=True)
        batch_op.alter_column("embedding_model", existing_type=sa.String(length=255), nullable=True)
        batch_op.alter_column("embedding_dim", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("storyline_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("similarity", existing_type=sa.Float(), nullable=True)
        batch_op.create_index(batch_op.f("ix_article_status"), ["status"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_article_group_seq"), ["group_seq"])
    # Articles stored before this revision were grouped in id order.
    op.execute("UPDATE article SET group_seq = id WHERE group_seq IS NULL")


def downgrade() -> None:

    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_article_group_seq"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_article_status"))
        batch_op.alter_column("similarity", existing_type=sa.Float(), nullable=False)
        batch_op.alter_column("storyline_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("embedding_dim", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column(
            "embedding_model", existing_type=sa.String(length=255), nullable=False
        )
        batch_op.alter_column("embedding", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("error")
        batch_op.drop_column("attempts")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("group_seq")
        batch_op.drop_column("status")
