"""Migrations: upgrade to head, no drift from the models, downgrade to base."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from app.db import alembic_config, current_revision, head_revision, make_engine, migrate


def test_upgrade_check_and_downgrade(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
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


def test_head_revision_is_alembics_head_and_a_current_store_is_left_alone(
    empty_database_url: str,
) -> None:
    engine = make_engine(empty_database_url)
    try:
        head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
        assert head_revision() == head
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head
        command.downgrade(alembic_config(engine), "-1")
        assert current_revision(engine) != head
        migrate(engine)  # one behind: the quick check must not skip it
        assert current_revision(engine) == head
    finally:
        engine.dispose()
