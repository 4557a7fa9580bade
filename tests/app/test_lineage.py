"""Merges keep the oldest id; splits get a new id; both are recorded and visible."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.errors import InvalidInput
from app.state import ServiceState
from tests.conftest import as_payload, shared_rows


def _state(client: TestClient) -> ServiceState:
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    return state


def _post(client: TestClient, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = client.post("/articles", json=[as_payload(r) for r in rows])
    assert response.status_code == 201
    result: list[dict[str, Any]] = response.json()["articles"]
    return result


def _two_storylines(client: TestClient) -> tuple[int, int]:
    basil = shared_rows("data/basil.jsonl")
    stories: dict[str, list[dict[str, Any]]] = {}
    for row in basil:
        stories.setdefault(row["story"], []).append(row)
    a, b = list(stories.values())[:2]
    first = _post(client, a)[0]["storyline_id"]
    second = _post(client, b)[0]["storyline_id"]
    assert first != second
    return first, second


def test_merge_keeps_oldest_id_and_redirects_the_other(client: TestClient) -> None:
    older, newer = _two_storylines(client)
    before = {s: client.get(f"/storylines/{s}").json()["article_count"] for s in (older, newer)}
    state = _state(client)
    with state.db.session() as session:
        kept = state.runtime.merge(session, [newer, older], "test: same story", datetime.now(UTC))
    assert kept == older
    gone = client.get(f"/storylines/{newer}").json()
    assert gone["status"] == "merged" and gone["merged_into"] == older
    assert gone["first_article"] is None
    assert gone["lineage"][0]["kind"] == "merged"
    assert gone["lineage"][0]["reason"] == "test: same story"
    survivor = client.get(f"/storylines/{older}").json()
    assert survivor["article_count"] == before[older] + before[newer]
    assert survivor["lineage"][0]["other_id"] == older
    listed = {s["id"] for s in client.get("/storylines", params={"limit": 500}).json()["items"]}
    assert newer not in listed and older in listed


def test_after_a_merge_new_articles_join_the_survivor(client: TestClient) -> None:
    seed = shared_rows("seeds/idlib_sept2018.jsonl")[0]
    basil = shared_rows("data/basil.jsonl")[0]
    opened = _post(client, [seed])[0]
    absorbed = _post(client, [basil])[0]
    state = _state(client)
    live = len(state.runtime.grouper)
    with state.db.session() as session:
        kept = state.runtime.merge(
            session,
            [opened["storyline_id"], absorbed["storyline_id"]],
            "test",
            datetime.now(UTC),
        )
    assert kept == opened["storyline_id"]
    assert len(state.runtime.grouper) == live - 1
    # A copy of the absorbed storyline's article now lands in the survivor.
    copy = {**basil, "id": "copy-of-basil-0", "url": None, "outlet": "mirror.example"}
    assert _post(client, [copy])[0]["storyline_id"] == kept


def test_split_gives_the_part_a_new_id_pointing_back(client: TestClient) -> None:
    older, newer = _two_storylines(client)
    state = _state(client)
    with state.db.session() as session:
        kept = state.runtime.merge(session, [older, newer], "test", datetime.now(UTC))
    members = client.get(f"/storylines/{kept}/articles", params={"limit": 500}).json()["items"]
    part = [m["id"] for m in members[-2:]]
    with state.db.session() as session:
        child = state.runtime.split(session, kept, part, "test: two stories", datetime.now(UTC))
    assert child not in (older, newer)
    detail = client.get(f"/storylines/{child}").json()
    assert detail["split_from"] == kept
    assert detail["article_count"] == 2
    assert detail["lineage"][-1]["kind"] == "split"
    parent = client.get(f"/storylines/{kept}").json()
    assert parent["article_count"] == len(members) - 2
    for article_id in part:
        assert client.get(f"/articles/{article_id}").json()["storyline_id"] == child
    assert detail["status"] == "active"


def test_split_must_leave_something_behind(client: TestClient) -> None:
    older, _ = _two_storylines(client)
    members = client.get(f"/storylines/{older}/articles").json()["items"]
    state = _state(client)
    with state.db.session() as session, pytest.raises(InvalidInput):
        state.runtime.split(session, older, [m["id"] for m in members], "all", datetime.now(UTC))
