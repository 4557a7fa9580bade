"""HTTP middleware of the service: request ids and log, cross-origin access, Host checks."""

from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.logs import request_id
from app.metrics import LATENCY, REQUESTS

# What a dashboard on another origin sends: keys, conditional reads, SSE resumption.
CORS_REQUEST_HEADERS = [
    "Authorization",
    "X-API-Key",
    "Content-Type",
    "If-None-Match",
    "Last-Event-ID",
    "X-Request-ID",
]
# What its scripts may read back besides the CORS-safelisted headers.
CORS_EXPOSED_HEADERS = ["ETag", "Retry-After", "WWW-Authenticate", "X-Request-ID"]


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Add the middleware the settings ask for; the last added runs first."""
    if settings.trusted_hosts != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    if settings.cors_origins:
        # Outermost, so 401/403/429 answers carry CORS headers and scripts can read them.
        # Keys travel in headers, never cookies: no credentials mode.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
        )
    # Outermost: every request gets an id and a log line, refused ones included.
    app.add_middleware(RequestLog)


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
access_log = logging.getLogger("storyline.access")


class RequestLog:
    """Per request: an id (the client's ``X-Request-ID`` when sane, else a new one),
    echoed in the response and stamped on every log record made while serving it;
    one log line (method, route, status, duration, key name, never the key); and
    the request counted and timed in the metrics by route template.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = Headers(scope=scope).get("x-request-id", "")
        rid = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        token = request_id.set(rid)
        scope.setdefault("state", {})["request_id"] = rid  # for the 500 handler outside
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
            seconds = time.perf_counter() - started
            route = route_template(scope)
            labels = (scope["method"], route, str(status))
            REQUESTS.labels(*labels).inc()
            LATENCY.labels(*labels).observe(seconds)
            _log_request(scope, rid, route, status, seconds)


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/storylines/{storyline_id}``), else "unmatched"."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else "unmatched"


def _log_request(scope: Scope, rid: str, route: str, status: int, seconds: float) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    key = scope.get("state", {}).get("key_name")
    client = scope.get("client")
    access_log.info(
        "%s %s %d %.1f ms key=%s request_id=%s",
        scope["method"],
        scope["path"],
        status,
        seconds * 1000,
        key or "-",
        rid,
        extra={
            "request_id": rid,
            "method": scope["method"],
            "path": scope["path"],
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "key": key,
            "client": client[0] if client else None,
        },
    )
