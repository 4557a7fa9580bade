"""Lexical terms of an article: words, entities and headline words."""

from __future__ import annotations

import math

from clustering.terms import ENTITY_MARK, article_terms, title_terms


def test_stop_words_and_single_letters_are_dropped() -> None:
    terms = article_terms("The fire in a town", "")
    assert "the" not in terms
    assert "a" not in terms
    assert "fire" in terms
    assert "town" in terms


def test_mid_sentence_capitals_and_numbers_become_entities() -> None:
    terms = article_terms("", "Police said Dana Ruiz, 34, was shot on Elm Street.")
    assert ENTITY_MARK + "ruiz" in terms
    assert ENTITY_MARK + "elm" in terms
    assert ENTITY_MARK + "34" in terms
    # "Police" opens the sentence: a capital there says nothing.
    assert ENTITY_MARK + "police" not in terms


def test_title_capitals_are_not_entities_but_title_digits_are() -> None:
    terms = article_terms("Man Shot On Elm Street, 3 Hurt", "")
    assert ENTITY_MARK + "elm" not in terms
    assert ENTITY_MARK + "3" in terms


def test_title_words_weigh_more_and_counts_are_dampened() -> None:
    terms = article_terms("Flood", "flood flood", title_weight=2.0)
    assert abs(terms["flood"] - (1.0 + math.log(4.0))) < 1e-9


def test_body_is_cut_after_max_body_tokens() -> None:
    terms = article_terms("", "alpha beta gamma delta", max_body_tokens=2)
    assert "alpha" in terms
    assert "gamma" not in terms


def test_title_terms_have_no_entity_channel() -> None:
    terms = title_terms("Staged chemical attack in Idlib, 2 videos")
    assert set(terms) == {"staged", "chemical", "attack", "idlib", "2", "videos"}
    assert all(not t.startswith(ENTITY_MARK) for t in terms)


def test_empty_texts_give_no_terms() -> None:
    assert article_terms("", "") == {}
    assert title_terms("") == {}
