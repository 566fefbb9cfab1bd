"""The bodies of `POST /v1/scoring/simulations`: the request (also the lab channel's) and
the answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from lead_scoring.rules import RuleSet, RuleSetInvalid, parse_rules
from leadflow.bounds import RANGE, BoundedDateTime

# The longest window, as the fairness ledger's (sales-assignment's GET /v1/routing/fairness).
MAX_WINDOW = timedelta(days=366)


class ScoringSimulationRequest(BaseModel):
    """A draft rule set and/or threshold, tried on the leads last scored in [from, to)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: BoundedDateTime = Field(
        alias="from", description=f"Leads last scored at or after this time (no zone: UTC; {RANGE})"
    )
    to: BoundedDateTime = Field(
        description="Leads last scored before this time; at most 366 days after `from`"
    )
    rules: dict[str, Any] | None = Field(
        default=None,
        max_length=8,
        description="A draft rule set, as `PUT /v1/scoring/rules` takes it (threshold, caps, "
        "rules[]) and validated the same way; absent: the active rules",
    )
    threshold: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="A draft threshold; absent: the draft rules' (or the active rules') own",
    )

    @field_validator("to")
    @classmethod
    def _window(cls, to: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("from_")
        if start is None:  # `from` is invalid: its own error says so
            return to
        if to < start:
            raise ValueError("must not be before from")
        if to - start > MAX_WINDOW:
            raise ValueError(f"the window is at most {MAX_WINDOW.days} days long")
        return to

    def draft_rules(self) -> RuleSet | None:
        """The draft rule set, validated as `PUT /v1/scoring/rules` does; raises
        RuleSetInvalid naming each bad field under `rules` (`rules.rules[2].points`)."""
        if self.rules is None:
            return None
        try:
            return parse_rules(self.rules, version="draft")
        except RuleSetInvalid as exc:
            raise RuleSetInvalid(
                [(f"rules.{loc}" if loc else "rules", msg) for loc, msg in exc.errors]
            ) from exc


class WayOut(BaseModel):
    rules_version: str = Field(description="The active version, or `draft`")
    threshold: int


class LearnedOut(BaseModel):
    version: str = Field(description="The learned model used both ways (today's)")
    weight: float = Field(description="Its share of every score today (0-0.5)")
    note: str


class ChangedOut(BaseModel):
    count: int
    lead_ids: list[str] = Field(description="The first 100 of them, by last scoring time")


class RevenueOut(BaseModel):
    currency: str
    amount: str = Field(description="Sum of the won MQLs' amounts (decimal, as text)")


class OutcomesOut(BaseModel):
    verdicts: int = Field(description="MQLs of this way with a verdict: won + lost + rejected")
    won: int
    lost: int
    rejected: int
    win_rate: float | None = Field(
        description="won / verdicts (a rejected MQL counts against the definition); null "
        "below min_verdicts"
    )
    wilson_lower: float | None = Field(description="The win rate's 95 % Wilson lower bound")
    wilson_upper: float | None = Field(description="The win rate's 95 % Wilson upper bound")
    insufficient_data: bool = Field(description="Fewer verdicts than min_verdicts")
    revenue: list[RevenueOut] = Field(description="Per currency")
    won_without_amount: int = Field(description="Won MQLs whose amount is not known here")


class ScoringSimulationOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    leads: int = Field(description="Leads last scored in [from, to)")
    erased: int = Field(description="Of them, erased: scored from the facts kept, not personal")
    unscorable: int = Field(
        description="Erased leads of which nothing was kept (erased before lead-scoring kept "
        "facts): in `leads`, in no MQL count"
    )
    now: WayOut
    draft: WayOut
    learned: LearnedOut
    mqls_now: int
    mqls_draft: int
    became_mql: ChangedOut
    stopped_being_mql: ChangedOut
    outcomes: dict[str, OutcomesOut] = Field(description="`now` and `draft`")
    min_verdicts: int = Field(description="LEADFLOW_MIN_VERDICTS: fewer is not a rate")
