"""Page furniture learned from the stream: lines that recur across unrelated articles.

Crawled bodies carry lines that belong to the site, not to the story: "Please
enable JavaScript to watch this video", sign-up forms, copyright notices. Two
articles sharing such lines look alike to any text similarity, so unrelated
stories from the same site drift into one storyline.

A line counts as furniture once it has been seen in ``min_articles`` articles
whose dates span at least ``min_span_days``, or in ``min_articles_undated``
articles whatever their dates. The span condition spares syndicated copy: a wire
story re-published by many outlets within a day or two keeps its paragraphs.
Lines shorter than ``min_chars`` (after folding case and spaces) are never
judged. State is a bounded table keyed by a stable hash of the folded line, so
replaying the same ``observe`` calls reaches the same state in any process.
"""

from __future__ import annotations

import hashlib
import math

_DAY = 86_400.0


def _key(folded: str) -> int:
    return int.from_bytes(hashlib.blake2b(folded.encode("utf-8"), digest_size=8).digest(), "big")


def _fold(line: str) -> str:
    return " ".join(line.lower().split())


class BoilerplateLines:
    """Learns recurring lines from observed bodies and strips them from new ones."""

    def __init__(
        self,
        min_articles: int = 3,
        min_span_days: float = 3.0,
        min_articles_undated: int = 6,
        min_chars: int = 12,
        max_lines: int = 200_000,
    ) -> None:
        self.min_articles = min_articles
        self.min_span = min_span_days * _DAY
        self.min_articles_undated = min_articles_undated
        self.min_chars = min_chars
        self.max_lines = max_lines
        # key -> [articles seen, earliest timestamp, latest timestamp]
        self.lines_: dict[int, list[float]] = {}

    def __len__(self) -> int:
        return len(self.lines_)

    def line_key(self, line: str) -> int | None:
        """The stable key of ``line``, None for a line too short to judge."""
        folded = _fold(line)
        return _key(folded) if len(folded) >= self.min_chars else None

    def is_furniture_key(self, key: int) -> bool:
        seen = self.lines_.get(key)
        if seen is None:
            return False
        count, first, last = seen
        if count >= self.min_articles_undated:
            return True
        return count >= self.min_articles and last - first >= self.min_span

    def line_keys(self, body: str) -> list[int | None]:
        """:meth:`line_key` of each line of ``body``.

        Folding and hashing the lines is most of the cost of :meth:`cut` and
        :meth:`observe`; a caller doing both for one body computes them once.
        """
        return [self.line_key(line) for line in body.split("\n")]

    def cut(self, body: str, keys: list[int | None] | None = None) -> str:
        """``body`` without its furniture lines (unchanged when it has none).

        ``keys`` are the body's :meth:`line_keys` when the caller has them.
        """
        if not self.lines_:
            return body
        lines = body.split("\n")
        if keys is None:
            keys = [self.line_key(line) for line in lines]
        kept = [
            line
            for line, key in zip(lines, keys, strict=True)
            if key is None or not self.is_furniture_key(key)
        ]
        return body if len(kept) == len(lines) else "\n".join(kept)

    def observe(self, body: str, timestamp: float | None) -> None:
        """Count each distinct line of ``body`` once, at ``timestamp`` (None: undated)."""
        keys = {_key(f) for f in map(_fold, body.split("\n")) if len(f) >= self.min_chars}
        self.observe_keys(keys, timestamp)

    def observe_keys(self, keys: set[int], timestamp: float | None) -> None:
        """:meth:`observe` for an article whose distinct line keys are already known."""
        for key in keys:
            seen = self.lines_.get(key)
            if seen is None:
                seen = self.lines_[key] = [0.0, math.inf, -math.inf]
            seen[0] += 1
            if timestamp is not None:
                seen[1] = min(seen[1], timestamp)
                seen[2] = max(seen[2], timestamp)
        if len(self.lines_) > self.max_lines:
            self._forget_singles()

    def _forget_singles(self) -> None:
        """Drop lines seen once (most of any stream): what recurs is what matters."""
        self.lines_ = {k: v for k, v in self.lines_.items() if v[0] > 1}
        if len(self.lines_) > self.max_lines // 2:
            # Still too many recurring lines: keep the most frequent half, ties by key.
            ranked = sorted(self.lines_.items(), key=lambda kv: (-kv[1][0], kv[0]))
            self.lines_ = dict(ranked[: self.max_lines // 2])
