"""A new service on the same database sees the same storylines and keeps assigning."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.services.prepare import Limits, parse_payload
from app.state import ServiceState
from embeddings.protocol import Embedder
from tests.conftest import ADMIN_HEADERS, as_payload, shared_rows


def test_restart_keeps_storylines_and_assigns_into_them(
    settings: Settings, embedder: Embedder
) -> None:
    first, second = (as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl"))
    basil = [as_payload(r) for r in shared_rows("data/basil.jsonl")[:6]]
    with TestClient(create_app(settings, embedder), headers=ADMIN_HEADERS) as client:
        opened = client.post("/articles", json=[first, *basil]).json()["articles"]
        before = client.get("/storylines", params={"limit": 500}).json()["items"]
    with TestClient(create_app(settings, embedder), headers=ADMIN_HEADERS) as client:
        after = client.get("/storylines", params={"limit": 500}).json()["items"]
        assert after == before
        live = [s for s in before if s["status"] == "active"]
        assert client.get("/health").json()["live_storylines"] == len(live)
        joined = client.post("/articles", json=second).json()["articles"][0]
        assert joined["storyline_is_new"] is False
        assert joined["storyline_id"] == opened[0]["storyline_id"]
        again = client.post("/articles", json=first)
        assert again.status_code == 200
        assert again.json()["articles"][0]["id"] == opened[0]["id"]


def test_onnx_backend_exports_once_and_groups_the_seeds(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="the 'onnx' extra is not installed")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'onnx.db'}",
        embedding_backend="onnx",
        onnx_dir=str(tmp_path / "onnx"),
    )
    first, second = (as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl"))
    with TestClient(create_app(settings), headers=ADMIN_HEADERS) as client:
        assert client.get("/health").json()["model"].endswith("+onnx-int8")
        a = client.post("/articles", json=first).json()["articles"][0]
        b = client.post("/articles", json=second).json()["articles"][0]
        assert b["storyline_id"] == a["storyline_id"]
    assert (tmp_path / "onnx" / "manifest.json").exists()


def test_synchronous_service_finishes_what_a_killed_request_left_behind(
    settings: Settings, embedder: Embedder
) -> None:
    # A synchronous POST stored and leased these, then its process died before
    # embedding them; an hour later their lease has long lapsed.
    seeds = [as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl")]
    then = datetime.now(UTC) - timedelta(hours=1)
    state = ServiceState.start(settings, embedder)
    try:
        articles = parse_payload(seeds, Limits(10, 1_000_000, timedelta(days=1)), then)
        ids = [r.id for r in state.ingestor.accept(articles, then, lease=True)]
    finally:
        state.close()
    with TestClient(create_app(settings, embedder), headers=ADMIN_HEADERS) as client:
        deadline = time.monotonic() + 120
        while {client.get(f"/articles/{i}").json()["status"] for i in ids} != {"grouped"}:
            assert time.monotonic() < deadline, "the leftovers were never grouped"
            time.sleep(0.2)
        first, second = (client.get(f"/articles/{i}").json() for i in ids)
        assert first["storyline_id"] == second["storyline_id"] is not None
