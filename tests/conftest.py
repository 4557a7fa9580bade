"""Shared fixtures: the real model (loaded once) and a fresh database per test.

The model is the default backend, the int8 ONNX export in ``.cache/onnx`` (made
once, by the first run on a fresh clone, then verified); ``torch_embedder`` is
the sentence-transformers backend for the smaller set of tests that compare them.

Every database test runs twice, on SQLite (a file in tmp_path) and on the local
PostgreSQL (a database of its own, dropped after it). PostgreSQL is
``STORYLINE_TEST_POSTGRES_URL`` (default: the local ``test`` database); when it
cannot be reached those tests skip, except under ``CI=true`` where they fail.

The schema is migrated once per run, into a template of each backend, and every
test starts from a copy (a file copy; ``CREATE DATABASE ... TEMPLATE``): running
the migrations cost each test 0.3-2 s. ``empty_database_url`` is a database with
no schema at all, for the tests of migrations themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from app.config import Settings
from app.db import make_engine, migrate, scratch_database
from app.main import create_app
from embeddings.onnx import OnnxEmbedder, ensure_export
from embeddings.protocol import Embedder
from embeddings.sentence import SentenceTransformerEmbedder
from embeddings.universal import UniversalSentenceEmbedder

# Background discovery would repair storylines in the middle of tests that assert them;
# tests that exercise it start it themselves.
os.environ.setdefault("STORYLINE_DISCOVERY_INTERVAL_SECONDS", "0")
# Likewise labels: tests that assert them run the labeller (state.labeller.run()).
os.environ.setdefault("STORYLINE_LABEL_INTERVAL_SECONDS", "0")

# Every test server registers this admin key on its empty database (STORYLINE_ADMIN_KEY),
# and the `client` fixture sends it; `mint_key` makes narrower ones.
TEST_ADMIN_KEY = "sl_test-admin-key-for-the-suite-0123456789"
os.environ.setdefault("STORYLINE_ADMIN_KEY", TEST_ADMIN_KEY)
# Quotas are off except in the tests of quotas.
os.environ.setdefault("STORYLINE_QUOTA_READS_PER_SECOND", "0")
os.environ.setdefault("STORYLINE_QUOTA_ARTICLES_PER_MINUTE", "0")
ADMIN_HEADERS = {"Authorization": f"Bearer {TEST_ADMIN_KEY}"}

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# Settings().onnx_dir as `make serve` sees it from the repository root.
ONNX_DIR = ROOT / Settings.model_fields["onnx_dir"].default
POSTGRES_URL = os.environ.get(
    "STORYLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def shared_rows(relative: str) -> list[dict[str, Any]]:
    """Rows of a JSONL file under ../shared (skips the test when shared/ is absent)."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} not found: shared data sets sit beside the repository")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def as_payload(row: dict[str, Any]) -> dict[str, Any]:
    """A corpus row as POST /articles takes it."""
    return {
        "external_id": row["id"],
        "url": row.get("url"),
        "outlet": row["outlet"],
        "title": row.get("title") or "",
        "body": row.get("body") or "",
        "published_at": row.get("published_at"),
        "language": row.get("language"),
    }


@pytest.fixture(scope="session")
def onnx_dir() -> Path:
    """The default backend's export, made once per clone (verified on every later run)."""
    ensure_export(ONNX_DIR, check_source=True)
    return ONNX_DIR


@pytest.fixture(scope="session")
def embedder(onnx_dir: Path) -> OnnxEmbedder:
    """The service's default embedder: int8 ONNX, as `make serve` loads it."""
    return OnnxEmbedder(onnx_dir)


@pytest.fixture(scope="session")
def torch_embedder() -> SentenceTransformerEmbedder:
    """The torch backend, kept for the tests that compare backends or exercise it."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def multilingual_embedder() -> UniversalSentenceEmbedder:
    """STORYLINE_EMBEDDING_MODEL=multilingual: the bundled multilingual USE v3."""
    return UniversalSentenceEmbedder()


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver or network failure means "not reachable"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


@pytest.fixture(scope="session")
def postgres_problem() -> str | None:
    return _postgres_reachable()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_problem: str | None
) -> Iterator[str]:
    """A URL to a database of each backend with no schema at all, gone after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'storyline.db'}"
        return
    require_postgres(postgres_problem)
    with scratch_database("postgresql", POSTGRES_URL, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied by every test that wants a store."""
    path = tmp_path_factory.mktemp("template") / "storyline.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


def _admin_engine() -> Engine:
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_template(postgres_problem: str | None) -> Iterator[str]:
    """A PostgreSQL database migrated to head, the template of every test's database.

    Each run names its own, so parallel runs on one server never share one. It
    refuses connections once migrated, so that no session (autovacuum's
    included) blocks the copies.
    """
    require_postgres(postgres_problem)
    name = f"storyline_template_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = make_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(False))
        migrate(engine)
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _copy_database(admin: Engine, template: str, name: str) -> None:
    """CREATE DATABASE from ``template``, retried while a stray session holds the template."""
    for attempt in range(20):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            return
        except OperationalError as exc:
            if "being accessed by other users" not in str(exc) or attempt == 19:
                raise
            time.sleep(0.1)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_problem: str | None
) -> Iterator[str]:
    """A URL to a migrated, empty store of each backend, gone after the test."""
    if request.param == "sqlite":
        path = tmp_path / "storyline.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    require_postgres(postgres_problem)
    template = request.getfixturevalue("postgres_template")
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    _copy_database(admin, template, name)
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def require_postgres(problem: str | None) -> None:
    """Skip (fail under CI=true) when the test PostgreSQL cannot be reached."""
    if problem is not None:
        reason = f"PostgreSQL at {POSTGRES_URL} unreachable ({problem})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI requires it")
        pytest.skip(reason)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def client(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    with TestClient(create_app(settings, embedder), headers=ADMIN_HEADERS) as test_client:
        yield test_client


def mint_key(client: TestClient, *scopes: str, name: str | None = None) -> dict[str, str]:
    """Headers carrying a new key with ``scopes``, created through the admin API."""
    name = name or f"key-{uuid.uuid4().hex[:8]}"
    made = client.post("/keys", json={"name": name, "scopes": list(scopes)}, headers=ADMIN_HEADERS)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the real model, so `-m "not model"` is a fast inner loop.

    A test needs it when the `embedder` or `torch_embedder` fixture is in its closure
    (directly, or through `client` and the cached embedders) or when it lives under
    tests/embeddings.
    """
    embeddings_dir = Path(__file__).parent / "embeddings"
    for item in items:
        names = getattr(item, "fixturenames", ())
        models = ("embedder", "torch_embedder", "multilingual_embedder")
        uses_model = any(name in names for name in models)
        if uses_model or embeddings_dir in item.path.parents:
            item.add_marker(pytest.mark.model)
