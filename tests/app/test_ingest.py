"""POST /articles end to end, with the real model and both databases."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import as_payload, shared_rows


def _seeds() -> list[dict[str, Any]]:
    return [as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl")]


def _article(**overrides: Any) -> dict[str, Any]:
    base = {
        "outlet": "example.org",
        "url": "https://example.org/a/1",
        "title": "Council approves new budget for city parks",
        "body": "The city council voted on Tuesday to approve the parks budget.",
        "published_at": "2020-05-04T10:00:00Z",
    }
    return {**base, **overrides}


def _article_count(client: TestClient) -> int:
    page = client.get("/storylines", params={"limit": 500}).json()
    return sum(s["article_count"] for s in page["items"])


def test_seed_articles_nine_days_apart_share_a_storyline(client: TestClient) -> None:
    first, second = _seeds()
    r1 = client.post("/articles", json=first)
    r2 = client.post("/articles", json=second)
    assert r1.status_code == r2.status_code == 201
    a, b = r1.json()["articles"][0], r2.json()["articles"][0]
    assert a["storyline_is_new"] is True
    assert b["storyline_is_new"] is False
    assert b["storyline_id"] == a["storyline_id"]
    detail = client.get(f"/storylines/{a['storyline_id']}").json()
    assert detail["article_count"] == 2
    assert [o["outlet"]["name"] for o in detail["outlets"]] == ["globalresearch.ca", "tass.com"]


def test_unrelated_article_opens_its_own_storyline(client: TestClient) -> None:
    seeds = _seeds()
    basil = shared_rows("data/basil.jsonl")
    # A 2018 political story, dated within the seeds' window, must not join them.
    # (Seeds amid a whole real stream: tests/app/test_quality.py.)
    unrelated = next(r for r in basil if (r["published_at"] or "").startswith("2018"))
    results = [
        client.post("/articles", json=p).json()["articles"][0]
        for p in (seeds[0], seeds[1], as_payload(unrelated))
    ]
    assert results[1]["storyline_id"] == results[0]["storyline_id"]
    assert results[2]["storyline_is_new"] is True
    assert results[2]["storyline_id"] != results[0]["storyline_id"]


def test_batch_is_stored_in_order_with_one_result_each(client: TestClient) -> None:
    batch = [_article(url=f"https://example.org/a/{i}", title=f"Item {i} parks") for i in range(3)]
    response = client.post("/articles", json=batch)
    assert response.status_code == 201
    ids = [r["id"] for r in response.json()["articles"]]
    assert len(set(ids)) == 3
    for i, article_id in enumerate(ids):
        assert client.get(f"/articles/{article_id}").json()["url"] == f"https://example.org/a/{i}"


def test_reposting_same_url_returns_existing_article(client: TestClient) -> None:
    first = client.post("/articles", json=_article())
    again = client.post("/articles", json=_article())
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["articles"][0]["id"] == first.json()["articles"][0]["id"]
    assert again.json()["articles"][0]["created"] is False
    assert again.json()["articles"][0]["outcome"] == "unchanged"
    assert _article_count(client) == 1


def test_reposting_same_external_id_returns_existing_article(client: TestClient) -> None:
    first = client.post("/articles", json=_article(url=None, external_id="feed-42"))
    again = client.post("/articles", json=_article(url=None, external_id="feed-42"))
    assert again.status_code == 200
    assert again.json()["articles"][0]["id"] == first.json()["articles"][0]["id"]


def test_article_without_url_or_id_is_deduplicated_by_outlet_and_text(client: TestClient) -> None:
    first = client.post("/articles", json=_article(url=None))
    again = client.post("/articles", json=_article(url=None))
    other_outlet = client.post("/articles", json=_article(url=None, outlet="other.net"))
    assert again.json()["articles"][0]["id"] == first.json()["articles"][0]["id"]
    assert other_outlet.json()["articles"][0]["created"] is True


def test_duplicate_inside_one_batch_is_stored_once(client: TestClient) -> None:
    response = client.post("/articles", json=[_article(), _article()])
    a, b = response.json()["articles"]
    assert a["id"] == b["id"]
    assert _article_count(client) == 1


def test_identical_requests_racing_store_one_article(client: TestClient) -> None:
    barrier = threading.Barrier(4)
    responses: list[Any] = []

    def post() -> None:
        barrier.wait()
        responses.append(client.post("/articles", json=_article()))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
    assert len({r.json()["articles"][0]["id"] for r in responses}) == 1
    assert _article_count(client) == 1


def test_text_is_cleaned_and_language_detected(client: TestClient) -> None:
    payload = _article(
        title="White Helmets making staged video â€” SANA",
        body="<p>Le conseil municipal a voté <b>mardi</b> le budget des parcs.</p>"
        "<script>track()</script><p>Les travaux commencent en juin.</p>",
    )
    article_id = client.post("/articles", json=payload).json()["articles"][0]["id"]
    stored = client.get(f"/articles/{article_id}").json()
    assert stored["title"] == "White Helmets making staged video — SANA"
    assert stored["body"] == (
        "Le conseil municipal a voté mardi le budget des parcs.\n\nLes travaux commencent en juin."
    )
    assert stored["language"] == "fr"
    assert stored["outlet"]["name"] == "example.org"


def test_outlet_names_are_normalised(client: TestClient) -> None:
    a = client.post("/articles", json=_article(outlet="https://www.Example.org/news"))
    b = client.post("/articles", json=_article(url="https://example.org/b", outlet="EXAMPLE.ORG"))
    ida, idb = a.json()["articles"][0]["id"], b.json()["articles"][0]["id"]
    assert (
        client.get(f"/articles/{ida}").json()["outlet"]
        == client.get(f"/articles/{idb}").json()["outlet"]
    )


def test_article_without_date_is_stored_and_grouped(client: TestClient) -> None:
    first, second = _seeds()
    second["published_at"] = None
    a = client.post("/articles", json=first).json()["articles"][0]
    b = client.post("/articles", json=second).json()["articles"][0]
    assert b["storyline_id"] == a["storyline_id"]
    assert client.get(f"/articles/{b['id']}").json()["published_at"] is None
