"""Words compare within a language; across languages only numbers and dates do, and the
join model is told the candidate shares no language with the article."""

from __future__ import annotations

import numpy as np
import pytest

from clustering import EvidenceGrouper
from clustering.join_model import FEATURES
from clustering.online import Item

T0 = 1_500_000_000.0
VEC = np.eye(16, dtype=np.float32)[0]
COLUMN = {name: n for n, name in enumerate(FEATURES)}
LEXICAL = ["word_max", "entity_max", "title_max"]

GERMAN = ("Fähre kentert bei Mwanza", "Bei Mwanza kenterte eine Fähre, 34 Tote und 200 Passagiere.")
ENGLISH = ("Ferry capsizes near Mwanza", "Near Mwanza a ferry capsized, 34 dead, 200 passengers.")


def _features(
    stored: list[tuple[str, str, str]], probe: tuple[str, str, str], by_language: bool = True
) -> np.ndarray:
    g = EvidenceGrouper(by_language=by_language)
    for n, (language, title, body) in enumerate(stored):
        g.add(Item(VEC, title, body, T0 + n, language), 0)
    language, title, body = probe
    keys, feats = g.candidates(Item(VEC, title, body, T0 + 10, language))
    assert keys == [0]
    return feats[0]


def test_one_language_decides_as_with_no_language_at_all() -> None:
    tagged = _features([("en", *ENGLISH)], ("en", *ENGLISH))
    untagged = _features([("", *ENGLISH)], ("", *ENGLISH))
    np.testing.assert_array_equal(tagged, untagged)
    assert tagged[COLUMN["cross_language"]] == 0.0


def test_without_by_language_languages_are_not_told_apart() -> None:
    blind = _features([("de", *GERMAN)], ("en", *ENGLISH), by_language=False)
    unknown = _features([("", *GERMAN)], ("en", *ENGLISH))
    np.testing.assert_array_equal(blind, unknown)


def test_names_spelt_alike_in_two_languages_are_not_lexical_evidence_but_numbers_are() -> None:
    across = _features([("de", *GERMAN)], ("en", *ENGLISH))
    unknown = _features([("", *GERMAN)], ("en", *ENGLISH))
    # "Mwanza" and the numbers match when the languages are not known ...
    assert across[COLUMN["word_max"]] < unknown[COLUMN["word_max"]]
    # ... and only the numbers (34, 200) when they are known to differ.
    assert across[COLUMN["word_max"]] > 0.0
    numbers_only = _features([("de", "Fähre", "Die Fähre.")], ("en", "Ferry", "The ferry."))
    assert numbers_only[COLUMN["word_max"]] == 0.0
    assert across[COLUMN["title_max"]] == 0.0  # the headlines share a name, no number


def test_a_storyline_with_no_member_in_the_articles_language_is_marked_cross_language() -> None:
    across = _features([("de", *GERMAN)], ("en", *ENGLISH))
    assert across[COLUMN["cross_language"]] == 1.0
    assert across[COLUMN["cross_dense_max"]] == across[COLUMN["dense_max"]]
    mixed = _features([("de", *GERMAN), ("en", *ENGLISH)], ("en", *ENGLISH))
    assert mixed[COLUMN["cross_language"]] == 0.0
    # The English member carries the words: the German one does not lower them.
    alone = _features([("en", *ENGLISH)], ("en", *ENGLISH))
    for name in LEXICAL:
        assert mixed[COLUMN[name]] == pytest.approx(alone[COLUMN[name]])
