"""What the dashboard reads: list rows with sparklines and first publishers, changes since
a seq, one storyline's feed, storylines by status, search that can find nothing, and
outlet coverage kept at write time through merges and splits."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.models import Article, Outlet, OutletStoryline, as_utc
from app.services import queries
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


def _basil_stories(n: int) -> list[list[dict[str, Any]]]:
    stories: dict[str, list[dict[str, Any]]] = {}
    for row in shared_rows("data/basil.jsonl"):
        stories.setdefault(row["story"], []).append(row)
    return list(stories.values())[:n]


def test_list_rows_carry_first_publisher_sparkline_total_and_latest_seq(
    client: TestClient,
) -> None:
    seed = _post(client, shared_rows("seeds/idlib_sept2018.jsonl"))[0]["storyline_id"]
    for story in _basil_stories(3):
        _post(client, story)
    page = client.get("/storylines", params={"limit": 2, "sort": "outlets"}).json()
    everything = client.get("/storylines", params={"limit": 500}).json()["items"]
    assert page["total"] == len(everything) >= 4
    assert page["latest_seq"] == client.get("/changes", params={"limit": 1000}).json()["next_since"]
    row = next(r for r in everything if r["id"] == seed)
    assert [o["name"] for o in row["first_publishers"]] == ["globalresearch.ca"]
    # 13 to 22 September 2018: one article on the first day, one on the tenth.
    assert row["sparkline_start"] == "2018-09-13"
    assert row["sparkline"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert row["version"] == max(
        c["seq"] for c in client.get("/changes", params={"storyline_id": seed}).json()["changes"]
    )
    for item in everything:
        assert sum(item["sparkline"]) == item["article_count"]  # every span here is < 30 days


def test_changed_since_returns_what_changed_merged_ones_included(client: TestClient) -> None:
    a, b = (_post(client, s)[0]["storyline_id"] for s in _basil_stories(2))
    mark = client.get("/storylines").json()["latest_seq"]
    assert client.get("/storylines", params={"changed_since": mark}).json()["items"] == []
    state = _state(client)
    with state.db.session() as session:
        state.runtime.merge(session, [a, b], "test", datetime.now(UTC))
    changed = client.get("/storylines", params={"changed_since": mark}).json()
    by_id = {r["id"]: r for r in changed["items"]}
    assert set(by_id) == {a, b}
    survivor, gone = (a, b) if by_id[b]["status"] == "merged" else (b, a)
    assert by_id[gone]["merged_into"] == survivor
    assert by_id[survivor]["version"] == changed["latest_seq"] > mark
    one = client.get("/changes", params={"since": mark, "storyline_id": gone}).json()
    assert [c["kind"] for c in one["changes"]] == ["merged"]


def test_stream_filtered_to_one_storyline_skips_the_others(client: TestClient) -> None:
    first, second = (_post(client, s)[0]["storyline_id"] for s in _basil_stories(2))
    with client.stream(
        "GET", "/changes/stream", params={"max_events": 1, "storyline_id": second}
    ) as response:
        text = "".join(response.iter_text())
    assert f'"storyline_id":{second}' in text and f'"storyline_id":{first}' not in text


def test_a_relabel_moves_updated_at(client: TestClient) -> None:
    sid = _post(client, shared_rows("seeds/idlib_sept2018.jsonl"))[0]["storyline_id"]
    before = client.get(f"/storylines/{sid}").json()
    _state(client).labeller.run()
    after = client.get(f"/storylines/{sid}").json()
    assert after["label"] != before["label"]
    assert after["updated_at"] > before["updated_at"]


def test_health_counts_storylines_by_status(client: TestClient) -> None:
    for story in _basil_stories(3):
        _post(client, story)
    _post(client, shared_rows("seeds/idlib_sept2018.jsonl"))
    counts = client.get("/health").json()["storylines"]
    for status in ("active", "dormant", "merged"):
        listed = client.get("/storylines", params={"status": status, "limit": 500}).json()
        assert counts[status] == listed["total"] == len(listed["items"])
    # BASIL's stories are years older than the seeds: the seeds' arrival retires them.
    assert counts["dormant"] >= 1 and counts["active"] >= 1


def test_search_without_a_real_match_returns_nothing(client: TestClient) -> None:
    sid = _post(client, shared_rows("seeds/idlib_sept2018.jsonl"))[0]["storyline_id"]
    for story in _basil_stories(3):
        _post(client, story)
    assert client.get("/search", params={"q": "qwertyuiop zxcvbnm"}).json()["hits"] == []
    assert client.get("/search", params={"q": "the weather in a small town"}).json()["hits"] == []
    hits = client.get("/search", params={"q": "staged chemical attack"}).json()["hits"]
    assert hits[0]["storyline"]["id"] == sid


def _coverage(client: TestClient) -> tuple[dict[tuple[int, int], tuple[int, Any, Any]], ...]:
    """Coverage rows as kept, and as recounted from the articles; outlet totals both ways."""
    with _state(client).db.session() as session:
        kept = {
            (r.outlet_id, r.storyline_id): (r.article_count, r.first_at, r.last_at)
            for r in session.scalars(select(OutletStoryline))
        }
        counted = {
            (o, s): (n, first, last)
            for o, s, n, first, last in session.execute(
                select(
                    Article.outlet_id,
                    Article.storyline_id,
                    func.count(),
                    func.min(Article.effective_at),
                    func.max(Article.effective_at),
                )
                .where(Article.storyline_id.is_not(None))
                .group_by(Article.outlet_id, Article.storyline_id)
            )
        }
        totals = {
            o.id: (o.article_count, o.storyline_count) for o in session.scalars(select(Outlet))
        }
    articles: Counter[int] = Counter()
    storylines: Counter[int] = Counter()
    for (outlet, _), (n, _, _) in counted.items():
        articles[outlet] += n
        storylines[outlet] += 1
    recounted = {o: (articles[o], storylines[o]) for o in totals}
    return kept, _utc(counted), totals, recounted


def _utc(
    rows: dict[tuple[int, int], tuple[int, Any, Any]],
) -> dict[tuple[int, int], tuple[int, Any, Any]]:

    return {k: (n, as_utc(a), as_utc(b)) for k, (n, a, b) in rows.items()}


def test_outlet_coverage_kept_at_write_time_survives_merge_and_split(client: TestClient) -> None:
    a, b, c = (_post(client, s)[0]["storyline_id"] for s in _basil_stories(3))
    kept, counted, totals, recounted = _coverage(client)
    assert kept == counted and totals == recounted
    state = _state(client)
    now = datetime.now(UTC)
    with state.db.session() as session:
        survivor = state.runtime.merge(session, [a, b], "test", now)
    kept, counted, totals, recounted = _coverage(client)
    assert kept == counted and totals == recounted
    assert {s for _, s in kept} == {survivor, c}
    members = client.get(f"/storylines/{survivor}/articles").json()["items"]
    with state.db.session() as session:
        child = state.runtime.split(session, survivor, [members[0]["id"]], "test", now)
    kept, counted, totals, recounted = _coverage(client)
    assert kept == counted and totals == recounted
    assert child in {s for _, s in kept}
    listed = {o["name"]: o for o in client.get("/outlets").json()["items"]}
    assert sum(o["article_count"] for o in listed.values()) == sum(
        len(s) for s in _basil_stories(3)
    )


def test_outlet_coverage_follows_a_revised_article_to_its_new_storyline(
    client: TestClient,
) -> None:
    first, second = _basil_stories(2)
    original = _post(client, first)[0]
    _post(client, second)
    moved = {**first[0], "title": second[0]["title"], "body": second[0]["body"]}
    revised = _post(client, [moved])[0]
    assert revised["id"] == original["id"]  # the same article, revised and placed again
    kept, counted, totals, recounted = _coverage(client)
    assert kept == counted and totals == recounted
    assert sum(n for n, _, _ in kept.values()) == len(first) + len(second)


def test_first_publishers_tie_within_the_hour_and_sparklines_span_the_last_30_days(
    client: TestClient,
) -> None:
    seed = shared_rows("seeds/idlib_sept2018.jsonl")[0]  # published 2018-09-13T00:00Z
    copies = [
        {**seed, "id": f"copy-{name}", "outlet": name, "published_at": at}
        for name, at in [
            ("early.example", "2018-09-13T00:59:59.500000Z"),  # inside the hour: a tie
            ("late.example", "2018-09-13T01:00:00.500000Z"),  # just past it
            # Days on, so the storyline lasts 36 days: the sparkline keeps its last 30.
            ("d6-.example", "2018-09-18T23:59:59.500000Z"),  # the day before the span
            ("d6.example", "2018-09-19T00:00:00Z"),  # the span's first instant
            ("d15.example", "2018-09-28T12:00:00Z"),
            ("d25.example", "2018-10-08T12:00:00Z"),
            ("d35.example", "2018-10-18T23:30:00Z"),
        ]
    ]
    ids = {r["storyline_id"] for r in _post(client, [seed, *copies])}
    assert len(ids) == 1
    row = next(r for r in client.get("/storylines").json()["items"] if r["id"] in ids)
    assert [o["name"] for o in row["first_publishers"]] == ["globalresearch.ca", "early.example"]
    assert row["sparkline_start"] == "2018-09-19"  # 18 October and the 29 days before
    assert row["sparkline"] == [1] + [0] * 8 + [1] + [0] * 9 + [1] + [0] * 9 + [1]


def _all_ids(client: TestClient, **params: Any) -> set[int]:
    """Every storyline the filter matches, page by page."""
    ids: set[int] = set()
    cursor = None
    while True:
        page = client.get(
            "/storylines", params={**params, "limit": 7, **({"cursor": cursor} if cursor else {})}
        ).json()
        ids |= {item["id"] for item in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_filtered_totals_equal_the_matches_after_a_merge_and_cap_when_told(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One outlet alone reads its kept storyline count; other filters count up to a cap."""
    stories = _basil_stories(8)
    homes = [_post(client, s)[0]["storyline_id"] for s in stories]
    state = _state(client)
    with state.db.session() as session:
        state.runtime.merge(session, homes[:2], "test", datetime.now(UTC))
    outlets = [o["name"] for o in client.get("/outlets", params={"limit": 500}).json()["items"]]
    filters: list[dict[str, Any]] = [{}, {"min_outlets": 2}, {"min_outlets": 3}]
    filters += [{"outlet": o} for o in outlets] + [{"outlet": "nobody.example"}]
    filters += [
        {"outlet": outlets[0], "status": "dormant"},
        {"outlet": outlets[0], "status": "active"},
    ]
    for params in filters:
        page = client.get("/storylines", params={**params, "limit": 1}).json()
        assert (page["total"], page["total_capped"]) == (len(_all_ids(client, **params)), False)

    monkeypatch.setattr(queries, "TOTAL_COUNT_LIMIT", 2)
    broad = client.get("/storylines", params={"min_outlets": 1, "limit": 1}).json()
    assert len(_all_ids(client, min_outlets=1)) > 2
    assert (broad["total"], broad["total_capped"]) == (2, True)
    # One outlet alone stays exact: its kept count, whatever the cap.
    biggest = outlets[0]
    alone = client.get("/storylines", params={"outlet": biggest, "limit": 1}).json()
    assert (alone["total"], alone["total_capped"]) == (len(_all_ids(client, outlet=biggest)), False)
