"""Reading article corpora in the JSONL schema of the shared data sets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class CorpusRow:
    """One line of a corpus: the article payload for the API and its gold story."""

    line: int
    payload: dict[str, Any]
    story: str | None


def read_corpus(path: Path) -> Iterator[CorpusRow]:
    """Yield each line as an ``ArticleIn``-shaped payload (``id`` becomes ``external_id``).

    Lines that are not JSON objects are yielded with an empty payload, so the
    caller reports them with their line number instead of stopping.
    """
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            if not isinstance(row, dict):
                yield CorpusRow(number, {}, None)
                continue
            payload = {
                "external_id": row.get("id"),
                "url": row.get("url"),
                "outlet": row.get("outlet"),
                "title": row.get("title") or "",
                "body": row.get("body") or "",
                "published_at": row.get("published_at"),
                "language": row.get("language"),
            }
            yield CorpusRow(number, payload, row.get("story"))
