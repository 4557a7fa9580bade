"""vector_space: the embedding model (and backend) a store's vectors belong to

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vector_space",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vector_space")),
    )
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_embedding_model"), ["embedding_model"], unique=False
        )
    # A store that already holds vectors belongs to the model of its newest one;
    # a process started with another model then re-embeds the rest.
    op.execute(
        "INSERT INTO vector_space (id, model, dimension, since) "
        "SELECT 1, embedding_model, embedding_dim, CURRENT_TIMESTAMP FROM article "
        "WHERE embedding_model IS NOT NULL AND embedding_dim IS NOT NULL "
        "ORDER BY id DESC LIMIT 1"
    )


def downgrade() -> None:
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_embedding_model"))
    op.drop_table("vector_space")
