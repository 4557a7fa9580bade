"""Storylines: list, detail and members."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.api.auth import AUTH_RESPONSES, ReadAccess
from app.api.deps import SessionDep, SettingsDep, StateDep
from app.api.etag import as_of_etag, not_modified, not_modified_as_of, storyline_etag
from app.models import StorylineStatus
from app.schemas import ArticlePage, StorableText, StorylineDetail, StorylinePage, UtcDateTime
from app.services import asof, queries
from app.services.cursor import MAX_INT32
from app.services.prepare import normalize_outlet
from app.services.queries import StorylineFilter, StorylineSort

router = APIRouter(
    prefix="/storylines", tags=["storylines"], dependencies=[ReadAccess], responses=AUTH_RESPONSES
)

Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Cursor = Annotated[
    str | None, Query(max_length=4096, description="`next_cursor` of the previous page.")
]
AsOf = Annotated[
    UtcDateTime | None,
    Query(
        description="Answer as the service would have at this instant (ISO 8601, UTC when "
        "no zone is given): membership, labels, status and counts as they were then. "
        "Answers about a settled past instant are cacheable for ever."
    ),
]


@router.get("", response_model=StorylinePage)
def list_storylines(
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    active_since: Annotated[
        UtcDateTime | None,
        Query(description="Storylines with an article at or after this time (years 1800-2200)."),
    ] = None,
    active_until: Annotated[
        UtcDateTime | None,
        Query(description="Storylines with an article at or before this time (years 1800-2200)."),
    ] = None,
    outlet: Annotated[
        StorableText | None,
        Query(max_length=255, description="Only storylines this outlet (e.g. `tass.com`) covered."),
    ] = None,
    min_outlets: Annotated[
        int | None, Query(ge=1, le=MAX_INT32, description="At least this many outlets.")
    ] = None,
    status: Annotated[
        StorylineStatus | None, Query(description="Default: every status but `merged`.")
    ] = None,
    language: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
            max_length=35,
            description="Only storylines with an article in this language (ISO 639, e.g. `ru`).",
        ),
    ] = None,
    min_languages: Annotated[
        int | None,
        Query(ge=1, le=1000, description="Articles in at least this many languages."),
    ] = None,
    sort: Annotated[StorylineSort, Query(description="Order, largest/latest first.")] = (
        StorylineSort.last_activity
    ),
    limit: Limit = 50,
    cursor: Cursor = None,
    as_of: AsOf = None,
    changed_since: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**31 - 1,
            description="Only storylines changed after this change-feed seq (merged ones "
            "included unless `status` is given), oldest change first; `sort` and `cursor` "
            "are then ignored.",
        ),
    ] = None,
) -> StorylinePage:
    """Storylines matching the filters, paginated by cursor, each with its first
    publishers and a sparkline of articles per day; the page carries the total."""
    where = StorylineFilter(
        active_since=active_since,
        active_until=active_until,
        outlet=normalize_outlet(outlet) if outlet else None,
        min_outlets=min_outlets,
        status=status,
        language=language.lower() if language else None,
        min_languages=min_languages,
    )
    if as_of is not None:
        at = asof.check_instant(as_of)
        if asof.settled(at):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        lead = timedelta(hours=settings.future_tolerance_hours)
        return asof.list_storylines_at(session, at, where, sort.value, limit, cursor, lead)
    if changed_since is not None:
        return queries.changed_storylines(session, where, changed_since, limit)
    return queries.list_storylines(session, where, sort, limit, cursor)


@router.get(
    "/{storyline_id}",
    response_model=StorylineDetail,
    responses={304: {"description": "Unchanged since the ETag sent in If-None-Match."}, 404: {}},
)
def get_storyline(
    storyline_id: int,
    session: SessionDep,
    request: Request,
    response: Response,
    as_of: AsOf = None,
) -> StorylineDetail | Response:
    """Counts, outlets in order of first appearance, first and last article, status, lineage.

    Carries an ETag; send it back in If-None-Match to get a cheap 304 when unchanged.
    """
    if as_of is not None:
        at = asof.check_instant(as_of)
        etag = as_of_etag(storyline_id, at)
        cached = not_modified_as_of(request, response, etag, asof.settled(at))
        return cached or asof.storyline_at(session, storyline_id, at)
    version, basis = queries.storyline_detail_tag(session, storyline_id)
    cached = not_modified(request, response, storyline_etag(storyline_id, version, f"l{basis}"))
    if cached is not None:
        return cached
    return queries.get_storyline(session, storyline_id)


@router.get("/{storyline_id}/articles", response_model=ArticlePage, responses={404: {}})
def list_storyline_articles(
    storyline_id: int,
    session: SessionDep,
    request: Request,
    response: Response,
    limit: Limit = 50,
    cursor: Cursor = None,
    as_of: AsOf = None,
) -> ArticlePage | Response:
    """The storyline's articles, oldest first."""
    if as_of is not None:
        at = asof.check_instant(as_of)
        etag = as_of_etag(storyline_id, at, "articles", limit, cursor or "")
        cached = not_modified_as_of(request, response, etag, asof.settled(at))
        return cached or asof.storyline_articles_at(session, storyline_id, at, limit, cursor)
    return queries.list_storyline_articles(session, storyline_id, limit, cursor)


# --- How a storyline spreads: timeline and spread -------------------------------------

from app.schemas_spread import Spread, Timeline  # noqa: E402
from app.services.spread import storyline_spread  # noqa: E402
from app.services.timeline import Bucket, storyline_timeline  # noqa: E402

TieWindowHours = Annotated[
    float,
    Query(
        ge=0,
        le=24 * 365,
        description="Articles within this many hours of the earliest are ties for first: "
        "they all count as first publishers.",
    ),
]


_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Unchanged since the ETag sent in If-None-Match."}
}


@router.get(
    "/{storyline_id}/timeline",
    response_model=Timeline,
    responses={
        **_NOT_MODIFIED,
        404: {},
        422: {"description": "Unknown bucket, or too many buckets."},
    },
)
def get_timeline(
    storyline_id: int,
    session: SessionDep,
    request: Request,
    response: Response,
    bucket: Annotated[
        Bucket, Query(description="UTC bucket: hour, day, or week (ISO weeks, from Monday).")
    ] = Bucket.day,
    as_of: AsOf = None,
) -> Timeline | Response:
    """Articles per bucket and outlet, cumulative outlets, and each outlet's first article.

    Buckets run from the first article's to the last article's, empty ones included.
    Carries an ETag; a matching If-None-Match gets a 304.
    """
    if as_of is not None:
        at = asof.check_instant(as_of)
        etag = as_of_etag(storyline_id, at, "timeline", bucket.value)
        cached = not_modified_as_of(request, response, etag, asof.settled(at))
        return cached or storyline_timeline(session, storyline_id, bucket, at)
    version = queries.storyline_version(session, storyline_id)
    etag = storyline_etag(storyline_id, version, "timeline", bucket.value)
    cached = not_modified(request, response, etag)
    if cached is not None:
        return cached
    return storyline_timeline(session, storyline_id, bucket)


@router.get("/{storyline_id}/spread", response_model=Spread, responses={**_NOT_MODIFIED, 404: {}})
def get_spread(
    storyline_id: int,
    session: SessionDep,
    state: StateDep,
    request: Request,
    response: Response,
    tie_window_hours: TieWindowHours = 1.0,
    min_jaccard: Annotated[
        float,
        Query(ge=0.1, le=1.0, description="Least text overlap (Jaccard) of a republish edge."),
    ] = 0.5,
    as_of: AsOf = None,
) -> Spread | Response:
    """First publisher(s), outlets in adoption order with lags, follower and republish edges.

    Times are `published_at`, or the ingest time when an article had none (flagged).
    Carries an ETag; a matching If-None-Match gets a 304.
    """
    if as_of is not None:
        at = asof.check_instant(as_of)
        etag = as_of_etag(storyline_id, at, "spread", tie_window_hours, min_jaccard)
        cached = not_modified_as_of(request, response, etag, asof.settled(at))
        return cached or storyline_spread(session, storyline_id, tie_window_hours, min_jaccard, at)
    version = queries.storyline_version(session, storyline_id)
    etag = storyline_etag(storyline_id, version, "spread", tie_window_hours, min_jaccard)
    cached = not_modified(request, response, etag)
    if cached is not None:
        return cached
    return state.spreads.get(
        (storyline_id, version, tie_window_hours, min_jaccard),
        lambda: storyline_spread(session, storyline_id, tie_window_hours, min_jaccard),
    )
