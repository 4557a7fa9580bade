"""quota_bucket.granted: the tokens the last claim handed a process

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03

A process now claims a lease of several tokens at once and spends them in
memory. The claim is one upsert that grants as many tokens as the bucket holds,
up to the lease; PostgreSQL 15's RETURNING sees only the new row, not the old
``tat`` it would take to tell how many were granted, so the statement writes
the grant next to ``tat`` and returns it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "quota_bucket",
        sa.Column("granted", sa.Float(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("quota_bucket", "granted")
