"""Undated articles: their ingest time is no publication time.

Real model, real database (SQLite and PostgreSQL). A dated BASIL stream is
posted, then articles without a date; the stream clock, the storylines' state
and discovery's window must read the dates alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.models import Article, Storyline, StorylineStatus
from app.services.discovery import Discovery
from app.state import ServiceState
from tests.conftest import as_payload, shared_rows


def _state(client: TestClient) -> ServiceState:
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    return state


def _dormant(state: ServiceState) -> int:
    with state.db.session() as session:
        query = select(func.count(Storyline.id)).where(Storyline.status == StorylineStatus.dormant)
        return session.scalar(query) or 0


def test_undated_articles_neither_move_the_clock_nor_hide_the_dated_window(
    client: TestClient,
) -> None:
    rows = shared_rows("data/basil.jsonl")
    stories = list(dict.fromkeys(r["story"] for r in rows))
    dated = [r for r in rows if r["story"] in stories[:40]]
    undated = [{**r, "published_at": None} for r in rows if r["story"] == stories[40]]
    assert client.post("/articles", json=[as_payload(r) for r in dated]).status_code == 201
    state = _state(client)
    clock, dormant = state.runtime.stream_time, _dormant(state)
    latest = max(datetime.fromisoformat(r["published_at"]) for r in dated).replace(tzinfo=UTC)
    assert clock == latest

    posted = client.post("/articles", json=[as_payload(r) for r in undated])
    assert posted.status_code == 201
    undated_ids = {a["id"] for a in posted.json()["articles"]}
    # Posted today, the articles would have made "now" the stream time, sending
    # every storyline of the dated stream dormant and out of the grouper's reach.
    assert state.runtime.stream_time == clock
    # (None went dormant; an undated article may bring a dormant one back.)
    assert _dormant(state) <= dormant
    with state.db.session() as session:
        state.runtime.rebuild(session)
        discovery = Discovery(state.db, state.runtime)
        window = {a.key for a in discovery.snapshot(session)[0]}
        recent = set(
            session.scalars(
                select(Article.id).where(Article.published_at >= latest - timedelta(days=30))
            )
        )
    assert recent and undated_ids
    # The window holds the dated stream's last 30 days and the undated arrivals.
    assert recent | undated_ids == window


def test_an_undated_report_of_a_dormant_story_joins_its_storyline(client: TestClient) -> None:
    rows = shared_rows("data/basil.jsonl")
    stories = list(dict.fromkeys(r["story"] for r in rows))
    first = [r for r in rows if r["story"] == stories[0]]
    dated = [r for r in rows if r["story"] in stories[:40] and r is not first[-1]]
    assert client.post("/articles", json=[as_payload(r) for r in dated]).status_code == 201
    state = _state(client)
    with state.db.session() as session:
        home = session.scalar(
            select(Article.storyline_id).where(Article.external_id == first[0]["id"])
        )
        assert session.get(Storyline, home).status == StorylineStatus.dormant  # type: ignore[union-attr]
    late = {**first[-1], "published_at": None}
    posted = client.post("/articles", json=[as_payload(late)])
    assert posted.status_code == 201
    # Its date unknown, the report may tell a story of any age: the dormant
    # storyline is within reach and comes back to life.
    with state.db.session() as session:
        placed = session.scalar(
            select(Article.storyline_id).where(Article.external_id == late["id"])
        )
        assert placed == home
        assert session.get(Storyline, home).status == StorylineStatus.active  # type: ignore[union-attr]
