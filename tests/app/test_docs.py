"""/docs and /redoc work with no network: every asset they load is served here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

_REFERENCE = re.compile(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""")


@pytest.fixture
def docs_client(tmp_path: Path) -> TestClient:
    # No lifespan (no `with`): the pages need neither the model nor the database.
    return TestClient(create_app(Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}")))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_loads_everything_from_this_service(docs_client: TestClient, page: str) -> None:
    response = docs_client.get(page)
    assert response.status_code == 200
    html = response.text
    references = _REFERENCE.findall(html)
    assert any(r.endswith(".js") for r in references), references
    assert "openapi.json" in html
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        asset = docs_client.get(reference)
        assert asset.status_code == 200, reference
        assert len(asset.content) > 1000 or reference.endswith(".json"), reference
    # Nothing that names another host (a CDN, Google Fonts), anywhere in the page.
    assert not re.search(r"https?://", html), re.findall(r"https?://[^\s'\"]+", html)
