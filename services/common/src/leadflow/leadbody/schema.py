"""The lead body intake's `POST /v1/leads` takes, and lead-scoring's preview with it: its
schema (documentation and first-pass typing); the rules are in `normalize`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from leadflow.limits import (
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
LEAD_PROPERTIES = len(LeadIn.model_fields) + CUSTOM_FIELDS
LeadIn.model_config["json_schema_extra"] = {
    **LeadIn.model_config.get("json_schema_extra", {}),  # type: ignore[dict-item]
    "maxProperties": LEAD_PROPERTIES,
}
