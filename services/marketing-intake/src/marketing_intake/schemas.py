"""marketing-intake's HTTP bodies (documentation and first-pass typing; rules in normalize)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadflow.events import Lead


# Strict: a JSON type other than the documented one is refused, never coerced (0 is no bool).
class AttributionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

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
    model_config = ConfigDict(extra="forbid", strict=True)

    marketing: bool | str | None = None
    text: str | None = Field(default=None, description="The consent wording or its version")
    granted_at: str | None = Field(
        default=None,
        description="When consent was given (ISO 8601; blank is not given): else capture time",
    )


class LeadIn(BaseModel):
    """A lead as JSON. Unknown top-level fields are kept in `custom` (size-capped)."""

    model_config = ConfigDict(
        extra="allow",
        strict=True,
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


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leads: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=500,
        description="Up to 500 leads, each as the body of POST /v1/leads",
    )


class FieldErrorOut(BaseModel):
    field: str
    message: str


class BatchItemOut(BaseModel):
    index: int = Field(description="Position of the lead in the request")
    status: Literal["accepted", "invalid"]
    lead_id: uuid.UUID | None = None
    duplicate: bool = False
    errors: list[FieldErrorOut] = Field(default_factory=list)


class BatchOut(BaseModel):
    accepted: int
    invalid: int
    results: list[BatchItemOut]


class SubmissionAccepted(BaseModel):
    lead_id: uuid.UUID = Field(
        description="The new lead's id; for a person already known, this post's own id, "
        "which names no lead (a public form never tells another submission's lead id)"
    )
    status: Literal["accepted"] = "accepted"


class FormIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    allowed_origins: list[str] = Field(
        min_length=1,
        max_length=50,
        description="Origins (scheme://host[:port]) whose pages may post this form",
    )
    redirect_url: str | None = Field(
        default=None,
        max_length=2048,
        description="Where a plain HTML post is sent (303) afterwards, with ?lead_id=…",
    )
    field_map: dict[str, str] = Field(
        default_factory=dict,
        description="Form field name → lead field (or custom.<name>); unmapped fields that "
        "are lead field names map to themselves, others go into custom",
    )
    required: list[str] = Field(
        default_factory=list, description="Lead fields (or custom.<name>) that must be filled"
    )
    honeypot_field: str | None = Field(
        default=None, max_length=100, description="A hidden field only bots fill"
    )
    require_consent: bool = False
    consent_text: str | None = Field(
        default=None, max_length=2000, description="The consent wording or its version"
    )
    min_fill_seconds: float = Field(
        default=3.0,
        ge=0,
        le=3600,
        description="Posts filled faster than this (per the snippet's timestamps) are dropped",
    )


class FormPatch(BaseModel):
    """Only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    allowed_origins: list[str] | None = Field(default=None, min_length=1, max_length=50)
    redirect_url: str | None = Field(default=None, max_length=2048)
    field_map: dict[str, str] | None = None
    required: list[str] | None = None
    honeypot_field: str | None = Field(default=None, max_length=100)
    require_consent: bool | None = None
    consent_text: str | None = Field(default=None, max_length=2000)
    min_fill_seconds: float | None = Field(default=None, ge=0, le=3600)


class FormOut(BaseModel):
    form_id: uuid.UUID
    name: str
    allowed_origins: list[str]
    redirect_url: str | None
    field_map: dict[str, str]
    required: list[str]
    honeypot_field: str | None
    require_consent: bool
    consent_text: str | None
    min_fill_seconds: float
    submit_url: str = Field(description="Where the form posts (under LEADFLOW_PUBLIC_URL)")
    embed_url: str = Field(
        description="An HTML page with the snippet to paste (under LEADFLOW_PUBLIC_URL)"
    )
    created_at: datetime
    updated_at: datetime
