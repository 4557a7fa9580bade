"""Editors' corrections over HTTP: each action, each refusal, the audit log and the history.

Real model and real databases (SQLite and PostgreSQL). Curation needs an admin key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.config import Settings
from app.main import create_app
from app.models import Storyline, StorylineMembership
from app.state import ServiceState
from embeddings.sentence import SentenceTransformerEmbedder
from tests.conftest import ADMIN_HEADERS, as_payload, mint_key, shared_rows

LOOPBACK = ("127.0.0.1", 50000)


@pytest.fixture
def editor(settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings, embedder), client=LOOPBACK, headers=ADMIN_HEADERS
    ) as test_client:
        yield test_client


def _state(client: TestClient) -> ServiceState:
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    return state


def _stories(client: TestClient, count: int) -> list[list[int]]:
    """Post ``count`` BASIL stories (three outlets each); returns each story's article ids."""
    rows = shared_rows("data/basil.jsonl")
    chosen = list(dict.fromkeys(r["story"] for r in rows))[:count]
    picked = [r for r in rows if r["story"] in chosen]
    response = client.post("/articles", json=[as_payload(r) for r in picked])
    assert response.status_code == 201
    ids: dict[str, list[int]] = {s: [] for s in chosen}
    for row, result in zip(picked, response.json()["articles"], strict=True):
        ids[row["story"]].append(result["id"])
    return list(ids.values())


def _storyline_of(client: TestClient, article_id: int) -> int:
    storyline: int = client.get(f"/articles/{article_id}").json()["storyline_id"]
    return storyline


def _whole(client: TestClient, count: int) -> list[tuple[int, list[int]]]:
    """Stories that the single pass kept in one storyline of their own: (storyline, articles)."""
    stories = _stories(client, count)
    homes = [{_storyline_of(client, a) for a in story} for story in stories]
    taken = [s for h in homes for s in h]
    return [
        (next(iter(h)), story)
        for h, story in zip(homes, stories, strict=True)
        if len(h) == 1 and taken.count(next(iter(h))) == 1
    ]


def test_editor_merge_keeps_the_older_id_and_is_audited(editor: TestClient) -> None:
    (a, _), (b, _) = _whole(editor, 4)[:2]
    older, newer = sorted((a, b))
    sizes = {s: editor.get(f"/storylines/{s}").json()["article_count"] for s in (a, b)}
    response = editor.post(
        f"/storylines/{newer}/merge",
        json={"into": older, "reason": "same hearing, two angles"},
        headers={"X-Editor": "dana"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["storyline"]["id"] == older
    assert body["storyline"]["article_count"] == sizes[a] + sizes[b]
    assert body["audit"]["actor"] == "dana (admin)"
    assert body["audit"]["action"] == "merge"
    assert body["audit"]["before"][str(newer)]["status"] == "active"
    assert body["audit"]["after"][str(newer)]["status"] == "merged"
    gone = editor.get(f"/storylines/{newer}").json()
    assert gone["status"] == "merged" and gone["merged_into"] == older
    assert gone["lineage"][-1]["reason"] == "same hearing, two angles"
    kinds = {(c["storyline_id"], c["kind"]) for c in editor.get("/changes").json()["changes"]}
    assert (newer, "merged") in kinds and (older, "grew") in kinds
    # The grouper knows at once: the absorbed storyline is gone from it.
    assert newer not in _state(editor).runtime.grouper.table_.rows  # type: ignore[attr-defined]


def test_editor_split_opens_a_storyline_pointing_back(editor: TestClient) -> None:
    (a, first), (b, second) = _whole(editor, 4)[:2]
    merged = editor.post(f"/storylines/{b}/merge", json={"into": a, "reason": "wrongly"})
    kept = merged.json()["storyline"]["id"]
    moved = second if kept == a else first
    response = editor.post(
        f"/storylines/{kept}/split", json={"article_ids": moved, "reason": "two hearings"}
    )
    assert response.status_code == 200, response.text
    child = response.json()["storyline"]
    assert child["split_from"] == kept and child["article_count"] == len(moved)
    assert {_storyline_of(editor, x) for x in moved} == {child["id"]}
    audit = editor.get("/audit", params={"storyline_id": child["id"]}).json()["entries"]
    assert [e["action"] for e in audit] == ["split"]
    assert audit[0]["after"]["article_ids"] == sorted(moved)


def test_editor_moves_an_article_elsewhere_and_into_a_new_storyline(editor: TestClient) -> None:
    (a, first), (b, _) = _whole(editor, 4)[:2]
    stray = first[-1]
    response = editor.post(f"/articles/{stray}/move", json={"storyline_id": b, "reason": "stray"})
    assert response.status_code == 200, response.text
    assert _storyline_of(editor, stray) == b
    assert editor.get(f"/storylines/{a}").json()["article_count"] == len(first) - 1
    assert editor.get(f"/storylines/{a}").json()["lineage"][-1]["kind"] == "moved"
    alone = editor.post(f"/articles/{stray}/move", json={"storyline_id": None, "reason": "own"})
    assert alone.status_code == 200, alone.text
    new = alone.json()["storyline"]
    assert new["id"] not in (a, b) and new["split_from"] == b and new["article_count"] == 1
    # The history holds each stay: a closed one in a, a closed one in b, the open one now.
    state = _state(editor)
    with state.db.session() as session:
        stays = session.execute(
            select(StorylineMembership.storyline_id, StorylineMembership.valid_to)
            .where(StorylineMembership.article_id == stray)
            .order_by(StorylineMembership.id)
        ).all()
    assert [s for s, _ in stays] == [a, b, new["id"]]
    assert [t is None for _, t in stays] == [False, False, True]


def test_an_editors_label_survives_relabelling_until_cleared(editor: TestClient) -> None:
    (a, _), _ = _whole(editor, 4)[:2]
    state = _state(editor)
    state.labeller.run()
    automatic = editor.get(f"/storylines/{a}").json()["label"]
    response = editor.patch(f"/storylines/{a}", json={"label": "Senate hearing", "locked": True})
    assert response.status_code == 200, response.text
    assert response.json()["storyline"]["label"] == "Senate hearing"
    with state.db.session() as session:  # make it look due for a rebuild
        row = session.get(Storyline, a)
        assert row is not None and row.locked
        row.label_basis = 0
        session.commit()
    state.labeller.seen_version = -1
    state.labeller.run()
    assert editor.get(f"/storylines/{a}").json()["label"] == "Senate hearing"
    cleared = editor.patch(f"/storylines/{a}", json={"label": None, "reason": "let it be"})
    assert cleared.status_code == 200
    state.labeller.seen_version = -1
    state.labeller.run()
    assert editor.get(f"/storylines/{a}").json()["label"] == automatic
    entries = editor.get("/audit", params={"storyline_id": a}).json()["entries"]
    assert [e["after"][str(a)]["label_pinned"] for e in entries] == [True, False]


def _refusal(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in str(response.json()["detail"])


def test_each_refusal_names_its_reason(editor: TestClient) -> None:
    (a, first), (b, second) = _whole(editor, 4)[:2]
    reason = {"reason": "test"}
    _refusal(editor.post(f"/storylines/{a}/merge", json={"into": a, **reason}), 422, "itself")
    _refusal(editor.post(f"/storylines/{a}/merge", json={"into": 999999, **reason}), 404, "999999")
    _refusal(editor.post(f"/storylines/{a}/merge", json={"into": b}), 422, "reason")
    split_all = {"article_ids": first, **reason}
    _refusal(editor.post(f"/storylines/{a}/split", json=split_all), 422, "at least one")
    _refusal(
        editor.post(f"/storylines/{a}/split", json={"article_ids": [second[0]], **reason}),
        409,
        f"{second[0]} is in {b}",
    )
    _refusal(
        editor.post(f"/storylines/{a}/split", json={"article_ids": [10**6], **reason}),
        404,
        "1000000",
    )
    _refusal(
        editor.post(f"/articles/{first[0]}/move", json={"storyline_id": a, **reason}),
        422,
        "already in",
    )
    _refusal(editor.post(f"/articles/{10**6}/move", json={"storyline_id": a, **reason}), 404, "")
    _refusal(editor.patch(f"/storylines/{a}", json={}), 422, "label")
    _refusal(editor.patch(f"/storylines/{a}", json={"label": "  "}), 422, "")
    merged = editor.post(f"/storylines/{a}/merge", json={"into": b, **reason}).json()
    absorbed = b if merged["storyline"]["id"] == a else a
    survivor = merged["storyline"]["id"]
    _refusal(
        editor.post(f"/storylines/{absorbed}/merge", json={"into": survivor, **reason}),
        409,
        f"merged into {survivor}",
    )
    _refusal(editor.patch(f"/storylines/{absorbed}", json={"locked": True}), 409, "merged")
    # Nothing refused reached the audit log.
    assert [e["action"] for e in editor.get("/audit").json()["entries"]] == ["merge"]


def test_the_only_article_of_a_storyline_is_merged_not_moved(editor: TestClient) -> None:
    (_, first), (b, _) = _whole(editor, 4)[:2]
    for article in first[1:]:
        editor.post(f"/articles/{article}/move", json={"storyline_id": b, "reason": "t"})
    _refusal(
        editor.post(f"/articles/{first[0]}/move", json={"storyline_id": b, "reason": "t"}),
        409,
        "only article",
    )


def test_curation_needs_the_admin_scope(client: TestClient) -> None:
    (story,) = _stories(client, 1)
    storyline = _storyline_of(client, story[0])
    reader = mint_key(client, "read", "ingest")
    response = client.patch(f"/storylines/{storyline}", json={"locked": True}, headers=reader)
    _refusal(response, 403, "admin")
    assert client.get("/audit").json()["entries"] == []


def test_audit_filters_by_time_and_storyline(editor: TestClient) -> None:
    (a, _), (b, _), (c, _) = _whole(editor, 6)[:3]
    editor.patch(f"/storylines/{a}", json={"locked": True, "reason": "first"})
    first = editor.get("/audit").json()["entries"][0]
    editor.patch(f"/storylines/{b}", json={"locked": True, "reason": "second"})
    editor.patch(f"/storylines/{c}", json={"label": "x", "reason": "third"})
    assert [e["reason"] for e in editor.get("/audit").json()["entries"]] == [
        "first",
        "second",
        "third",
    ]
    only_b = editor.get("/audit", params={"storyline_id": b}).json()["entries"]
    assert [e["reason"] for e in only_b] == ["second"]
    later = editor.get("/audit", params={"since": first["at"], "after": first["id"]}).json()
    assert [e["reason"] for e in later["entries"]] == ["second", "third"]
    assert later["next_after"] == later["entries"][-1]["id"]
