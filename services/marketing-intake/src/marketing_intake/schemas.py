"""marketing-intake's HTTP bodies (documentation and first-pass typing; rules in normalize)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadflow.events import Lead


class AttributionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | None = None
    form_id: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    referrer: str | None = None
    landing_page: str | None = None


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    marketing: bool | str | None = None
    text: str | None = Field(default=None, description="The consent wording or its version")
    granted_at: datetime | None = None


class LeadIn(BaseModel):
    """A lead as JSON. Unknown top-level fields are kept in `custom` (size-capped)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "company": "Analytical Engines Ltd",
                    "job_title": "VP Engineering",
                    "company_size": 250,
                    "country": "GB",
                    "utm_source": "linkedin",
                    "utm_campaign": "q4-launch",
                    "consent": {"marketing": True, "text": "newsletter-v3"},
                }
            ]
        },
    )

    email: str = Field(description="Required; syntax-checked and lower-cased")
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = Field(default=None, description="Any format; stored as E.164")
    company: str | None = None
    job_title: str | None = None
    company_size: int | str | None = Field(
        default=None, description="Employees: a number or a range such as 50-200"
    )
    industry: str | None = None
    country: str | None = Field(default=None, description="Name or ISO code; stored as alpha-2")
    website: str | None = None
    source: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    referrer: str | None = None
    landing_page: str | None = None
    attribution: AttributionIn | None = None
    consent: ConsentIn | None = None
    custom: dict[str, Any] | None = None


class AcceptedOut(BaseModel):
    lead_id: uuid.UUID
    status: Literal["accepted"] = "accepted"
    duplicate: bool = False


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Who uses this key")


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret key, shown only in this answer")


class LeadExport(BaseModel):
    lead_id: uuid.UUID
    lead: Lead | None = Field(description="The stored lead; null once erased")
    touches: int
    captured_at: datetime
    last_touch_at: datetime
    erased_at: datetime | None = None
