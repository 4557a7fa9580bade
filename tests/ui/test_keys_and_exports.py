"""The dashboard behind keys and its downloads: the read-key prompt against a server
without public reads, and the spread page's export links, with and without a key."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_HEADERS, as_payload, shared_rows
from tests.ui.conftest import Server, Watched, serve, watch

pytestmark = pytest.mark.model  # the server loads the real model


def _download(page: Any, fmt: str) -> tuple[str, Path]:
    """Click the export link for ``fmt``; the saved file's suggested name and path."""
    with page.expect_download() as info:
        page.click(f'#exports a[data-format="{fmt}"]')
    download = info.value
    assert download.failure() is None
    return download.suggested_filename, Path(download.path())


def _check_exports(page: Any, storyline_id: int, outlets: set[str]) -> None:
    """Every export link saves a file that parses and holds this storyline's articles."""
    page.wait_for_selector("#exports a")
    name, path = _download(page, "csv")
    assert name == f"storyline-{storyline_id}.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["outlet"] for r in rows} == outlets
    assert {int(r["storyline_id"]) for r in rows} == {storyline_id}
    _, path = _download(page, "jsonl")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["article_id"] for r in records) == sorted(int(r["article_id"]) for r in rows)
    for fmt in ("graphml", "gexf"):
        name, path = _download(page, fmt)
        assert name == f"storyline-{storyline_id}.{fmt}"
        nodes = {el.get("id") for el in ET.parse(path).iter() if el.tag.endswith("}node")}
        assert nodes == outlets, (fmt, nodes)  # outlets are the graph's nodes
    assert "saved" in page.inner_text("#export-status")


def test_export_links_save_each_format_through_public_reads(
    server: Server, watched: Watched
) -> None:
    page = watched.page
    page.goto(f"{server.url}/ui/storylines/{server.seed_id}")
    page.wait_for_selector("#exports a")
    links = page.eval_on_selector_all("#exports a", "as => as.map(a => a.getAttribute('href'))")
    assert links == [
        f"/storylines/{server.seed_id}/export?format={fmt}"
        for fmt in ("csv", "jsonl", "graphml", "gexf")
    ]
    _check_exports(page, server.seed_id, {"globalresearch.ca", "tass.com"})


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int]]:
    """A server without public reads holding the seeds: its URL, a read key, the seeds' id."""
    with serve(tmp_path_factory.mktemp("keyed"), public_reads=False) as url:
        seeds = [as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl")]
        posted = httpx.post(f"{url}/articles", json=seeds, headers=ADMIN_HEADERS, timeout=120)
        assert posted.status_code == 201, posted.text
        created = httpx.post(
            f"{url}/keys", json={"name": "dashboard", "scopes": ["read"]}, headers=ADMIN_HEADERS
        )
        assert created.status_code == 201, created.text
        yield url, created.json()["key"], posted.json()["articles"][0]["storyline_id"]


def test_the_read_key_prompt_refuses_a_wrong_key_and_a_right_one_shows_the_board(
    browser: Any, keyed: tuple[str, str, int]
) -> None:
    url, key, seed_id = keyed
    seen = watch(browser, Server(url=url, seed_id=seed_id, outlets={}))
    page = seen.page
    answers = iter(["sl_not-a-real-key-0000000000000000", key])
    prompts: list[str] = []

    def answer(dialog: Any) -> None:
        prompts.append(dialog.message)
        dialog.accept(next(answers))

    page.on("dialog", answer)
    try:
        page.goto(f"{url}/")
        page.wait_for_selector("text=read key was refused")
        # The board's reads start together but ask once; the refused key is not kept.
        assert len(prompts) == 1 and "needs a read key" in prompts[0]
        assert page.evaluate("localStorage.getItem('storyline.readKey')") is None
        assert page.locator("#rows tr").count() == 0
        page.reload()
        page.wait_for_selector(f'#rows tr[data-id="{seed_id}"]')
        assert len(prompts) == 2
        assert page.evaluate("localStorage.getItem('storyline.readKey')") == key
        seen.shot("board-with-read-key")
        # The key travels with the downloads too: a plain link could not carry it.
        page.goto(f"{url}/ui/storylines/{seed_id}")
        _check_exports(page, seed_id, {"globalresearch.ca", "tass.com"})
        assert len(prompts) == 2
    finally:
        page.context.close()
    # The browser logs each refused request (401); the change stream needs public reads.
    assert [e for e in seen.errors if "401" not in e] == []
    assert seen.foreign == []
