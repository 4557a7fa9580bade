"""Human decisions win: discovery and the online grouper on another process respect editors.

Real model and databases. Each test first makes the state that discovery would
repair (tests/app/test_discovery.py shows it does), then lets an editor decide
otherwise, and checks the decision stands.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.config import Settings
from app.main import create_app
from app.models import Article, ArticleStatus
from app.services.discovery import Discovery
from app.services.prepare import Limits, parse_payload
from app.state import ServiceState
from embeddings.sentence import SentenceTransformerEmbedder
from tests.conftest import ADMIN_HEADERS, as_payload, shared_rows

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def editor(settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings, embedder), client=("127.0.0.1", 50000), headers=ADMIN_HEADERS
    ) as test_client:
        yield test_client


def _state(client: TestClient) -> ServiceState:
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    return state


def _discovery(state: ServiceState) -> Discovery:
    return Discovery(state.db, state.runtime, window_days=36_500.0)


def _members(state: ServiceState, storyline_id: int) -> set[int]:
    with state.db.session() as session:
        return set(session.scalars(select(Article.id).where(Article.storyline_id == storyline_id)))


def _whole_stories(client: TestClient, stories: int) -> list[list[dict[str, Any]]]:
    """Post the first BASIL stories; those the single pass kept whole in a storyline alone."""
    rows = shared_rows("data/basil.jsonl")
    chosen = list(dict.fromkeys(r["story"] for r in rows))[:stories]
    picked = [r for r in rows if r["story"] in chosen]
    response = client.post("/articles", json=[as_payload(r) for r in picked])
    assert response.status_code == 201
    by_story: dict[str, list[dict[str, Any]]] = {s: [] for s in chosen}
    for row, result in zip(picked, response.json()["articles"], strict=True):
        by_story[row["story"]].append({**result, "_row": row})
    homes: dict[int, int] = {}
    for results in by_story.values():
        for r in results:
            homes[r["storyline_id"]] = homes.get(r["storyline_id"], 0) + 1
    return [
        results
        for results in by_story.values()
        if len({r["storyline_id"] for r in results}) == 1
        and homes[results[0]["storyline_id"]] == len(results)
    ]


def _chain(client: TestClient) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """Two unrelated whole stories merged by the machine (a bad join discovery would undo)."""
    whole = _whole_stories(client, 40)
    first, second = whole[0], whole[-1]
    state = _state(client)
    with state.db.session() as session:
        kept = state.runtime.merge(
            session,
            [first[0]["storyline_id"], second[0]["storyline_id"]],
            "test: a bad join",
            datetime.now(UTC),
        )
    return kept, first, second


def test_discovery_does_not_undo_an_editors_merge(editor: TestClient) -> None:
    whole = _whole_stories(editor, 40)
    first, second = whole[0], whole[-1]
    response = editor.post(
        f"/storylines/{second[0]['storyline_id']}/merge",
        json={"into": first[0]["storyline_id"], "reason": "one story to this newsroom"},
    )
    kept = response.json()["storyline"]["id"]
    state = _state(editor)
    _discovery(state).run()
    assert _members(state, kept) == {r["id"] for r in first + second}


def test_discovery_does_not_merge_back_what_an_editor_split(editor: TestClient) -> None:
    state = _state(editor)
    whole = _whole_stories(editor, 40)
    story = max(whole, key=lambda s: s[0]["_row"]["published_at"] or "")
    storyline = story[0]["storyline_id"]
    copy = {**as_payload(story[0]["_row"]), "external_id": "copy-1", "url": None}
    copy["outlet"] = "wire.example.com"
    posted = editor.post("/articles", json=[copy]).json()["articles"][0]
    assert posted["storyline_id"] == storyline
    response = editor.post(
        f"/storylines/{storyline}/split",
        json={"article_ids": [posted["id"], story[0]["id"]], "reason": "the wire's own angle"},
    )
    twin = response.json()["storyline"]["id"]
    report = _discovery(state).run()
    assert report.skipped >= 1  # it proposed the merge back, and let it be
    assert editor.get(f"/storylines/{twin}").json()["status"] == "active"
    assert _members(state, twin) == {posted["id"], story[0]["id"]}


def test_discovery_leaves_a_locked_storyline_alone_until_unlocked(editor: TestClient) -> None:
    state = _state(editor)
    kept, first, second = _chain(editor)
    everything = {r["id"] for r in first + second}
    assert editor.patch(f"/storylines/{kept}", json={"locked": True}).status_code == 200
    _discovery(state).run()
    assert _members(state, kept) == everything
    assert editor.patch(f"/storylines/{kept}", json={"locked": False}).status_code == 200
    assert _discovery(state).run().splits >= 1
    assert _members(state, kept) < everything


def test_discovery_never_moves_an_article_an_editor_placed(editor: TestClient) -> None:
    state = _state(editor)
    whole = _whole_stories(editor, 40)
    first, second, third = whole[0], whole[-1], whole[len(whole) // 2]
    with state.db.session() as session:
        kept = state.runtime.merge(
            session,
            [first[0]["storyline_id"], second[0]["storyline_id"]],
            "test: a bad join",
            datetime.now(UTC),
        )
    # The editor puts one article of the second story with an unrelated third story.
    placed, home = second[0]["id"], third[0]["storyline_id"]
    moved = editor.post(f"/articles/{placed}/move", json={"storyline_id": home, "reason": "x"})
    assert moved.status_code == 200
    assert _discovery(state).run().splits >= 1
    assert _members(state, home) == {placed} | {r["id"] for r in third}
    assert not {r["id"] for r in second} & _members(state, kept)  # its story-mates left


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "STORYLINE_DATABASE_URL": settings.database_url,
        "STORYLINE_ASYNC_INGEST": "true",
        "STORYLINE_WORKER_POLL_SECONDS": "0.05",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _accept(state: ServiceState, row: dict[str, Any]) -> int:
    now = datetime.now(UTC)
    batch = parse_payload([row], Limits(10, 1_000_000, timedelta(days=1)), now)
    return state.ingestor.accept(batch, now)[0].id


def _grouped(state: ServiceState, article_id: int, deadline: float) -> int:
    while time.monotonic() < deadline:
        with state.db.session() as session:
            row = session.get(Article, article_id)
            assert row is not None
            if row.status == ArticleStatus.grouped and row.storyline_id is not None:
                return row.storyline_id
        time.sleep(0.1)
    raise AssertionError(f"article {article_id} was not grouped in time")


def test_a_worker_on_another_process_follows_an_editors_split(editor: TestClient) -> None:
    state = _state(editor)
    kept, _, second = _chain(editor)
    worker = _worker(state.settings)
    try:
        # The worker is up, its grouper built, once it has grouped something.
        warm = {**as_payload(shared_rows("seeds/idlib_sept2018.jsonl")[0]), "external_id": "w"}
        _grouped(state, _accept(state, warm), time.monotonic() + 180)
        response = editor.post(
            f"/storylines/{kept}/split",
            json={"article_ids": [r["id"] for r in second], "reason": "two stories"},
        )
        child = response.json()["storyline"]["id"]
        latest = max(second, key=lambda r: r["_row"]["published_at"] or "")
        copy = {**as_payload(latest["_row"]), "external_id": "copy", "url": None}
        copy["outlet"] = "wire.example.com"
        assert _grouped(state, _accept(state, copy), time.monotonic() + 60) == child
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
