"""outlet, article and storyline tables

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "outlet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("country", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlet")),
        sa.UniqueConstraint("name", name=op.f("uq_outlet_name")),
    )
    op.create_table(
        "storyline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("outlet_count", sa.Integer(), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active", "dormant", "merged", name="storyline_status", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["storyline.id"], name=op.f("fk_storyline_merged_into_storyline")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storyline")),
    )
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storyline_article_count"), ["article_count"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_storyline_last_published_at"), ["last_published_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_storyline_outlet_count"), ["outlet_count"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_storyline_status"), ["status"], unique=False)

    op.create_table(
        "article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=512), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("embedding_model", sa.String(length=255), nullable=False),
        sa.Column("embedding_dim", sa.Integer(), nullable=False),
        sa.Column("storyline_id", sa.Integer(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["outlet_id"], ["outlet.id"], name=op.f("fk_article_outlet_id_outlet")
        ),
        sa.ForeignKeyConstraint(
            ["storyline_id"], ["storyline.id"], name=op.f("fk_article_storyline_id_storyline")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article")),
        sa.UniqueConstraint("external_id", name=op.f("uq_article_external_id")),
        sa.UniqueConstraint("url", name=op.f("uq_article_url")),
    )
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_content_hash"), ["content_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_article_outlet_id"), ["outlet_id"], unique=False)
        batch_op.create_index(
            "ix_article_storyline_id_effective_at", ["storyline_id", "effective_at"], unique=False
        )
        batch_op.create_index(
            "ix_article_storyline_id_outlet_id", ["storyline_id", "outlet_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_index("ix_article_storyline_id_outlet_id")
        batch_op.drop_index("ix_article_storyline_id_effective_at")
        batch_op.drop_index(batch_op.f("ix_article_outlet_id"))
        batch_op.drop_index(batch_op.f("ix_article_content_hash"))

    op.drop_table("article")
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storyline_status"))
        batch_op.drop_index(batch_op.f("ix_storyline_outlet_count"))
        batch_op.drop_index(batch_op.f("ix_storyline_last_published_at"))
        batch_op.drop_index(batch_op.f("ix_storyline_article_count"))

    op.drop_table("storyline")
    op.drop_table("outlet")
