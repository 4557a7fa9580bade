"""A real server and a real browser for the dashboard's tests.

The server is uvicorn in a subprocess on a fresh SQLite file, loaded with the seed
narrative and a slice of BASIL; the browser is the system Chromium driven by
Playwright (``executable_path``: Playwright's own browser download needs internet).
Screenshots go to ``test-artifacts/screenshots`` (ignored by git).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import ADMIN_HEADERS, TEST_ADMIN_KEY, as_payload, shared_rows

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
BASIL_SLICE = 30  # ten BASIL stories, three outlets each


def chromium_path() -> str:
    """The system Chromium (``STORYLINE_CHROMIUM`` overrides); skips, or fails under CI."""
    path = os.environ.get("STORYLINE_CHROMIUM") or shutil.which("chromium")
    if path is None:
        message = "chromium not found: install it (Debian/Ubuntu: apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI requires it")
        pytest.skip(message)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    seed_id: int
    outlets: dict[str, int]
    basil: list[dict[str, Any]] = field(default_factory=list)

    def post(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = httpx.post(
            f"{self.url}/articles",
            json=[as_payload(r) for r in rows],
            headers=ADMIN_HEADERS,
            timeout=120,
        )
        assert response.status_code == 201, response.text
        result: list[dict[str, Any]] = response.json()["articles"]
        return result

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def serve(directory: Path, public_reads: bool) -> Iterator[str]:
    """uvicorn on a fresh SQLite store in ``directory``; yields its URL once /health answers."""
    port = _free_port()
    store = directory / "storyline.db"
    env = {
        **os.environ,
        "STORYLINE_DATABASE_URL": f"sqlite:///{store}",
        "STORYLINE_PUBLIC_READS": "true" if public_reads else "false",
        "STORYLINE_ADMIN_KEY": TEST_ADMIN_KEY,
        "PYTHONPATH": str(ROOT),
    }
    log = (directory / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited: {(directory / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not start within 180 s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """uvicorn serving a fresh store with the seeds and a BASIL slice."""
    seeds = shared_rows("seeds/idlib_sept2018.jsonl")
    basil = shared_rows("data/basil.jsonl")
    # The pages read through public reads, as a public dashboard does; posts use the admin key.
    with serve(tmp_path_factory.mktemp("ui"), public_reads=True) as url:
        ready = Server(url=url, seed_id=0, outlets={}, basil=basil)
        ready.seed_id = ready.post(seeds)[0]["storyline_id"]
        ready.post(basil[:BASIL_SLICE])
        ready.outlets = {o["name"]: o["id"] for o in ready.get("/outlets")["items"]}
        yield ready


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page plus what it did that a person would not want: errors and foreign requests."""

    page: Any
    errors: list[str]
    foreign: list[str]

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def watch(browser: Any, server: Server, **context: Any) -> Watched:
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    errors: list[str] = []
    foreign: list[str] = []
    own = urlsplit(server.url).netloc
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def request(req: Any) -> None:
        parts = urlsplit(req.url)
        if parts.scheme in {"http", "https", "ws", "wss"} and parts.netloc != own:
            foreign.append(req.url)

    page.on("request", request)
    return Watched(page, errors, foreign)


@pytest.fixture
def watched(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Watched]:
    """A fresh laptop-sized page; after the test: no console error, no other host asked."""
    seen = watch(browser, server, viewport={"width": 1280, "height": 900})
    yield seen
    seen.shot(request.node.name)
    seen.page.context.close()
    assert seen.errors == [], f"console errors: {seen.errors}"
    assert seen.foreign == [], f"requests to other hosts: {seen.foreign}"
