"""The dashboard in a real browser: what a person sees on the board, the spread page and
an outlet page, live updates, keyboard use, phone width, and an axe accessibility scan."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.conftest import Server, Watched, watch

pytestmark = pytest.mark.model  # the server loads the real model


def _board_rows(page: Any) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = page.eval_on_selector_all(
        "#rows tr",
        """trs => trs.map(tr => ({
            id: tr.dataset.id,
            label: tr.cells[0].innerText,
            articles: tr.cells[1].innerText,
            outlets: tr.cells[2].innerText,
            first: tr.cells[3].innerText,
        }))""",
    )
    return rows


def test_board_lists_storylines_with_counts_and_first_publishers(
    server: Server, watched: Watched
) -> None:
    page = watched.page
    page.goto(f"{server.url}/")
    page.wait_for_selector(f'#rows tr[data-id="{server.seed_id}"]')
    listed = server.get("/storylines", limit=500)
    rows = _board_rows(page)
    assert [int(r["id"]) for r in rows] == [i["id"] for i in listed["items"]]
    seed = next(r for r in rows if int(r["id"]) == server.seed_id)
    assert "Idlib" in seed["label"] or "White Helmets" in seed["label"]
    assert (seed["articles"], seed["outlets"]) == ("2", "2")
    assert seed["first"] == "globalresearch.ca"
    assert page.inner_text("#summary").startswith(f"{listed['total']} storylines match")
    # Sorting by outlets puts the three-outlet BASIL stories above the two-outlet seeds.
    page.select_option("#sort", "outlets")
    page.wait_for_function("document.querySelector('#rows tr').dataset.id !== undefined")
    page.wait_for_timeout(300)
    outlets = [int(r["outlets"]) for r in _board_rows(page)]
    assert outlets == sorted(outlets, reverse=True)


def test_a_new_storyline_appears_live_without_a_reload(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{server.url}/")
    page.wait_for_selector(f'#rows tr[data-id="{server.seed_id}"]')
    page.wait_for_function("document.getElementById('live').textContent.includes('on')")
    page.evaluate("window.notReloaded = true")
    story = server.basil[60:63]  # one BASIL story not posted before
    new_id = server.post(story)[0]["storyline_id"]
    page.wait_for_selector(f'#rows tr[data-id="{new_id}"]', timeout=15_000)
    assert page.evaluate("window.notReloaded") is True
    row = next(r for r in _board_rows(page) if int(r["id"]) == new_id)
    assert row["articles"] == "3"
    # The newest activity sorts the storyline into its place, not just the top.
    ids = [int(r["id"]) for r in _board_rows(page)]
    assert ids == [i["id"] for i in server.get("/storylines", limit=500)["items"]]


def test_search_with_no_real_match_says_so(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{server.url}/")
    page.fill("#q", "qwertyuiop zxcvbnm")
    page.press("#q", "Enter")
    page.wait_for_selector("text=No storyline matches")
    page.fill("#q", "staged chemical attack")
    page.click("button[type=submit]")
    first_hit = page.wait_for_selector("#hits li a")
    assert first_hit.get_attribute("href") == f"/ui/storylines/{server.seed_id}"


def test_spread_page_shows_first_publisher_lanes_in_order_and_the_nine_day_lag(
    server: Server, watched: Watched
) -> None:
    page = watched.page
    page.goto(f"{server.url}/ui/storylines/{server.seed_id}")
    page.wait_for_selector("#spread-chart")
    lanes = page.eval_on_selector_all(
        "#spread-chart g.lane",
        "gs => gs.map(g => [g.dataset.outlet, g.classList.contains('lane-first'), g.textContent])",
    )
    assert [(name, first) for name, first, _ in lanes] == [
        ("globalresearch.ca", True),
        ("tass.com", False),
    ]
    assert lanes[1][2].endswith("+9 d")
    assert "First published by globalresearch.ca" in page.inner_text("#first-publisher")
    page.click("#lanes-table summary")
    assert "tass.com: +9 d" in page.inner_text("#lanes-table")
    assert page.locator("#spread-chart circle.mark.first").count() == 1
    assert page.locator("#spread-chart path.follow").count() == 1
    articles = page.inner_text("#articles")
    assert "globalresearch.ca" in articles and "tass.com" in articles
    # Keyboard: tabbing onto TASS's mark shows its headline and a link to the article.
    page.focus("#spread-chart a.mark-link >> nth=1")
    tip = page.wait_for_selector("#mark-tip:not([hidden])")
    assert "White Helmets" in tip.inner_text()
    members = server.get(f"/storylines/{server.seed_id}/articles")["items"]
    tass = next(a for a in members if a["outlet"]["name"] == "tass.com")
    expected = tass["url"] or f"/articles/{tass['id']}"
    assert tip.query_selector("a").get_attribute("href") == expected


def test_outlet_page_shows_how_often_first_and_how_late(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{server.url}/ui/outlets/{server.outlets['tass.com']}")
    page.wait_for_selector("#co-covering")
    assert page.inner_text("#name") == "tass.com"
    assert page.inner_text("#first-in") == "0 of 1"
    assert page.inner_text("#median-lag") == "+9 d"
    co = page.inner_text("#co-covering tbody")
    assert co.split("\t")[:4] == ["globalresearch.ca", "1", "0", "1"]
    assert page.locator(f'#outlet-storylines a[href="/ui/storylines/{server.seed_id}"]').count()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_pass_axe_without_serious_violations_and_fit_a_phone(
    server: Server, browser: Any, scheme: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    seen = watch(browser, server, viewport={"width": 390, "height": 844}, color_scheme=scheme)
    pages = {
        "board": ("/", "#rows tr"),
        "spread": (f"/ui/storylines/{server.seed_id}", "#spread-chart"),
        "outlet": (f"/ui/outlets/{server.outlets['tass.com']}", "#co-covering"),
    }
    try:
        for name, (path, ready) in pages.items():
            seen.page.goto(f"{server.url}{path}")
            seen.page.wait_for_selector(ready)
            seen.shot(f"{name}-{scheme}-phone")
            violations = axe.run(seen.page).response["violations"]
            serious = [
                (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                for v in violations
                if v["impact"] in {"serious", "critical"}
            ]
            assert serious == [], f"{name} ({scheme}): {serious}"
            overflow = seen.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{name} is {overflow}px wider than a phone"
    finally:
        seen.page.context.close()
    assert seen.errors == [] and seen.foreign == []
