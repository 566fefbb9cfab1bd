"""HTTP bodies of the marketing–sales agreement (issue 24)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MqlsPerMonth = Annotated[int, Field(ge=1, le=10_000_000, description="MQLs marketing delivers")]
AcceptanceRate = Annotated[
    float, Field(ge=0, le=1, description="Share of MQLs with a verdict that sales accepts")
]
ContactMinutes = Annotated[
    int,
    Field(ge=1, le=43_200, description="Median minutes from assignment to first contact"),
]
SourceName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SourceTargets(BaseModel):
    """The promises for one source's leads; any may be left out."""

    model_config = ConfigDict(extra="forbid")

    mqls_per_month: MqlsPerMonth | None = None
    min_acceptance_rate: AcceptanceRate | None = None
    contact_within_minutes: ContactMinutes | None = None


class AgreementIn(BaseModel):
    """What marketing and sales promised each other, per month."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "mqls_per_month": 400,
                    "min_acceptance_rate": 0.8,
                    "contact_within_minutes": 60,
                    "per_source": {"webinar": {"mqls_per_month": 150}},
                }
            ]
        },
    )

    mqls_per_month: MqlsPerMonth
    min_acceptance_rate: AcceptanceRate
    contact_within_minutes: ContactMinutes
    per_source: dict[SourceName, SourceTargets] = Field(
        default_factory=dict, max_length=100, description="Promises per source (`source`)"
    )


class AgreementOut(AgreementIn):
    updated_at: datetime


class PromiseOut(BaseModel):
    promise: Literal["mqls_per_month", "min_acceptance_rate", "contact_within_minutes"]
    team: Literal["marketing", "sales"] = Field(description="Who made the promise")
    source: str | None = Field(description="null: all leads")
    target: float
    actual: float | None = Field(
        description="So far this month: MQLs, acceptance rate, or median minutes to contact; "
        "null when status is insufficient_data"
    )
    projection: float | None = Field(
        description="For the whole month: MQLs so far ÷ days elapsed × days in the month "
        "(the count itself once the month is over); a rate or a median is its value so far"
    )
    projection_days: int = Field(description="Whole days of the month the figures rest on")
    on_track: bool | None = Field(description="null: not enough data to say")
    status: Literal["measured", "insufficient_data"]
    sample: int = Field(description="MQLs, verdicts or assigned MQLs behind `actual`")
    wilson_lower: float | None = Field(description="Acceptance: 95 % Wilson lower bound")
    wilson_upper: float | None = Field(description="Acceptance: 95 % Wilson upper bound")
    note: str = Field(description="How the figure was reached, or why it is missing")


class AgreementStatusOut(BaseModel):
    month: str = Field(description="YYYY-MM (UTC)")
    days_in_month: int
    days_elapsed: float = Field(description="Days of the month passed at `as_of`")
    as_of: datetime
    min_verdicts: int = Field(description="LEADFLOW_MIN_VERDICTS: fewer is not a rate")
    min_projection_days: int = Field(
        description="LEADFLOW_MIN_PROJECTION_DAYS: no MQL projection on fewer days"
    )
    promises: list[PromiseOut]
