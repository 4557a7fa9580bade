"""The dashboard: static pages that read the public JSON API, served by the service itself.

Nothing is built or fetched from elsewhere: the HTML, CSS, JavaScript and the SVG
charts the scripts draw all come from ``app/static``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(tags=["dashboard"], include_in_schema=False)

# The pages carry no inline script or style, so a strict policy holds.
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-cache",
}


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html", headers=_HEADERS)


@router.get("/")
def board() -> FileResponse:
    """The live board of storylines."""
    return _page("board.html")


@router.get("/ui/storylines/{storyline_id}")
def spread_page(storyline_id: int) -> FileResponse:
    """How one storyline spread across outlets."""
    return _page("spread.html")


@router.get("/ui/outlets/{outlet_id}")
def outlet_page(outlet_id: int) -> FileResponse:
    """One outlet: how often first, how late, with whom."""
    return _page("outlet.html")


def static_files() -> StaticFiles:
    """CSS and scripts under /static."""
    return StaticFiles(directory=STATIC)
