"""Database tables as SQLAlchemy 2 typed models. Rows never leave app/."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite keeps no zone, PostgreSQL keeps ``timestamptz``; both come back as
    aware UTC datetimes so comparisons never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | str) -> datetime:
    """``value`` as an aware UTC datetime; naive values (and ISO text) are taken as UTC.

    Aggregates such as MIN() bypass the column type on SQLite and come back
    naive or as text, so the read side passes them through here too.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ArticleStatus(enum.StrEnum):
    pending = "pending"  # stored, waiting for a worker to embed it
    embedded = "embedded"  # vector stored, waiting for the grouping step
    grouped = "grouped"  # in a storyline
    failed = "failed"  # gave up after repeated errors; ``error`` says why


class StorylineStatus(enum.StrEnum):
    active = "active"
    dormant = "dormant"
    merged = "merged"


class Outlet(Base):
    __tablename__ = "outlet"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Kept at write time (app.services.coverage) so outlet lists never aggregate articles.
    article_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    storyline_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)


class OutletStoryline(Base):
    """One outlet's part in one storyline, kept at write time (app.services.coverage).

    A row exists while the outlet has at least one article in the storyline;
    ``first_at`` / ``last_at`` span those articles' effective times.
    ``join_lag_us`` is ``first_at`` less the storyline's earliest ``first_at``, in
    microseconds, while the storyline has two or more outlets (null otherwise): an
    outlet's "how often first" and median lag are then ranges of one index.
    """

    __tablename__ = "outlet_storyline"
    __table_args__ = (
        # Co-coverage (app.services.outlets) reads the outlet from the index alone.
        Index(
            "ix_outlet_storyline_storyline_id_first_at_outlet_id",
            "storyline_id",
            "first_at",
            "outlet_id",
        ),
        Index("ix_outlet_storyline_outlet_id_join_lag_us", "outlet_id", "join_lag_us"),
    )

    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlet.id"), primary_key=True)
    storyline_id: Mapped[int] = mapped_column(ForeignKey("storyline.id"), primary_key=True)
    article_count: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    join_lag_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RowCount(Base):
    """Rows of ``article`` / ``storyline`` per value of a column, kept by triggers.

    ``kind`` names the column (``article.status``, ``article.embedding_model``,
    ``storyline.status``); ``value`` is its stored value (nulls are not counted).
    Database triggers (migration 0021) move ``n`` on every insert, delete and
    change of the column, whichever code path writes it, so ``/health`` reads a
    handful of rows instead of counting a million. :func:`app.services.counts.recount`
    rebuilds them (bulk loads that write with triggers disabled).
    """

    __tablename__ = "row_count"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class Storyline(Base):
    __tablename__ = "storyline"
    # Retiring silent storylines asks for active ones last published before a
    # cutoff after every batch: a range, not a scan of every active storyline.
    __table_args__ = (
        Index("ix_storyline_status_last_published_at", "status", "last_published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Span of the members' effective times (published_at, or ingested_at when absent).
    first_published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    article_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    outlet_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    centroid: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[StorylineStatus] = mapped_column(
        Enum(StorylineStatus, name="storyline_status", native_enum=False, length=16),
        default=StorylineStatus.active,
        index=True,
    )
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("storyline.id"), index=True)
    split_from: Mapped[int | None] = mapped_column(ForeignKey("storyline.id"))

    @classmethod
    def opened(
        cls, at: datetime, centroid: bytes, now: datetime, split_from: int | None = None
    ) -> Storyline:
        """A new, empty, active storyline spanning ``at``; members are folded in after."""
        return cls(
            created_at=now,
            updated_at=now,
            first_published_at=at,
            last_published_at=at,
            article_count=0,
            outlet_count=0,
            centroid=centroid,
            status=StorylineStatus.active,
            split_from=split_from,
        )

    # seq of the last change-feed entry about this storyline: its version, and its ETag.
    version: Mapped[int] = mapped_column(Integer, default=0, index=True)
    label: Mapped[str] = mapped_column(Text, default="")
    label_terms: Mapped[list[str] | None] = mapped_column(JSON)
    # Language code -> the label built from that language's members alone; empty
    # (or null, before its first rebuild) when the members are in one language.
    label_variants: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # article_count when the label was last computed; relabelling waits for growth.
    label_basis: Mapped[int] = mapped_column(Integer, default=0)
    # An editor's decisions: a locked storyline is never split, merged or robbed of
    # articles by discovery; a pinned label is never rebuilt until an editor clears it
    # (its per-language variants still are).
    locked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    label_pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ChangeKind(enum.StrEnum):
    created = "created"
    grew = "grew"
    relabelled = "relabelled"
    merged = "merged"
    split_off = "split"  # not "split": that would shadow str.split
    dormant = "dormant"
    revised = "revised"  # a member article's text changed (it stayed, or moved away)
    shrank = "shrank"  # an editor moved articles out
    edited = "edited"  # an editor locked or unlocked it


class StorylineChange(Base):
    """One entry of the change feed. ``seq`` is gapless and follows commit order.

    Writers take the global write lock before numbering, so a reader that sees
    ``seq = n`` already sees every change below ``n``.
    """

    __tablename__ = "storyline_change"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # as-of reads
    storyline_id: Mapped[int] = mapped_column(ForeignKey("storyline.id"), index=True)
    kind: Mapped[ChangeKind] = mapped_column(
        Enum(
            ChangeKind,
            name="change_kind",
            native_enum=False,
            length=16,
            values_callable=lambda kinds: [k.value for k in kinds],
        )
    )
    article_count: Mapped[int] = mapped_column(Integer)
    outlet_count: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Term(Base):
    """Document frequency of a word over every stored article (title and lead)."""

    __tablename__ = "term"

    term: Mapped[str] = mapped_column(String(128), primary_key=True)
    df: Mapped[int] = mapped_column(Integer)


class JobMark(Base):
    """How far a background job has got, e.g. the last ``group_seq`` it has read."""

    __tablename__ = "job_mark"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class VectorSpace(Base):
    """The one embedding model whose vectors this store compares (a single row, id 1).

    ``model`` is the embedder's ``model_name``, which names the backend too
    (``all-MiniLM-L6-v2@256+onnx-int8``, ``use-multilingual-v3@256+numpy``); ``family``
    the setting that chose it. Articles whose ``embedding_model``
    differs are never grouped or compared; a process that starts with another
    model takes the store over and re-embeds them in the background, and a
    process still running with the old one is refused at its next placement.
    """

    __tablename__ = "vector_space"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    model: Mapped[str] = mapped_column(String(255))
    dimension: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    # The operator's choice that produced ``model`` (STORYLINE_EMBEDDING_MODEL):
    # english or multilingual. Only a multilingual space compares across languages.
    family: Mapped[str] = mapped_column(String(32), server_default="english")


class LineageKind(enum.StrEnum):
    merged = "merged"
    split_off = "split"  # not "split": that would shadow str.split
    # Articles left ``storyline_id`` for ``other_id``: a revised article, or an editor's move.
    moved = "moved"


class StorylineEvent(Base):
    """A change of a storyline's identity: a merge into another, or a split-off part.

    For ``merged``, ``storyline_id`` went into ``other_id``; for ``split``,
    ``other_id`` was split off ``storyline_id``; for ``moved``, a revised
    article left ``storyline_id`` for ``other_id``. Rows are never updated.
    """

    __tablename__ = "storyline_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[LineageKind] = mapped_column(
        Enum(
            LineageKind,
            name="lineage_kind",
            native_enum=False,
            length=16,
            values_callable=lambda kinds: [k.value for k in kinds],
        )
    )
    storyline_id: Mapped[int] = mapped_column(ForeignKey("storyline.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("storyline.id"), index=True)
    articles_moved: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # The articles a split or move took along (None for merges, which take all):
    # other processes fold exactly these into their groupers instead of rebuilding.
    article_ids: Mapped[list[int] | None] = mapped_column(JSON)


class Article(Base):
    __tablename__ = "article"
    __table_args__ = (
        Index("ix_article_storyline_id_effective_at", "storyline_id", "effective_at"),
        Index("ix_article_storyline_id_outlet_id", "storyline_id", "outlet_id"),
        # The as-of list walks articles newest first (app.services.asof).
        Index("ix_article_effective_at_id", "effective_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(512), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048), unique=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlet.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # published_at when known, else ingested_at: the time used for windows and order.
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(255), index=True)
    embedding_dim: Mapped[int | None] = mapped_column(Integer)
    storyline_id: Mapped[int | None] = mapped_column(ForeignKey("storyline.id"))
    similarity: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    status: Mapped[ArticleStatus] = mapped_column(
        Enum(ArticleStatus, name="article_status", native_enum=False, length=16),
        default=ArticleStatus.grouped,
        index=True,
    )
    # Order in which the single grouping step placed articles, across all hosts:
    # each process replays what others grouped after its own last seen value.
    group_seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    # Lease of an embedding worker on a pending article; expired leases are retaken.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # Placed by an editor (a move, a split or a merge): discovery never moves it.
    pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    outlet: Mapped[Outlet] = relationship(lazy="joined")


class ArticleRevision(Base):
    """An earlier version of an article, kept when a re-post changed it.

    The article row always holds the current version; each revision row holds
    the values it replaced at ``revised_at``, and the storyline the article was
    in then. When the replaced version was the one placed (the article was
    grouped), its vector, model and ``group_seq`` are kept too: the share of the
    live groupers that placing the new version takes out again.
    """

    __tablename__ = "article_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"), index=True)
    revised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(String(64))
    extra: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    storyline_id: Mapped[int | None] = mapped_column(Integer)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(255))
    group_seq: Mapped[int | None] = mapped_column(Integer)


class ApiKey(Base):
    """A client's API key: only its SHA-256 is stored, with its scopes.

    ``scopes`` is a space-separated subset of ``read ingest admin``; ``admin``
    implies the others. A revoked key stays (its name stays taken) so the
    audit trail of names and times is kept.
    """

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuotaBucket(Base):
    """A per-key rate limit shared by every process on PostgreSQL (GCRA).

    ``tat`` is the bucket's theoretical arrival time in seconds since the
    epoch (database clock): a request of cost ``n`` passes when
    ``max(tat, now) + n * interval - now <= burst * interval``. UNLOGGED on
    PostgreSQL (migration 0013): a charge commits without a WAL flush.
    ``granted`` is what the last claim handed its process, in seconds of refill
    (tokens times interval): the claim statement returns it.
    """

    __tablename__ = "quota_bucket"

    subject: Mapped[str] = mapped_column(String(160), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)
    granted: Mapped[float] = mapped_column(Float, server_default=text("0"))


class StorylineMembership(Base):
    """Which storyline an article belonged to, and when: the history behind as-of reads.

    One row per stay; ``valid_to`` is None for the current one. Written only
    through :func:`app.services.membership.record_membership`.
    """

    __tablename__ = "storyline_membership"
    __table_args__ = (
        Index("ix_storyline_membership_storyline_id_valid_from", "storyline_id", "valid_from"),
        Index("ix_storyline_membership_article_id_valid_to", "article_id", "valid_to"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"))
    storyline_id: Mapped[int] = mapped_column(ForeignKey("storyline.id"))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One editor action: who, when, what, why, and the state before and after."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    storyline_id: Mapped[int | None] = mapped_column(Integer, index=True)
    other_id: Mapped[int | None] = mapped_column(Integer, index=True)
    article_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class StorylineSeparation(Base):
    """Two storylines an editor set apart (a split or a move): discovery never merges them."""

    __tablename__ = "storyline_separation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    storyline_id: Mapped[int] = mapped_column(ForeignKey("storyline.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("storyline.id"))
