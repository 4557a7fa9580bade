"""Background jobs of a serve process: run every few seconds while there is work."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.metrics import JOB_RUNS, JOB_SECONDS

log = logging.getLogger(__name__)


class PeriodicJob:
    """Calls ``run`` every ``interval`` seconds on its own thread, when ``due`` says so."""

    def __init__(
        self, name: str, run: Callable[[], object], due: Callable[[], bool], interval: float
    ) -> None:
        self.name = name
        self.run = run
        self.due = due
        self.interval = interval
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"storyline-{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)

    def _loop(self) -> None:
        while not self.stop_event.wait(self.interval):
            started = time.perf_counter()
            try:
                if not self.due():
                    continue
                self.run()
                JOB_RUNS.labels(self.name, "ok").inc()
            except Exception:  # a failed run must not end the thread; the next one retries
                log.exception("%s run failed", self.name)
                JOB_RUNS.labels(self.name, "failed").inc()
            JOB_SECONDS.labels(self.name).observe(time.perf_counter() - started)
