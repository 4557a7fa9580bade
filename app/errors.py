"""Domain errors and their one mapping to HTTP responses (bodies are {"detail": ...})."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

log = logging.getLogger("storyline.errors")


class NotFound(Exception):
    """A resource asked for by id does not exist."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(Exception):
    """Input that parsed but breaks a rule; ``errors`` use FastAPI's 422 item shape."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e["msg"]) for e in errors))
        self.errors = errors


class Conflict(Exception):
    """A write that contradicts what is stored (answered 409)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Overloaded(Exception):
    """Too much accepted work is waiting; the client should retry after a pause."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class ModelMismatch(Exception):
    """This process embeds with another model than the store's vectors: never mixed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(Exception):
    """No usable API key: missing, unknown or revoked (401 with WWW-Authenticate)."""

    def __init__(self, detail: str, invalid_token: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.invalid_token = invalid_token


class Forbidden(Exception):
    """A known key without the scope the endpoint needs (403)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RateLimited(Exception):
    """A key over its quota (429); ``retry_after`` seconds until the request would pass."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class PayloadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body exceeds {limit} bytes")
        self.limit = limit


class UnsupportedMediaType(Exception):
    """A write whose body is not JSON."""

    def __init__(self, media: str) -> None:
        super().__init__(f"Content-Type {media!r} is not supported; send application/json")
        self.detail = str(self)


def input_error(loc: tuple[str | int, ...], msg: str, kind: str) -> dict[str, Any]:
    """One 422 error item: where, what is wrong, and a machine-readable type."""
    return {"loc": list(loc), "msg": msg, "type": kind}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=404)

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"detail": exc.errors}, status_code=422)

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=409)

    @app.exception_handler(Overloaded)
    async def _overloaded(_: Request, exc: Overloaded) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse({"detail": exc.detail}, status_code=503, headers=headers)

    @app.exception_handler(ModelMismatch)
    async def _mismatch(_: Request, exc: ModelMismatch) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=409)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        challenge = 'Bearer realm="storyline"'
        if exc.invalid_token:
            challenge += ', error="invalid_token"'
        headers = {"WWW-Authenticate": challenge}
        return JSONResponse({"detail": exc.detail}, status_code=401, headers=headers)

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=403)

    @app.exception_handler(RateLimited)
    async def _rate_limited(_: Request, exc: RateLimited) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse({"detail": exc.detail}, status_code=429, headers=headers)

    @app.exception_handler(PayloadTooLarge)
    async def _too_large(_: Request, exc: PayloadTooLarge) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=413)

    @app.exception_handler(UnsupportedMediaType)
    async def _unsupported(_: Request, exc: UnsupportedMediaType) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=415)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The traceback goes to the log under an id the client can quote; the
        # answer keeps the API's shape and says nothing of the internals.
        # The id RequestLog gave this request (it is outside this handler), else a new one.
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        log.error(
            "request %s %s %s failed",
            request_id,
            request.method,
            request.url.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        return JSONResponse(
            {"detail": "internal error; the log has the details", "request_id": request_id},
            status_code=500,
            headers={"X-Request-ID": request_id},
        )
