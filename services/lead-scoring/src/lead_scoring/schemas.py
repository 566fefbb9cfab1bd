"""lead-scoring's HTTP bodies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from leadflow.events import Factor, Lead
from leadflow.leadbody.normalize import normalize_lead
from leadflow.leadbody.schema import LeadIn


class ScoreOut(BaseModel):
    score: int = Field(ge=0, le=100)
    qualified: bool
    threshold: int
    factors: list[Factor]
    model_version: str


class StoredScoreOut(ScoreOut):
    lead_id: uuid.UUID
    scored_at: datetime
    qualified_at: datetime | None = Field(
        default=None, description="When it last became an MQL (again, after recycling)"
    )
    rejected_at: datetime | None = Field(default=None, description="Its latest rejection")
    rejection_reason: str | None = None
    recycled_at: datetime | None = Field(
        default=None,
        description="When that rejection sent it back to marketing: not an MQL until a touch "
        "after the cool-down qualifies it again (qualified_at later than this)",
    )


def preview_lead(body: LeadIn) -> Lead:
    """The lead intake would publish for this body sent to its `POST /v1/leads`, normalised
    by the same code (raises LeadInvalid naming each bad field)."""
    raw = body.model_dump(exclude_unset=True)
    return normalize_lead(raw, lead_id=uuid.uuid4(), captured_at=datetime.now(UTC), source="api")


class RulesOut(BaseModel):
    version: int = Field(description="0 is the built-in default rule set")
    created_at: datetime | None
    rules: dict[str, Any]


class ModelOut(BaseModel):
    version: str
    n_outcomes: int
    n_won: int
    n_rejected: int = Field(
        default=0, description="Rejected MQLs learned from, each worth two lost deals"
    )
    weight: float = Field(description="Share of the score the learned model has now (0-0.5)")
    attributes: list[dict[str, Any]]
