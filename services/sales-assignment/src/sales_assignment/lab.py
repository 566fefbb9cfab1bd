"""sales-assignment's side of the what-if lab: it runs the routing simulations requested on
`leadflow.lab` (by the dashboard's lab page) and publishes every routing simulation's report
there, those started through `POST /v1/routing/simulations` too, for the page to list.

A simulation asked for on the lab is stored under the requester's id (the page's), so its
reports and `GET /v1/routing/simulations/{id}` use that one id, and a request delivered
again (a restart, another replica) is not run twice: its stored report is told again.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from pydantic import ValidationError

from leadflow import lab, lab_follower
from sales_assignment import simulation_runs
from sales_assignment.assigning import Assigner
from sales_assignment.schemas_lab import RoutingSimulationRequest, field_of

log = logging.getLogger(__name__)


async def publish(a: Assigner, message: lab.SimulationReported) -> None:
    """Publish a report through the outbox."""
    async with a.rt.transaction() as uow:
        lab.stage(uow, message, source=a.rt.source)


def reporter(a: Assigner) -> simulation_runs.OnDone:
    """`on_done` for `simulation_runs.start`: publish the finished simulation's body under
    its id (the lab requester's, or the API's own)."""

    async def on_done(body: dict[str, Any]) -> None:
        await publish(a, lab.reported(uuid.UUID(str(body["simulation_id"])), "routing", body))

    return on_done


async def run(a: Assigner, message: lab.SimulationRequested) -> lab.SimulationReported | None:
    """Start a requested routing simulation: a `running` report, or why it cannot run (a
    request that does not validate: each field, as the API's 422 names it); None for one
    already finished (`start` told its report again)."""
    sid = message.simulation_id
    if lab.expired(message):
        return lab.failed(sid, "routing", "expired: nobody ran it within an hour of the request")
    try:
        request = RoutingSimulationRequest.model_validate(message.request)
        await simulation_runs.start(
            a, request, requested_by=message.requested_by, on_done=reporter(a), simulation_id=sid
        )
    except ValidationError as exc:
        errors = [{"field": field_of(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return lab.failed(sid, "routing", "invalid request", errors)
    except simulation_runs.SimulationInvalid as exc:
        errors = [{"field": field, "message": text} for field, text in exc.errors]
        return lab.failed(sid, "routing", "invalid request", errors)
    except simulation_runs.TooManyRunning as exc:
        return lab.failed(sid, "routing", str(exc))
    body = await simulation_runs.get(a, sid)
    if body is None or body["status"] != "running":
        return None
    return lab.reported(sid, "routing", body)


def follower(a: Assigner) -> lab_follower.Handle:
    """The lab follower's handler: run each routing request, publish what became of it."""

    async def handle(message: lab.LabMessage) -> None:
        if not isinstance(message, lab.SimulationRequested) or message.kind != "routing":
            return
        report = await run(a, message)
        status = report.status if report is not None else "told again"
        log.info("routing simulation %s requested: %s", message.simulation_id, status)
        if report is not None:
            await publish(a, report)

    return handle
