"""Cleaning of incoming article text: markup, mojibake and whitespace."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Mapping

import ftfy
from ftfy import chardata, fixes

# Every pattern here is linear in the text: no tag pattern crosses a "<", and the
# paired ones (scripts, comments) are found by _drop_pairs, which gives up on a
# kind once its closing is missing instead of scanning to the end from every opening.
_BLOCK_TAGS = re.compile(r"(?i)<\s*(br|/p|/div|/h[1-6]|/li|/tr|p|div|li|h[1-6])\b[^<>]*>")
_SCRIPT_OPEN = re.compile(r"(?i)<\s*(script|style|noscript)\b")
_SCRIPT_CLOSE = {
    name: re.compile(rf"(?i)<\s*/\s*{name}\s*>") for name in ("script", "style", "noscript")
}
_TAG = re.compile(r"<[a-zA-Z/!][^<>]*>")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_MARKDOWN_LINK = re.compile(r"!?\[([^\[\]\n]{0,300})\]\([^()\s]{0,2048}\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_LATIN1 = re.compile("[\u0080-\u00ff]")


def _translation(table: Mapping[int, str | int | None]) -> Callable[[str], str]:
    """``text.translate(table)``, skipped when ``text`` has none of the table's characters.

    ftfy's ligature, width and control-character fixes are such translations;
    translate looks up every character of the text in a dict, a search for a
    character class runs in C at a fraction of that, and most texts need none.
    """
    present = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(table)) + "]")

    def apply(text: str) -> str:
        return text.translate(table) if present.search(text) else text

    return apply


# What ftfy.fix_text does after fixing the encoding, in its order (the same functions,
# or the same translations guarded by a search).
_CHARACTER_FIXES = (
    _translation(chardata.LIGATURES),  # fixes.fix_latin_ligatures
    _translation(chardata.WIDTH_MAP),  # fixes.fix_character_width
    fixes.uncurl_quotes,
    fixes.fix_line_breaks,
    fixes.fix_surrogates,
    fixes.remove_terminal_escapes,
    _translation(chardata.CONTROL_CHARS),  # fixes.remove_control_chars
)


def clean_text(raw: str) -> str:
    """Return ``raw`` as plain, readable text.

    Strips HTML tags (keeping paragraph breaks) and scripts, decodes entities,
    keeps only the text of Markdown links left by crawlers ("[TASS](#)" -> "TASS"),
    repairs mojibake such as "â€”" (UTF-8 read as cp1252), normalises Unicode
    to NFC, folds runs of spaces and keeps at most one blank line between
    paragraphs. Idempotent: ``clean_text(clean_text(x)) == clean_text(x)``.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "<" in text:
        text = _drop_scripts(text)
        text = _drop_comments(text)
        text = _BLOCK_TAGS.sub("\n\n", text)
        text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = _MARKDOWN_LINK.sub(r"\1", text)
    # Plain ASCII needs no repair. Otherwise ftfy's encoding detection is the
    # costly step, and mojibake (UTF-8 read as Latin-1 or cp1252) always shows
    # characters of U+0080-U+00FF: text without them (curly quotes and dashes,
    # most news) gets ftfy's cheap character fixes alone, the same result for
    # a fraction of the time. "&" still goes the whole way, which undoes entities
    # escaped many times over ("&amp;amp;").
    if _LATIN1.search(text) or "&" in text:
        text = ftfy.fix_text(text, normalization="NFC")
        text = unicodedata.normalize("NFC", text)
    elif not text.isascii():
        for fix in _CHARACTER_FIXES:
            text = fix(text)
        text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def _drop_scripts(text: str) -> str:
    """Remove each script, style and noscript element, from its tag to its closing tag.

    An opening without a closing is left to the tag pattern, as a regex with a
    lazy ``.*?`` would, but that regex scans to the end from every such opening.
    """
    out: list[str] = []
    pos = 0
    unclosed: set[str] = set()
    for opening in _SCRIPT_OPEN.finditer(text):
        name = opening.group(1).lower()
        if opening.start() < pos or name in unclosed:
            continue
        closing = _SCRIPT_CLOSE[name].search(text, opening.end())
        if closing is None:
            unclosed.add(name)  # no later opening of this kind can be closed either
            continue
        out += (text[pos : opening.start()], " ")
        pos = closing.end()
    out.append(text[pos:])
    return "".join(out)


def _drop_comments(text: str) -> str:
    """Remove ``<!-- ... -->`` comments; an unclosed one is left as it is."""
    out: list[str] = []
    pos = 0
    while (start := text.find("<!--", pos)) != -1:
        end = text.find("-->", start + 4)
        if end == -1:
            break
        out += (text[pos:start], " ")
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)
