"""Hostile input, on both stores: a 4xx naming the field and reason, never a 5xx,
and everything that was accepted reads back."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.deps import get_session
from app.config import Settings
from app.main import create_app
from embeddings.protocol import Embedder
from tests.conftest import ADMIN_HEADERS

GOOD: dict[str, Any] = {
    "outlet": "example.org",
    "title": "Council approves new budget for the harbour",
    "body": "The council voted on Tuesday to fund the harbour works.",
    "published_at": "2020-05-04T10:00:00Z",
}
JSON = {"content-type": "application/json"}


def _post_raw(client: TestClient, raw: str | bytes) -> Any:
    return client.post("/articles", content=raw, headers=JSON)


def _rejected(response: Any, loc: list[Any], words: str, status: int = 422) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    assert any(e["loc"] == loc and words in e["msg"] for e in detail), detail


def _nothing_stored(client: TestClient) -> None:
    counts = client.get("/health").json()["articles"]
    assert sum(counts.values()) == 0, counts


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_json_nested_5000_deep_is_refused_before_parsing(client: TestClient) -> None:
    _rejected(_post_raw(client, "[" * 5000 + "]" * 5000), ["body"], "nests 5000 levels")
    deep = "[" * 6000 + "1" + "]" * 6000
    raw = json.dumps({**GOOD, "metadata": {"x": "@"}}).replace('"@"', deep)
    _rejected(_post_raw(client, raw), ["body"], "over the limit of 32")
    _nothing_stored(client)


def test_brackets_inside_strings_do_not_count_as_nesting(client: TestClient) -> None:
    article = {**GOOD, "body": GOOD["body"] + " [[[{{{" * 200, "metadata": {"note": "]]}" * 50}}
    response = client.post("/articles", json=article)
    assert response.status_code == 201, response.text


def test_5000_digit_integer_in_metadata_names_the_key(client: TestClient) -> None:
    raw = json.dumps({**GOOD, "metadata": {"n": 0}}).replace('"n": 0', '"n": ' + "9" * 5000)
    _rejected(_post_raw(client, raw), ["body", "metadata", "n"], "5000 digits is out of range")
    raw = json.dumps({**GOOD, "metadata": {"n": [2**64]}})
    _rejected(_post_raw(client, raw), ["body", "metadata", "n", 0], "out of range")
    _nothing_stored(client)


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_published_at_at_the_edges_of_the_calendar_is_422(client: TestClient, when: str) -> None:
    response = client.post("/articles", json={**GOOD, "published_at": when})
    _rejected(response, ["body", "published_at"], "between the years 1800 and 2200")
    _nothing_stored(client)


def test_active_since_at_the_edge_of_the_calendar_is_422(client: TestClient) -> None:
    response = client.get("/storylines", params={"active_since": "9999-12-31T23:59:59-23:59"})
    _rejected(response, ["query", "active_since"], "between the years")


def test_min_outlets_beyond_the_stored_range_is_422(client: TestClient) -> None:
    response = client.get("/storylines", params={"min_outlets": "99707937011598393344"})
    _rejected(response, ["query", "min_outlets"], "less than or equal to 2147483647")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/storylines", {"sort": "size", "cursor": _cursor([1, 99999999999999999999999])}),
        ("/storylines", {"sort": "size", "cursor": _cursor([[1, 2], 1])}),
        ("/storylines", {"sort": "size", "cursor": _cursor(["abc", 1])}),
        ("/storylines", {"sort": "size", "cursor": _cursor([99999999999999999999999, 1])}),
        ("/storylines", {"cursor": _cursor([{"t": "9999-12-31T23:59:59-23:59"}, 1])}),
        ("/storylines", {"cursor": _cursor([5, 1])}),
        ("/storylines", {"cursor": _cursor("[" * 3000)}),
        ("/storylines", {"cursor": base64.urlsafe_b64encode(b"[" * 2000).decode()}),
        ("/storylines", {"cursor": _cursor({"a": 1})}),
        ("/outlets", {"cursor": _cursor([1.5, 1])}),
        ("/outlets", {"sort": "name", "cursor": _cursor([3, 1])}),
        ("/outlets", {"sort": "name", "cursor": _cursor(["a", -1])}),
    ],
)
def test_crafted_cursor_is_422(client: TestClient, path: str, params: dict[str, str]) -> None:
    _rejected(client.get(path, params=params), ["query", "cursor"], "cursor is malformed")


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("/storylines", {"outlet": "exa\x00mple.org"}, ["query", "outlet"]),
        ("/search", {"q": "harbour\x00"}, ["query", "q"]),
        ("/outlets", {"sort": "name", "cursor": _cursor(["a\x00", 1])}, ["query", "cursor"]),
    ],
)
def test_nul_in_a_query_is_422_on_both_stores(
    client: TestClient, path: str, params: dict[str, str], loc: list[str]
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


def test_lone_surrogate_in_a_name_cursor_is_422(client: TestClient) -> None:
    cursor = base64.urlsafe_b64encode(b'["\\ud800", 1]').decode()
    response = client.get("/outlets", params={"sort": "name", "cursor": cursor})
    _rejected(response, ["query", "cursor"], "cursor is malformed")


def test_crafted_cursor_of_an_article_page_is_422(client: TestClient) -> None:
    storyline = client.post("/articles", json=GOOD).json()["articles"][0]["storyline_id"]
    for bad in ([1, 2], [{"t": "0001-01-01T00:00:00+23:59"}, 1], [{"t": 5}, 1]):
        response = client.get(f"/storylines/{storyline}/articles", params={"cursor": _cursor(bad)})
        _rejected(response, ["query", "cursor"], "cursor is malformed")


@pytest.mark.parametrize("since", ["2147483648", "9223372036854775808", "1" + "0" * 25])
def test_change_feed_since_beyond_the_stored_range_is_422(client: TestClient, since: str) -> None:
    _rejected(client.get("/changes", params={"since": since}), ["query", "since"], "less than")
    stream = client.get("/changes/stream", params={"since": since})
    _rejected(stream, ["query", "since"], "less than")


def test_change_feed_since_at_the_stored_limit_answers_empty(client: TestClient) -> None:
    response = client.get("/changes", params={"since": str(2**31 - 1)})
    assert response.status_code == 200, response.text
    assert response.json() == {"changes": [], "next_since": 2**31 - 1}


@pytest.mark.parametrize("event_id", [b"1" + b"0" * 25, b"2147483648", b"\xb2", b"-1", b"12abc"])
def test_bad_last_event_id_is_422_before_the_stream_starts(
    client: TestClient, event_id: bytes
) -> None:
    response = client.get("/changes/stream", headers={"Last-Event-ID": event_id})  # type: ignore[dict-item]
    _rejected(response, ["header", "last-event-id"], "non-negative integer")


def test_good_last_event_id_resumes_the_stream(client: TestClient) -> None:
    client.post("/articles", json=GOOD)
    with client.stream(
        "GET", "/changes/stream", params={"max_events": 1}, headers={"Last-Event-ID": "0"}
    ) as stream:
        text = "".join(stream.iter_text())
    assert "id: 1\nevent: change" in text


@pytest.mark.parametrize("field", ["outlet", "url", "external_id"])
def test_nul_byte_in_an_identity_field_is_422(client: TestClient, field: str) -> None:
    value = {"outlet": "exa\x00mple.org", "url": "https://example.org/\x00", "external_id": "a\x00"}
    response = client.post("/articles", json={**GOOD, field: value[field]})
    _rejected(response, ["body", field], "NUL character")
    _nothing_stored(client)


@pytest.mark.parametrize(
    ("metadata", "loc", "words"),
    [
        ('{"x": NaN}', ["body", "metadata", "x"], "NaN and Infinity"),
        ('{"x": [1, -Infinity]}', ["body", "metadata", "x", 1], "NaN and Infinity"),
        ('{"x": 1e999}', ["body", "metadata", "x"], "NaN and Infinity"),
        ('{"x": "\\ud800"}', ["body", "metadata", "x"], "lone surrogate"),
        ('{"\\udc80k": 1}', ["body", "metadata", "\\udc80k"], "key contains a lone surrogate"),
        ('{"x": {"y": "a\\u0000b"}}', ["body", "metadata", "x", "y"], "NUL character"),
    ],
)
def test_metadata_that_a_store_cannot_keep_is_422(
    client: TestClient, metadata: str, loc: list[Any], words: str
) -> None:
    raw = json.dumps({**GOOD, "metadata": {}}).replace("{}", metadata)
    _rejected(_post_raw(client, raw), loc, words)
    _nothing_stored(client)


def test_lone_surrogate_in_an_identity_field_and_a_batch_is_named(client: TestClient) -> None:
    batch = json.dumps([GOOD, {**GOOD, "external_id": "@"}]).replace('"@"', '"id\\udfff"')
    _rejected(_post_raw(client, batch), ["body", 1, "external_id"], "lone surrogate")
    raw = json.dumps({**GOOD, "surprise": 1}).replace('"surprise"', '"\\ud800"')
    _rejected(_post_raw(client, raw), ["body", "\\ud800"], "key contains a lone surrogate")
    _nothing_stored(client)


def test_title_over_the_limit_is_422(client: TestClient) -> None:
    response = client.post("/articles", json={**GOOD, "title": "Word " * 201})
    _rejected(response, ["body", "title"], "1005 characters, over the limit of 1000")
    _nothing_stored(client)


def test_metadata_over_the_byte_limit_is_422(client: TestClient) -> None:
    response = client.post("/articles", json={**GOOD, "metadata": {"notes": "é" * 9000}})
    _rejected(response, ["body", "metadata"], "over the limit of 16384")
    _nothing_stored(client)


def test_outlet_and_url_beyond_what_the_columns_hold_are_422(client: TestClient) -> None:
    # "İ" lower-cases to two characters: 200 of them normalise to 400.
    _rejected(
        client.post("/articles", json={**GOOD, "outlet": "İ" * 200}), ["body", "outlet"], "255"
    )
    url = "https://example.org/" + "é" * 1100
    _rejected(client.post("/articles", json={**GOOD, "url": url}), ["body", "url"], "2048 bytes")
    language = "en-" + "x" * 20
    _rejected(
        client.post("/articles", json={**GOOD, "language": language}), ["body", "language"], "16"
    )
    _nothing_stored(client)


@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", None])
def test_writes_accept_json_only(client: TestClient, media: str | None) -> None:
    headers = {"content-type": media} if media else {}
    response = client.post("/articles", content=json.dumps(GOOD).encode(), headers=headers)
    assert response.status_code == 415, response.text
    assert "send application/json" in response.json()["detail"]
    _nothing_stored(client)


def test_json_with_a_charset_is_accepted(client: TestClient) -> None:
    headers = {"content-type": "application/json; charset=utf-8"}
    response = client.post("/articles", content=json.dumps(GOOD).encode(), headers=headers)
    assert response.status_code == 201, response.text


def test_odd_but_valid_values_are_stored_and_read_back(client: TestClient) -> None:
    """What is accepted reads back, on both stores: cleaned text, edge numbers, unicode."""
    metadata = {
        "big": 2**63 - 1,
        "small": -(2**63),
        "pi": 3.25,
        "nested": [[[[{"deep": True}]]]],
        "text": "naïve — 東京 🙂",
        "empty": {},
    }
    raw = json.dumps(
        [
            {**GOOD, "title": "Budget\x00 vote @", "metadata": metadata},
            {
                **GOOD,
                "outlet": "other.example",
                "title": "Harbour works start",
                "body": "Crews began work.",
                "published_at": "1800-01-01T00:00:00+23:59",
            },
        ]
    ).replace("@", "\\ud800")
    response = _post_raw(client, raw)
    assert response.status_code == 201, response.text
    first, second = (a["id"] for a in response.json()["articles"])
    stored = client.get(f"/articles/{first}")
    assert stored.status_code == 200, stored.text
    assert stored.json()["title"] == "Budget vote �"
    assert stored.json()["metadata"] == metadata
    dated = client.get(f"/articles/{second}").json()
    assert dated["published_at"].startswith("1799-12-31T00:01:00")
    listing = client.get("/storylines", params={"sort": "size", "limit": 1})
    assert listing.status_code == 200
    cursor = listing.json()["next_cursor"]
    assert client.get("/storylines", params={"sort": "size", "cursor": cursor}).status_code == 200


def test_unexpected_error_answers_json_with_a_request_id(
    settings: Settings, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, embedder)

    def broken() -> Iterator[None]:
        raise RuntimeError("the disk is on fire")
        yield

    app.dependency_overrides[get_session] = broken
    with TestClient(app, raise_server_exceptions=False, headers=ADMIN_HEADERS) as client:
        response = client.get("/articles/1")
    assert response.status_code == 500
    body = response.json()
    assert body["detail"].startswith("internal error")
    assert len(body["request_id"]) == 32
    assert response.headers["x-request-id"] == body["request_id"]
    logged = [r for r in caplog.records if body["request_id"] in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "the disk is on fire" in str(logged[0].exc_info[1])
