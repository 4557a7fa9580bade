"""Readiness: can this process serve, and is the work it accepts moving?"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import func, select, text

from app.db import Database, current_revision, head_revision
from app.models import Article, ArticleStatus
from embeddings.protocol import Embedder

OK = "ok"


@dataclass
class Readiness:
    """Checks for ``GET /health/ready``: each is "ok" or says what is wrong.

    The queue is *wedged* when articles wait (pending or embedded) and no
    article has been grouped, by any process, for ``stall_seconds``: the
    process remembers when it last saw the newest ``group_seq`` move.
    """

    db: Database
    embedder: Embedder | None
    stall_seconds: float
    _head: str | None = None
    _seen: tuple[int, float] = (-1, 0.0)  # (newest group_seq, when it was first seen)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self) -> dict[str, str]:
        checks = {"database": OK, "model": self._model(), "migrations": OK, "queue": OK}
        try:
            with self.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            current = current_revision(self.db.engine)
            head = self._expected_head()
            if current != head:
                checks["migrations"] = f"database at {current}, this code expects {head}"
            checks["queue"] = self._queue()
        except Exception as exc:  # any driver error means "not reachable"
            checks["database"] = f"unreachable: {type(exc).__name__}"
            checks["migrations"] = checks["queue"] = "unknown: no database"
        return checks

    def _model(self) -> str:
        return OK if self.embedder is not None else "not loaded"

    def _expected_head(self) -> str | None:
        if self._head is None:
            self._head = head_revision()
        return self._head

    def _queue(self) -> str:
        waiting_kinds = [ArticleStatus.pending, ArticleStatus.embedded]
        with self.db.session() as session:
            waiting = session.scalar(
                select(func.count(Article.id)).where(Article.status.in_(waiting_kinds))
            )
            newest = session.scalar(select(func.max(Article.group_seq))) or 0
        now = time.monotonic()
        with self._lock:
            if newest != self._seen[0]:
                self._seen = (newest, now)
            quiet = now - self._seen[1]
        if waiting and quiet > self.stall_seconds:
            return f"wedged: {waiting} articles waiting, none grouped for {quiet:.0f} s"
        return OK
