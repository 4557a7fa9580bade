"""The change feed: ordered, gapless under parallel writers, resumable; ETags and 304s."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.services.prepare import Limits, parse_payload
from app.state import ServiceState
from embeddings.protocol import Embedder
from tests.conftest import ADMIN_HEADERS, as_payload, shared_rows


def _seed_payloads() -> list[dict[str, object]]:
    return [as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl")]


def _run_labeller(client: TestClient) -> None:
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    state.labeller.run()


def test_feed_lists_created_then_grew_with_cursor(client: TestClient) -> None:
    first, second = _seed_payloads()
    sid = client.post("/articles", json=first).json()["articles"][0]["storyline_id"]
    client.post("/articles", json=second)
    _run_labeller(client)
    page = client.get("/changes", params={"since": 0}).json()
    kinds = [(c["seq"], c["storyline_id"], c["kind"], c["article_count"]) for c in page["changes"]]
    # The background labeller replaces the provisional headline label: a relabel.
    assert kinds == [(1, sid, "created", 1), (2, sid, "grew", 2), (3, sid, "relabelled", 2)]
    assert page["next_since"] == 3
    idle = client.get("/changes", params={"since": 3}).json()
    assert idle == {"changes": [], "next_since": 3}
    one = client.get("/changes", params={"since": 0, "limit": 1}).json()
    assert [c["seq"] for c in one["changes"]] == [1] and one["next_since"] == 1


def test_storyline_etag_gives_304_until_it_changes(client: TestClient) -> None:
    first, second = _seed_payloads()
    sid = client.post("/articles", json=first).json()["articles"][0]["storyline_id"]
    fresh = client.get(f"/storylines/{sid}")
    etag = fresh.headers["etag"]
    unchanged = client.get(f"/storylines/{sid}", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    client.post("/articles", json=second)
    changed = client.get(f"/storylines/{sid}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["article_count"] == 2


def test_stream_pushes_changes_and_resumes_from_last_event_id(client: TestClient) -> None:
    for payload in _seed_payloads():
        client.post("/articles", json=payload)
    with client.stream("GET", "/changes/stream", params={"max_events": 2}) as response:
        body = "".join(response.iter_text())
    assert response.headers["content-type"].startswith("text/event-stream")
    assert [line for line in body.splitlines() if line.startswith("id:")] == ["id: 1", "id: 2"]
    with client.stream(
        "GET", "/changes/stream", params={"max_events": 1}, headers={"Last-Event-ID": "1"}
    ) as response:
        resumed = "".join(response.iter_text())
    assert [line for line in resumed.splitlines() if line.startswith("id:")] == ["id: 2"]
    assert '"kind":"grew"' in resumed


def test_parallel_writers_leave_no_gap_or_repeat_for_a_polling_reader(
    settings: Settings, embedder: Embedder
) -> None:
    """Two independent services (as two processes would) write while a reader polls."""
    rows = shared_rows("data/uci_headlines.jsonl")[:120]
    halves = [rows[0::2], rows[1::2]]
    writers = [ServiceState.start(settings, embedder) for _ in halves]
    limits = Limits(100, 200_000, timedelta(days=1))
    done = threading.Event()
    seen: list[int] = []

    def write(state: ServiceState, part: list[dict[str, object]]) -> None:
        for i in range(0, len(part), 3):
            now = datetime.now(UTC)
            batch = parse_payload([as_payload(r) for r in part[i : i + 3]], limits, now)
            state.ingestor.ingest(batch, now)

    def read(client: TestClient) -> None:
        since = 0
        while True:
            finished = done.is_set()
            page = client.get("/changes", params={"since": since, "limit": 7}).json()
            seen.extend(c["seq"] for c in page["changes"])
            since = page["next_since"]
            if finished and not page["changes"]:
                return

    with TestClient(create_app(settings, embedder), headers=ADMIN_HEADERS) as reader_client:
        reader = threading.Thread(target=read, args=(reader_client,))
        threads = [
            threading.Thread(target=write, args=w) for w in zip(writers, halves, strict=True)
        ]
        reader.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        reader.join(timeout=120)
        total = reader_client.get("/changes", params={"since": 0, "limit": 1000}).json()
    for state in writers:
        state.close()
    assert seen == list(range(1, len(seen) + 1))
    assert len(seen) == len(total["changes"]) >= 60


def test_labels_name_the_story_and_relabels_are_in_the_feed(client: TestClient) -> None:
    first, second = _seed_payloads()
    sid = client.post("/articles", json=first).json()["articles"][0]["storyline_id"]
    client.post("/articles", json=second)
    _run_labeller(client)
    label = client.get(f"/storylines/{sid}").json()["label"]
    assert "Idlib" in label and label.endswith("— Sep 2018")
    basil = shared_rows("data/basil.jsonl")[0]
    other = client.post("/articles", json=as_payload(basil)).json()["articles"][0]
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    with state.db.session() as session:
        kept = state.runtime.merge(session, [sid, other["storyline_id"]], "test", datetime.now(UTC))
    changes = client.get("/changes", params={"since": 0}).json()["changes"]
    relabels = [c for c in changes if c["kind"] == "relabelled"]
    assert {c["storyline_id"] for c in relabels} == {kept}
    assert relabels[-1]["details"]["previous_label"] == label
    assert relabels[-1]["label"] != label


def test_timeline_and_spread_answer_304_until_the_storyline_changes(client: TestClient) -> None:
    first, second = _seed_payloads()
    sid = client.post("/articles", json=first).json()["articles"][0]["storyline_id"]
    for view in (f"/storylines/{sid}/timeline", f"/storylines/{sid}/spread"):
        etag = client.get(view).headers["etag"]
        assert client.get(view, headers={"If-None-Match": etag}).status_code == 304
    timeline_day = client.get(f"/storylines/{sid}/timeline").headers["etag"]
    timeline_week = client.get(f"/storylines/{sid}/timeline", params={"bucket": "week"})
    assert timeline_week.headers["etag"] != timeline_day  # each view has its own tag
    client.post("/articles", json=second)
    changed = client.get(f"/storylines/{sid}/timeline", headers={"If-None-Match": timeline_day})
    assert changed.status_code == 200
    assert sum(b["article_count"] for b in changed.json()["buckets"]) == 2
