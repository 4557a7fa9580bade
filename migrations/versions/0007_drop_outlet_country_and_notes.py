"""drop outlet.country and outlet.notes: nothing ever wrote them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outlet", schema=None) as batch_op:
        batch_op.drop_column("notes")
        batch_op.drop_column("country")


def downgrade() -> None:
    with op.batch_alter_table("outlet", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))
