"""Migrations: upgrade to head, no drift from the models, downgrade to base."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from app.db import alembic_config, make_engine, migrate


def test_upgrade_check_and_downgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        assert {"article", "outlet", "storyline", "alembic_version"} <= set(
            inspect(engine).get_table_names()
        )
        command.check(alembic_config(engine))  # raises when models and revisions disagree
        command.downgrade(alembic_config(engine), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(engine)  # and back up again, from an empty schema
        assert "article" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
