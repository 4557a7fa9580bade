"""quota buckets unlogged: charging a quota waits for no WAL flush

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

A bucket is a rate limit's state, not data: after a crash PostgreSQL empties
an unlogged table, which only refills every bucket. In exchange a charge
commits without a WAL flush (one per API request before this). SQLite keeps
its buckets in memory and has no such table in use; nothing to do there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE quota_bucket SET UNLOGGED")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE quota_bucket SET LOGGED")
