"""Per-language label variants: a storyline told in several languages is named in each.

Real multilingual model, real database (SQLite and PostgreSQL). The texts are
written for this test: an eruption near Grindavik told in English and Russian,
and an English-only story about a chess final.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.state import ServiceState
from embeddings.universal import UniversalSentenceEmbedder
from tests.conftest import ADMIN_HEADERS

DAY = datetime(2026, 11, 12, 6, tzinfo=UTC)

ERUPTION = {
    "en": [
        (
            "reuters.com",
            "Volcano erupts near Grindavik, Iceland evacuates the Blue Lagoon",
            "A fissure eruption began on the Reykjanes peninsula north of Grindavik overnight, "
            "the Icelandic Meteorological Office said. Lava fountains rose 50 metres and police "
            "evacuated the Blue Lagoon spa and the remaining residents of Grindavik.",
        ),
        (
            "bbc.co.uk",
            "Lava flows towards Grindavik after new Reykjanes eruption",
            "Lava from a new fissure on the Reykjanes peninsula flowed towards the defence walls "
            "of Grindavik on Tuesday. The Blue Lagoon was evacuated and flights at Keflavik "
            "airport were not affected, the Icelandic Meteorological Office said.",
        ),
        (
            "apnews.com",
            "Iceland: eruption on Reykjanes peninsula, Grindavik evacuated again",
            "Residents of Grindavik were evacuated again as a fissure eruption opened on the "
            "Reykjanes peninsula, the Icelandic Meteorological Office said. The Blue Lagoon "
            "closed and lava fountains were seen from Reykjavik.",
        ),
    ],
    "ru": [
        (
            "tass.ru",
            "В Исландии у Гриндавика началось извержение вулкана",
            "Ночью на полуострове Рейкьянес к северу от Гриндавика началось трещинное "
            "извержение, сообщило Метеорологическое управление Исландии. Фонтаны лавы "
            "поднимались на 50 метров, полиция эвакуировала курорт Голубая лагуна и жителей "
            "Гриндавика.",
        ),
        (
            "ria.ru",
            "Лава движется к Гриндавику после извержения на Рейкьянесе",
            "Лава из новой трещины на полуострове Рейкьянес движется к защитным валам "
            "Гриндавика. Голубая лагуна эвакуирована, аэропорт Кеблавик работает в обычном "
            "режиме, сообщило Метеорологическое управление Исландии.",
        ),
    ],
}

CHESS = [
    (
        "theguardian.com",
        "Chess: Nakamura beats Firouzja in the Zurich rapid final",
        "Hikaru Nakamura won the Zurich rapid chess final against Alireza Firouzja "
        "3-1 on Sunday, taking the title for the second time.",
    ),
    (
        "chess.com",
        "Nakamura wins Zurich rapid title, Firouzja second",
        "Hikaru Nakamura beat Alireza Firouzja in the final of the Zurich rapid "
        "tournament, 3-1, to take the title again.",
    ),
]

CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
LATIN = re.compile(r"[a-z]", re.IGNORECASE)


def _row(n: int, language: str, outlet: str, title: str, body: str) -> dict[str, object]:
    return {
        "external_id": f"article-{n}",
        "outlet": outlet,
        "title": title,
        "body": body,
        "published_at": (DAY + timedelta(hours=n)).isoformat(),
        "language": language,
    }


@pytest.fixture
def client(
    settings: Settings, multilingual_embedder: UniversalSentenceEmbedder
) -> Iterator[TestClient]:
    # No background labeller: each test runs it when it wants the labels built.
    chosen = settings.model_copy(
        update={"embedding_model": "multilingual", "label_interval_seconds": 0.0}
    )
    with TestClient(create_app(chosen, multilingual_embedder), headers=ADMIN_HEADERS) as tc:
        yield tc


def _post(client: TestClient, rows: list[dict[str, object]]) -> list[int]:
    placed = []
    for row in rows:
        response = client.post("/articles", json=row)
        assert response.status_code == 201, response.text
        placed.append(response.json()["articles"][0]["storyline_id"])
    return placed


def _eruption() -> list[dict[str, object]]:
    interleaved = [("en", 0), ("ru", 0), ("en", 1), ("ru", 1), ("en", 2)]
    return [
        _row(n, language, *ERUPTION[language][i]) for n, (language, i) in enumerate(interleaved)
    ]


def _label(client: TestClient) -> None:
    state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
    state.labeller.run()


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w+", text)}


def _terms(label: str) -> str:
    """The label without its date range."""
    return label.rsplit(" — ", 1)[0]


def test_a_two_language_storyline_gets_a_label_in_each_language_and_one_language_none(
    client: TestClient,
) -> None:
    eruption = _post(client, _eruption())
    assert len(set(eruption)) == 1, f"the languages split the eruption storyline: {eruption}"
    chess = _post(client, [_row(10 + n, "en", *row) for n, row in enumerate(CHESS)])
    assert len(set(chess)) == 1 and chess[0] != eruption[0], chess
    _label(client)

    detail = client.get(f"/storylines/{eruption[0]}").json()
    variants = detail["label_variants"]
    assert set(variants) == {"en", "ru"}, detail
    # Each variant is made of its own language's words, and only of them.
    for language, label in variants.items():
        terms = _terms(label)
        written = set().union(*(_words(f"{t} {b}") for _, t, b in ERUPTION[language]))
        assert _words(terms) <= written, (language, label)
    assert CYRILLIC.search(_terms(variants["ru"])) and not LATIN.search(_terms(variants["ru"]))
    assert LATIN.search(_terms(variants["en"])) and not CYRILLIC.search(_terms(variants["en"]))
    # Three English articles, two Russian: the main label is the English variant.
    assert detail["label"] == variants["en"]

    assert client.get(f"/storylines/{chess[0]}").json()["label_variants"] == {}
    rows = {row["id"]: row for row in client.get("/storylines").json()["items"]}
    assert rows[eruption[0]]["label_variants"] == variants
    assert rows[chess[0]]["label_variants"] == {}


def test_an_editors_label_wins_and_the_variants_are_still_built(client: TestClient) -> None:
    eruption = _post(client, _eruption())
    assert len(set(eruption)) == 1, f"the languages split the eruption storyline: {eruption}"
    sid = eruption[0]
    edited = client.patch(
        f"/storylines/{sid}", json={"label": "Reykjanes eruption", "reason": "house style"}
    )
    assert edited.status_code == 200, edited.text
    _label(client)
    detail = client.get(f"/storylines/{sid}").json()
    assert detail["label"] == "Reykjanes eruption"
    assert set(detail["label_variants"]) == {"en", "ru"}
    assert CYRILLIC.search(detail["label_variants"]["ru"])
