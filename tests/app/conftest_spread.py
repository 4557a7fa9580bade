"""Module-scoped apps over module-scoped databases, for the spread views' tests.

Importing a corpus once per module and backend (instead of once per test) keeps
those tests fast; a session-wide cache in front of the real model means a text
is embedded once per session whichever backend or module posts it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.db import scratch_database
from app.main import create_app
from embeddings.cache import CachedEmbedder
from embeddings.protocol import Embedder
from tests.conftest import ADMIN_HEADERS, POSTGRES_URL, as_payload, require_postgres, shared_rows

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def cached_embedder(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> CachedEmbedder:
    """The real bundled model, remembering each text's vector for the session.

    Every module that imports this fixture gets its own instance (pytest keys
    fixtures by where they are defined), so the cache sits in one directory of the
    session's base temp, not a fresh one per instance.
    """
    directory = tmp_path_factory.getbasetemp() / "spread-vectors"
    directory.mkdir(exist_ok=True)
    return CachedEmbedder(embedder, directory)


@pytest.fixture(scope="module", params=BACKENDS)
def basil(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_problem: str | None,
    cached_embedder: CachedEmbedder,
) -> Iterator[tuple[TestClient, dict[int, list[dict[str, Any]]]]]:
    """All 300 BASIL rows imported once per module and backend, with each storyline's rows."""
    rows = shared_rows("data/basil.jsonl")
    with module_client(request, tmp_path_factory, postgres_problem, cached_embedder) as client:
        yield client, import_rows(client, rows)


@contextmanager
def database(backend: str, directory: Path, postgres_problem: str | None) -> Iterator[str]:
    """An empty database of ``backend``, dropped afterwards (PostgreSQL: a fresh schema)."""
    if backend == "postgresql":
        require_postgres(postgres_problem)
    with scratch_database(backend, POSTGRES_URL, directory) as url:
        yield url


@contextmanager
def module_client(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_problem: str | None,
    embedder: CachedEmbedder,
) -> Iterator[TestClient]:
    """A client of a fresh app on the backend named by ``request.param``."""
    directory = tmp_path_factory.mktemp(str(request.param))
    with (
        database(str(request.param), directory, postgres_problem) as url,
        TestClient(
            create_app(Settings(database_url=url), embedder), headers=ADMIN_HEADERS
        ) as client,
    ):
        yield client


def import_rows(client: TestClient, rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """POST corpus rows in batches, then read back each storyline's member rows.

    Membership is read after the import, not taken from the POST answers: a later
    article may merge or split storylines. Rows are matched by URL (unique). A row
    whose ``id`` repeats an earlier row's is the same article (BASIL has three rows
    with id ``basil-empty``): only the first is stored.
    """
    for start in range(0, len(rows), 100):
        chunk = rows[start : start + 100]
        response = client.post("/articles", json=[as_payload(r) for r in chunk])
        assert response.status_code in (200, 201), response.text
    stored = list({row["id"]: row for row in reversed(rows)}.values())
    by_url = {row["url"]: row for row in stored}
    members: dict[int, list[dict[str, Any]]] = {}
    for storyline_id in _pages(client, "/storylines"):
        articles = _pages(client, f"/storylines/{storyline_id}/articles", key="url")
        members[storyline_id] = [by_url[url] for url in articles]
    assert sum(map(len, members.values())) == len(stored)
    return members


def _pages(client: TestClient, path: str, key: str = "id") -> list[Any]:
    values: list[Any] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = client.get(path, params=params).json()
        values.extend(item[key] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return values
