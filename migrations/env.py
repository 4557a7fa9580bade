"""Alembic environment: runs revisions on the engine the service hands over."""

from __future__ import annotations

import re

from alembic import context
from sqlalchemy import Engine

from app.config import get_settings
from app.db import make_engine
from app.models import Base

config = context.config
target_metadata = Base.metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is None:
        url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
        engine = make_engine(url)
    return engine


def _modelled(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    """False for the full-text index (revision 0014), which lives outside the models:
    SQLite's FTS5 tables and their shadow tables, PostgreSQL's expression indexes."""
    if type_ == "table" and name and re.match(r"^\w+_fts(_\w+)?$", name):
        return False
    return not (type_ == "index" and name and name.endswith("_fulltext"))


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=_modelled,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    context.configure(url=get_settings().database_url, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
