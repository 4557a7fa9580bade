"""vector_space.family: which embedding model setting (english, multilingual) made the vectors

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every store before this revision embedded with the English MiniLM.
    with op.batch_alter_table("vector_space", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("family", sa.String(length=32), server_default="english", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("vector_space", schema=None) as batch_op:
        batch_op.drop_column("family")
