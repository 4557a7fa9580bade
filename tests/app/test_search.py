"""GET /search: by meaning and by words, with reasons, current after changes."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models import Article
from app.services import fulltext
from app.services.fulltext import _TOKEN
from app.state import ServiceState
from tests.conftest import as_payload, shared_rows


def _load(client: TestClient) -> int:
    seeds = [as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl")]
    basil = [as_payload(r) for r in shared_rows("data/basil.jsonl")[:12]]
    results = client.post("/articles", json=seeds + basil).json()["articles"]
    sid: int = results[0]["storyline_id"]
    return sid


def test_meaning_finds_the_story_first(client: TestClient) -> None:
    sid = _load(client)
    found = client.get("/search", params={"q": "fake poison gas video in Syria"}).json()
    top = found["hits"][0]
    assert top["storyline"]["id"] == sid
    assert any(r.startswith("meaning: cosine") for r in top["reasons"])


def test_words_match_labels_and_headlines(client: TestClient) -> None:
    sid = _load(client)
    hits = client.get("/search", params={"q": "White Helmets"}).json()["hits"]
    match = next(h for h in hits if h["storyline"]["id"] == sid)
    assert any("headline" in r and "helmets" in r for r in match["reasons"])


def test_merged_storylines_leave_the_results(client: TestClient) -> None:
    sid = _load(client)
    client.get("/search", params={"q": "Idlib"})  # builds the index
    other = client.post("/articles", json=as_payload(shared_rows("data/basil.jsonl")[50]))
    other_id = other.json()["articles"][0]["storyline_id"]
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    with state.db.session() as session:
        state.runtime.merge(session, [sid, other_id], "test", datetime.now(UTC))
    hits = client.get("/search", params={"q": "Idlib", "limit": 100}).json()["hits"]
    assert other_id not in {h["storyline"]["id"] for h in hits}
    assert sid in {h["storyline"]["id"] for h in hits}


def test_empty_query_is_422(client: TestClient) -> None:
    response = client.get("/search", params={"q": ""})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "q"]


def _headline_hits(client: TestClient, q: str) -> dict[int, list[str]]:
    hits = client.get("/search", params={"q": q, "limit": 100}).json()["hits"]
    return {
        h["storyline"]["id"]: [r for r in h["reasons"] if "headline" in r]
        for h in hits
        if any("headline" in r for r in h["reasons"])
    }


def test_a_revised_headline_is_found_by_its_new_words_not_its_old(client: TestClient) -> None:
    sid = _load(client)
    seed = as_payload(shared_rows("seeds/idlib_sept2018.jsonl")[0])
    assert sid in _headline_hits(client, "Idlib")
    revised = {**seed, "title": "Zanzibarian ferry timetable"}
    assert client.post("/articles", json=revised).json()["articles"][0]["outcome"] == "revised"
    found = _headline_hits(client, "zanzibarian ferry")
    assert len(found) == 1
    assert any("zanzibarian, ferry" in r for r in next(iter(found.values())))
    # The old headline's words no longer lead to the revised article.
    article_id = client.post("/articles", json=revised).json()["articles"][0]["id"]
    old_word = seed["title"].split()[0]
    assert not any(
        f"article {article_id}:" in r
        for rs in _headline_hits(client, old_word).values()
        for r in rs
    )


def test_words_match_where_headline_words_begin(
    client: TestClient,
) -> None:
    sid = _load(client)
    # "helmet" finds "Helmets"; a word inside another word ("elmet") does not.
    assert sid in _headline_hits(client, "helmet")
    assert sid not in _headline_hits(client, "elmets")


def test_headline_words_come_newest_first_and_at_most_limit(client: TestClient) -> None:
    """Word matches in headlines are the brute-force answer: newest first, at most limit."""
    _load(client)
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    with state.db.session() as session:
        rows = session.execute(select(Article.id, Article.title).order_by(Article.id.desc())).all()
    words = ["the", "helmets", "video", "beck", "a", "obama", "syria"]

    def expected(word: str, limit: int) -> list[int]:
        tokens = [(aid, _TOKEN.findall(title.lower())) for aid, title in rows]
        return [aid for aid, ts in tokens if any(t.startswith(word) for t in ts)][:limit]

    for word in words:
        for limit in (2, 5, 50):
            with state.db.session() as session:
                found = [aid for _, aid, _ in fulltext.headlines(session, [word], limit)]
            assert found == expected(word, limit), (word, limit)
    assert any(len(expected(w, 50)) > 5 for w in words)
