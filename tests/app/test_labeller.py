"""Labels and term counts built in the background, off the grouping step.

Real model, real database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.config import Settings
from app.db import exclusive_job
from app.models import JobMark, Storyline, Term
from app.services.prepare import Limits, parse_payload
from app.state import ServiceState
from embeddings.protocol import Embedder
from tests.conftest import as_payload, shared_rows


def _state(client: TestClient) -> ServiceState:
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    return state


def _ingest(state: ServiceState, rows: list[dict[str, object]]) -> list[int]:
    now = datetime.now(UTC)
    batch = parse_payload([as_payload(r) for r in rows], Limits(100, 10**6, timedelta(1)), now)
    return [r.storyline_id for r in state.ingestor.ingest(batch, now)]


def _documents(state: ServiceState) -> int | None:
    with state.db.session() as session:
        return session.scalar(select(Term.df).where(Term.term == ""))


def test_a_new_storyline_shows_its_headline_until_the_labeller_names_it(
    client: TestClient,
) -> None:
    first, second = shared_rows("seeds/idlib_sept2018.jsonl")
    sid = client.post("/articles", json=as_payload(first)).json()["articles"][0]["storyline_id"]
    provisional = client.get(f"/storylines/{sid}").json()["label"]
    headline = " ".join(first["title"].split())
    assert provisional.startswith(headline[:40]) and provisional.endswith("— Sep 2018")

    client.post("/articles", json=as_payload(second))
    report = _state(client).labeller.run()
    assert (report.counted, report.labelled, report.relabelled) == (2, 1, 1)
    label = client.get(f"/storylines/{sid}").json()["label"]
    assert "Idlib" in label and "·" in label and label != provisional
    changes = client.get("/changes", params={"since": 0}).json()["changes"]
    assert changes[-1]["kind"] == "relabelled"
    assert changes[-1]["details"]["previous_label"] == provisional


def test_each_grouped_article_is_counted_once_and_labels_wait_for_growth(
    settings: Settings, embedder: Embedder
) -> None:
    state = ServiceState.start(settings, embedder)
    try:
        rows = shared_rows("data/basil.jsonl")
        _ingest(state, rows[:6])
        first = state.labeller.run()
        assert first.counted == 6 and first.labelled >= 1
        again = state.labeller.run()
        assert (again.counted, again.labelled) == (0, 0)  # nothing new, nothing due
        assert _documents(state) == 6
        _ingest(state, rows[6:9])
        assert state.labeller.due()
        report = state.labeller.run()
        assert report.counted == 3 and report.labelled >= 1  # changed since: looked at
        assert _documents(state) == 9
        with state.db.session() as session:
            mark = session.scalar(select(JobMark.value).where(JobMark.name == "labels"))
        assert mark == 9  # the group_seq of the last article counted
        assert not state.labeller.due()
    finally:
        state.close()


def test_serve_labels_in_the_background(settings: Settings, embedder: Embedder) -> None:
    quick = settings.model_copy(update={"label_interval_seconds": 0.05, "async_ingest": False})
    state = ServiceState.start(quick, embedder, serve=True)
    try:
        sid = _ingest(state, shared_rows("seeds/idlib_sept2018.jsonl"))[0]
        deadline = time.monotonic() + 60
        label = ""
        while time.monotonic() < deadline and "·" not in label:
            time.sleep(0.05)
            with state.db.session() as session:
                storyline = session.get(Storyline, sid)
                label = storyline.label if storyline is not None else ""
        assert "Idlib" in label and "·" in label
    finally:
        state.close()


def test_on_postgresql_one_process_at_a_time_labels(client: TestClient) -> None:
    state = _state(client)
    client.post("/articles", json=[as_payload(r) for r in shared_rows("data/basil.jsonl")[:3]])
    other_host = state.db.engine.dialect.name == "postgresql"
    with exclusive_job(state.db.engine, "storyline-labels") as held:
        assert held
        report = state.labeller.run()
    # SQLite serves one host: nothing to exclude. PostgreSQL: the other holder wins.
    assert report.counted == (0 if other_host else 3)
    assert state.labeller.run().counted == (3 if other_host else 0)
