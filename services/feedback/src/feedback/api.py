"""feedback's routes for outcomes, campaign costs and journeys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from feedback import auth, handlers, outcomes
from feedback.schemas import (
    CostIn,
    CostOut,
    JourneyEntry,
    JourneyOut,
    OutcomeAccepted,
    OutcomeIn,
)
from leadflow.access import AdminOnly, Reader, SalesActor, only_own, roles_text
from leadflow.http import Problem, from_state
from leadflow.service import Runtime

router = APIRouter(prefix="/v1")


RT = Annotated[Runtime, from_state("runtime", Runtime)]


@router.post(
    "/outcomes",
    status_code=202,
    response_model=OutcomeAccepted,
    tags=["outcomes"],
    summary="Report how far a lead got (contacted, sql, won, lost) or reject it",
    description=(
        "A sales tool (`lf_it_…` from POST /v1/integrations, or a `sales_tool` token) or a "
        "rep, for the leads assigned to that rep now: the rep of the lead's latest "
        "`leads.assigned` (a re-route or a recycled lead's next cycle moves the right to the "
        "new rep; 403 for another lead or one this service has not seen assigned), unless a "
        "rejection closed that assignment since (403 for every rep until the lead is "
        "assigned again in a new cycle); a rep's retry of what that rep reported still gets "
        "the first answer. "
        "Stores the outcome together with its `leads.outcomes` event in one transaction "
        "before answering 202. A repeat with the same `external_id` from the same sender "
        "(or, without one, the same lead and stage) returns the first answer and publishes "
        "nothing; each sender has its own `external_id`s. Won after lost, or lost after won, "
        "is refused with 409 unless the body says `reopen: true`, which only the admin may. "
        "A lead this service has not seen yet is accepted; its metrics follow its events. "
        "`rejected` (sales judged the lead not sales-ready) needs a `reason` code: "
        "not_a_fit, not_ready, no_contact, spam, duplicate or other (422 naming `reason` "
        "otherwise); `recycle` hands it back to marketing (default true for not_ready and "
        "no_contact, false otherwise; true for spam or duplicate, or on another stage, is "
        "422 naming `recycle`); a won lead is rejected only with `reopen`. Without an "
        "`external_id`, a rejection repeats the lead's latest one unless the lead was "
        "assigned again since (a recycled lead's next cycle). "
        + roles_text("admin", "sales_tool", "rep")
    ),
    responses={
        403: {"description": "Another role, `reopen` from a non-admin, or not the rep's lead"},
        409: {"description": "Contradicts an earlier close, or external_id reused"},
        422: {"description": "A bad field, named: a rejection's `reason` or `recycle`, …"},
    },
)
async def report_outcome(body: OutcomeIn, rt: RT, caller: SalesActor) -> JSONResponse:
    receipt = auth.outcome_receipt(caller, body)
    # A rep posts for the lead's rep now (its latest leads.assigned, not rejected since); a
    # retry of what the rep reported gets its first answer whoever has the lead now.
    # Let through as a retry, it must still be one inside the locked transaction (403 if not).
    retry = caller.role == "rep" and await outcomes.repeated(rt, body, receipt)
    if caller.role == "rep" and not retry:
        only_own(caller, await outcomes.assigned_rep(rt, body.lead_id))
    return await accept_outcome(rt, body, receipt, must_repeat=retry)


async def accept_outcome(
    rt: Runtime, body: OutcomeIn, receipt: outcomes.Receipt, *, must_repeat: bool = False
) -> JSONResponse:
    """The one answer to an outcome, whether it came with a token or as a signed webhook."""
    try:
        recorded = await outcomes.record_outcome(rt, body, receipt, must_repeat=must_repeat)
    except outcomes.OutcomeConflict as exc:
        raise Problem(409, "Conflict", str(exc), lead_id=str(body.lead_id)) from exc
    except outcomes.NotARepeat as exc:
        raise Problem(403, "Forbidden", "A rep token reaches only the rep's own leads.") from exc
    answer = OutcomeAccepted(outcome_id=recorded.outcome_id, duplicate=recorded.duplicate)
    return JSONResponse(answer.model_dump(mode="json"), status_code=202)


@router.put(
    "/campaigns/{utm_campaign}/cost",
    response_model=CostOut,
    tags=["campaigns"],
    summary="Set what a campaign (utm_campaign) cost in total",
    description=roles_text("admin"),
)
async def put_campaign_cost(
    utm_campaign: Annotated[str, Path(min_length=1, max_length=200)],
    body: CostIn,
    rt: RT,
    _: AdminOnly,
) -> CostOut:
    cost = await handlers.set_campaign_cost(rt, utm_campaign, body.amount, body.currency)
    return CostOut.model_validate(cost, from_attributes=True)


@router.get(
    "/leads/{lead_id}/journey",
    response_model=JourneyOut,
    tags=["leads"],
    summary="Every event of a lead, in the order it happened",
    description=roles_text("admin", "analyst"),
)
async def get_journey(lead_id: uuid.UUID, rt: RT, _: Reader) -> JourneyOut:
    rows = await handlers.journey(rt, lead_id)
    if not rows:
        raise Problem(404, "Not Found", "No events for this lead.")
    return JourneyOut(
        lead_id=lead_id,
        events=[JourneyEntry.model_validate(r, from_attributes=True) for r in rows],
    )
