"""The HTTP server: uvicorn, made to stop promptly on SIGTERM or Ctrl-C.

uvicorn stops accepting connections on a signal, then waits for the open ones
to finish; a Server-Sent Events stream never finishes by itself, so one
connected client held shutdown for minutes. Here the signal also sets the
app's ``stopping`` event, which ends every stream at its next poll; a request
still running after :data:`GRACE_SECONDS` is cancelled, and the background
threads get :data:`CLOSE_SECONDS` to stop. Work that was answered is committed
(and pending articles stay queued in the database), so nothing accepted is lost.
"""

from __future__ import annotations

import threading
from types import FrameType

import uvicorn
from fastapi import FastAPI

GRACE_SECONDS = 3
CLOSE_SECONDS = 5.0


def stopping_event(app: FastAPI) -> threading.Event:
    """The event set when the server begins to stop (created with the app)."""
    event: threading.Event = app.state.stopping
    return event


class StorylineServer(uvicorn.Server):
    """A uvicorn server that tells the app when it begins to stop."""

    def __init__(self, config: uvicorn.Config, stopping: threading.Event) -> None:
        super().__init__(config)
        self.stopping = stopping

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.stopping.set()
        super().handle_exit(sig, frame)


def serve(app: FastAPI, host: str, port: int) -> None:
    """Serve ``app`` until SIGTERM or SIGINT; returns once it has stopped."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        timeout_graceful_shutdown=GRACE_SECONDS,
        log_config=None,  # uvicorn's records go through the service's handler (app.logs)
        access_log=False,  # each request is logged once, by app.middleware.RequestLog
    )
    StorylineServer(config, stopping_event(app)).run()
