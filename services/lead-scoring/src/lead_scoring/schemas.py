"""lead-scoring's HTTP bodies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leadflow.events import Attribution, Consent, Factor, Lead
from leadflow.limits import (
    CompanyName,
    Custom,
    Email,
    FreeText,
    JobTitle,
    Label,
    PersonName,
    Phone,
    ShortText,
    Url,
)


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


class AttributionIn(BaseModel):
    """Where the lead came from, each value capped as intake caps it."""

    model_config = ConfigDict(extra="forbid")

    source: ShortText | None = None
    form_id: ShortText | None = None
    utm_source: Label | None = None
    utm_medium: Label | None = None
    utm_campaign: Label | None = None
    utm_term: Label | None = None
    utm_content: Label | None = None
    referrer: Url | None = None
    landing_page: Url | None = None


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    marketing: bool = False
    text: FreeText | None = None
    granted_at: datetime | None = None


class PreviewIn(BaseModel):
    """A lead as intake publishes it (normalised: ISO country, employees as a number); every
    text is capped as intake caps it."""

    model_config = ConfigDict(extra="forbid")

    email: Email = Field(min_length=3)
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    phone: Phone | None = None
    company: CompanyName | None = None
    job_title: JobTitle | None = None
    company_size: int | None = Field(default=None, ge=1, le=10_000_000)
    industry: ShortText | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)
    website: Url | None = None
    attribution: AttributionIn = Field(default_factory=AttributionIn)
    consent: ConsentIn = Field(default_factory=ConsentIn)
    custom: Custom = Field(default_factory=dict)
    touches: int = Field(default=1, ge=1, le=1000, description="How often the person came back")

    def lead(self) -> Lead:
        body = self.model_dump(exclude={"touches", "attribution", "consent"})
        return Lead(
            lead_id=uuid.uuid4(),
            captured_at=datetime.now(UTC),
            attribution=Attribution(**self.attribution.model_dump()),
            consent=Consent(**self.consent.model_dump()),
            **body,
        )


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
