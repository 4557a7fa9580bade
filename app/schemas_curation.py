"""Pydantic bodies of the curation API and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.schemas import StorylineSummary
from app.services.json_values import text_problem


def _storable(text: str) -> str:
    problem = text_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_storable),
    Field(description="Why: kept in the audit log and the lineage."),
]
Id = Annotated[int, Field(ge=1)]


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: Id = Field(description="The storyline to merge with; the older of the two keeps its id.")
    reason: Reason


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    article_ids: list[Id] = Field(
        min_length=1, max_length=10_000, description="Articles of this storyline to split off."
    )
    reason: Reason


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    storyline_id: Id | None = Field(description="Destination; null opens a new storyline for it.")
    reason: Reason


class EditIn(BaseModel):
    """Only the fields sent change; ``label: null`` clears an editor's label."""

    model_config = ConfigDict(extra="forbid")

    label: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
            AfterValidator(_storable),
        ]
        | None
    ) = Field(default=None, description="Kept (no automatic relabelling) until set to null.")
    locked: bool | None = Field(
        default=None, description="Locked: discovery never splits, merges or takes from it."
    )
    reason: Annotated[str, AfterValidator(_storable)] = Field(default="", max_length=2000)


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from an AuditEntry row

    id: int
    at: datetime
    actor: str = Field(description="Who: the API key's name (or loopback without keys).")
    action: str = Field(description="merge, split, move or edit.")
    storyline_id: int | None
    other_id: int | None = Field(description="Survivor, split-off part, or destination.")
    article_id: int | None
    reason: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    entries: list[AuditOut]
    next_after: int = Field(description="Pass as `after` for the next page.")


class CurationOut(BaseModel):
    audit: AuditOut
    storyline: StorylineSummary = Field(
        description="The storyline the action leaves: survivor, split-off part, destination."
    )
