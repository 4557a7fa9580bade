"""Bad input: a 422 naming the field and reason, never a 500, and nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from embeddings.protocol import Embedder
from tests.conftest import ADMIN_HEADERS

GOOD = {
    "outlet": "example.org",
    "url": "https://example.org/a/1",
    "title": "Council approves new budget",
    "body": "The council voted on Tuesday.",
    "published_at": "2020-05-04",
}


@pytest.fixture
def strict_client(database_url: str, embedder: Embedder) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url, batch_limit=3, max_body_bytes=1000, max_request_bytes=50_000
    )
    with TestClient(create_app(settings, embedder), headers=ADMIN_HEADERS) as client:
        yield client


def _nothing_stored(client: TestClient) -> bool:
    return client.get("/storylines", params={"status": "active"}).json()["items"] == []


def _assert_rejected(response: Any, loc: list[Any], words: str) -> None:
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(e["loc"] == loc and words in e["msg"] for e in errors), errors


@pytest.mark.parametrize(
    ("change", "loc", "words"),
    [
        ({"title": "", "body": "  "}, ["body"], "title and body are both empty"),
        ({"title": "<p></p>", "body": "<br/>"}, ["body", "body"], "empty once markup is removed"),
        ({"published_at": "13/09/2018"}, ["body", "published_at"], "valid datetime"),
        ({"published_at": "2199-01-01T00:00:00Z"}, ["body", "published_at"], "in the future"),
        ({"body": "x" * 1001}, ["body", "body"], "over the limit of 1000"),
        ({"outlet": None}, ["body", "outlet"], "valid string"),
        ({"outlet": "   "}, ["body", "outlet"], "must not be blank"),
        ({"url": "ftp://example.org/x"}, ["body", "url"], "http(s) URL"),
        ({"language": "english!"}, ["body", "language"], "ISO 639"),
        ({"surprise": 1}, ["body", "surprise"], "Extra inputs"),
    ],
)
def test_invalid_article_is_rejected_naming_the_field(
    strict_client: TestClient, change: dict[str, Any], loc: list[Any], words: str
) -> None:
    response = strict_client.post("/articles", json={**GOOD, **change})
    _assert_rejected(response, loc, words)
    assert _nothing_stored(strict_client)


def test_missing_outlet_is_rejected(strict_client: TestClient) -> None:
    payload = {k: v for k, v in GOOD.items() if k != "outlet"}
    _assert_rejected(strict_client.post("/articles", json=payload), ["body", "outlet"], "required")


def test_non_json_body_is_rejected(strict_client: TestClient) -> None:
    response = strict_client.post(
        "/articles", content=b"{not json", headers={"content-type": "application/json"}
    )
    _assert_rejected(response, ["body"], "not valid JSON")


def test_json_of_the_wrong_shape_is_rejected(strict_client: TestClient) -> None:
    _assert_rejected(strict_client.post("/articles", json="hello"), ["body"], "article object")


def test_batch_over_the_limit_is_rejected(strict_client: TestClient) -> None:
    batch = [{**GOOD, "url": f"https://example.org/{i}"} for i in range(4)]
    response = strict_client.post("/articles", json=batch)
    _assert_rejected(response, ["body"], "exceeds the limit of 3")
    assert _nothing_stored(strict_client)


def test_one_bad_article_rejects_the_whole_batch(strict_client: TestClient) -> None:
    batch = [GOOD, {**GOOD, "url": "https://example.org/2", "published_at": "soon"}]
    _assert_rejected(
        strict_client.post("/articles", json=batch), ["body", 1, "published_at"], "datetime"
    )
    assert _nothing_stored(strict_client)


def test_empty_batch_is_rejected(strict_client: TestClient) -> None:
    _assert_rejected(strict_client.post("/articles", json=[]), ["body"], "batch is empty")


def test_oversized_request_is_refused_with_413(strict_client: TestClient) -> None:
    response = strict_client.post(
        "/articles",
        content=b"[" + b" " * 60_000 + b"]",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert "exceeds 50000 bytes" in response.json()["detail"]


def test_unknown_ids_are_404_with_detail(strict_client: TestClient) -> None:
    for number in ("999", "0", "100000000000000000000"):
        for path in ("/articles/{}", "/storylines/{}", "/storylines/{}/articles"):
            response = strict_client.get(path.format(number))
            assert response.status_code == 404
            assert f"{number} not found" in response.json()["detail"]


def test_malformed_cursor_is_422(strict_client: TestClient) -> None:
    response = strict_client.get("/storylines", params={"cursor": "%%%"})
    _assert_rejected(response, ["query", "cursor"], "malformed")
