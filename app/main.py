"""The FastAPI application: wiring only."""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from app.api import (
    articles,
    changes,
    curation,
    exports,
    health,
    keys,
    metrics,
    outlets,
    search,
    storylines,
    ui,
)
from app.config import Settings, get_settings
from app.errors import install_error_handlers
from app.middleware import install_middleware
from app.schemas import ArticleIn
from app.server import CLOSE_SECONDS
from app.state import ServiceState
from embeddings.protocol import Embedder

DESCRIPTION = """
Storyline groups news articles from many outlets into storylines (one real-world
story each) and shows how each storyline spreads. POST articles to `/articles`;
read storylines under `/storylines`.
"""


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    """Build the service. ``embedder`` may be shared (tests load the model once)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await run_in_threadpool(
            functools.partial(ServiceState.start, settings, embedder, serve=True)
        )
        app.state.storyline = state
        try:
            yield
        finally:
            # Stopping on a signal, the process has promised to be gone within seconds.
            state.close(timeout=CLOSE_SECONDS if stopping.is_set() else 30.0)

    # /docs and /redoc load Swagger UI and ReDoc from the installed fastapi-offline
    # package, never from a CDN: the service must work with no network.
    app = FastAPIOffline(
        title="Storyline", version="0.1.0", description=DESCRIPTION, lifespan=lifespan
    )
    stopping = app.state.stopping = threading.Event()  # set by app.server on SIGTERM
    install_error_handlers(app)
    install_middleware(app, settings)
    app.include_router(articles.router)
    app.include_router(storylines.router)
    app.include_router(changes.router)
    app.include_router(health.router)
    app.include_router(outlets.router)
    app.include_router(search.router)
    app.include_router(keys.router)
    app.include_router(metrics.router)
    app.include_router(curation.router)
    app.include_router(exports.router)
    app.include_router(ui.router)
    app.mount("/static", ui.static_files(), name="static")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            # POST /articles reads its body by hand (one object or a list), so the
            # article schema is registered here for the docs.
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["ArticleIn"] = article_schema(settings)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def article_schema(settings: Settings) -> dict[str, Any]:
    """ArticleIn's JSON schema with the limits this service enforces, so clients see them."""
    schema = ArticleIn.model_json_schema(ref_template="#/components/schemas/{model}")
    properties = schema["properties"]
    properties["title"]["maxLength"] = settings.max_title_chars
    # A bound in characters; the limit itself is in UTF-8 bytes.
    properties["body"]["maxLength"] = settings.max_body_bytes
    return schema
