"""GET /storylines/{id}/timeline: buckets, per-outlet counts, outlet lags, guards."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.services import timeline
from tests.app.conftest_spread import basil, cached_embedder
from tests.conftest import as_payload, shared_rows

__all__ = ["basil", "cached_embedder"]  # fixtures, imported for pytest to find


def _seeds(client: TestClient) -> int:
    rows = shared_rows("seeds/idlib_sept2018.jsonl")
    response = client.post("/articles", json=[as_payload(r) for r in rows])
    ids = {a["storyline_id"] for a in response.json()["articles"]}
    assert len(ids) == 1, "the two seed articles tell one story"
    return ids.pop()


def _day(row: dict[str, Any]) -> date:
    return date.fromisoformat(row["published_at"][:10])


@pytest.mark.parametrize("bucket", ["day", "week"])
def test_bucket_counts_match_each_storylines_articles_per_outlet(
    basil: tuple[TestClient, dict[int, list[dict[str, Any]]]], bucket: str
) -> None:
    client, by_storyline = basil
    for storyline_id, members in by_storyline.items():
        response = client.get(f"/storylines/{storyline_id}/timeline", params={"bucket": bucket})
        assert response.status_code == 200
        got = response.json()
        detail = client.get(f"/storylines/{storyline_id}").json()
        assert got["article_count"] == detail["article_count"] == len(members)
        assert sum(b["article_count"] for b in got["buckets"]) == len(members)

        # Expected from the raw rows: BASIL dates have no time, so effective_at is midnight.
        def start(day: date) -> date:
            return day - timedelta(days=day.weekday()) if bucket == "week" else day

        expected = Counter((start(_day(r)), r["outlet"]) for r in members)
        observed = Counter(
            {
                (date.fromisoformat(b["start"][:10]), o["outlet"]["name"]): o["article_count"]
                for b in got["buckets"]
                for o in b["outlets"]
            }
        )
        assert observed == expected
        step = 7 if bucket == "week" else 1
        first, last = start(min(map(_day, members))), start(max(map(_day, members)))
        assert len(got["buckets"]) == (last - first).days // step + 1, "empty buckets present"
        starts = [date.fromisoformat(b["start"][:10]) for b in got["buckets"]]
        assert starts == [first + timedelta(days=step * i) for i in range(len(starts))]
        assert all(b["start"].endswith("T00:00:00Z") for b in got["buckets"])
        assert got["buckets"][-1]["cumulative_outlets"] == detail["outlet_count"]


def test_outlet_lags_run_from_the_storylines_first_article(client: TestClient) -> None:
    storyline_id = _seeds(client)
    got = client.get(f"/storylines/{storyline_id}/timeline", params={"bucket": "day"}).json()
    assert [o["outlet"]["name"] for o in got["outlets"]] == ["globalresearch.ca", "tass.com"]
    assert [o["lag"] for o in got["outlets"]] == [
        {"seconds": 0.0, "readable": "0s"},
        {"seconds": 9 * 86_400.0, "readable": "9d"},
    ]
    assert [b["article_count"] for b in got["buckets"]] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert [b["cumulative_outlets"] for b in got["buckets"]] == [1] * 9 + [2]
    weeks = client.get(f"/storylines/{storyline_id}/timeline", params={"bucket": "week"}).json()
    # 2018-09-13 is a Thursday and 2018-09-22 a Saturday: ISO weeks from the 10th and 17th.
    assert [b["start"] for b in weeks["buckets"]] == [
        "2018-09-10T00:00:00Z",
        "2018-09-17T00:00:00Z",
    ]
    hours = client.get(f"/storylines/{storyline_id}/timeline", params={"bucket": "hour"}).json()
    assert len(hours["buckets"]) == 9 * 24 + 1


def test_article_without_published_at_is_placed_by_ingest_time_and_flagged(
    client: TestClient,
) -> None:
    before = datetime.now(UTC)
    row = shared_rows("data/basil.jsonl")[0]
    posted = client.post("/articles", json={**as_payload(row), "published_at": None}).json()
    storyline_id = posted["articles"][0]["storyline_id"]
    got = client.get(f"/storylines/{storyline_id}/timeline", params={"bucket": "hour"}).json()
    (outlet,) = got["outlets"]
    assert outlet["published_at_missing"] == 1
    assert outlet["first_article"]["published_at_missing"] is True
    assert outlet["first_article"]["published_at"] is None
    placed = datetime.fromisoformat(outlet["first_article"]["effective_at"])
    assert before - timedelta(seconds=1) <= placed <= datetime.now(UTC)
    assert [b["published_at_missing"] for b in got["buckets"]] == [1]


def test_too_many_buckets_is_a_422_naming_bucket(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    storyline_id = _seeds(client)  # nine days: 217 hour buckets
    monkeypatch.setattr(timeline, "MAX_BUCKETS", 200)
    response = client.get(f"/storylines/{storyline_id}/timeline", params={"bucket": "hour"})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "bucket"]
    assert "217 buckets" in error["msg"] and "coarser" in error["msg"]
    assert client.get(f"/storylines/{storyline_id}/timeline?bucket=day").status_code == 200


def test_unknown_storyline_is_404_and_unknown_bucket_422(client: TestClient) -> None:
    assert client.get("/storylines/424242/timeline").status_code == 404
    storyline_id = _seeds(client)
    response = client.get(f"/storylines/{storyline_id}/timeline", params={"bucket": "year"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "bucket"]
    assert client.get("/storylines/abc/timeline").status_code == 422


def test_timeline_totals_equal_article_counts_on_gva_dev_storylines(client: TestClient) -> None:
    rows = [as_payload(r) for r in shared_rows("data/gva_dev.jsonl")[:150]]
    for start in range(0, len(rows), 50):
        assert client.post("/articles", json=rows[start : start + 50]).status_code == 201
    storylines = client.get("/storylines", params={"limit": 500}).json()["items"]
    assert sum(s["article_count"] for s in storylines) == 150
    for storyline in storylines:
        for bucket in ("day", "week"):
            timeline = client.get(
                f"/storylines/{storyline['id']}/timeline", params={"bucket": bucket}
            ).json()
            total = sum(b["article_count"] for b in timeline["buckets"])
            assert total == storyline["article_count"], (storyline["id"], bucket)
