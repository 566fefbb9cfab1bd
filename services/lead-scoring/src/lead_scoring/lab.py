"""lead-scoring's side of the what-if lab: it answers the scoring simulations requested on
`leadflow.lab` (by the dashboard's lab page) with a `reported` message, as
`POST /v1/scoring/simulations` would answer them."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from lead_scoring.rules import RuleSetInvalid
from lead_scoring.simulation_schemas import ScoringSimulationOut, ScoringSimulationRequest
from lead_scoring.simulations import Simulator
from leadflow import lab, lab_follower

log = logging.getLogger(__name__)


async def run(simulator: Simulator, message: lab.SimulationRequested) -> lab.SimulationReported:
    """The report of one requested scoring simulation: the API's answer, or why it failed
    (a request that does not validate: each field, as the API's 422 names it)."""
    sid = message.simulation_id
    if lab.expired(message):
        return lab.failed(sid, "scoring", "expired: nobody ran it within an hour of the request")
    try:
        request = ScoringSimulationRequest.model_validate(message.request)
        answer = await simulator.simulate(request)
    except ValidationError as exc:
        return lab.failed(sid, "scoring", "invalid request", lab.invalid_fields(exc))
    except RuleSetInvalid as exc:
        errors = [{"field": field, "message": text} for field, text in exc.errors]
        return lab.failed(sid, "scoring", "invalid draft rules", errors)
    report: dict[str, Any] = ScoringSimulationOut.model_validate(answer).model_dump(
        mode="json", by_alias=True
    )
    return lab.reported(sid, "scoring", {"status": "done", **report})


async def answer(simulator: Simulator, message: lab.LabMessage) -> None:
    """The lab follower's handler: run a scoring request, publish its report."""
    if not isinstance(message, lab.SimulationRequested) or message.kind != "scoring":
        return
    report = await run(simulator, message)
    log.info("scoring simulation %s: %s", message.simulation_id, report.status)
    rt = simulator.rt
    async with rt.transaction() as uow:
        lab.stage(uow, report, source=rt.source)


def follower(simulator: Simulator) -> lab_follower.Handle:
    """The follower's handler bound to this simulator."""

    async def handle(message: lab.LabMessage) -> None:
        await answer(simulator, message)

    return handle
