"""storyline.label_variants: a label per language for storylines that span several

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

Language code -> the label built from that language's members alone, kept by the
labeller when it rebuilds a label. Null until a storyline's next rebuild.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("storyline", sa.Column("label_variants", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("storyline", "label_variants")
