"""The loop that drives the article queue, in a thread or as its own process."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from app.services.ingest import Ingestor

log = logging.getLogger("storyline.worker")


class Worker:
    """Claims, embeds and groups until stopped; idles ``poll_seconds`` when nothing waits."""

    def __init__(self, ingestor: Ingestor, poll_seconds: float) -> None:
        self.ingestor = ingestor
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._latest_seen: int | None = None  # the newest placement at the last look

    def run_once(self) -> int:
        """One round: returns how many articles it moved along (0 when idle)."""
        started = time.perf_counter()
        now = datetime.now(UTC)
        self.ingestor.fail_exhausted(now)
        claimed = self.ingestor.lease(now)
        if claimed:
            self.ingestor.embed(claimed)
        embedded = time.perf_counter()
        grouped = 0
        if not claimed or self._groups_cheaply():
            # While there is more to embed, queueing behind another worker's
            # grouping would leave this worker's model idle: group only if nobody
            # else is.
            placed = self.ingestor.place(datetime.now(UTC), wait=not claimed)
            grouped = len(placed or {})
        if claimed or grouped:
            log.debug(
                "round: claimed and embedded %d in %.3f s, grouped %d in %.3f s",
                len(claimed),
                embedded - started,
                grouped,
                time.perf_counter() - embedded,
            )
        return len(claimed) + grouped

    def _groups_cheaply(self) -> bool:
        """Whether grouping now, with more to embed, is worth this worker's time.

        Before placing, a process replays every placement other processes made
        since its last (``catch_up``): with two workers taking turns, each
        replayed the other's and grouping cost twice its CPU. So while there is
        more to embed, a worker groups only when it is current, or when nobody
        has placed anything since its last look (the other grouper has stopped
        or died), so embedded articles never wait on a worker that is gone.
        """
        latest = self.ingestor.latest_placement()
        seen, self._latest_seen = self._latest_seen, latest
        return latest == self.ingestor.synced_seq() or latest == seen

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                moved = self.run_once()
            except Exception:  # a bad round must not end the worker: log and go on
                log.exception("worker round failed; retrying after a pause")
                moved = 0
            if moved == 0:
                self.stopping.wait(self.poll_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="storyline-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
