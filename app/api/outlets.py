"""Outlets: list and detail, with how each takes part in storylines' spread."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.auth import AUTH_RESPONSES, ReadAccess
from app.api.deps import SessionDep
from app.schemas_spread import OutletDetail, OutletPage
from app.services import outlets
from app.services.outlets import OutletSort

router = APIRouter(
    prefix="/outlets", tags=["outlets"], dependencies=[ReadAccess], responses=AUTH_RESPONSES
)


@router.get("", response_model=OutletPage)
def list_outlets(
    session: SessionDep,
    sort: Annotated[
        OutletSort, Query(description="`storylines`: most storylines covered first; `name`: A-Z.")
    ] = OutletSort.storylines,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=4096, description="`next_cursor` of the previous page.")
    ] = None,
) -> OutletPage:
    """Outlets with the number of storylines and articles each covered, paginated by cursor."""
    return outlets.list_outlets(session, sort, limit, cursor)


@router.get("/{outlet_id}", response_model=OutletDetail, responses={404: {}})
def get_outlet(
    outlet_id: int,
    session: SessionDep,
    tie_window_hours: Annotated[
        float,
        Query(
            ge=0,
            le=24 * 365,
            description="An outlet within this many hours of a storyline's first article "
            "counts as first.",
        ),
    ] = 1.0,
) -> OutletDetail:
    """Storylines covered, how often first, median lag when joining, outlets covering alike."""
    return outlets.get_outlet(session, outlet_id, tie_window_hours)
