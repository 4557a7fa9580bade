"""Cleaning and normalisation of incoming text (pure functions)."""

from __future__ import annotations

import pytest

from app.services.prepare import content_hash, detect_language, normalize_outlet
from app.text import clean_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Idlib attack â€” SANA", "Idlib attack — SANA"),
        ("caf&eacute; &amp; bar", "café & bar"),
        ("<div>one</div><div>two<br>three</div>", "one\n\ntwo\n\nthree"),
        ("a  \t b\u00a0c", "a b c"),
        ("<style>p{}</style>text<!-- hidden -->", "text"),
        ("By [South Front](#) today", "By South Front today"),
        ("line\r\n\r\n\r\n\r\nnext", "line\n\nnext"),
        # Curly quotes are straightened (with mojibake or without), dashes kept.
        ("It\u2019s \u201cfine\u201d \u2014 really", 'It\'s "fine" \u2014 really'),
        ("\u201cIt\u00e2\u20ac\u2122s\u201d", '"It\'s"'),
        ("Cafe\u0301 re\u0301sume\u0301", "Caf\u00e9 r\u00e9sum\u00e9"),
        ("\ufb01ne \uff21\uff22", "fine AB"),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected
    assert clean_text(expected) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("tass.com", "tass.com"),
        ("https://www.TASS.com/world/123", "tass.com"),
        ("WWW.globalresearch.ca:443", "globalresearch.ca"),
        ("  Global   Research ", "global research"),
    ],
)
def test_normalize_outlet(raw: str, expected: str) -> None:
    assert normalize_outlet(raw) == expected


def test_language_detection_is_stable() -> None:
    text = "Der Stadtrat hat am Dienstag den Haushalt beschlossen."
    assert {detect_language(text, text) for _ in range(5)} == {"de"}
    assert detect_language("", "12345") == "und"


def test_content_hash_depends_on_title_and_body() -> None:
    assert content_hash("a", "b") == content_hash("a", "b")
    assert content_hash("a", "b") != content_hash("a b", "")
