"""Pydantic shapes of the spread views: timeline, spread and outlets."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.schemas import OutletRef


class Lag(BaseModel):
    """A delay after the storyline's first article (or between two articles)."""

    seconds: float = Field(description="Delay in seconds; 0 for the first article.")
    readable: str = Field(description="The same delay for people, e.g. `9d`, `3h 5m`, `0s`.")


class FirstArticle(BaseModel):
    id: int
    effective_at: datetime = Field(description="published_at, or ingested_at when it was missing.")
    published_at: datetime | None
    published_at_missing: bool = Field(
        description="True when the outlet gave no publication time and ingest time orders it."
    )


class BucketOutlet(BaseModel):
    outlet: OutletRef
    article_count: int


class TimelineBucket(BaseModel):
    start: datetime = Field(description="UTC start of the bucket (hour, day, or ISO-week Monday).")
    article_count: int
    published_at_missing: int = Field(description="Articles here placed by their ingest time.")
    outlets: list[BucketOutlet] = Field(description="Articles per outlet in this bucket.")
    new_outlets: int = Field(description="Outlets whose first article falls in this bucket.")
    cumulative_outlets: int = Field(description="Distinct outlets up to and including it.")
    languages: dict[str, int] = Field(description="Articles per language in this bucket.")


class TimelineOutlet(BaseModel):
    outlet: OutletRef
    language: str = Field(description="The language of most of its articles here.")
    article_count: int
    published_at_missing: int = Field(description="Its articles placed by ingest time.")
    first_article: FirstArticle
    lag: Lag = Field(description="From the storyline's first article to this outlet's first.")


class Timeline(BaseModel):
    """Articles per bucket and outlet, from the first bucket to the last, gaps included."""

    storyline_id: int
    bucket: str = Field(description="hour, day or week (UTC, weeks start on Monday).")
    article_count: int = Field(description="Sum over the buckets: every member article.")
    outlet_count: int
    languages: dict[str, int] = Field(description="Articles per language, most first.")
    first_at: datetime | None = Field(description="Effective time of the first article.")
    last_at: datetime | None
    buckets: list[TimelineBucket]
    outlets: list[TimelineOutlet] = Field(description="In order of first article.")


class SpreadOutlet(BaseModel):
    outlet: OutletRef
    language: str = Field(description="The language of most of its articles here.")
    rank: int = Field(description="Position in adoption order, from 1.")
    first_publisher: bool = Field(description="First article within the tie window.")
    article_count: int
    first_article: FirstArticle
    lag: Lag = Field(description="From the storyline's first article to this outlet's first.")


class ArticleRef(BaseModel):
    id: int
    outlet: OutletRef
    effective_at: datetime
    published_at_missing: bool


class FollowerEdge(BaseModel):
    """``follower`` first published after ``leader`` had; one edge per later outlet."""

    leader: ArticleRef = Field(description="The earlier outlet's first article.")
    follower: ArticleRef = Field(description="The later outlet's first article.")
    lag: Lag
    similarity: float | None = Field(
        description="Cosine of the two articles' embeddings; null when models differ."
    )


class RepublishEdge(BaseModel):
    """``republished`` carries much of ``source``'s text; ``source`` is the earlier article."""

    source: ArticleRef
    republished: ArticleRef
    jaccard: float = Field(description="Exact Jaccard of the two texts' word 5-shingles.")
    containment: float = Field(description="Share of the source's shingles found in the copy.")
    lag: Lag


class NearDuplicateScan(BaseModel):
    articles_compared: int = Field(description="Articles whose text was compared.")
    truncated: bool = Field(description="True when the storyline had more than the scan limit.")
    min_jaccard: float
    permutations: int = Field(description="MinHash permutations used to find candidates.")


class Spread(BaseModel):
    """Who published first, who followed, and whose text was republished."""

    storyline_id: int
    article_count: int
    languages: dict[str, int] = Field(description="Articles per language, most first.")
    tie_window_hours: float
    first_at: datetime | None
    uses_ingest_time: bool = Field(
        description="True when some article had no published_at and its ingest time was used."
    )
    first_publishers: list[SpreadOutlet] = Field(
        description="Outlets whose first article came within the tie window of the earliest."
    )
    outlets: list[SpreadOutlet] = Field(description="Every outlet, in adoption order.")
    follower_edges: list[FollowerEdge] = Field(
        description="Each later outlet to the earlier outlet whose first article its own first "
        "article most resembles (embedding cosine); first publishers have none."
    )
    republish_edges: list[RepublishEdge] = Field(
        description="Each article to the earlier article of another outlet whose text it most "
        "overlaps, when the Jaccard is at least `min_jaccard`."
    )
    near_duplicates: NearDuplicateScan


class OutletSummary(BaseModel):
    id: int
    name: str
    first_seen_at: datetime
    article_count: int
    storylines_covered: int


class OutletPage(BaseModel):
    items: list[OutletSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")


class CoveringOutlet(BaseModel):
    outlet: OutletRef
    shared_storylines: int
    led: int = Field(description="Shared storylines this outlet joined before the other one.")
    followed: int = Field(description="Shared storylines it joined after the other one.")


class OutletDetail(OutletSummary):
    tie_window_hours: float
    multi_outlet_storylines: int = Field(description="Covered storylines with two or more outlets.")
    first_in: int = Field(
        description="Of those, how many it published first in (within the tie window)."
    )
    median_join_lag: Lag | None = Field(
        description="Median delay to its first article in storylines it did not start; "
        "null when there are none."
    )
    co_covering: list[CoveringOutlet] = Field(
        description="The 10 outlets that most often covered the same storylines, among "
        "this outlet's 1,000 newest storylines."
    )
