"""feedback's HTTP bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from leadflow.events import NEVER_RECYCLED, REASON_CODES, Stage, default_recycle


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


Currency = Annotated[
    str,
    BeforeValidator(_upper),
    Field(max_length=3, pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR"),
]
# An amount written as text is refused past this length before it is read as a number.
_AMOUNT_CHARS = 32


def _short_amount(value: object) -> object:
    if isinstance(value, str) and len(value) > _AMOUNT_CHARS:
        raise ValueError(f"should have at most {_AMOUNT_CHARS} characters")
    return value


def _amount_schema(schema: dict[str, Any]) -> None:
    for branch in schema.get("anyOf", []):
        if branch.get("type") == "string":
            branch["maxLength"] = _AMOUNT_CHARS


# Below 10^12 with cents: what a deal or a campaign may cost (the column holds 18 digits).
MAX_AMOUNT = Decimal(10) ** 12
Amount = Annotated[
    Decimal,
    BeforeValidator(_short_amount),
    Field(ge=0, lt=MAX_AMOUNT, decimal_places=2, json_schema_extra=_amount_schema),
]
DealAmount = Annotated[
    Decimal,
    BeforeValidator(_short_amount),
    Field(
        gt=0,
        lt=MAX_AMOUNT,
        decimal_places=2,
        description="More than 0, below 10^12, cents",
        json_schema_extra=_amount_schema,
    ),
]


class OutcomeIn(BaseModel):
    """How far a lead got, as a sales tool reports it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "lead_id": "0b6f4a52-2a53-4c1f-9a53-8f1d6f3e2c11",
                    "stage": "won",
                    "amount": "12000.00",
                    "currency": "EUR",
                    "external_id": "crm-deal-4711",
                },
                {
                    "lead_id": "0b6f4a52-2a53-4c1f-9a53-8f1d6f3e2c11",
                    "stage": "rejected",
                    "reason": "not_ready",
                    "recycle": True,
                },
            ]
        },
    )

    lead_id: uuid.UUID
    stage: Stage
    occurred_at: AwareDatetime | None = Field(default=None, description="Default: now")
    amount: DealAmount | None = None
    currency: Currency | None = Field(default=None, validate_default=True)
    reason: str | None = Field(
        default=None,
        max_length=2000,
        validate_default=True,
        description=(
            "Free text for contacted/sql/won/lost (kept here, never published). Required "
            "for `rejected`, one of not_a_fit, not_ready, no_contact, spam, duplicate, other"
        ),
    )
    recycle: bool | None = Field(
        default=None,
        validate_default=True,
        description=(
            "`rejected` only: hand the lead back to marketing (its assignment closes and it "
            "may qualify again on a later touch). Default: true for not_ready and "
            "no_contact, false otherwise; never true for spam or duplicate"
        ),
    )
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The sales tool's id; a repeat with it returns the first answer",
    )
    reopen: bool = Field(
        default=False, description="Allow won after lost, or lost after won (admin only)"
    )

    @field_validator("currency")
    @classmethod
    def _currency_with_amount(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("amount") is not None:
            raise ValueError("currency is required with an amount")
        return value

    @field_validator("reason")
    @classmethod
    def _reason_code_of_a_rejection(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("stage") == "rejected" and value not in REASON_CODES:
            codes = ", ".join(sorted(REASON_CODES))
            raise ValueError(f"a rejection needs a reason, one of {codes}")
        return value

    @field_validator("recycle")
    @classmethod
    def _recycle_when_it_may(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        stage, reason = info.data.get("stage"), info.data.get("reason")
        if stage != "rejected":
            if value is not None:
                raise ValueError("recycle is only for stage rejected")
            return None
        if value is None:
            return default_recycle(reason)
        if value and reason in NEVER_RECYCLED:
            raise ValueError(f"a lead rejected as {reason} is never recycled")
        return value


class OutcomeAccepted(BaseModel):
    outcome_id: uuid.UUID
    status: Literal["accepted"] = "accepted"
    duplicate: bool = False


class CostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: Currency


class CostOut(BaseModel):
    utm_campaign: str
    amount: Decimal
    currency: str
    updated_at: datetime


class FunnelGroup(BaseModel):
    key: str | None = Field(description="The group's value (the rep's id for group_by=rep)")
    label: str | None = Field(description="The rep's name for group_by=rep, else the key")
    leads: int
    mqls: int
    sqls: int
    won: int
    lost: int
    mql_rate: float | None
    win_rate: float | None
    revenue: float | None
    currency: str | None
    avg_deal_size: float | None
    median_sales_cycle_days: float | None
    median_speed_to_lead_seconds: float | None = Field(
        description="Median seconds from capture to the first assignment"
    )
    median_assigned_to_contacted_seconds: float | None = Field(
        description="Median seconds from the first assignment to the first contact"
    )
    cost: float | None
    cost_currency: str | None
    cost_per_lead: float | None
    cac: float | None = Field(description="Customer acquisition cost: cost / won")
    roi: float | None
    # Lead quality (issue 24), last so the CSV's earlier columns keep their places.
    rejected: int = Field(description="MQLs whose verdict is a rejection (docs/feedback.md)")
    verdicts: int = Field(
        description="MQLs with a verdict: rejected, or reached contacted, sql, won or lost"
    )
    acceptance_rate: float | None = Field(
        description="(verdicts - rejected) / verdicts; null when acceptance_status is "
        "insufficient_data (fewer verdicts than LEADFLOW_MIN_VERDICTS)"
    )
    acceptance_wilson_lower: float | None = Field(
        description="Lower bound of the acceptance rate's 95 % Wilson interval"
    )
    acceptance_wilson_upper: float | None = Field(
        description="Upper bound of the acceptance rate's 95 % Wilson interval"
    )
    acceptance_status: Literal["measured", "insufficient_data"] = Field(
        description="insufficient_data: too few verdicts for a rate (none is given)"
    )
    rejection_reasons: dict[str, int] = Field(
        description="Rejected MQLs per reason code (CSV: code=count;…)"
    )
    # Routing experiments (issue 23), last for the same reason.
    win_rate_wilson_lower: float | None = Field(
        default=None, description="Lower bound of the win rate's 95 % Wilson interval"
    )
    win_rate_wilson_upper: float | None = Field(
        default=None, description="Upper bound of the win rate's 95 % Wilson interval"
    )


class FunnelOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    group_by: str
    from_: datetime | None = Field(alias="from")
    to: datetime | None
    groups: list[FunnelGroup]


class JourneyEntry(BaseModel):
    ce_id: str
    ce_type: str
    occurred_at: datetime
    data: dict[str, Any]


class JourneyOut(BaseModel):
    lead_id: uuid.UUID
    events: list[JourneyEntry]


class IntegrationIn(BaseModel):
    """A sales tool that reports outcomes: by bearer token, or by signed webhook."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["token", "webhook"] = "token"


class IntegrationOut(BaseModel):
    integration_id: uuid.UUID
    name: str
    kind: Literal["token", "webhook"]
    hint: str = Field(description="The credential's first characters, to tell them apart")
    created_at: datetime
    revoked_at: datetime | None
    active: bool
    webhook_path: str | None = Field(
        description="Where a webhook integration posts its signed outcomes"
    )


class IntegrationCreated(IntegrationOut):
    token: str | None = Field(
        default=None, description="kind token: `lf_it_…`, shown this once (stored hashed)"
    )
    secret: str | None = Field(
        default=None,
        description="kind webhook: the Standard Webhooks secret `whsec_…` both sides keep",
    )


class SegmentOut(BaseModel):
    dimension: str
    value: str
    leads: int
    won: int
    lost: int
    rejected: int = Field(description="MQLs rejected and never closed")
    sample_size: int = Field(description="Settled leads: won + lost + rejected")
    win_rate: float | None = Field(description="won / (won + lost)")
    wilson_lower: float | None = Field(description="The win rate's 95 % Wilson lower bound")
    wilson_upper: float | None = Field(description="The win rate's 95 % Wilson upper bound")
    acceptance_rate: float | None = Field(
        description="MQLs accepted / MQLs with a verdict; null when insufficient_data"
    )
    acceptance_wilson_lower: float | None
    acceptance_wilson_upper: float | None
    acceptance_status: Literal["measured", "insufficient_data"]
    yield_rate: float | None = Field(
        description="won / (won + lost + rejected): a rejection counts as a lost deal"
    )
    yield_lower: float | None = Field(
        description="Lower bound of yield_rate's 95 % Wilson interval: the ranking key"
    )
    rank: int | None = Field(description="1 = best; null when not ranked")
    status: Literal["ranked", "insufficient_data"]


class SegmentsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime | None = Field(alias="from")
    to: datetime | None
    confidence: float
    min_sample: int
    segments: list[SegmentOut]
