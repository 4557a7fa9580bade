"""Bounded work per article: the largest, most hostile article the API accepts is
stored in bounded time, and an article or storyline whose labelling fails is
marked and skipped, never retried on every pass, never blocking the others.

Real model, real database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models import Storyline
from app.state import ServiceState
from app.text import clean_text
from clustering import labels as clustering_labels
from tests.conftest import as_payload, shared_rows

# An order of magnitude above what the article costs (about 1-2 s with the model on
# two shared cores); the quadratic steps this guards against took minutes.
BOUND_SECONDS = 30.0


def _state(client: TestClient) -> ServiceState:
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    return state


def _fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def pathological_article(title_chars: int, body_bytes: int) -> dict[str, str]:
    """A maximal title and body of capitalised words, laced with unclosed markup."""
    body = _fill("Alpha Bravo Charlie-Delta O'Neil <!-- Echo <script Foxtrot, Golf. ", body_bytes)
    return {
        "outlet": "hostile.example",
        "title": _fill("Name Word ", title_chars).strip(),
        "body": body,
        "published_at": "2018-09-01T00:00:00Z",
    }


def test_pathological_article_is_stored_in_bounded_time_and_the_next_storyline_is_labelled(
    client: TestClient,
) -> None:
    state = _state(client)
    article = pathological_article(state.settings.max_title_chars, state.settings.max_body_bytes)
    started = time.perf_counter()
    response = client.post("/articles", json=article)
    report = state.labeller.run()
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.text
    assert report.counted == 1 and report.labelled == 1
    assert elapsed < BOUND_SECONDS, f"{elapsed:.1f} s"
    stored = client.get(f"/articles/{response.json()['articles'][0]['id']}").json()
    assert "<script" in stored["body"] and "Alpha Bravo" in stored["body"]

    first, second = shared_rows("seeds/idlib_sept2018.jsonl")
    sid = client.post("/articles", json=as_payload(first)).json()["articles"][0]["storyline_id"]
    client.post("/articles", json=as_payload(second))
    state.labeller.run()
    label = client.get(f"/storylines/{sid}").json()["label"]
    assert "Idlib" in label and "·" in label


def test_a_storyline_whose_labelling_fails_is_marked_and_skipped(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    state = _state(client)
    poisoned = client.post(
        "/articles",
        json={
            "outlet": "poison.example",
            "title": "Poisoned harbour report",
            "body": "Nothing here can be labelled.",
        },
    ).json()["articles"][0]["storyline_id"]
    calls = {"poisoned": 0}
    real = clustering_labels.tracked_terms

    def failing(title: str, body: str) -> set[str]:
        if "Poisoned" in title:
            calls["poisoned"] += 1
            raise RuntimeError("labelling exploded")
        return real(title, body)

    monkeypatch.setattr("app.services.labeller.tracked_terms", failing)
    monkeypatch.setattr("app.services.labels.tracked_terms", failing)
    first, second = shared_rows("seeds/idlib_sept2018.jsonl")
    sid = client.post("/articles", json=as_payload(first)).json()["articles"][0]["storyline_id"]
    client.post("/articles", json=as_payload(second))
    provisional = client.get(f"/storylines/{sid}").json()["label"]

    report = state.labeller.run()
    assert report.counted == 3
    label = client.get(f"/storylines/{sid}").json()["label"]
    assert "·" in label and label != provisional  # built from its terms
    poisoned_label = client.get(f"/storylines/{poisoned}").json()["label"]
    assert poisoned_label.startswith("Poisoned harbour report")  # its headline, kept
    with state.db.session() as session:
        row = session.scalars(select(Storyline).where(Storyline.id == poisoned)).one()
        assert row.label_basis == row.article_count == 1  # marked as done at this size
    assert any("labelling failed" in r.getMessage() for r in caplog.records)

    tried = calls["poisoned"]
    state.labeller.run()
    assert calls["poisoned"] == tried  # not retried until the storyline grows


def test_cleaning_removes_closed_scripts_and_comments_and_keeps_unclosed_ones() -> None:
    raw = "a <script>x()</script> b <!-- c --> d <STYLE >p{}</ style > e <!-- f <script g"
    assert clean_text(raw) == "a b d e <!-- f <script g"
    # The first closing after an opening ends it, as a lazy match would.
    assert clean_text("<script>1</script>k<script>2</script>") == "k"
    assert clean_text("<!---->x<!-->y-->z") == "x z"
