"""storyline (status, last_published_at) index for retiring silent storylines

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.create_index(
            "ix_storyline_status_last_published_at",
            ["status", "last_published_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("storyline", schema=None) as batch_op:
        batch_op.drop_index("ix_storyline_status_last_published_at")
