"""membership history, curation audit log, editor pins, locks and separations

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "storyline_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("storyline_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"], ["article.id"], name=op.f("fk_storyline_membership_article_id_article")
        ),
        sa.ForeignKeyConstraint(
            ["storyline_id"],
            ["storyline.id"],
            name=op.f("fk_storyline_membership_storyline_id_storyline"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storyline_membership")),
    )
    with op.batch_alter_table("storyline_membership", schema=None) as batch_op:
        batch_op.create_index(
            "ix_storyline_membership_storyline_id_valid_from", ["storyline_id", "valid_from"]
        )
        batch_op.create_index(
            "ix_storyline_membership_article_id_valid_to", ["article_id", "valid_to"]
        )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("storyline_id", sa.Integer(), nullable=True),
        sa.Column("other_id", sa.Integer(), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_entry_storyline_id"), ["storyline_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_entry_other_id"), ["other_id"], unique=False)
    op.create_table(
        "storyline_separation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("storyline_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["storyline_id"],
            ["storyline.id"],
            name=op.f("fk_storyline_separation_storyline_id_storyline"),
        ),
        sa.ForeignKeyConstraint(
            ["other_id"], ["storyline.id"], name=op.f("fk_storyline_separation_other_id_storyline")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storyline_separation")),
    )
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locked", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("label_pinned", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pinned", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("storyline_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("article_ids", sa.JSON(), nullable=True))
    # History starts with what is stored: each grouped article in its storyline
    # since it was ingested (earlier merges and splits left no trace to replay).
    op.execute(
        "INSERT INTO storyline_membership (article_id, storyline_id, valid_from, valid_to) "
        "SELECT id, storyline_id, ingested_at, NULL FROM article "
        "WHERE storyline_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("storyline_event", schema=None) as batch_op:
        batch_op.drop_column("article_ids")
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_column("pinned")
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.drop_column("label_pinned")
        batch_op.drop_column("locked")
    op.drop_table("storyline_separation")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_other_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_storyline_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
    op.drop_table("audit_entry")
    with op.batch_alter_table("storyline_membership", schema=None) as batch_op:
        batch_op.drop_index("ix_storyline_membership_article_id_valid_to")
        batch_op.drop_index("ix_storyline_membership_storyline_id_valid_from")
    op.drop_table("storyline_membership")
