"""STORYLINE_EMBEDDING_MODEL=multilingual: one event told in several languages is one storyline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.config import Settings
from app.main import create_app
from app.models import Article, Storyline
from app.services.prepare import Limits, PreparedArticle, parse_payload
from app.services.space import progress, store_family, store_model
from app.state import ServiceState
from embeddings.protocol import Embedder
from embeddings.universal import UniversalSentenceEmbedder
from tests.app.cross_lingual_texts import FERRY_DHAKA, FERRY_MWANZA
from tests.conftest import ADMIN_HEADERS

LANGUAGES = ("en", "ru", "ar", "de")
OUTLETS = {"en": "reuters.com", "ru": "tass.ru", "ar": "sana.sy", "de": "dw.com"}
MWANZA_DAY = datetime(2026, 11, 5, 9, tzinfo=UTC)
DHAKA_DAY = datetime(2026, 11, 9, 9, tzinfo=UTC)


def _payload(story: str, language: str, text: tuple[str, str], at: datetime) -> dict[str, object]:
    title, body = text
    return {
        "external_id": f"{story}-{language}",
        "outlet": OUTLETS[language],
        "title": title,
        "body": body,
        "published_at": at.isoformat(),
        "language": language,
    }


def stream() -> list[dict[str, object]]:
    """Both ferry stories, the languages interleaved as a wire would bring them."""
    rows = []
    for n, language in enumerate(LANGUAGES):
        hours = timedelta(hours=3 * n)
        rows.append(_payload("mwanza", language, FERRY_MWANZA[language], MWANZA_DAY + hours))
        rows.append(_payload("dhaka", language, FERRY_DHAKA[language], DHAKA_DAY + hours))
    return rows


def _articles(rows: list[dict[str, object]]) -> list[PreparedArticle]:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    return parse_payload(rows, Limits(50, 1_000_000, timedelta(days=1)), now)


@pytest.fixture
def multilingual(settings: Settings) -> Settings:
    return settings.model_copy(update={"embedding_model": "multilingual"})


def _storylines(state: ServiceState) -> dict[str, int | None]:
    with state.db.session() as session:
        rows = session.execute(select(Article.external_id, Article.storyline_id))
        return {str(external): storyline for external, storyline in rows}


def test_one_event_in_four_languages_is_one_storyline_and_its_look_alike_another(
    multilingual: Settings, multilingual_embedder: UniversalSentenceEmbedder
) -> None:
    state = ServiceState.start(multilingual, multilingual_embedder)
    try:
        for row in stream():  # one at a time, as separate POSTs
            state.ingestor.ingest(_articles([row]), datetime(2026, 11, 20, tzinfo=UTC))
        placed = _storylines(state)
    finally:
        state.close()
    mwanza = {placed[f"mwanza-{language}"] for language in LANGUAGES}
    dhaka = {placed[f"dhaka-{language}"] for language in LANGUAGES}
    assert len(mwanza) == 1, f"the languages split the Mwanza storyline: {placed}"
    assert len(dhaka) == 1, f"the languages split the Dhaka storyline: {placed}"
    assert mwanza != dhaka, "the look-alike ferry joined the Mwanza storyline"


def test_switching_to_multilingual_reembeds_the_store_and_then_groups_across_languages(
    settings: Settings,
    multilingual: Settings,
    embedder: Embedder,
    multilingual_embedder: UniversalSentenceEmbedder,
) -> None:
    rows = stream()
    old = ServiceState.start(settings, embedder)
    try:
        old.ingestor.ingest(_articles(rows[:4]), datetime(2026, 11, 20, tzinfo=UTC))
    finally:
        old.close()
    state = ServiceState.start(multilingual, multilingual_embedder)
    try:
        with state.db.session() as session:
            assert store_model(session) == multilingual_embedder.model_name
            assert store_family(session) == "multilingual"
            assert progress(session, multilingual_embedder.model_name).left == 4
        # Never compared with the English vectors: the grouper starts empty.
        assert len(state.runtime.grouper) == 0
        assert state.reembedder.run() == 4
        with state.db.session() as session:
            assert progress(session, multilingual_embedder.model_name).left == 0
        state.ingestor.ingest(_articles(rows[4:]), datetime(2026, 11, 20, tzinfo=UTC))
        placed = _storylines(state)
    finally:
        state.close()
    # The English run put en and ru apart; the re-embedded storylines keep their
    # ids, and the Arabic and German reports join the story they tell.
    assert placed["mwanza-ar"] in {placed["mwanza-en"], placed["mwanza-ru"]}
    assert placed["mwanza-de"] in {placed["mwanza-en"], placed["mwanza-ru"]}
    assert placed["dhaka-ar"] in {placed["dhaka-en"], placed["dhaka-ru"]}
    assert placed["mwanza-ar"] != placed["dhaka-ar"]


def test_a_storyline_is_labelled_in_the_language_most_of_its_articles_are_in(
    multilingual: Settings, multilingual_embedder: UniversalSentenceEmbedder
) -> None:
    title, body = FERRY_MWANZA["ru"]
    rows = [
        _payload("mwanza", "en", FERRY_MWANZA["en"], MWANZA_DAY),
        _payload("mwanza", "ru", FERRY_MWANZA["ru"], MWANZA_DAY + timedelta(hours=1)),
        {
            **_payload("mwanza", "ru", (f"Паром MV Nyerere: {title}", body), MWANZA_DAY),
            "external_id": "mwanza-ru-2",
            "outlet": "ria.ru",
            "published_at": (MWANZA_DAY + timedelta(hours=2)).isoformat(),
        },
        _payload("mwanza", "en", FERRY_MWANZA["en"], MWANZA_DAY + timedelta(hours=3))
        | {"external_id": "mwanza-en-2", "outlet": "bbc.co.uk"},
        _payload("mwanza", "ru", FERRY_MWANZA["ru"], MWANZA_DAY + timedelta(hours=4))
        | {"external_id": "mwanza-ru-3", "outlet": "interfax.ru"},
    ]
    state = ServiceState.start(multilingual, multilingual_embedder)
    try:
        for row in rows:
            state.ingestor.ingest(_articles([row]), datetime(2026, 11, 20, tzinfo=UTC))
        placed = _storylines(state)
        assert len(set(placed.values())) == 1, placed
        state.labeller.run()
        with state.db.session() as session:
            label = session.scalar(select(Storyline.label))
    finally:
        state.close()
    # Three Russian articles, two English: the label reads Russian.
    assert label is not None and any("а" <= ch <= "я" for ch in label.lower()), label


def test_storylines_filter_by_language_and_count_their_languages(
    multilingual: Settings, multilingual_embedder: UniversalSentenceEmbedder
) -> None:
    budget = {
        "external_id": "budget-en",
        "outlet": "apnews.com",
        "title": "Parliament of Iceland passes the 2027 budget after a night session",
        "body": "Lawmakers in Reykjavik approved the spending plan by 33 votes to 27.",
        "published_at": (DHAKA_DAY + timedelta(days=2)).isoformat(),
        "language": "en",
    }
    app = create_app(
        multilingual.model_copy(update={"label_interval_seconds": 0.0}), multilingual_embedder
    )
    with TestClient(app, headers=ADMIN_HEADERS) as client:
        for row in [*stream(), budget]:
            assert client.post("/articles", json=row).status_code == 201
        placed = {
            a["external_id"]: a["storyline_id"]
            for a in (client.get(f"/articles/{n}").json() for n in range(1, 10))
        }
        mwanza, dhaka, iceland = placed["mwanza-ru"], placed["dhaka-ru"], placed["budget-en"]

        def ids(**params: object) -> set[int]:
            page = client.get("/storylines", params=params).json()
            return {item["id"] for item in page["items"]}

        assert ids(language="ru") == {mwanza, dhaka}
        assert ids(language="en") == {mwanza, dhaka, iceland}
        assert ids(language="fr") == set()
        assert ids(min_languages=2) == {mwanza, dhaka}
        assert ids(min_languages=5) == set()
        assert ids(language="EN", min_languages=1) == {mwanza, dhaka, iceland}
        assert client.get("/storylines", params={"language": "r u"}).status_code == 422
        # The same filters on the storylines as they were at an instant.
        now = datetime.now(UTC).isoformat()
        assert ids(language="ru", as_of=now) == {mwanza, dhaka}
        assert ids(min_languages=2, as_of=now) == {mwanza, dhaka}

        timeline = client.get(f"/storylines/{mwanza}/timeline", params={"bucket": "day"}).json()
        assert timeline["languages"] == {"ar": 1, "de": 1, "en": 1, "ru": 1}
        assert sum(sum(b["languages"].values()) for b in timeline["buckets"]) == 4
        assert {o["outlet"]["name"]: o["language"] for o in timeline["outlets"]} == {
            OUTLETS[language]: language for language in LANGUAGES
        }
        spread = client.get(f"/storylines/{mwanza}/spread").json()
        assert spread["languages"] == {"ar": 1, "de": 1, "en": 1, "ru": 1}
        assert [(o["outlet"]["name"], o["language"]) for o in spread["outlets"]] == [
            (OUTLETS[language], language) for language in LANGUAGES
        ]
