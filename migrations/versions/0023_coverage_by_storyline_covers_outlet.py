"""coverage rows by storyline carry the outlet: co-coverage reads only the index

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03

``/outlets/{id}`` counts the outlets sharing its 1,000 newest storylines: for each
of those storylines, the other outlets' coverage rows and their first times. With
``(storyline_id, first_at)`` alone PostgreSQL fetched each row from the heap for its
outlet, and at 1M articles chose instead to hash every coverage row of the store
(~120 ms a request, 785k rows). With the outlet in the index the same query reads
index entries only (9-13 ms on that store).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outlet_storyline_storyline_id_first_at_outlet_id",
        "outlet_storyline",
        ["storyline_id", "first_at", "outlet_id"],
    )
    op.drop_index("ix_outlet_storyline_storyline_id_first_at", table_name="outlet_storyline")


def downgrade() -> None:
    op.create_index(
        "ix_outlet_storyline_storyline_id_first_at",
        "outlet_storyline",
        ["storyline_id", "first_at"],
    )
    op.drop_index(
        "ix_outlet_storyline_storyline_id_first_at_outlet_id", table_name="outlet_storyline"
    )
