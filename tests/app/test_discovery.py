"""Batch discovery in the service: a chained storyline is split, a twin merged back.

Real model, real database (SQLite and PostgreSQL). The bad states are made by
hand through the lineage API (a merge of two unrelated stories, a split of one
story), then one discovery run must repair them and record why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models import Article
from app.services.discovery import Discovery
from app.state import ServiceState
from tests.conftest import as_payload, shared_rows


def _state(client: TestClient) -> ServiceState:
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    return state


def _discovery(state: ServiceState) -> Discovery:
    # BASIL spans ten years: look at all of it, not the last 30 days.
    return Discovery(state.db, state.runtime, window_days=36_500.0)


def _post_basil(client: TestClient, stories: int) -> dict[str, list[dict[str, Any]]]:
    """Post the first ``stories`` BASIL stories; returns story -> posted article results."""
    rows = shared_rows("data/basil.jsonl")
    chosen = list(dict.fromkeys(r["story"] for r in rows))[:stories]
    by_story: dict[str, list[dict[str, Any]]] = {s: [] for s in chosen}
    picked = [r for r in rows if r["story"] in by_story]
    response = client.post("/articles", json=[as_payload(r) for r in picked])
    assert response.status_code == 201
    for row, result in zip(picked, response.json()["articles"], strict=True):
        by_story[row["story"]].append({**result, "_row": row})
    return by_story


def _members(state: ServiceState, storyline_id: int) -> set[int]:
    with state.db.session() as session:
        return set(session.scalars(select(Article.id).where(Article.storyline_id == storyline_id)))


def _whole_story(by_story: dict[str, list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Stories the single pass kept whole in one storyline of their own."""
    counts: dict[int, int] = {}
    for results in by_story.values():
        for r in results:
            counts[r["storyline_id"]] = counts.get(r["storyline_id"], 0) + 1
    return [
        results
        for results in by_story.values()
        if len({r["storyline_id"] for r in results}) == 1
        and counts[results[0]["storyline_id"]] == len(results)
    ]


def _chain_two_stories(
    client: TestClient, state: ServiceState
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """Post 40 BASIL stories, then merge two unrelated whole ones by hand (a bad join).

    Returns the surviving storyline id and the two stories' posted articles.
    """
    whole = _whole_story(_post_basil(client, stories=40))
    first, second = whole[0], whole[-1]
    older, newer = first[0]["storyline_id"], second[0]["storyline_id"]
    with state.db.session() as session:
        kept = state.runtime.merge(session, [older, newer], "test: a bad join", datetime.now(UTC))
    return kept, first, second


def test_two_stories_chained_into_one_storyline_are_split_apart(client: TestClient) -> None:
    state = _state(client)
    kept, first, second = _chain_two_stories(client, state)
    report = _discovery(state).run()
    assert report.splits >= 1 and report.skipped == 0
    # One of the two stories stays under the kept id, the other leaves whole for a new id.
    remaining = _members(state, kept)
    ids_first, ids_second = {r["id"] for r in first}, {r["id"] for r in second}
    assert remaining in (ids_first, ids_second)
    moved = ids_second if remaining == ids_first else ids_first
    children = [
        e for e in client.get(f"/storylines/{kept}").json()["lineage"] if e["kind"] == "split"
    ]
    assert len(children) == 1 and children[0]["reason"].startswith("discovery: ")
    child = client.get(f"/storylines/{children[0]['other_id']}").json()
    assert child["split_from"] == kept
    assert _members(state, child["id"]) == moved
    # The rebuilt grouper follows: the moved story's next article joins the new storyline.
    moved_rows = first if moved == ids_first else second
    latest = max(moved_rows, key=lambda r: r["_row"]["published_at"] or "")
    copy = {**as_payload(latest["_row"]), "external_id": "copy-of-moved", "url": None}
    copy["outlet"] = "wire.example.com"
    response = client.post("/articles", json=[copy])
    assert response.status_code == 201
    assert response.json()["articles"][0]["storyline_id"] == child["id"]


def test_one_story_split_in_two_is_merged_back_under_the_older_id(client: TestClient) -> None:
    state = _state(client)
    by_story = _post_basil(client, stories=40)
    # The newest story: older ones are dormant, out of the single pass's live window.
    story = max(_whole_story(by_story), key=lambda s: s[0]["_row"]["published_at"] or "")
    storyline = story[0]["storyline_id"]
    # A wire copy of the story's first article, as another outlet would carry it.
    copy = {**as_payload(story[0]["_row"]), "external_id": "copy-1", "url": None}
    copy["outlet"] = "wire.example.com"
    response = client.post("/articles", json=[copy])
    assert response.status_code == 201
    posted = response.json()["articles"][0]
    assert posted["storyline_id"] == storyline
    with state.db.session() as session:
        twin = state.runtime.split(
            session, storyline, [posted["id"], story[0]["id"]], "test", datetime.now(UTC)
        )
    report = _discovery(state).run()
    assert report.merges >= 1
    gone = client.get(f"/storylines/{twin}").json()
    assert gone["status"] == "merged" and gone["merged_into"] == storyline
    assert gone["lineage"][-1]["reason"].startswith("discovery: ")
    assert {r["id"] for r in story} | {posted["id"]} == _members(state, storyline)


def test_a_proposal_overtaken_by_events_is_skipped(client: TestClient) -> None:
    state = _state(client)
    kept = _chain_two_stories(client, state)[0]
    discovery = _discovery(state)
    with state.db.session() as session:
        window, _ = discovery.snapshot(session)
    from clustering.discovery import discover

    proposals = discover(window, discovery.config)
    split = next(s for s in proposals.splits if s.storyline == kept)
    # Meanwhile someone else moves one of the proposed articles elsewhere.
    with state.db.session() as session:
        state.runtime.split(session, kept, [split.parts[0][0]], "test: by hand", datetime.now(UTC))
    with state.db.session() as session:
        skipped = discovery.apply(session, proposals, datetime.now(UTC))[2]
    assert skipped >= 1
    assert split.parts[0][0] not in _members(state, kept)


def test_the_background_thread_repairs_without_being_asked(client: TestClient) -> None:
    import time

    from app.services.periodic import PeriodicJob

    state = _state(client)
    kept = _chain_two_stories(client, state)[0]
    discovery = _discovery(state)
    thread = PeriodicJob("discovery", discovery.run, discovery.due, interval=0.05)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lineage = client.get(f"/storylines/{kept}").json()["lineage"]
            if any(e["kind"] == "split" for e in lineage):
                break
            time.sleep(0.1)
    finally:
        thread.stop()
    assert any(e["kind"] == "split" and e["reason"].startswith("discovery: ") for e in lineage)


def test_on_postgresql_one_process_at_a_time_runs_discovery(client: TestClient) -> None:
    from app.db import exclusive_job

    state = _state(client)
    kept = _chain_two_stories(client, state)[0]
    discovery = _discovery(state)
    # Another host's run, holding the job on its own connection.
    other = state.db.engine.dialect.name == "postgresql"
    with exclusive_job(state.db.engine, "storyline-discovery") as held:
        assert held
        report = discovery.run()
    assert (report.articles == 0) if other else (report.splits >= 1)
    if other:
        assert not any(
            e["kind"] == "split" for e in client.get(f"/storylines/{kept}").json()["lineage"]
        )
        # Released: the next turn goes ahead.
        assert discovery.run().splits >= 1
