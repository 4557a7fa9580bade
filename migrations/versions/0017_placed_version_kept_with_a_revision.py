"""a revision keeps the placed version's vector, model and group_seq

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

Placing a revised article again used to rebuild every process's grouper (the
old version's vector was gone from the article row by then). With the placed
version's vector and placement kept on the revision row, each process takes
exactly that share out of the storyline and places the new version. Rows of
earlier revisions stay empty: their articles fall back to a rebuild.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("article_revision") as batch:
        batch.add_column(sa.Column("embedding", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("embedding_model", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("group_seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("article_revision") as batch:
        batch.drop_column("group_seq")
        batch.drop_column("embedding_model")
        batch.drop_column("embedding")
