"""Pydantic shapes of access control and operations: errors, keys, readiness."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """An error answer: what went wrong, in words."""

    detail: str


class KeyIn(BaseModel):
    """A key to create."""

    name: str = Field(min_length=1, max_length=64, examples=["dashboard"])
    scopes: list[str] = Field(
        min_length=1, max_length=3, description="Any of `read`, `ingest`, `admin`."
    )


class KeyOut(BaseModel):
    """A key as the service knows it: never the key itself."""

    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The key itself, shown only in this answer.")


class KeyList(BaseModel):
    keys: list[KeyOut]


class Liveness(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(description="`ready` or `not ready`.")
    checks: dict[str, str] = Field(
        description="database, model, migrations, queue: `ok` or what is wrong.",
        examples=[{"database": "ok", "model": "ok", "migrations": "ok", "queue": "ok"}],
    )
