"""As-of reads: every view answers as it would have at an instant before or after each edit.

Real model and databases. The history is made through the API (posts, then an
editor's move, split and merge), with the clock read between the steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.services import asof
from embeddings.sentence import SentenceTransformerEmbedder
from tests.conftest import ADMIN_HEADERS, as_payload, shared_rows


@pytest.fixture
def editor(settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings, embedder), client=("127.0.0.1", 50000), headers=ADMIN_HEADERS
    ) as test_client:
        yield test_client


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _whole(client: TestClient, count: int) -> list[tuple[int, list[int]]]:
    """Post the first ``count`` BASIL stories; (storyline, article ids) of those kept whole."""
    rows = shared_rows("data/basil.jsonl")
    chosen = list(dict.fromkeys(r["story"] for r in rows))[:count]
    picked = [r for r in rows if r["story"] in chosen]
    results = client.post("/articles", json=[as_payload(r) for r in picked]).json()["articles"]
    by_story: dict[str, list[dict[str, Any]]] = {s: [] for s in chosen}
    for row, result in zip(picked, results, strict=True):
        by_story[row["story"]].append(result)
    homes = [r["storyline_id"] for rs in by_story.values() for r in rs]
    return [
        (rs[0]["storyline_id"], [r["id"] for r in rs])
        for rs in by_story.values()
        if len({r["storyline_id"] for r in rs}) == 1
        and homes.count(rs[0]["storyline_id"]) == len(rs)
    ]


def _ids(client: TestClient, storyline: int, at: str) -> set[int]:
    response = client.get(f"/storylines/{storyline}/articles", params={"as_of": at, "limit": 500})
    assert response.status_code == 200, response.text
    return {a["id"] for a in response.json()["items"]}


def _detail(client: TestClient, storyline: int, at: str) -> dict[str, Any]:
    response = client.get(f"/storylines/{storyline}", params={"as_of": at})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_views_as_of_before_and_after_a_move_a_split_and_a_merge(editor: TestClient) -> None:
    before_anything = _now()
    seeds = editor.post(
        "/articles", json=[as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl")]
    ).json()["articles"]
    seeded = _now()
    (a, first), (b, second) = _whole(editor, 4)[:2]
    posted = _now()
    stray = first[-1]
    editor.post(f"/articles/{stray}/move", json={"storyline_id": b, "reason": "stray"})
    moved = _now()
    split = editor.post(
        f"/storylines/{b}/split", json={"article_ids": second, "reason": "not this story"}
    ).json()["storyline"]["id"]
    after_split = _now()
    merge = editor.post(f"/storylines/{split}/merge", json={"into": a, "reason": "same"})
    survivor = merge.json()["storyline"]["id"]
    absorbed = split if survivor == a else a
    merged = _now()

    # Before anything: the storylines did not exist.
    assert editor.get(f"/storylines/{a}", params={"as_of": before_anything}).status_code == 404
    # After posting, before the move.
    assert _ids(editor, a, posted) == set(first)
    assert _ids(editor, b, posted) == set(second)
    # After the move.
    assert _ids(editor, a, moved) == set(first) - {stray}
    assert _ids(editor, b, moved) == set(second) | {stray}
    assert _detail(editor, b, moved)["article_count"] == len(second) + 1
    # After the split: the new storyline exists, and did not before.
    assert _ids(editor, split, after_split) == set(second)
    assert _ids(editor, b, after_split) == {stray}
    assert editor.get(f"/storylines/{split}", params={"as_of": moved}).status_code == 404
    # Before the merge the absorbed storyline was active with its articles; after, merged.
    was = _detail(editor, absorbed, after_split)
    assert was["status"] == "active" and was["article_count"] > 0
    now = _detail(editor, absorbed, merged)
    assert now["status"] == "merged" and now["merged_into"] == survivor
    assert now["article_count"] == 0
    assert _ids(editor, survivor, merged) == (set(first) - {stray}) | set(second)
    # Timeline and spread count the members of their instant.
    for at, storyline, expected in ((posted, a, len(first)), (moved, a, len(first) - 1)):
        timeline = editor.get(f"/storylines/{storyline}/timeline", params={"as_of": at}).json()
        assert timeline["article_count"] == expected
        spread = editor.get(f"/storylines/{storyline}/spread", params={"as_of": at}).json()
        assert spread["article_count"] == expected
    # The list as of each instant: the absorbed storyline is listed before the merge only.
    listed = {
        at: {s["id"] for s in editor.get("/storylines", params={"as_of": at}).json()["items"]}
        for at in (after_split, merged)
    }
    assert absorbed in listed[after_split] and absorbed not in listed[merged]
    assert editor.get("/storylines", params={"as_of": before_anything}).json()["items"] == []
    # The seeds' storyline, untouched by the edits, reads the same at every instant after them.
    seed_line = seeds[0]["storyline_id"]
    assert {s["storyline_id"] for s in seeds} == {seed_line}
    assert seed_line not in {a, b, split}
    for at in (seeded, posted, moved, after_split, merged):
        assert _ids(editor, seed_line, at) == {s["id"] for s in seeds}
        lanes = editor.get(f"/storylines/{seed_line}/spread", params={"as_of": at}).json()
        order = [
            (o["outlet"]["name"], o["first_publisher"], o["lag"]["readable"])
            for o in lanes["outlets"]
        ]
        assert order == [("globalresearch.ca", True, "0s"), ("tass.com", False, "9d")]
    assert editor.get(f"/storylines/{seed_line}", params={"as_of": seeded}).status_code == 200
    assert (
        editor.get(f"/storylines/{seed_line}", params={"as_of": before_anything}).status_code == 404
    )


def _titles(client: TestClient, storyline: int, at: str) -> dict[int, str]:
    response = client.get(f"/storylines/{storyline}/articles", params={"as_of": at, "limit": 500})
    assert response.status_code == 200, response.text
    return {a["id"]: a["title"] for a in response.json()["items"]}


def test_views_as_of_before_and_after_a_revision_that_moves_an_article(
    editor: TestClient,
) -> None:
    """A researcher asking about the instant before a revision sees the article where
    it was then, as it read then; after it, where its new text took it."""
    (a, first), (b, second), *_ = [w for w in _whole(editor, 4) if len(w[1]) >= 3]
    stray = first[-1]
    old = editor.get(f"/articles/{stray}").json()
    donor = editor.get(f"/articles/{second[0]}").json()
    before = _now()
    repost = {
        "external_id": old["external_id"],
        "url": old["url"],
        "outlet": old["outlet"]["name"],
        "title": donor["title"],
        "body": donor["body"],
        "published_at": donor["published_at"],
    }
    result = editor.post("/articles", json=[repost]).json()["articles"][0]
    assert (result["id"], result["outcome"], result["storyline_id"]) == (stray, "revised", b)
    after = _now()

    # Before the revision: in its old storyline, under its old headline.
    assert _titles(editor, a, before)[stray] == old["title"]
    assert stray not in _ids(editor, b, before)
    assert _detail(editor, a, before)["article_count"] == len(first)
    assert _detail(editor, b, before)["article_count"] == len(second)
    # After it: in the storyline its new text joined, under the new headline.
    assert stray not in _ids(editor, a, after)
    assert _titles(editor, b, after)[stray] == donor["title"]
    assert _detail(editor, a, after)["article_count"] == len(first) - 1
    assert _detail(editor, b, after)["article_count"] == len(second) + 1
    for at, storyline, expected in ((before, a, len(first)), (after, a, len(first) - 1)):
        timeline = editor.get(f"/storylines/{storyline}/timeline", params={"as_of": at}).json()
        assert timeline["article_count"] == expected
        spread = editor.get(f"/storylines/{storyline}/spread", params={"as_of": at}).json()
        assert spread["article_count"] == expected
    listed = {
        s["id"]: s["article_count"]
        for s in editor.get("/storylines", params={"as_of": before}).json()["items"]
    }
    assert (listed[a], listed[b]) == (len(first), len(second))


def _pages(client: TestClient, params: dict[str, Any]) -> list[list[tuple[int, int, str]]]:
    pages, cursor = [], None
    while True:
        response = client.get(
            "/storylines", params={**params, "cursor": cursor} if cursor else params
        )
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([(s["id"], s["article_count"], s["last_published_at"]) for s in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_the_default_list_as_of_an_instant_pages_as_the_filtered_one_does(
    editor: TestClient,
) -> None:
    """The default list walks articles newest first; the filtered one summarises every
    storyline. At each instant of a history with a move and a merge they agree, page
    by page (min_outlets=1 filters nothing out: a listed storyline has an article)."""
    whole = _whole(editor, 6)
    (a, first), (b, _), (c, _) = whole[:3]
    instants = [_now()]
    editor.post(f"/articles/{first[-1]}/move", json={"storyline_id": c, "reason": "stray"})
    instants.append(_now())
    editor.post(f"/storylines/{b}/merge", json={"into": a, "reason": "same story"})
    instants.append(_now())
    for at in instants:
        default = _pages(editor, {"as_of": at, "limit": 2})
        filtered = _pages(editor, {"as_of": at, "limit": 2, "min_outlets": 1})
        assert default == filtered
        assert sum(len(p) for p in default) >= 3
        one = editor.get("/storylines", params={"as_of": at}).json()
        many = editor.get("/storylines", params={"as_of": at, "min_outlets": 1}).json()
        assert (one["total"], one["latest_seq"]) == (many["total"], many["latest_seq"])


def test_filtered_lists_as_of_now_page_as_the_live_lists_do(editor: TestClient) -> None:
    """The filtered as-of lists rank by aggregates over the membership history and
    narrow by the outlet's or the window's articles; the live lists read the current
    rows. Just after a move and a merge, both must give the same pages."""
    whole = _whole(editor, 6)
    (a, first), (b, _), (c, _) = whole[:3]
    editor.post(f"/articles/{first[-1]}/move", json={"storyline_id": c, "reason": "stray"})
    editor.post(f"/storylines/{b}/merge", json={"into": a, "reason": "same story"})
    now = _now()
    some_outlet = editor.get(f"/storylines/{a}").json()["outlets"][0]["outlet"]["name"]
    middle = sorted(s["last_published_at"] for s in editor.get("/storylines").json()["items"])
    filters: list[dict[str, Any]] = [
        {"sort": "size"},
        {"sort": "outlets"},
        {"outlet": some_outlet},
        {"active_since": middle[len(middle) // 2]},
        {"active_until": middle[len(middle) // 2], "sort": "size"},
        {"status": "merged"},
        {"min_outlets": 2, "sort": "outlets"},
    ]
    for where in filters:
        live = _pages(editor, {**where, "limit": 2})
        then = _pages(editor, {**where, "limit": 2, "as_of": now})
        assert then == live, where
        assert sum(len(p) for p in live) >= 1, where


def test_articles_posted_later_are_absent_as_of_earlier(editor: TestClient) -> None:
    *_, (a, first) = _whole(editor, 2)  # the latest story: still live for the grouper
    outlets = editor.get(f"/storylines/{a}").json()["outlet_count"]
    earlier = _now()
    original = editor.get(f"/articles/{first[0]}").json()
    copy = {
        "outlet": "late.example",
        "title": original["title"],
        "body": original["body"],
        "published_at": original["published_at"],
    }
    late = editor.post("/articles", json=[copy]).json()["articles"][0]
    assert late["storyline_id"] == a
    assert _ids(editor, a, earlier) == set(first)
    assert _detail(editor, a, earlier)["outlet_count"] == outlets
    assert late["id"] in _ids(editor, a, _now())
    assert _detail(editor, a, _now())["outlet_count"] == outlets + 1


def test_as_of_answers_carry_their_own_etag_and_a_settled_past_is_immutable(
    editor: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    (a, _), *_ = _whole(editor, 2)
    at = _now()
    recent = editor.get(f"/storylines/{a}", params={"as_of": at})
    live = editor.get(f"/storylines/{a}")
    assert recent.headers["ETag"] != live.headers["ETag"]
    assert recent.headers["Cache-Control"] == "no-cache"  # a moment ago may still change
    monkeypatch.setattr(asof, "SETTLE", timedelta(0))
    settled = editor.get(f"/storylines/{a}/timeline", params={"as_of": at})
    assert "immutable" in settled.headers["Cache-Control"]
    again = editor.get(
        f"/storylines/{a}/timeline",
        params={"as_of": at},
        headers={"If-None-Match": settled.headers["ETag"]},
    )
    assert again.status_code == 304 and "immutable" in again.headers["Cache-Control"]


def test_an_instant_in_the_future_is_refused(editor: TestClient) -> None:
    (a, _), *_ = _whole(editor, 2)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = editor.get(f"/storylines/{a}", params={"as_of": later})
    assert response.status_code == 422
    assert "future" in str(response.json()["detail"])
