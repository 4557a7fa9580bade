"""SIGTERM ends open change streams and the process exits within 10 s, losing nothing
it accepted. A real `storyline serve` process, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db import Database
from app.models import Article
from tests.conftest import ADMIN_HEADERS, as_payload, shared_rows

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.model  # the served process loads the real model


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(base: str, process: subprocess.Popen[bytes], seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "serve exited during start-up"
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail("serve did not start")


def test_sigterm_ends_open_streams_and_exits_within_10_s(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "STORYLINE_DATABASE_URL": database_url,
        "STORYLINE_PORT": str(port),
        "STORYLINE_ASYNC_INGEST": "true",
        "STORYLINE_LABEL_INTERVAL_SECONDS": "0.5",
    }
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    received: list[str] = []
    ended: dict[str, Any] = {}

    def listen() -> None:
        try:
            with httpx.stream(
                "GET", f"{base}/changes/stream", timeout=60, headers=ADMIN_HEADERS
            ) as stream:
                for line in stream.iter_lines():
                    received.append(line)
            ended["cleanly"] = True
        except httpx.HTTPError as exc:
            ended["error"] = repr(exc)

    try:
        _wait_ready(base, process)
        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        rows = [as_payload(r) for r in shared_rows("data/basil.jsonl")[:40]]
        accepted: list[int] = []
        for start in range(0, len(rows), 10):
            response = httpx.post(
                f"{base}/articles", json=rows[start : start + 10], timeout=60, headers=ADMIN_HEADERS
            )
            assert response.status_code == 202, response.text
            accepted += [a["id"] for a in response.json()["articles"]]
        time.sleep(1.0)  # the worker is busy with the batch, the stream is open
        assert listener.is_alive()

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        elapsed = time.monotonic() - started
        listener.join(5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    output = (tmp_path / "serve.log").read_text(errors="replace")
    assert elapsed < 10, f"took {elapsed:.1f} s to stop\n{output[-3000:]}"
    assert ended.get("cleanly"), ended
    assert received and received[0] == "retry: 2000"

    db = Database.from_url(database_url)
    try:
        with db.session() as session:
            stored = set(session.scalars(select(Article.id).where(Article.id.in_(accepted))))
    finally:
        db.dispose()
    assert stored == set(accepted)
