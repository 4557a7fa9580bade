"""indexes for the as-of list: articles by date, storylines by creation, changes by time

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

``GET /storylines?as_of=`` (latest activity first) walks the articles newest
first and keeps those whose stay covers the instant, instead of aggregating the
whole history. Its ``total`` counts the storylines created by then (without an
index, a scan of every storyline row, centroids included: 47 ms at 20k) and its
``latest_seq`` is the last change-feed entry at or before the instant.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_article_effective_at_id", "article", ["effective_at", "id"])
    op.create_index("ix_storyline_created_at", "storyline", ["created_at"])
    op.create_index("ix_storyline_change_at", "storyline_change", ["at"])


def downgrade() -> None:
    op.drop_index("ix_storyline_change_at", table_name="storyline_change")
    op.drop_index("ix_storyline_created_at", table_name="storyline")
    op.drop_index("ix_article_effective_at_id", table_name="article")
