"""Exports read back the way analysts read them: csv and json, networkx for GraphML and GEXF."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.main import create_app
from embeddings.sentence import SentenceTransformerEmbedder
from tests.conftest import ADMIN_HEADERS, as_payload, shared_rows


@pytest.fixture
def editor(settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings, embedder), client=("127.0.0.1", 50000), headers=ADMIN_HEADERS
    ) as test_client:
        yield test_client


def _seed_storyline(client: TestClient) -> int:
    """The project's two founding articles, two outlets nine days apart, plus a wire copy."""
    seeds = shared_rows("seeds/idlib_sept2018.jsonl")
    copy = {**seeds[0], "id": "wire-copy", "url": None, "outlet": "wire.example.com"}
    copy["published_at"] = "2018-09-23T12:00:00Z"
    response = client.post("/articles", json=[as_payload(r) for r in [*seeds, copy]])
    homes = {a["storyline_id"] for a in response.json()["articles"]}
    assert len(homes) == 1
    return homes.pop()


def _members(client: TestClient, storyline: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(
        f"/storylines/{storyline}/articles", params={"limit": 500}
    ).json()["items"]
    return items


def test_csv_and_jsonl_list_every_article_with_its_facts(editor: TestClient) -> None:
    storyline = _seed_storyline(editor)
    members = _members(editor, storyline)
    response = editor.get(f"/storylines/{storyline}/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"storyline-{storyline}.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["article_id"]) for r in rows] == [m["id"] for m in members]
    assert [r["outlet"] for r in rows] == [m["outlet"]["name"] for m in members]
    assert [r["url"] for r in rows] == [m["url"] or "" for m in members]
    assert {r["language"] for r in rows} == {"en"}
    assert {r["storyline_id"] for r in rows} == {str(storyline)}
    lines = editor.get(f"/storylines/{storyline}/export", params={"format": "jsonl"}).text
    records = [json.loads(line) for line in lines.splitlines()]
    assert [r["article_id"] for r in records] == [m["id"] for m in members]
    assert [r["similarity"] for r in records] == [
        None if m["similarity"] is None else round(m["similarity"], 6) for m in members
    ]


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_the_spread_graph_loads_in_networkx(editor: TestClient, fmt: str) -> None:
    storyline = _seed_storyline(editor)
    spread = editor.get(f"/storylines/{storyline}/spread").json()
    response = editor.get(f"/storylines/{storyline}/export", params={"format": fmt})
    assert response.status_code == 200
    reader = nx.read_graphml if fmt == "graphml" else nx.read_gexf
    graph = reader(io.BytesIO(response.content))
    outlets = {o["outlet"]["name"]: o for o in spread["outlets"]}
    assert set(graph.nodes) == set(outlets)
    for name, outlet in outlets.items():
        first_seen = datetime.fromisoformat(graph.nodes[name]["first_seen"])
        assert first_seen == datetime.fromisoformat(outlet["first_article"]["effective_at"])
    edges = [(u, v, d["kind"], float(d["lag_seconds"])) for u, v, d in graph.edges(data=True)]
    expected = [
        (e["leader"], e["follower"], "follower", e["lag"]["seconds"])
        for e in spread["follower_edges"]
    ] + [
        (e["source"], e["republished"], "republish", e["lag"]["seconds"])
        for e in spread["republish_edges"]
    ]
    expected = [(a["outlet"]["name"], b["outlet"]["name"], k, s) for a, b, k, s in expected]
    assert sorted(edges) == sorted(expected)
    assert any(kind == "follower" for *_, kind, _ in expected)


def test_an_export_as_of_an_earlier_instant_has_the_members_of_then(editor: TestClient) -> None:
    storyline = _seed_storyline(editor)
    before = datetime.now(UTC).isoformat()
    moved = _members(editor, storyline)[-1]["id"]
    editor.post(f"/articles/{moved}/move", json={"storyline_id": None, "reason": "own story"})
    then = editor.get(
        f"/storylines/{storyline}/export", params={"format": "jsonl", "as_of": before}
    ).text
    now = editor.get(f"/storylines/{storyline}/export", params={"format": "jsonl"}).text
    assert moved in {json.loads(line)["article_id"] for line in then.splitlines()}
    assert moved not in {json.loads(line)["article_id"] for line in now.splitlines()}


def test_bad_export_requests_are_refused(editor: TestClient) -> None:
    storyline = _seed_storyline(editor)
    assert editor.get("/storylines/999999/export").status_code == 404
    bad = editor.get(f"/storylines/{storyline}/export", params={"format": "xlsx"})
    assert bad.status_code == 422 and "format" in str(bad.json()["detail"])


def test_the_cli_exports_a_period(
    editor: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    _seed_storyline(editor)
    basil = shared_rows("data/basil.jsonl")[:6]  # 2010: outside the period below
    editor.post("/articles", json=[as_payload(r) for r in basil])
    monkeypatch.setenv("STORYLINE_DATABASE_URL", settings.database_url)
    period = ["--since", "2018-09-01", "--until", "2018-09-30"]
    out = tmp_path / "period.csv"
    result = CliRunner().invoke(cli, ["export", *period, "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as exported:
        rows = list(csv.DictReader(exported))
    assert sorted(r["outlet"] for r in rows) == sorted(
        [r["outlet"] for r in shared_rows("seeds/idlib_sept2018.jsonl")] + ["wire.example.com"]
    )
    graph_file = tmp_path / "period.graphml"
    result = CliRunner().invoke(
        cli, ["export", *period, "--format", "graphml", "--output", str(graph_file)]
    )
    assert result.exit_code == 0, result.output
    graph = nx.read_graphml(graph_file)
    assert set(graph.nodes) == {r["outlet"] for r in rows}
    refused = CliRunner().invoke(cli, ["export", *period, "--format", "pdf"])
    assert refused.exit_code != 0 and "csv, jsonl" in refused.output
