"""Pydantic shapes of the HTTP API: what comes in and what goes out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from app.services.json_values import text_problem

FIRST_YEAR, LAST_YEAR = 1800, 2200


def _sane_utc(value: datetime) -> datetime:
    # Checked before the shift to UTC: year 9999 at -23:59 would overflow it.
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"date must lie between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_sane_utc)]


def _storable(value: str) -> str:
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


StorableText = Annotated[str, AfterValidator(_storable)]
"""Text without NUL or lone surrogates, which PostgreSQL refuses (even in a query)."""
"""An ISO 8601 date or date-time within years 1800..2200, as aware UTC (no zone: UTC)."""

_SEED_EXAMPLE: dict[str, Any] = {
    "url": "https://tass.com/world/1022167",
    "outlet": "tass.com",
    "title": "White Helmets making staged video of Idlib chemical attack — SANA",
    "body": "DAMASCUS, September 22. /TASS/. Members of the White Helmets ...",
    "published_at": "2018-09-22",
    "language": "en",
    "external_id": "seed-tass-2018-09-22",
}


class ArticleIn(BaseModel):
    """One article as a client sends it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [_SEED_EXAMPLE]},
    )

    outlet: str = Field(min_length=1, max_length=255, description="Publisher: a domain or a name.")
    title: str = Field("", description="Headline; may be empty when the body is not.")
    body: str = Field("", description="Article text; HTML is stripped.")
    url: str | None = Field(None, max_length=2048, description="Canonical URL; unique.")
    external_id: str | None = Field(
        None, min_length=1, max_length=512, description="The client's own id; unique."
    )
    published_at: UtcDateTime | None = Field(
        None, description="ISO 8601 date or date-time, years 1800-2200; no zone means UTC."
    )
    language: str | None = Field(
        None, max_length=16, description="ISO 639-1 code; detected from the text when absent."
    )
    metadata: dict[str, Any] | None = Field(None, description="Free-form JSON kept as given.")

    @field_validator("outlet")
    @classmethod
    def _outlet_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("outlet must not be blank")
        return value

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value.lower().startswith(("http://", "https://")) or len(value) < 11:
            raise ValueError("url must be an absolute http(s) URL")
        if len(value.encode("utf-8", "surrogatepass")) > 2048:
            raise ValueError("url is over 2048 bytes of UTF-8")
        return value

    @field_validator("language")
    @classmethod
    def _language_code(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        code = value.strip().lower().replace("_", "-")
        if not (2 <= len(code.split("-")[0]) <= 3 and code.split("-")[0].isalpha()):
            raise ValueError("language must be an ISO 639 code such as 'en'")
        return code

    @model_validator(mode="after")
    def _has_text(self) -> ArticleIn:
        if not self.title.strip() and not self.body.strip():
            raise ValueError("title and body are both empty")
        return self


class OutletRef(BaseModel):
    id: int
    name: str


class ArticleOut(BaseModel):
    """A stored article."""

    id: int
    external_id: str | None
    url: str | None
    outlet: OutletRef
    title: str
    body: str
    language: str
    published_at: datetime | None
    ingested_at: datetime
    content_hash: str
    status: str = Field(description="pending, embedded, grouped or failed.")
    error: str | None = Field(description="Why the article failed, or its last retried error.")
    attempts: int = Field(description="Embedding attempts so far (asynchronous ingest).")
    storyline_id: int | None
    similarity: float | None = Field(description="Score against the storyline when it joined.")
    embedding_model: str | None
    metadata: dict[str, Any] | None


class IngestResult(BaseModel):
    """What happened to one posted article."""

    id: int = Field(description="Article id.")
    outcome: Literal["created", "unchanged", "revised"] = Field(
        description="created: a new article; unchanged: the stored article, posted again as "
        "stored; revised: the stored article (same id) with new text, date, URL or metadata "
        "now current, its old version kept under `GET /articles/{id}/revisions`."
    )
    created: bool = Field(description="True when the article is new (outcome `created`).")
    status: str = Field(description="pending, embedded, grouped or failed.")
    storyline_id: int | None = Field(description="Null until the article is grouped.")
    storyline_is_new: bool = Field(description="True when this article opened the storyline.")
    similarity: float | None


class ArticleRevisionOut(BaseModel):
    """An earlier version of an article, replaced at ``revised_at`` by a re-post."""

    revised_at: datetime
    url: str | None
    title: str
    body: str
    language: str
    published_at: datetime | None
    content_hash: str
    metadata: dict[str, Any] | None
    storyline_id: int | None = Field(description="The storyline the article was in then.")


class ArticleRevisions(BaseModel):
    """The current version's article id and its earlier versions, oldest first."""

    article_id: int
    revisions: list[ArticleRevisionOut]


class IngestResponse(BaseModel):
    """Results in the order the articles were posted."""

    articles: list[IngestResult]


class StorylineSummary(BaseModel):
    id: int
    status: str = Field(description="active, dormant (silent past the horizon) or merged.")
    merged_into: int | None = Field(description="Where a merged storyline went.")
    split_from: int | None = Field(description="The storyline this one was split off.")
    label: str = Field(description="Distinctive terms, names and places, and the date range.")
    label_variants: dict[str, str] = Field(
        default_factory=dict,
        description="Language code -> the label built from that language's articles alone, "
        "for a storyline whose articles span two or more languages; empty otherwise "
        "(and in as-of reads).",
    )
    created_at: datetime
    updated_at: datetime
    first_published_at: datetime
    last_published_at: datetime
    article_count: int
    outlet_count: int
    version: int = Field(description="seq of the latest change-feed entry about it.")


class StorylineOutlet(BaseModel):
    outlet: OutletRef
    article_count: int
    first_published_at: datetime


class ArticleBrief(BaseModel):
    id: int
    outlet: OutletRef
    title: str
    url: str | None
    language: str
    published_at: datetime | None
    effective_at: datetime
    similarity: float


class LineageEvent(BaseModel):
    """A merge (``storyline_id`` went into ``other_id``), a split (``other_id`` split off)
    or a move (a revised article left ``storyline_id`` for ``other_id``)."""

    model_config = ConfigDict(from_attributes=True)  # read from a StorylineEvent row

    kind: str
    at: datetime
    storyline_id: int
    other_id: int
    articles_moved: int
    reason: str


class StorylineDetail(StorylineSummary):
    outlets: list[StorylineOutlet]
    first_article: ArticleBrief | None = Field(description="Null once merged away.")
    last_article: ArticleBrief | None
    lineage: list[LineageEvent] = Field(description="Merges and splits naming this storyline.")


class StorylineRow(StorylineSummary):
    """A storyline as a list shows it: the summary, who published first, and a sparkline."""

    first_publishers: list[OutletRef] = Field(
        description="Outlets whose first article came within an hour of the storyline's first."
    )
    sparkline_start: date = Field(description="UTC day of the sparkline's first count.")
    sparkline: list[int] = Field(
        description="Articles per UTC day from `sparkline_start`, up to the last article's day "
        "(at most 30 days)."
    )


class StorylinePage(BaseModel):
    items: list[StorylineRow]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")
    total: int = Field(
        description="Storylines matching the filters, over all pages; exact unless `total_capped`."
    )
    total_capped: bool = Field(
        False,
        description="True when more storylines than `total` match: filters other than "
        "`status` or one `outlet` alone are counted up to 10,000 matches, no further.",
    )
    latest_seq: int = Field(
        description="The change feed's latest seq when the page was read: pass it as "
        "?changed_since= (or to /changes/stream) to follow what changes next."
    )


class ArticlePage(BaseModel):
    items: list[ArticleBrief]
    next_cursor: str | None


class VectorsOut(BaseModel):
    """Stored vectors by model: after a backend switch, ``left`` falls to 0 in the background."""

    model: str = Field(description="The store's model and backend, e.g. ...@256+onnx-int8.")
    family: str = Field(
        description="english or multilingual (STORYLINE_EMBEDDING_MODEL): only a "
        "multilingual store groups one event across languages."
    )
    current: int = Field(description="Stored vectors of that model.")
    left: int = Field(description="Vectors of another model still to re-embed (never compared).")


class Health(BaseModel):
    status: str
    database: str
    model: str
    live_storylines: int = Field(description="Storylines the grouper can still place articles in.")
    storylines: dict[str, int] = Field(
        description="Stored storylines by status: active, dormant, merged."
    )
    articles: dict[str, int] = Field(description="Stored articles by status.")
    vectors: VectorsOut


class ChangeOut(BaseModel):
    """One change-feed entry."""

    model_config = ConfigDict(from_attributes=True)  # read from a StorylineChange row

    seq: int = Field(description="Gapless, strictly increasing, in commit order.")
    at: datetime
    storyline_id: int
    kind: str = Field(
        description="created, grew, relabelled, merged, split, dormant, or revised "
        "(a member article's text changed; `details.moved_to` when it left)."
    )
    article_count: int
    outlet_count: int
    label: str
    details: dict[str, Any] | None


class ChangePage(BaseModel):
    changes: list[ChangeOut]
    next_since: int = Field(description="Pass as ?since= to continue; unchanged when idle.")


class SearchHit(BaseModel):
    storyline: StorylineSummary
    score: float = Field(description="Best evidence: cosine for meaning, share of words matched.")
    reasons: list[str] = Field(description="Why this storyline matched.")


class SearchResult(BaseModel):
    query: str
    hits: list[SearchHit]
