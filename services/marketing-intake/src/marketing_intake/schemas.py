"""marketing-intake's HTTP bodies (the lead's own, `LeadIn`, is the kernel's: leadflow.leadbody)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadflow.events import Lead
from leadflow.leadbody.schema import LEAD_PROPERTIES
from leadflow.limits import COMPANY_CHARS, Url

FieldName = Annotated[str, Field(max_length=COMPANY_CHARS)]  # a web form's field, or a lead's


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

    leads: list[Annotated[dict[str, Any], Field(max_length=LEAD_PROPERTIES)]] = Field(
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
    allowed_origins: list[Url] = Field(
        min_length=1,
        max_length=50,
        description="Origins (scheme://host[:port]) whose pages may post this form",
    )
    redirect_url: str | None = Field(
        default=None,
        max_length=2048,
        description="Where a plain HTML post is sent (303) afterwards, with ?lead_id=…",
    )
    field_map: dict[FieldName, FieldName] = Field(
        default_factory=dict,
        max_length=100,
        description="Form field name → lead field (or custom.<name>); unmapped fields that "
        "are lead field names map to themselves, others go into custom",
    )
    required: list[FieldName] = Field(
        default_factory=list,
        max_length=100,
        description="Lead fields (or custom.<name>) that must be filled",
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
    allowed_origins: list[Url] | None = Field(default=None, min_length=1, max_length=50)
    redirect_url: str | None = Field(default=None, max_length=2048)
    field_map: dict[FieldName, FieldName] | None = Field(default=None, max_length=100)
    required: list[FieldName] | None = Field(default=None, max_length=100)
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
