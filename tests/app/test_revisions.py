"""Re-posting a known article: unchanged, or a revision that keeps its id and old text."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.db import lock_writes
from app.main import create_app
from app.models import Article
from app.services.evaluate import evaluate_file
from app.services.grouping import GroupingRuntime
from app.state import ServiceState
from clustering import EvidenceGrouper
from embeddings.protocol import Embedder
from tests.conftest import ADMIN_HEADERS, as_payload, shared_rows


def _seeds() -> list[dict[str, Any]]:
    return [as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl")]


def _unrelated() -> dict[str, Any]:
    """A 2018 BASIL article: another story than the seeds."""
    rows = shared_rows("data/basil.jsonl")
    return as_payload(next(r for r in rows if (r["published_at"] or "").startswith("2018-07")))


def _text_of(article: dict[str, Any]) -> dict[str, Any]:
    return {k: article[k] for k in ("title", "body", "published_at")}


def _vector(client: TestClient, article_id: int) -> np.ndarray:
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    with state.db.session() as session:
        row = session.get(Article, article_id)
        assert row is not None and row.embedding is not None
        return np.frombuffer(row.embedding, dtype=np.float32).copy()


def _changes(client: TestClient, since: int) -> list[dict[str, Any]]:
    return list(client.get("/changes", params={"since": since, "limit": 500}).json()["changes"])


def test_reposting_with_new_text_revises_and_the_article_moves_storyline(
    client: TestClient,
) -> None:
    first, second = _seeds()
    other = _unrelated()
    a, b, c = (
        client.post("/articles", json=p).json()["articles"][0] for p in (first, second, other)
    )
    assert a["storyline_id"] == b["storyline_id"] != c["storyline_id"]
    old_vector = _vector(client, b["id"])
    old_title = client.get(f"/articles/{b['id']}").json()["title"]
    seq = client.get("/changes").json()["next_since"]
    # The second seed's page now carries the unrelated story's text.
    revised = {**second, **_text_of(other)}
    response = client.post("/articles", json=revised)
    assert response.status_code == 201
    result = response.json()["articles"][0]
    assert (result["id"], result["outcome"], result["created"]) == (b["id"], "revised", False)
    assert result["status"] == "grouped"
    assert result["storyline_id"] == c["storyline_id"]
    current = client.get(f"/articles/{b['id']}").json()
    assert current["title"] == other["title"] and current["storyline_id"] == c["storyline_id"]
    assert not np.allclose(_vector(client, b["id"]), old_vector)  # embedded again
    history = client.get(f"/articles/{b['id']}/revisions").json()["revisions"]
    assert [h["title"] for h in history] == [old_title]
    assert history[0]["storyline_id"] == a["storyline_id"]
    # The move is in the lineage and in the change feed; the storyline it left shrank.
    left = client.get(f"/storylines/{a['storyline_id']}").json()
    assert left["article_count"] == 1 and left["outlet_count"] == 1
    moves = [e for e in left["lineage"] if e["kind"] == "moved"]
    assert [(m["storyline_id"], m["other_id"]) for m in moves] == [
        (a["storyline_id"], c["storyline_id"])
    ]
    feed = {(e["storyline_id"], e["kind"]): e for e in _changes(client, seq)}
    assert feed[(a["storyline_id"], "revised")]["details"]["moved_to"] == c["storyline_id"]
    assert feed[(c["storyline_id"], "grew")]["article_count"] == 2


def test_a_storyline_whose_only_article_moves_away_is_merged_into_where_it_went(
    client: TestClient,
) -> None:
    first, _ = _seeds()
    other = _unrelated()
    a, c = (client.post("/articles", json=p).json()["articles"][0] for p in (first, other))
    assert a["storyline_id"] != c["storyline_id"]
    moved = {**first, **_text_of(other)}
    result = client.post("/articles", json=moved).json()["articles"][0]
    assert result["storyline_id"] == c["storyline_id"]
    emptied = client.get(f"/storylines/{a['storyline_id']}").json()
    assert emptied["status"] == "merged" and emptied["merged_into"] == c["storyline_id"]
    assert emptied["article_count"] == 0
    assert client.get(f"/storylines/{c['storyline_id']}").json()["article_count"] == 2


def test_reposting_unchanged_changes_nothing(client: TestClient) -> None:
    first, _ = _seeds()
    stored = client.post("/articles", json=first).json()["articles"][0]
    again = client.post("/articles", json=first)
    assert again.status_code == 200
    result = again.json()["articles"][0]
    assert (result["id"], result["outcome"], result["created"]) == (
        stored["id"],
        "unchanged",
        False,
    )
    assert client.get(f"/articles/{stored['id']}/revisions").json()["revisions"] == []


def test_duplicates_in_one_batch_apply_in_order_as_revisions(client: TestClient) -> None:
    base = {
        "outlet": "example.org",
        "external_id": "live-1",
        "url": "https://example.org/live",
        "published_at": "2020-05-04T10:00:00Z",
    }
    batch = [
        {**base, "title": "Storm nears the coast", "body": "Residents prepare."},
        {**base, "title": "Storm makes landfall", "body": "Roofs torn off."},
        # Another feed's id for the same page: the URL names the article.
        {**base, "external_id": "feed-b-9", "title": "Storm passes", "body": "Clean-up."},
        {**base, "title": "Storm passes", "body": "Clean-up."},
    ]
    response = client.post("/articles", json=batch)
    assert response.status_code == 201
    results = response.json()["articles"]
    assert [r["outcome"] for r in results] == ["created", "revised", "revised", "unchanged"]
    assert len({r["id"] for r in results}) == 1
    article_id = results[0]["id"]
    assert client.get(f"/articles/{article_id}").json()["title"] == "Storm passes"
    history = client.get(f"/articles/{article_id}/revisions").json()["revisions"]
    assert [h["title"] for h in history] == ["Storm nears the coast", "Storm makes landfall"]
    assert client.get(f"/articles/{article_id}").json()["status"] == "grouped"


def test_giving_an_article_the_url_of_another_is_a_409_naming_both(client: TestClient) -> None:
    one = {"outlet": "example.org", "title": "Bridge closes", "body": "Repairs start."}
    first = client.post("/articles", json={**one, "external_id": "e1", "url": "https://e.org/1"})
    second = client.post(
        "/articles",
        json={**one, "title": "Dam opens", "external_id": "e2", "url": "https://e.org/2"},
    )
    ids = first.json()["articles"][0]["id"], second.json()["articles"][0]["id"]
    clash = client.post("/articles", json={**one, "external_id": "e1", "url": "https://e.org/2"})
    assert clash.status_code == 409
    detail = clash.json()["detail"]
    assert f"id {ids[1]}" in detail and f"id {ids[0]}" in detail and "https://e.org/2" in detail
    assert client.get(f"/articles/{ids[0]}").json()["url"] == "https://e.org/1"


def test_asynchronous_revisions_are_embedded_and_placed_by_the_worker(
    settings: Settings, embedder: Embedder
) -> None:
    first, second = _seeds()
    other = _unrelated()
    config = settings.model_copy(update={"async_ingest": True})
    with TestClient(create_app(config, embedder), headers=ADMIN_HEADERS) as client:
        posted = client.post("/articles", json=[first, second, other]).json()["articles"]
        ids = [p["id"] for p in posted]
        old_title = _wait_grouped(client, ids)[1]["title"]
        revised = {**second, **_text_of(other)}
        response = client.post("/articles", json=revised)
        assert response.status_code == 202
        result = response.json()["articles"][0]
        assert (result["id"], result["outcome"], result["status"]) == (ids[1], "revised", "pending")
        article = _wait_grouped(client, [ids[1]])[0]
        assert article["title"] == other["title"]
        assert article["storyline_id"] == client.get(f"/articles/{ids[2]}").json()["storyline_id"]
        history = client.get(f"/articles/{ids[1]}/revisions").json()["revisions"]
        assert [h["title"] for h in history] == [old_title]


def _wait_grouped(client: TestClient, ids: list[int], seconds: float = 120) -> list[Any]:
    deadline = time.monotonic() + seconds
    while True:
        articles = [client.get(f"/articles/{i}").json() for i in ids]
        if all(a["status"] == "grouped" for a in articles):
            return articles
        assert time.monotonic() < deadline, articles
        time.sleep(0.1)


def _repeated_url_corpus(tmp_path: Path) -> Path:
    """The two seeds, then one live page posted three times (two new texts, one repeat)."""
    seeds = shared_rows("seeds/idlib_sept2018.jsonl")
    page = {
        "outlet": "broadcaster.example",
        "url": "https://broadcaster.example/live/1",
        "published_at": "2018-09-24",
        "language": "en",
        "story": "flood",
    }
    versions = [
        {**page, "id": "live-a", "title": "River floods the old town", "body": "Water rises."},
        {**page, "id": "live-b", "title": "Flood: old town evacuated", "body": "Water rises."},
        {**page, "id": "live-c", "title": "Flood: old town evacuated", "body": "Water rises."},
    ]
    path = tmp_path / "repeated_url.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*seeds, *versions]), encoding="utf-8")
    return path


def test_eval_replays_a_repeated_url_as_revisions_and_reports_them(
    tmp_path: Path, embedder: Embedder
) -> None:
    report = evaluate_file(_repeated_url_corpus(tmp_path), embedder, Settings())
    assert report.articles == 5
    assert (report.revised, report.unchanged) == (1, 1)
    assert (report.gold_stories, report.pred_stories) == (2, 2)
    assert report.bcubed_f1 == 1.0


@pytest.mark.usefixtures("embedder")
def test_import_of_a_repeated_url_revises_and_says_so(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STORYLINE_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["import", str(_repeated_url_corpus(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "3 stored, 1 already present, 0 rejected, 1 revised" in result.output


def _grouper_state(runtime: GroupingRuntime) -> dict[int, dict[str, Any]]:
    """What the grouper holds per live storyline: members, their vectors and terms."""
    grouper = runtime.grouper
    assert isinstance(grouper, EvidenceGrouper) and grouper.table_ is not None
    table = grouper.table_
    term = {i: t for t, i in grouper.df_.ids_.items()}
    return {
        key: {
            "count": int(table.counts[row]),
            "sum": table.sums[row].copy(),
            "members": [m.vector for m in table.members[row]],
            "lexicon": {
                term[int(i)]: float(w)
                for i, w in zip(
                    table.lexicons[row].term_ids, table.lexicons[row].term_weights, strict=True
                )
            },
        }
        for key, row in table.rows.items()
    }


def _assert_same_grouper(kept: GroupingRuntime, fresh: GroupingRuntime) -> None:
    mine, theirs = _grouper_state(kept), _grouper_state(fresh)
    assert mine.keys() == theirs.keys()
    for key, held in mine.items():
        other = theirs[key]
        assert held["count"] == other["count"], key
        np.testing.assert_allclose(held["sum"], other["sum"], atol=1e-5)
        assert len(held["members"]) == len(other["members"])
        for a, b in zip(held["members"], other["members"], strict=True):
            np.testing.assert_array_equal(a, b)
        assert held["lexicon"].keys() == other["lexicon"].keys(), key
        for t, w in held["lexicon"].items():
            assert w == pytest.approx(other["lexicon"][t], abs=1e-9), (key, t)


def test_a_revision_placed_again_gives_back_its_old_version_on_every_process_without_rebuilds(
    client: TestClient,
) -> None:
    """Placing a revised article takes its old version out of the grouper and places
    the new one: the placing process and another one that catches up both end as a
    grouper rebuilt from the store would be, whether the article moves or stays."""
    first, second = _seeds()
    # Another story, dated within the seeds' month: every storyline stays live.
    hunter = next(r for r in shared_rows("data/basil.jsonl") if "Duncan Hunter" in r["title"])
    other = {**as_payload(hunter), "published_at": "2018-09-18T12:00:00Z"}
    a, b, c = (
        client.post("/articles", json=p).json()["articles"][0] for p in (first, second, other)
    )
    assert a["storyline_id"] == b["storyline_id"] != c["storyline_id"]
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    runtime = state.runtime
    elsewhere = GroupingRuntime(runtime.config, runtime.model)  # another process's
    with state.db.session() as session:
        elsewhere.rebuild(session)
    groupers = (runtime.grouper, elsewhere.grouper)

    moved = client.post("/articles", json={**second, **_text_of(other)}).json()["articles"][0]
    assert (moved["outcome"], moved["storyline_id"]) == ("revised", c["storyline_id"])
    stay = {**first, "title": first["title"] + " (updated)"}
    stayed = client.post("/articles", json=stay).json()["articles"][0]
    assert (stayed["outcome"], stayed["storyline_id"]) == ("revised", a["storyline_id"])
    # The next placement catches up with the lineage the revisions recorded.
    client.post(
        "/articles", json={**other, "external_id": "late", "url": None, "outlet": "x.example"}
    )

    with state.db.session() as session:
        lock_writes(session)
        elsewhere.catch_up(session)
        session.commit()
        fresh = GroupingRuntime(runtime.config, runtime.model)
        fresh.rebuild(session)
    assert (runtime.grouper, elsewhere.grouper) == groupers  # the same objects: no rebuild
    _assert_same_grouper(runtime, fresh)
    _assert_same_grouper(elsewhere, fresh)
    assert b["id"] == moved["id"]
