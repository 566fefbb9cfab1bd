"""feedback's routes for outcomes, campaign costs and journeys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from feedback import handlers, outcomes
from feedback.auth import OutcomeAuth
from feedback.schemas import (
    CostIn,
    CostOut,
    JourneyEntry,
    JourneyOut,
    OutcomeAccepted,
    OutcomeIn,
)
from leadflow.http import AdminAuth, Problem, from_state
from leadflow.service import Runtime

router = APIRouter(prefix="/v1")


RT = Annotated[Runtime, from_state("runtime", Runtime)]


@router.post(
    "/outcomes",
    status_code=202,
    response_model=OutcomeAccepted,
    tags=["outcomes"],
    summary="Report how far a lead got (contacted, sql, won, lost)",
    description=(
        "Takes the admin token or a sales-tool token (`lf_it_…`, POST /v1/integrations). "
        "Stores the outcome together with its `leads.outcomes` event in one transaction "
        "before answering 202. A repeat with the same `external_id` (or, without one, the "
        "same lead and stage) returns the first answer and publishes nothing. Won after "
        "lost, or lost after won, is refused with 409 unless the body says `reopen: true`. "
        "A lead this service has not seen yet is accepted; its metrics follow its events."
    ),
    responses={
        401: {"description": "No bearer token"},
        403: {"description": "Neither the admin token nor a live sales-tool token"},
        409: {"description": "Contradicts an earlier close, or external_id reused"},
    },
)
async def report_outcome(body: OutcomeIn, rt: RT, caller: OutcomeAuth) -> JSONResponse:
    return await accept_outcome(rt, body, outcomes.Receipt(caller.integration_id))


async def accept_outcome(rt: Runtime, body: OutcomeIn, receipt: outcomes.Receipt) -> JSONResponse:
    """The one answer to an outcome, whether it came with a token or as a signed webhook."""
    try:
        recorded = await outcomes.record_outcome(rt, body, receipt)
    except outcomes.OutcomeConflict as exc:
        raise Problem(409, "Conflict", str(exc), lead_id=str(body.lead_id)) from exc
    answer = OutcomeAccepted(outcome_id=recorded.outcome_id, duplicate=recorded.duplicate)
    return JSONResponse(answer.model_dump(mode="json"), status_code=202)


@router.put(
    "/campaigns/{utm_campaign}/cost",
    response_model=CostOut,
    tags=["campaigns"],
    summary="Set what a campaign (utm_campaign) cost in total",
)
async def put_campaign_cost(
    utm_campaign: Annotated[str, Path(min_length=1, max_length=200)],
    body: CostIn,
    rt: RT,
    _: AdminAuth,
) -> CostOut:
    cost = await handlers.set_campaign_cost(rt, utm_campaign, body.amount, body.currency)
    return CostOut.model_validate(cost, from_attributes=True)


@router.get(
    "/leads/{lead_id}/journey",
    response_model=JourneyOut,
    tags=["leads"],
    summary="Every event of a lead, in the order it happened",
)
async def get_journey(lead_id: uuid.UUID, rt: RT, _: AdminAuth) -> JourneyOut:
    rows = await handlers.journey(rt, lead_id)
    if not rows:
        raise Problem(404, "Not Found", "No events for this lead.")
    return JourneyOut(
        lead_id=lead_id,
        events=[JourneyEntry.model_validate(r, from_attributes=True) for r in rows],
    )
