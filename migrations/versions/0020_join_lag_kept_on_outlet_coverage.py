"""outlet_storyline.join_lag_us: each outlet's join lag kept at write time, indexed

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03

/outlets/{id} read every coverage row of the outlet to count "how often first" and
take the median join lag (72 ms for the biggest outlet at 100k articles, 1.6 s at
1M). With the lag on the row and an index on (outlet_id, join_lag_us) both are
index ranges. Existing rows are filled here from the rows themselves.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTGRES_FILL = """
UPDATE outlet_storyline AS o SET join_lag_us = CASE WHEN s.outlets >= 2
    THEN CAST(EXTRACT(EPOCH FROM o.first_at - s.start) * 1000000 AS BIGINT) END
FROM (SELECT storyline_id, MIN(first_at) AS start, COUNT(*) AS outlets
      FROM outlet_storyline GROUP BY storyline_id) AS s
WHERE s.storyline_id = o.storyline_id
"""

# SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds, then the microseconds.
_SQLITE_MICROS = (
    "(CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER) * 1000000"
    " + CAST(substr({0}, 21, 6) AS INTEGER))"
)
_SQLITE_FILL = f"""
UPDATE outlet_storyline SET join_lag_us = (
    SELECT CASE WHEN COUNT(*) >= 2
        THEN {_SQLITE_MICROS.format("outlet_storyline.first_at")}
             - {_SQLITE_MICROS.format("MIN(o.first_at)")} END
    FROM outlet_storyline AS o WHERE o.storyline_id = outlet_storyline.storyline_id)
"""


def upgrade() -> None:
    op.add_column("outlet_storyline", sa.Column("join_lag_us", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_outlet_storyline_outlet_id_join_lag_us",
        "outlet_storyline",
        ["outlet_id", "join_lag_us"],
        unique=False,
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(_POSTGRES_FILL if postgres else _SQLITE_FILL)


def downgrade() -> None:
    op.drop_index("ix_outlet_storyline_outlet_id_join_lag_us", table_name="outlet_storyline")
    with op.batch_alter_table("outlet_storyline", schema=None) as batch_op:
        batch_op.drop_column("join_lag_us")
