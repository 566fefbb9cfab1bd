"""The fairness ledger route: `GET /v1/routing/fairness?from=&to=` (admin, analyst)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from leadflow.access import Reader, roles_text
from leadflow.bounds import RANGE, BoundedDateTime
from leadflow.fairness import SKIP_KINDS
from leadflow.http import invalid
from sales_assignment import fairness
from sales_assignment.api_deps import A

router = APIRouter(prefix="/v1")
KINDS = ", ".join(f"`{kind}`" for _, kind in SKIP_KINDS) + ", `other`"

From = Annotated[
    BoundedDateTime,
    Query(
        alias="from", description=f"Decisions made at or after this time (no zone: UTC; {RANGE})"
    ),
]
To = Annotated[
    BoundedDateTime,
    Query(description="Decisions made before this time; at most 366 days after `from`"),
]


class RepFairnessOut(BaseModel):
    rep_id: str
    name: str | None = Field(description="The rep's name today (retired reps keep theirs)")
    active_now: bool = Field(description="Active and not retired today")
    eligible: int = Field(description="Decisions of the window the rep was eligible in")
    expected: float = Field(
        description="Sum over those decisions of the rep's weight ÷ the eligible weight, "
        "both as recorded at the decision (2 places)"
    )
    actual: int = Field(
        description="Leads the rep got in the window's decisions, the ones it declined too"
    )
    declined: int = Field(description="Of `actual`, the leads the rep declined afterwards")
    skipped: dict[str, int] = Field(
        description=f"Decisions the rep was a candidate in but skipped, per reason: {KINDS}"
    )


class FairnessOut(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    decisions: int = Field(description="Routing decisions of the window in the ledger")
    ledger_since: datetime | None = Field(
        description="The ledger's first decision; older ones (recorded without weights) are "
        "not in it"
    )
    reps: list[RepFairnessOut]


@router.get(
    "/routing/fairness",
    response_model=FairnessOut,
    response_model_by_alias=True,
    tags=["routing"],
    summary="Fairness ledger: per rep, eligible decisions, expected vs actual leads, skips",
    description=(
        "Over the routing decisions made in [from, to) (a lead given to a rep, or queued), "
        "read from each decision's recorded candidates, never from today's team: per rep "
        "that was a candidate, the decisions it was eligible in, the leads it could expect "
        "(its weight ÷ the eligible reps' weight at each of them, summed; an account owner "
        "alone gets 1), the leads it got, and how often it was skipped, by reason. A "
        "retired or deactivated rep still appears for the decisions it was in. 422 names "
        "`from` or `to` when missing, not a date-time, outside " + RANGE + ", `to` before "
        "`from`, or the window "
        "longer than 366 days. " + roles_text("admin", "analyst")
    ),
)
async def routing_fairness(from_: From, to: To, a: A, _: Reader) -> FairnessOut:
    start, end = fairness.utc(from_), fairness.utc(to)
    errors = fairness.window_errors(start, end)
    if errors:
        raise invalid(errors)
    found = await fairness.ledger(a, start, end)
    return FairnessOut.model_validate(
        {
            "from": found.start,
            "to": found.end,
            "decisions": found.decisions,
            "ledger_since": found.since,
            "reps": [
                RepFairnessOut(
                    rep_id=r.rep_id,
                    name=r.name,
                    active_now=found.active.get(r.rep_id, False),
                    eligible=r.eligible,
                    expected=r.expected,
                    actual=r.actual,
                    declined=r.declined,
                    skipped=r.skipped,
                )
                for r in found.reps
            ],
        }
    )
