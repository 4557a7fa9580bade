"""job marks: labels and term counts move off the grouping step

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_mark",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_mark")),
    )
    # The labeller looks only at storylines changed since its last pass.
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_storyline_version"), ["version"], unique=False)
    # Until now the grouping step counted label terms itself: every article
    # grouped so far is already in the term counts.
    op.execute(
        "INSERT INTO job_mark (name, value) "
        "SELECT 'labels', COALESCE(MAX(group_seq), 0) FROM article"
    )


def downgrade() -> None:
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storyline_version"))
    op.drop_table("job_mark")
