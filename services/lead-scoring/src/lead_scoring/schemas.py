"""lead-scoring's HTTP bodies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leadflow.events import Attribution, Consent, Factor, Lead


class ScoreOut(BaseModel):
    score: int = Field(ge=0, le=100)
    qualified: bool
    threshold: int
    factors: list[Factor]
    model_version: str


class StoredScoreOut(ScoreOut):
    lead_id: uuid.UUID
    scored_at: datetime
    qualified_at: datetime | None = None


class PreviewIn(BaseModel):
    """A lead as intake publishes it (normalised: ISO country, employees as a number)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company: str | None = None
    job_title: str | None = None
    company_size: int | None = Field(default=None, ge=1)
    industry: str | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)
    website: str | None = None
    attribution: Attribution = Field(default_factory=Attribution)
    consent: Consent = Field(default_factory=Consent)
    custom: dict[str, Any] = Field(default_factory=dict)
    touches: int = Field(default=1, ge=1, le=1000, description="How often the person came back")

    def lead(self) -> Lead:
        body = self.model_dump(exclude={"touches"})
        return Lead(lead_id=uuid.uuid4(), captured_at=datetime.now(UTC), **body)


class RulesOut(BaseModel):
    version: int = Field(description="0 is the built-in default rule set")
    created_at: datetime | None
    rules: dict[str, Any]


class ModelOut(BaseModel):
    version: str
    n_outcomes: int
    n_won: int
    weight: float = Field(description="Share of the score the learned model has now (0-0.5)")
    attributes: list[dict[str, Any]]
