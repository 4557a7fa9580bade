"""GET /outlets and /outlets/{id}: coverage, being first, join lag, co-coverage."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from app.config import Settings
from app.main import create_app
from app.models import Article, as_utc
from app.services.cursor import encode_cursor
from embeddings.protocol import Embedder
from tests.app.conftest_spread import basil, cached_embedder
from tests.conftest import ADMIN_HEADERS, as_payload, shared_rows

__all__ = ["basil", "cached_embedder"]  # fixtures, imported for pytest to find

Basil = tuple[TestClient, dict[int, list[dict[str, Any]]]]


def _at(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(row["published_at"]).replace(tzinfo=UTC)


def _pages(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get("/outlets", params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def test_outlets_list_counts_storylines_and_pages_in_both_orders(basil: Basil) -> None:
    client, by_storyline = basil
    covered = Counter(o for rows in by_storyline.values() for o in {r["outlet"] for r in rows})
    articles = Counter(r["outlet"] for rows in by_storyline.values() for r in rows)
    by_count = _pages(client, limit=1)
    assert {o["name"]: o["storylines_covered"] for o in by_count} == dict(covered)
    assert {o["name"]: o["article_count"] for o in by_count} == dict(articles)
    keys = [(-o["storylines_covered"], o["id"]) for o in by_count]
    assert keys == sorted(keys)
    by_name = _pages(client, limit=2, sort="name")
    assert [o["name"] for o in by_name] == sorted(covered)


def test_outlet_detail_matches_the_raw_rows_of_its_storylines(basil: Basil) -> None:
    client, by_storyline = basil
    outlets = {o["name"]: o["id"] for o in _pages(client)}
    for name, outlet_id in outlets.items():
        mine = {
            sid: rows for sid, rows in by_storyline.items() if name in {r["outlet"] for r in rows}
        }
        multi = first_in = 0
        lags: list[float] = []
        for rows in mine.values():
            if len({r["outlet"] for r in rows}) < 2:
                continue
            multi += 1
            start = min(map(_at, rows))
            own = min(_at(r) for r in rows if r["outlet"] == name)
            if own - start <= timedelta(hours=1):
                first_in += 1
            else:
                lags.append((own - start).total_seconds())
        shared = Counter(o for rows in mine.values() for o in {r["outlet"] for r in rows} - {name})

        detail = client.get(f"/outlets/{outlet_id}").json()
        assert detail["name"] == name
        assert detail["storylines_covered"] == len(mine)
        assert (detail["multi_outlet_storylines"], detail["first_in"]) == (multi, first_in)
        median = detail["median_join_lag"]
        assert (median and median["seconds"]) == (statistics.median(lags) if lags else None)
        assert {c["outlet"]["name"]: c["shared_storylines"] for c in detail["co_covering"]} == (
            dict(shared)
        )


def test_seed_outlets_first_and_join_lag(client: TestClient) -> None:
    rows = shared_rows("seeds/idlib_sept2018.jsonl")
    client.post("/articles", json=[as_payload(r) for r in rows])
    ids = {o["name"]: o["id"] for o in client.get("/outlets").json()["items"]}
    gr = client.get(f"/outlets/{ids['globalresearch.ca']}").json()
    tass = client.get(f"/outlets/{ids['tass.com']}").json()
    assert (gr["first_in"], gr["median_join_lag"]) == (1, None)
    assert tass["first_in"] == 0
    assert tass["median_join_lag"] == {"seconds": 9 * 86_400.0, "readable": "9d"}
    assert [c["outlet"]["name"] for c in tass["co_covering"]] == ["globalresearch.ca"]
    # A ten-day tie window makes both of them first.
    wide = client.get(f"/outlets/{ids['tass.com']}", params={"tie_window_hours": 240}).json()
    assert (wide["first_in"], wide["median_join_lag"]) == (1, None)


def test_unknown_outlet_is_404_and_bad_parameters_422(client: TestClient) -> None:
    assert client.get("/outlets/424242").status_code == 404
    assert client.get(f"/outlets/{10**20}").status_code == 404, "beyond INTEGER"
    wrong_kind = encode_cursor("a name", 1)  # a by-name cursor given to the by-count order
    assert client.get("/outlets", params={"cursor": wrong_kind}).status_code == 422
    assert client.get("/outlets", params={"cursor": "not-a-cursor"}).status_code == 422
    assert client.get("/outlets", params={"sort": "size"}).status_code == 422
    assert client.get("/outlets", params={"limit": 0}).status_code == 422
    assert client.get("/outlets/1", params={"tie_window_hours": -2}).status_code == 422
    assert client.get("/outlets").json() == {"items": [], "next_cursor": None}


def _brute_force(url: str, outlet_id: int, tie: timedelta) -> tuple[int, int, float | None]:
    """(multi-outlet storylines, first in, median join lag) from every article row."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(Article.storyline_id, Article.outlet_id, Article.effective_at))
        by_storyline: dict[int, list[tuple[int, datetime]]] = {}
        for storyline_id, outlet, at in rows:
            if storyline_id is not None:
                by_storyline.setdefault(storyline_id, []).append((outlet, as_utc(at)))
    engine.dispose()
    multi = first_in = 0
    lags: list[float] = []
    for members in by_storyline.values():
        own = [at for outlet, at in members if outlet == outlet_id]
        if not own or len({outlet for outlet, _ in members}) < 2:
            continue
        multi += 1
        lag = min(own) - min(at for _, at in members)
        if lag <= tie:
            first_in += 1
        else:
            lags.append(lag.total_seconds())
    return multi, first_in, statistics.median(lags) if lags else None


def test_outlet_statistics_equal_brute_force_after_ingest_merge_and_move(
    settings: Settings, embedder: Embedder
) -> None:
    """The database's count and middle lag equal a read of every article, edits included."""
    rows = shared_rows("data/basil.jsonl")
    with TestClient(
        create_app(settings, embedder), client=("127.0.0.1", 50000), headers=ADMIN_HEADERS
    ) as client:
        posted = client.post("/articles", json=[as_payload(r) for r in rows[:150]])
        assert posted.status_code == 201, posted.text
        ids = [a["id"] for a in posted.json()["articles"]]

        def check(step: str) -> None:
            outlets = [o["id"] for o in _pages(client, limit=500)]
            assert outlets, step
            for hours in (0.0, 1.0, 24.0 * 9):
                for outlet_id in outlets:
                    detail = client.get(
                        f"/outlets/{outlet_id}", params={"tie_window_hours": hours}
                    ).json()
                    median = detail["median_join_lag"]
                    got = (
                        detail["multi_outlet_storylines"],
                        detail["first_in"],
                        median and median["seconds"],
                    )
                    want = _brute_force(settings.database_url, outlet_id, timedelta(hours=hours))
                    assert got == want, (step, outlet_id, hours)

        check("ingest")
        homes = list(
            dict.fromkeys(client.get(f"/articles/{i}").json()["storyline_id"] for i in ids)
        )
        older, newer = sorted(homes[:2])
        merged = client.post(
            f"/storylines/{newer}/merge", json={"into": older, "reason": "test: one story"}
        )
        assert merged.status_code == 200, merged.text
        check("merge")
        moved = client.post(
            f"/articles/{ids[-1]}/move", json={"storyline_id": older, "reason": "test: belongs"}
        )
        assert moved.status_code == 200, moved.text
        check("move")


def test_join_lag_exactly_the_tie_window_counts_as_first(client: TestClient) -> None:
    """The window's edge is exact on both stores (no float rounding of timestamps)."""
    start = datetime(2024, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)
    body = "Ministers agree a ceasefire in the northern province after talks in Geneva."
    articles = [
        {"outlet": "a.example", "title": body, "body": body, "published_at": start},
        {
            "outlet": "b.example",
            "title": body,
            "body": body,
            "published_at": start + timedelta(hours=1),
        },
        {
            "outlet": "c.example",
            "title": body,
            "body": body,
            "published_at": start + timedelta(hours=1, microseconds=1),
        },
    ]
    posted = client.post(
        "/articles", json=[{**a, "published_at": a["published_at"].isoformat()} for a in articles]
    )
    assert posted.status_code == 201, posted.text
    assert len({a["storyline_id"] for a in posted.json()["articles"]}) == 1
    ids = {o["name"]: o["id"] for o in client.get("/outlets").json()["items"]}
    b = client.get(f"/outlets/{ids['b.example']}").json()
    c = client.get(f"/outlets/{ids['c.example']}").json()
    assert (b["first_in"], b["median_join_lag"]) == (1, None)
    assert c["first_in"] == 0
    assert c["median_join_lag"]["seconds"] == 3600.000001
