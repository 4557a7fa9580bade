"""Browsers on an allowed origin may call the API; others may not. Host headers are checked."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from embeddings.sentence import SentenceTransformerEmbedder
from tests.conftest import ADMIN_HEADERS

DASHBOARD = "https://dash.example.org"
STRANGER = "https://evil.example.com"


@pytest.fixture
def cors_client(settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    allowed = settings.model_copy(update={"cors_origins": [DASHBOARD, "http://localhost:3000"]})
    with TestClient(create_app(allowed, embedder)) as client:
        yield client


def _preflight(client: TestClient, origin: str, method: str, headers: str) -> httpx.Response:
    return client.options(
        "/storylines" if method == "GET" else "/articles",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def test_preflight_from_an_allowed_origin_admits_keys_etags_and_sse_resumption(
    cors_client: TestClient,
) -> None:
    get = _preflight(cors_client, DASHBOARD, "GET", "authorization, if-none-match, last-event-id")
    assert get.status_code == 200
    assert get.headers["access-control-allow-origin"] == DASHBOARD
    allowed = get.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "if-none-match", "last-event-id", "x-api-key"):
        assert header in allowed
    post = _preflight(cors_client, DASHBOARD, "POST", "authorization, content-type")
    assert post.status_code == 200
    assert "POST" in post.headers["access-control-allow-methods"]


def test_preflight_from_another_origin_is_refused(cors_client: TestClient) -> None:
    refused = _preflight(cors_client, STRANGER, "GET", "authorization")
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


def test_simple_requests_expose_etag_to_allowed_origins_only(
    cors_client: TestClient,
) -> None:
    posted = cors_client.post(
        "/articles",
        json={"outlet": "a.com", "title": "Dam breach floods valley towns", "body": "Water."},
        headers={**ADMIN_HEADERS, "Origin": DASHBOARD},
    )
    assert posted.status_code == 201
    assert posted.headers["access-control-allow-origin"] == DASHBOARD
    storyline = posted.json()["articles"][0]["storyline_id"]
    read = cors_client.get(
        f"/storylines/{storyline}", headers={**ADMIN_HEADERS, "Origin": DASHBOARD}
    )
    assert read.status_code == 200 and read.headers["etag"]
    assert read.headers["access-control-allow-origin"] == DASHBOARD
    assert "etag" in read.headers["access-control-expose-headers"].lower()
    foreign = cors_client.get(
        f"/storylines/{storyline}", headers={**ADMIN_HEADERS, "Origin": STRANGER}
    )
    assert foreign.status_code == 200  # the server answers; the browser withholds it
    assert "access-control-allow-origin" not in foreign.headers
    # A refusal for want of a key is readable by the dashboard's script, so it can say why.
    unauthorised = cors_client.get("/storylines", headers={"Origin": DASHBOARD})
    assert unauthorised.status_code == 401
    assert unauthorised.headers["access-control-allow-origin"] == DASHBOARD


def test_no_cross_origin_access_by_default(client: TestClient) -> None:
    preflight = _preflight(client, DASHBOARD, "GET", "authorization")
    assert "access-control-allow-origin" not in preflight.headers
    simple = client.get("/storylines", headers={"Origin": DASHBOARD})
    assert "access-control-allow-origin" not in simple.headers


def test_trusted_hosts_refuse_other_host_headers(
    settings: Settings, embedder: SentenceTransformerEmbedder
) -> None:
    named = settings.model_copy(update={"trusted_hosts": ["storyline.example.org", "*.internal"]})
    with TestClient(create_app(named, embedder), headers=ADMIN_HEADERS) as client:
        good = client.get("/storylines", headers={"Host": "storyline.example.org"})
        assert good.status_code == 200
        assert client.get("/health", headers={"Host": "api.internal"}).status_code == 200
        bad = client.get("/storylines", headers={"Host": "attacker.example.com"})
        assert bad.status_code == 400
        assert "Invalid host header" in bad.text
