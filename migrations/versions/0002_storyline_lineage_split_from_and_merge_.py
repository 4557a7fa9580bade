"""storyline lineage: split_from and merge/split events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "storyline_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("merged", "split", name="lineage_kind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("storyline_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("articles_moved", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["other_id"], ["storyline.id"], name=op.f("fk_storyline_event_other_id_storyline")
        ),
        sa.ForeignKeyConstraint(
            ["storyline_id"],
            ["storyline.id"],
            name=op.f("fk_storyline_event_storyline_id_storyline"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storyline_event")),
    )
    with op.batch_alter_table("storyline_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_storyline_event_other_id"), ["other_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_storyline_event_storyline_id"), ["storyline_id"], unique=False
        )

    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("split_from", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_storyline_split_from_storyline"), "storyline", ["split_from"], ["id"]
        )


def downgrade() -> None:

    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_storyline_split_from_storyline"), type_="foreignkey"
        )
        batch_op.drop_column("split_from")

    with op.batch_alter_table("storyline_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storyline_event_storyline_id"))
        batch_op.drop_index(batch_op.f("ix_storyline_event_other_id"))

    op.drop_table("storyline_event")
