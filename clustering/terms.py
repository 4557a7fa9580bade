"""Lexical evidence of an article: weighted term counts, with names and numbers apart.

Event clustering in one language is decided mostly by rare shared words: the
victim's name, the street, the town, the count of wounded. This module turns a
cleaned title and body into term frequencies over two channels:

* words: every lower-cased word (:mod:`clustering.words`) that is not a stop word;
* entities: capitalised tokens seen mid-sentence (names, places) and tokens with
  digits, kept under a separate key (prefixed with ``ENTITY_MARK``) so that a
  grouper can weigh "same people, same place" on its own.

Title tokens count ``title_weight`` times; the body is cut after
``max_body_tokens`` tokens since leads carry the facts and tails carry
boilerplate. Frequencies are dampened as ``1 + log(count)``.
"""

from __future__ import annotations

import itertools
import math
import re

from clustering.words import STOP_WORDS, WORD

ENTITY_MARK = "\x01"

_DIGIT = re.compile(r"\d")
_SENTENCE_END = frozenset(".!?:;\n\"“”'‘’([")


def article_terms(
    title: str, body: str, *, title_weight: float = 2.0, max_body_tokens: int = 400
) -> dict[str, float]:
    """Dampened term frequencies of one article, word and entity channels together.

    Returns a mapping term -> weight > 0; entity terms start with ``ENTITY_MARK``.
    """
    counts: dict[str, float] = {}
    _count(title, counts, title_weight, None, title=True)
    _count(body, counts, 1.0, max_body_tokens, title=False)
    return {term: 1.0 + math.log(c) if c >= 1.0 else c for term, c in counts.items()}


def _count(
    text: str, counts: dict[str, float], weight: float, limit: int | None, *, title: bool
) -> None:
    known = _TOKENS
    for match in itertools.islice(WORD.finditer(text), limit):
        token = match.group()
        info = known.get(token, _UNSEEN)
        if info is _UNSEEN:
            info = _classify(token)
        if info is None:
            continue
        lower, has_digit, entity = info
        counts[lower] = counts.get(lower, 0.0) + weight
        # Titles are often Title Cased, so capitals there say nothing; digits still do.
        if has_digit or (not title and token[0].isupper() and _mid_sentence(text, match.start())):
            counts[entity] = counts.get(entity, 0.0) + weight


# What _count needs of a token, by token: (lower-cased, has a digit, entity key), or None
# when it is not a term (a stop word, a single letter). Word frequencies are Zipfian, so
# nearly every token of an article was seen before and one dict lookup replaces lower(), a
# regex search and the stop-word test. Cleared when full, so memory stays bounded.
_TOKENS: dict[str, tuple[str, bool, str] | None] = {}
_MAX_TOKENS = 200_000
_UNSEEN = ("", False, "")  # sentinel for a token not yet in _TOKENS


def _classify(token: str) -> tuple[str, bool, str] | None:
    """Classify ``token`` for :func:`_count` and remember the answer in ``_TOKENS``."""
    lower = token.lower()
    has_digit = _DIGIT.search(token) is not None
    info = None
    if lower not in STOP_WORDS and (len(lower) >= 2 or has_digit):
        info = (lower, has_digit, ENTITY_MARK + lower)
    if len(_TOKENS) >= _MAX_TOKENS:
        _TOKENS.clear()
    _TOKENS[token] = info
    return info


def _mid_sentence(text: str, start: int) -> bool:
    """True when the token at ``start`` follows a word, not a sentence break."""
    i = start - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i >= 0 and text[i] not in _SENTENCE_END


def title_terms(title: str) -> dict[str, float]:
    """Dampened word frequencies of a headline alone (no entity channel)."""
    counts: dict[str, float] = {}
    _count(title, counts, 1.0, None, title=True)
    return {
        term: 1.0 + math.log(c) for term, c in counts.items() if not term.startswith(ENTITY_MARK)
    }


# Specific facts a report states in a fixed form: a person's age ("23-year-old") and a
# street address ("the 4800 block of South Ashland"). Two reports of one event repeat
# them; two look-alike reports of different events (templated roundups: "2 shot in
# Englewood") share the template words but not these values.
_AGE = re.compile(r"\b(\d{1,3})[- ](?:year|yr)s?[- ]old\b", re.IGNORECASE)
_BLOCK = re.compile(
    r"\b(\d{2,6}) block of (?:(?:North|South|East|West|[NSEW]\.?) )?([A-Z][^\W\d_]+)"
)
FACT_KINDS: tuple[str, ...] = ("age", "street")


def fact_terms(title: str, body: str, *, max_chars: int = 3000) -> frozenset[str]:
    """Typed facts of an article, as ``kind:value`` strings (kinds in :data:`FACT_KINDS`)."""
    text = f"{title}\n{body[:max_chars]}"
    # The regexes try a match at every position; a substring test (in C) that every
    # match needs skips that scan for most texts.
    facts = set()
    if "old" in text.lower():
        facts |= {f"age:{int(m.group(1))}" for m in _AGE.finditer(text)}
    if " block of " in text:
        facts |= {f"street:{m.group(2).lower()}" for m in _BLOCK.finditer(text)}
    return frozenset(facts)


def facts_by_kind(facts: frozenset[str]) -> dict[str, set[str]]:
    """``facts`` split by kind, in :data:`FACT_KINDS` order; kinds without facts left out."""
    return {k: v for k in FACT_KINDS if (v := {f for f in facts if f.startswith(k + ":")})}
