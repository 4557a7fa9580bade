"""Timeline of a storyline: articles per time bucket and outlet, and when each outlet joined."""

from __future__ import annotations

import enum
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.errors import InvalidInput, input_error
from app.schemas import OutletRef
from app.schemas_spread import BucketOutlet, Timeline, TimelineBucket, TimelineOutlet
from app.services.lag import lag_between
from app.services.members import (
    Member,
    first_per_outlet,
    language_counts,
    load_members,
    outlet_languages,
)

# A chart of more buckets than this is useless and its answer large: ask for a coarser bucket.
MAX_BUCKETS = 5_000


class Bucket(enum.StrEnum):
    hour = "hour"
    day = "day"
    week = "week"

    @property
    def step(self) -> timedelta:
        return {Bucket.hour: timedelta(hours=1), Bucket.day: timedelta(days=1)}.get(
            self, timedelta(weeks=1)
        )

    def floor(self, at: datetime) -> datetime:
        """Start of the UTC bucket holding ``at`` (weeks start on Monday, as in ISO 8601)."""
        start = at.replace(minute=0, second=0, microsecond=0)
        if self is Bucket.hour:
            return start
        start = start.replace(hour=0)
        if self is Bucket.day:
            return start
        return start - timedelta(days=start.weekday())


def storyline_timeline(
    session: Session, storyline_id: int, bucket: Bucket, as_of: datetime | None = None
) -> Timeline:
    """Per-bucket, per-outlet article counts of a storyline, first to last bucket.

    Empty buckets are present, so ``len(buckets)`` is the span in bucket units plus
    one and the bucket counts sum to the number of member articles. Raises
    :class:`NotFound` for an unknown storyline, :class:`InvalidInput` on ``bucket``
    when the span would need more than ``MAX_BUCKETS`` buckets. With ``as_of``,
    the storyline as it was at that instant (its members then).
    """
    members = load_members(session, storyline_id, as_of)
    if not members:  # a storyline merged away keeps its id but no articles
        return Timeline(
            storyline_id=storyline_id,
            bucket=bucket.value,
            article_count=0,
            outlet_count=0,
            languages={},
            first_at=None,
            last_at=None,
            buckets=[],
            outlets=[],
        )
    first_start = bucket.floor(members[0].effective_at)
    count = (bucket.floor(members[-1].effective_at) - first_start) // bucket.step + 1
    if count > MAX_BUCKETS:
        raise InvalidInput(
            [
                input_error(
                    ("query", "bucket"),
                    f"bucket={bucket.value} would give {count} buckets over this storyline "
                    f"(at most {MAX_BUCKETS}); use a coarser bucket",
                    "value_error",
                )
            ]
        )
    return Timeline(
        storyline_id=storyline_id,
        bucket=bucket.value,
        article_count=len(members),
        outlet_count=len({m.outlet_id for m in members}),
        languages=language_counts(members),
        first_at=members[0].effective_at,
        last_at=members[-1].effective_at,
        buckets=_buckets(members, bucket, first_start, count),
        outlets=_outlets(members),
    )


def _buckets(
    members: list[Member], bucket: Bucket, first_start: datetime, count: int
) -> list[TimelineBucket]:
    per_outlet: list[Counter[int]] = [Counter() for _ in range(count)]
    per_language: list[list[Member]] = [[] for _ in range(count)]
    missing = [0] * count
    new = [0] * count
    names: dict[int, str] = {}
    for member in members:
        index = (bucket.floor(member.effective_at) - first_start) // bucket.step
        if member.outlet_id not in names:
            names[member.outlet_id] = member.outlet_name
            new[index] += 1
        per_outlet[index][member.outlet_id] += 1
        per_language[index].append(member)
        missing[index] += member.published_at_missing
    buckets: list[TimelineBucket] = []
    cumulative = 0
    for index in range(count):
        cumulative += new[index]
        counts = per_outlet[index]
        buckets.append(
            TimelineBucket(
                start=first_start + index * bucket.step,
                article_count=sum(counts.values()),
                published_at_missing=missing[index],
                outlets=[
                    BucketOutlet(outlet=OutletRef(id=oid, name=names[oid]), article_count=n)
                    for oid, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
                ],
                new_outlets=new[index],
                cumulative_outlets=cumulative,
                languages=language_counts(per_language[index]),
            )
        )
    return buckets


def _outlets(members: list[Member]) -> list[TimelineOutlet]:
    counts: Counter[int] = Counter(m.outlet_id for m in members)
    missing: defaultdict[int, int] = defaultdict(int)
    for member in members:
        missing[member.outlet_id] += member.published_at_missing
    start = members[0].effective_at
    languages = outlet_languages(members)
    return [
        TimelineOutlet(
            outlet=first.outlet,
            language=languages[first.outlet_id],
            article_count=counts[first.outlet_id],
            published_at_missing=missing[first.outlet_id],
            first_article=first.first_article(),
            lag=lag_between(start, first.effective_at),
        )
        for first in first_per_outlet(members)
    ]
