"""The service's log: plain text or one JSON object per line, every project logger included.

The project logs under two roots: ``storyline.*`` (service, worker, requests)
and ``app.*`` (``logging.getLogger(__name__)`` in the services: discovery's
report, the labeller's). Both get the level of ``STORYLINE_LOG_LEVEL`` and
reach one stderr handler on the root logger; other libraries stay at WARNING.
Every record carries the id of the request it was logged under, if any.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

PROJECT_LOGGERS = ("storyline", "app", "clustering", "embeddings")
TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"

# The id of the request being served in this context ("" outside requests).
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id (``record.request_id``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id.get() or None
        return True


def configure_logging(level: str, fmt: Literal["text", "json"]) -> logging.Handler:
    """Send every project logger to stderr at ``level``, as text or JSON lines.

    Idempotent: a second call replaces the handler the first one installed.
    Returns the handler (tests read what it writes).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.set_name("storyline")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "storyline"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(level)
    # uvicorn's own loggers pass through the same handler (serve gives it no config).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.INFO)
    return handler
