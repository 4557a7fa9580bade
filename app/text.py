"""Cleaning of incoming article text: markup, mojibake and whitespace."""

from __future__ import annotations

import html
import re
import unicodedata

import ftfy

_BLOCK_TAGS = re.compile(r"(?i)<\s*(br|/p|/div|/h[1-6]|/li|/tr|p|div|li|h[1-6])\b[^>]*>")
_SCRIPTS = re.compile(r"(?is)<\s*(script|style|noscript)\b.*?<\s*/\s*\1\s*>")
_COMMENTS = re.compile(r"(?s)<!--.*?-->")
_TAG = re.compile(r"<[a-zA-Z/!][^<>]*>")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_MARKDOWN_LINK = re.compile(r"!?\[([^\[\]\n]{0,300})\]\([^()\s]{0,2048}\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


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
        text = _SCRIPTS.sub(" ", text)
        text = _COMMENTS.sub(" ", text)
        text = _BLOCK_TAGS.sub("\n\n", text)
        text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = _MARKDOWN_LINK.sub(r"\1", text)
    # Plain ASCII has no mojibake to repair, and ftfy is the costly step; "&" still
    # goes through it, which undoes entities escaped many times over ("&amp;amp;").
    if not text.isascii() or "&" in text:
        text = ftfy.fix_text(text, normalization="NFC")
        text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()
