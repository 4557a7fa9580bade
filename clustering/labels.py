"""Readable storyline labels from distinctive terms, names and places, and dates.

A label reads like "chemical attack · Idlib · White Helmets — Sep 2018". Terms
are scored by how many of the storyline's articles use them times their
inverse document frequency over the whole stream, so words every story uses
("police", "said") lose to the ones this story is about.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from clustering.words import COMPOUND, STOP_WORDS

_LEAD_WORDS = 80
# A label also leaves out what its date range already says (months, weekdays,
# "yesterday"), forms of address and the debris of links.
_STOP = STOP_WORDS | frozenset(
    """three weeks update updated monday tuesday wednesday thursday friday saturday sunday
    today yesterday mr mrs ms dr http https www com january february march april june july
    august september october november december""".split()
)
# Lower-case particles inside names ("Bashar al Assad", "Ursula von der Leyen");
# "of" is left out on purpose: "Ana Ruiz of Riverton" is two names, not one.
_CONNECTORS = frozenset({"de", "del", "la", "al", "bin", "van", "von", "der", "le", "da"})
_PHRASE_BOOST = 1.5
_POSSESSIVE = re.compile(r"['’]s$")
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


@dataclass(frozen=True, slots=True)
class Label:
    """The label text and the normalised terms it was built from (for change checks)."""

    text: str
    terms: tuple[str, ...]


def tracked_terms(title: str, body: str) -> set[str]:
    """Terms of one article whose document frequency the stream keeps.

    Lower-cased content words and names (runs of capitalised words) of the title
    and the lead of the body. Each article counts a term once.
    """
    words = _words(title) + _words(_lead(body))
    terms = {w.lower() for w in words if _content(w)}
    terms.update(name.lower() for name in _names(title, body))
    return terms


def make_label(
    articles: Sequence[tuple[str, str, str]],
    df: Mapping[str, int],
    documents: int,
    first: datetime,
    last: datetime,
    size: int = 3,
) -> Label:
    """Label a storyline from its members' (title, body, outlet) triples.

    ``df`` maps terms (as :func:`tracked_terms` makes them) to how many stored
    articles use them, ``documents`` is how many articles are stored. A term's
    support is the number of outlets using it (articles, when one outlet tells
    the story), so one site's boilerplate cannot name a story. At most ``size``
    items, best first; a two-word phrase beats the single words inside it.
    """
    outlets = {outlet for _, _, outlet in articles}
    by_outlet = len(outlets) > 1
    n = len(outlets) if by_outlet else len(articles)
    support: Counter[str] = Counter()
    surface: dict[str, Counter[str]] = {}
    names: set[str] = set()
    seen_by: dict[str, set[str]] = {}
    for index, (title, body, outlet) in enumerate(articles):
        seen = seen_by.setdefault(outlet if by_outlet else str(index), set())
        name_words: set[str] = set()
        for name in _names(title, body):
            key = name.lower()
            names.add(key)
            name_words.update(key.split())
            surface.setdefault(key, Counter())[name] += 1
            seen.add(key)
        # Words of a name are shown as the name, never as loose key words.
        for phrase in _phrases(title) + _phrases(_lead(body)):
            if not name_words.intersection(phrase.split()):
                seen.add(phrase)
    for seen in seen_by.values():
        support.update(seen)
    # Shared by two outlets (or two articles of a one-outlet story) when possible.
    minimum = 2 if by_outlet or n >= 3 else 1
    if not any(count >= minimum for count in support.values()):
        minimum = 1

    def idf(term: str) -> float:
        if term in df or " " not in term:
            return math.log((documents + 1) / (df.get(term, 0) + 1)) + 1
        # An unseen phrase: its words' mean rarity, raised because a phrase that
        # recurs across outlets says more than either word alone.
        parts = term.split()
        mean = sum(math.log((documents + 1) / (df.get(p, 0) + 1)) + 1 for p in parts) / len(parts)
        return _PHRASE_BOOST * mean

    scored = sorted(
        ((support[t] / n * idf(t), t) for t in support if support[t] >= minimum),
        key=lambda st: (-st[0], st[1]),
    )
    chosen: list[str] = []
    for _, term in scored:
        tokens = set(re.split(r"[\s-]+", term))
        if any(tokens & set(re.split(r"[\s-]+", c)) for c in chosen):
            continue
        chosen.append(term)
        if len(chosen) == size:
            break
    shown = [surface[t].most_common(1)[0][0] if t in names else t for t in chosen]
    text = " · ".join(shown) if shown else "untitled"
    return Label(f"{text} — {date_range(first, last)}", tuple(sorted(chosen)))


def provisional_label(title: str, first: datetime, last: datetime, limit: int = 72) -> str:
    """A storyline's label until :func:`make_label` has run: its first headline, cut.

    Headlines are cut at a word boundary within ``limit`` characters, with the
    date range appended as in full labels.
    """
    text = " ".join(title.split()) or "untitled"
    if len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
        text = cut.rstrip(" ,;:-–—") + "…"
    return f"{text} — {date_range(first, last)}"


def materially_different(old: Iterable[str], new: Iterable[str]) -> bool:
    """True when fewer than half of the label terms are shared (Jaccard < 0.5)."""
    a, b = set(old), set(new)
    if not a or not b:
        return a != b
    return len(a & b) / len(a | b) < 0.5


def date_range(first: datetime, last: datetime) -> str:
    """ "Sep 2018", "Sep–Oct 2018" or "Dec 2017–Jan 2018"."""
    start = f"{_MONTHS[first.month - 1]} {first.year}"
    if (first.year, first.month) == (last.year, last.month):
        return start
    if first.year == last.year:
        return f"{_MONTHS[first.month - 1]}–{_MONTHS[last.month - 1]} {last.year}"
    return f"{start}–{_MONTHS[last.month - 1]} {last.year}"


def _lead(body: str) -> str:
    return " ".join(body.split()[:_LEAD_WORDS])


def _words(text: str) -> list[str]:
    return [_POSSESSIVE.sub("", w) for w in COMPOUND.findall(text)]


def _content(word: str) -> bool:
    lower = word.lower()
    return len(lower) > 2 and lower not in _STOP and not lower.isdigit()


def _phrases(text: str) -> list[str]:
    """Content words and adjacent content-word pairs, lower-cased."""
    words = [w.lower() for w in _words(text)]
    out = [w for w in words if _content(w)]
    out += [f"{a} {b}" for a, b in pairwise(words) if _content(a) and _content(b)]
    return out


def _names(title: str, body: str) -> list[str]:
    """Runs of capitalised words inside sentences: people, places, organisations.

    Title Case headlines capitalise everything, so their capitals count only
    when most of the headline is lower case.
    """
    sources = [_lead(body)]
    title_words = _words(title)
    if title_words and sum(w[0].isupper() for w in title_words) <= len(title_words) / 2:
        sources.append(title)
    found: list[str] = []
    for text in sources:
        run: list[str] = []
        # The last character before a word is the previous word's last: whitespace
        # separates them. Kept as we go, so the scan stays linear in the text.
        before = ""
        for raw in text.split():
            word = _POSSESSIVE.sub("", raw.strip(".,;:!?\"'()[]“”‘’"))
            starts_sentence = before in '.!?:"'  # "" (the first word) is in every string
            before = raw[-1]
            capital = bool(word) and word[0].isupper() and not word.isupper()
            if capital and not starts_sentence and word.lower() not in _STOP:
                run.append(word)
            elif run and word.lower() in _CONNECTORS and not raw.endswith((",", ".")):
                run.append(word)
                continue
            else:
                _close(run, found)
                run = []
            if raw.endswith((",", ".", ";", ":", "!", "?")):
                _close(run, found)
                run = []
        _close(run, found)
    return found


def _close(run: list[str], found: list[str]) -> None:
    while run and run[-1].lower() in _CONNECTORS:
        run.pop()
    if run and (len(run) > 1 or len(run[0]) > 2):
        found.append(" ".join(run))
