"""sales-assignment's HTTP bodies; each bad field is named in the 422."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from sales_assignment.availability import WeeklyHours, load_timezone
from sales_assignment.places import Place


def _timezone(name: str) -> str:
    load_timezone(name)
    return name


def _hours(doc: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    WeeklyHours.parse(doc)
    return doc or None


def _email(text: str) -> str:
    local, _, domain = text.strip().partition("@")
    if not local or "." not in domain or " " in text.strip():
        raise ValueError("not an email address")
    return text.strip().lower()


Name = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
Segment = Literal["smb", "mid_market", "enterprise"]
Timezone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
# Bounds for what a rep carries: every country and region, a few ranges a day, a year of
# absences; a request over them is a 422 naming the field.
_RANGES_PER_DAY = 24
Hours = Annotated[
    dict[
        Annotated[str, Field(max_length=16)],
        Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=_RANGES_PER_DAY)],
    ]
    | None,
    Field(max_length=7),
    AfterValidator(_hours),
]
EventType = Literal["lead.assigned", "lead.reassigned", "lead.queued", "lead.erased"]
_EVENT_TYPES = len(get_args(EventType))


# One routing rule as a client writes it (validated by `rules.validate_rules`): a bounded map.
RuleDoc = Annotated[dict[str, Any], Field(max_length=16)]


class Period(BaseModel):
    """An out-of-office period `[start, end)`."""

    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class RepPatch(BaseModel):
    """Changes to a rep; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: Email | None = None
    active: bool | None = None
    weight: Annotated[int, Field(ge=0, le=1000)] | None = None
    max_open_leads: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    territories: Annotated[list[Place], Field(max_length=300)] | None = None
    segments: Annotated[list[Segment], Field(max_length=3)] | None = None
    timezone: Timezone | None = None
    working_hours: Hours = Field(
        default=None, description='{"mon": ["09:00-12:00", "13:00-17:00"], …}; none = always'
    )
    out_of_office: Annotated[list[Period], Field(max_length=366)] | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, as stored (null only where null is meaningful)."""
        doc = self.model_dump(mode="json", exclude_unset=True)
        nullable = {"max_open_leads", "working_hours"}
        return {k: v for k, v in doc.items() if v is not None or k in nullable}


class RepIn(RepPatch):
    """A salesperson. Empty territories/segments restrict nothing."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Ann Seller",
                    "email": "ann@seller.example",
                    "weight": 2,
                    "max_open_leads": 25,
                    "territories": ["EMEA"],
                    "segments": ["mid_market", "enterprise"],
                    "timezone": "Europe/Berlin",
                    "working_hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed")},
                }
            ]
        },
    )

    name: Name
    email: Email
    active: bool = True
    weight: Annotated[int, Field(ge=0, le=1000)] = 1
    territories: Annotated[list[Place], Field(max_length=300)] = []
    segments: Annotated[list[Segment], Field(max_length=3)] = []
    timezone: Timezone = "UTC"
    out_of_office: Annotated[list[Period], Field(max_length=366)] = []


class RepOut(BaseModel):
    rep_id: uuid.UUID
    name: str
    email: str
    active: bool
    weight: int
    max_open_leads: int | None
    territories: list[str]
    segments: list[str]
    timezone: str
    working_hours: dict[str, list[str]] | None
    out_of_office: list[Period]
    open_leads: int = 0
    created_at: datetime
    updated_at: datetime


class RepBrief(BaseModel):
    rep_id: uuid.UUID
    name: str
    email: str


class HistoryOut(BaseModel):
    event: str
    rep_id: uuid.UUID | None
    attempt: int
    reason: dict[str, Any]
    at: datetime


class AssignmentOut(BaseModel):
    lead_id: uuid.UUID
    rep: RepBrief | None
    status: str
    attempt: int
    reason: dict[str, Any]
    assigned_at: datetime | None
    accepted_at: datetime | None
    sla_due_at: datetime | None
    history: list[HistoryOut]


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = Field(
        default=None, description="Why the rep declines (kept in the lead's history)"
    )
    rep_id: uuid.UUID | None = Field(
        default=None,
        description="Who declines (sales_tool, admin; default: the lead's rep). Sending it "
        "makes a retry safe: a decline already made is answered again, not applied twice.",
    )


class DeclineOut(BaseModel):
    lead_id: uuid.UUID
    declined_by: uuid.UUID
    reason: str | None
    declined_at: datetime
    outcome: Literal["reassigned", "queued"] = Field(
        description="The lead went at once to another rep, or waits in the queue"
    )


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=2048)]
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=_EVENT_TYPES)] = [
        "lead.assigned",
        "lead.reassigned",
    ]


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(default=None, description="true re-enables a disabled endpoint")
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=_EVENT_TYPES)] | None = (
        None
    )


class EndpointOut(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    enabled: bool
    consecutive_failures: int
    disabled_reason: str | None
    previous_secret_valid_until: datetime | None = Field(
        default=None,
        validation_alias="previous_secret_expires_at",
        description="After a rotation: until when the previous secret also signs",
    )
    created_at: datetime


class SecretRotated(BaseModel):
    secret: str = Field(description="The new whsec_…: shown only here; signs from now on")
    previous_valid_until: datetime | None = Field(
        description="Until then deliveries carry two signatures, new first, then the previous"
    )


class EndpointCreated(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    secret: str = Field(description="whsec_…: verify signatures with it; shown only here")


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: uuid.UUID
    lead_id: uuid.UUID
    event_type: str
    status: Literal["pending", "delivered", "failed", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class RepsImported(BaseModel):
    created: int
    reps: list[RepOut]


class RulesIn(BaseModel):
    """Ordered routing rules; the first whose conditions all hold picks the pool."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rules": [
                        {
                            "name": "emea-enterprise",
                            "countries": ["EMEA"],
                            "min_employees": 1000,
                            "pool": ["6f1c2e4a-0000-4000-8000-000000000001"],
                            "fallback": {"rep": "6f1c2e4a-0000-4000-8000-000000000002"},
                        },
                        {"name": "hot-saas", "industries": ["SaaS"], "min_score": 80},
                    ]
                }
            ]
        },
    )

    rules: list[RuleDoc] = Field(
        max_length=200,
        description='name, pool (rep ids or "territory"), countries[], min_employees, '
        "max_employees, industries[], min_score, max_score, fallback (used when nobody in "
        'the pool is eligible: {"rep": rep id} or {"pool": rep ids, "territory" or '
        '"default"}; nobody there either: the lead is queued)',
    )


class RulesOut(BaseModel):
    version: int = Field(description="0: nothing stored yet, every lead uses the default pool")
    created_at: datetime | None
    rules: list[dict[str, Any]]


MAX_ACCOUNT_ALIASES = 50
AccountName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AliasDomain = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253)]


class AccountIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rep_id": "6f1c2e4a-0000-4000-8000-000000000001",
                    "alias_domains": ["acme.de", "acme-robotics.com"],
                    "names": ["Acme Inc.", "Acme Robotics"],
                }
            ]
        },
    )

    rep_id: uuid.UUID
    alias_domains: list[AliasDomain] = Field(
        default_factory=list,
        max_length=MAX_ACCOUNT_ALIASES,
        description="The company's other domains: their leads go to the owner as the domain's",
    )
    names: list[AccountName] = Field(
        default_factory=list,
        max_length=MAX_ACCOUNT_ALIASES,
        description="The company's name and its subsidiaries': leads from free-mail or unknown "
        "domains whose company name matches one go to the owner",
    )


class AccountOut(BaseModel):
    domain: str
    rep_id: uuid.UUID
    alias_domains: list[str]
    names: list[str]
    created_at: datetime
    updated_at: datetime
