"""marketing-intake's HTTP bodies (documentation and first-pass typing; rules in normalize)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from leadflow.events import Lead
from leadflow.limits import (
    COMPANY_CHARS,
    CUSTOM_FIELDS,
    CompanyName,
    Email,
    FreeText,
    JobTitle,
    Label,
    PersonName,
    Phone,
    ShortText,
    Url,
)


def _text_at_most(chars: int) -> Callable[[object], object]:
    """A cap on the text branch of a `bool | str` or `int | str` field, checked after the
    union so that the error names the field alone (not each branch of the union)."""

    def check(value: object) -> object:
        if isinstance(value, str) and len(value) > chars:
            raise ValueError(f"should have at most {chars} characters")
        return value

    return check


def _documented_at_most(chars: int) -> Callable[[dict[str, Any]], None]:
    """The same cap, in the JSON schema's string branch."""

    def document(schema: dict[str, Any]) -> None:
        for branch in schema.get("anyOf", []):
            if branch.get("type") == "string":
                branch["maxLength"] = chars

    return document


Flag = Annotated[
    bool | str | None,
    AfterValidator(_text_at_most(16)),  # "true", "checked", …
    Field(json_schema_extra=_documented_at_most(16)),
]
Size = Annotated[
    int | str | None,
    AfterValidator(_text_at_most(64)),  # "1,000+", "50-200"
    Field(json_schema_extra=_documented_at_most(64)),
]
# The limits of normalize.py, stated in the schema too: over them is a 422 naming the field.
Instant = Annotated[str, Field(max_length=64)]  # ISO 8601
FieldName = Annotated[str, Field(max_length=COMPANY_CHARS)]  # a web form's field, or a lead's


# Strict: a JSON type other than the documented one is refused, never coerced (0 is no bool).
class AttributionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

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
    model_config = ConfigDict(extra="forbid", strict=True)

    marketing: Flag = None
    text: FreeText | None = Field(default=None, description="The consent wording or its version")
    granted_at: Instant | None = Field(
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

    email: Email = Field(description="Required; syntax-checked and lower-cased")
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    phone: Phone | None = Field(default=None, description="Any format; stored as E.164")
    company: CompanyName | None = None
    job_title: JobTitle | None = None
    company_size: Size = Field(
        default=None, description="Employees: a number or a range such as 50-200"
    )
    industry: ShortText | None = None
    country: ShortText | None = Field(
        default=None, description="Name or ISO code; stored as alpha-2"
    )
    website: Url | None = None
    source: ShortText | None = None
    utm_source: Label | None = None
    utm_medium: Label | None = None
    utm_campaign: Label | None = None
    utm_term: Label | None = None
    utm_content: Label | None = None
    referrer: Url | None = None
    landing_page: Url | None = None
    attribution: AttributionIn | None = None
    consent: ConsentIn | None = None
    custom: dict[str, Any] | None = Field(
        default=None,
        max_length=CUSTOM_FIELDS,
        description=f"At most {CUSTOM_FIELDS} fields with unknown top-level ones, names up "
        "to 64 characters, 4,096 bytes of JSON in all, nested up to 16 deep",
    )


# The known fields and at most CUSTOM_FIELDS others (normalize refuses more: one 422).
_LEAD_PROPERTIES = len(LeadIn.model_fields) + CUSTOM_FIELDS
LeadIn.model_config["json_schema_extra"] = {
    **LeadIn.model_config.get("json_schema_extra", {}),  # type: ignore[dict-item]
    "maxProperties": _LEAD_PROPERTIES,
}


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

    leads: list[Annotated[dict[str, Any], Field(max_length=_LEAD_PROPERTIES)]] = Field(
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
