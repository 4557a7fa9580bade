"""GET /storylines/{id}/spread: first publishers, adoption order, follower and republish edges."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from clustering import minhash
from tests.app.conftest_spread import basil, cached_embedder
from tests.conftest import as_payload, shared_rows

__all__ = ["basil", "cached_embedder"]  # fixtures, imported for pytest to find

HOUR = timedelta(hours=1)


def _at(row: dict[str, Any]) -> datetime:
    value = datetime.fromisoformat(row["published_at"])
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _lightly_edited(body: str, every: int = 30) -> str:
    """The same text with every ``every``-th word changed and a credit line added."""
    words = body.split()
    for i in range(0, len(words), every):
        words[i] = "reportedly"
    return " ".join(words) + " This article was republished with permission."


def _post(client: TestClient, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = client.post("/articles", json=payloads)
    assert response.status_code == 201, response.text
    articles: list[dict[str, Any]] = response.json()["articles"]
    return articles


def _basil_story() -> list[dict[str, Any]]:
    """The three BASIL articles (Fox, NYT, HuffPost) of the first story."""
    rows = shared_rows("data/basil.jsonl")
    story = rows[0]["story"]
    return [r for r in rows if r["story"] == story]


def test_seed_spread_names_global_research_first_and_tass_nine_days_later(
    client: TestClient,
) -> None:
    rows = shared_rows("seeds/idlib_sept2018.jsonl")
    (storyline_id,) = {a["storyline_id"] for a in _post(client, [as_payload(r) for r in rows])}
    spread = client.get(f"/storylines/{storyline_id}/spread").json()
    assert [o["outlet"]["name"] for o in spread["first_publishers"]] == ["globalresearch.ca"]
    gr, tass = spread["outlets"]
    assert (gr["outlet"]["name"], gr["rank"], gr["lag"]["seconds"]) == ("globalresearch.ca", 1, 0)
    assert (tass["outlet"]["name"], tass["rank"], tass["first_publisher"]) == ("tass.com", 2, False)
    assert tass["lag"] == {"seconds": 9 * 86_400.0, "readable": "9d"}
    (edge,) = spread["follower_edges"]
    assert edge["leader"]["outlet"]["name"] == "globalresearch.ca"
    assert edge["follower"]["outlet"]["name"] == "tass.com"
    assert edge["lag"]["seconds"] == 9 * 86_400.0
    assert edge["similarity"] is not None and edge["similarity"] > 0.3
    assert spread["republish_edges"] == [], "TASS rewrote the story; it did not copy the text"
    assert spread["uses_ingest_time"] is False


def test_outlets_come_in_order_of_first_publication_with_exact_lags(
    basil: tuple[TestClient, dict[int, list[dict[str, Any]]]],
) -> None:
    client, by_storyline = basil
    for storyline_id, members in by_storyline.items():
        first_at: dict[str, datetime] = {}
        for row in members:
            first_at[row["outlet"]] = min(first_at.get(row["outlet"], _at(row)), _at(row))
        start = min(first_at.values())
        spread = client.get(f"/storylines/{storyline_id}/spread").json()
        order = [o["outlet"]["name"] for o in spread["outlets"]]
        assert sorted(order) == sorted(first_at)
        assert [first_at[name] for name in order] == sorted(first_at.values())
        for outlet in spread["outlets"]:
            name = outlet["outlet"]["name"]
            assert outlet["lag"]["seconds"] == (first_at[name] - start).total_seconds()
            assert outlet["article_count"] == Counter(r["outlet"] for r in members)[name]
        expected_first = {n for n, at in first_at.items() if at - start <= HOUR}
        assert {o["outlet"]["name"] for o in spread["first_publishers"]} == expected_first
        followers = [e["follower"]["outlet"]["name"] for e in spread["follower_edges"]]
        assert sorted(followers) == sorted(set(first_at) - expected_first)
        for edge in spread["follower_edges"]:
            leader, follower = edge["leader"]["outlet"]["name"], edge["follower"]["outlet"]["name"]
            assert first_at[leader] < first_at[follower]
            assert edge["lag"]["seconds"] == (first_at[follower] - first_at[leader]).total_seconds()
        # Fox, the Times and HuffPost write their own copy: BASIL holds no republished text.
        assert spread["republish_edges"] == []


def test_republished_text_gets_an_edge_and_independent_reports_do_not(
    client: TestClient,
) -> None:
    story = _basil_story()
    nyt = next(r for r in story if r["outlet"] == "nytimes.com")
    copy = {
        **as_payload(nyt),
        "external_id": "copy-of-nyt",
        "url": "https://copycat.example/beck",
        "outlet": "copycat.example",
        "body": _lightly_edited(nyt["body"]),
        "published_at": (_at(nyt) + timedelta(days=1)).isoformat(),
    }
    posted = _post(client, [as_payload(r) for r in story] + [copy])
    ids = {row["url"]: a["id"] for row, a in zip([*story, copy], posted, strict=True)}
    spread = client.get(f"/storylines/{posted[-1]['storyline_id']}/spread").json()
    (edge,) = spread["republish_edges"]
    assert edge["source"]["id"] == ids[nyt["url"]]
    assert edge["republished"]["id"] == ids[copy["url"]]
    assert edge["republished"]["outlet"]["name"] == "copycat.example"
    assert edge["jaccard"] >= 0.7 and edge["containment"] >= 0.8
    assert edge["lag"] == {"seconds": 86_400.0, "readable": "1d"}
    assert spread["near_duplicates"]["articles_compared"] == spread["article_count"]


def test_tie_window_decides_which_outlets_share_first_place(client: TestClient) -> None:
    base = _basil_story()[0]
    day = _at(base).replace(hour=0)
    payloads = [
        {
            **as_payload(base),
            "external_id": f"tie-{outlet}",
            "url": f"https://{outlet}/story",
            "outlet": outlet,
            "body": _lightly_edited(base["body"], every=40 + 7 * i),
            "published_at": (day + offset).isoformat(),
        }
        for i, (outlet, offset) in enumerate(
            [
                ("a.example", timedelta(hours=10)),
                ("b.example", timedelta(hours=10, minutes=30)),
                ("c.example", timedelta(hours=13)),
            ]
        )
    ]
    (storyline_id,) = {a["storyline_id"] for a in _post(client, payloads)}

    def first(**params: float) -> list[str]:
        spread = client.get(f"/storylines/{storyline_id}/spread", params=params).json()
        return [o["outlet"]["name"] for o in spread["first_publishers"]]

    assert first() == ["a.example", "b.example"]
    assert first(tie_window_hours=0) == ["a.example"]
    assert first(tie_window_hours=3) == ["a.example", "b.example", "c.example"]
    spread = client.get(f"/storylines/{storyline_id}/spread").json()
    (edge,) = spread["follower_edges"]
    assert edge["follower"]["outlet"]["name"] == "c.example"
    assert [e["republished"]["outlet"]["name"] for e in spread["republish_edges"]] == [
        "b.example",
        "c.example",
    ]
    assert all(e["jaccard"] >= 0.6 for e in spread["republish_edges"])


def test_article_without_published_at_is_flagged_as_placed_by_ingest_time(
    client: TestClient,
) -> None:
    row = shared_rows("seeds/idlib_sept2018.jsonl")[1]
    (posted,) = _post(client, [{**as_payload(row), "published_at": None}])
    spread = client.get(f"/storylines/{posted['storyline_id']}/spread").json()
    assert spread["uses_ingest_time"] is True
    (only,) = spread["first_publishers"]
    assert only["first_article"]["published_at_missing"] is True
    assert only["first_article"]["published_at"] is None


def test_unknown_storyline_is_404_and_bad_parameters_are_422(client: TestClient) -> None:
    assert client.get("/storylines/424242/spread").status_code == 404
    assert client.get(f"/storylines/{10**20}/spread").status_code == 404, "beyond INTEGER"
    assert client.get(f"/storylines/{10**20}/timeline").status_code == 404
    for params in ({"tie_window_hours": -1}, {"tie_window_hours": "soon"}, {"min_jaccard": 2}):
        response = client.get("/storylines/1/spread", params=params)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "query"


def _python_path() -> dict[str, str]:
    """PYTHONPATH as this process has it (a checkout run without installing it)."""
    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}


def test_minhash_signatures_do_not_depend_on_the_process_hash_seed() -> None:
    text = shared_rows("seeds/idlib_sept2018.jsonl")[1]["body"]
    program = (
        "import json, sys; from clustering import minhash; "
        "print(json.dumps(minhash.signature(minhash.shingles(sys.stdin.read())).tolist()))"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", program],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "", **_python_path()},
        ).stdout
        for seed in ("1", "2")
    ]
    here = minhash.signature(minhash.shingles(text)).tolist()
    assert json.loads(outputs[0]) == json.loads(outputs[1]) == here


def test_minhash_estimate_tracks_exact_jaccard() -> None:
    bodies = [r["body"] for r in shared_rows("data/basil.jsonl")[:40]]
    texts = bodies + [
        _lightly_edited(b, every) for b, every in zip(bodies, range(5, 45), strict=True)
    ]
    sets = [minhash.shingles(t) for t in texts]
    estimates = minhash.estimated_jaccard(np.stack([minhash.signature(s) for s in sets]))
    errors = [
        estimates[i, i + 40] - minhash.exact_overlap(sets[i], sets[i + 40])[0] for i in range(40)
    ]
    assert abs(float(np.mean(errors))) < 0.03, "no bias"
    assert max(map(abs, errors)) < 0.2, "within about four standard errors"
    assert estimates[0, 1] < 0.1, "different stories share almost nothing"


def test_a_storyline_that_changed_gets_a_fresh_spread_not_the_one_read_before(
    client: TestClient,
) -> None:
    seeds = shared_rows("seeds/idlib_sept2018.jsonl")
    sid = client.post("/articles", json=[as_payload(r) for r in seeds]).json()["articles"][0][
        "storyline_id"
    ]
    before = client.get(f"/storylines/{sid}/spread").json()
    assert client.get(f"/storylines/{sid}/spread").json() == before  # read again: the same
    copy = {**seeds[1], "id": "copy-late", "outlet": "late.example", "published_at": "2018-09-25"}
    posted = client.post("/articles", json=as_payload(copy)).json()["articles"][0]
    assert posted["storyline_id"] == sid
    after = client.get(f"/storylines/{sid}/spread").json()
    assert [o["outlet"]["name"] for o in before["outlets"]] == ["globalresearch.ca", "tass.com"]
    assert [o["outlet"]["name"] for o in after["outlets"]] == [
        "globalresearch.ca",
        "tass.com",
        "late.example",
    ]
