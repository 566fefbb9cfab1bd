"""The routing simulation routes: `POST /v1/routing/simulations`, `GET …/{id}`."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel

from leadflow.access import Reader, roles_text
from leadflow.http import Problem, invalid
from sales_assignment import lab as routing_lab
from sales_assignment import simulation_runs
from sales_assignment.admin import NotFound
from sales_assignment.api_deps import NOT_FOUND, A
from sales_assignment.schemas_lab import RoutingSimulationRequest, field_of


class _FieldsBracketed(APIRoute):
    """A 422 of these routes names fields as `reps[0].weight`, like the rule and rep checks
    (`rules[2].countries[0]`, `reps[0].rep_id`), not as the kernel's `reps.0.weight`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def bracketed(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                raise invalid(
                    ("body", str(e["msg"]))
                    if e.get("type") == "json_invalid"
                    else (field_of(e.get("loc", ())), str(e.get("msg", "invalid")))
                    for e in exc.errors()
                ) from exc

        return bracketed


router = APIRouter(prefix="/v1", route_class=_FieldsBracketed)
TOO_MANY: dict[int | str, dict[str, Any]] = {429: {"description": "Too many simulations run"}}


class SimulationStarted(BaseModel):
    simulation_id: uuid.UUID


@router.post(
    "/routing/simulations",
    response_model=SimulationStarted,
    status_code=202,
    tags=["routing"],
    responses=TOO_MANY,
    summary="Replay past routing decisions with a draft rule set and/or roster changes",
    description="Replays the routing decisions made in [from, to) through the routing code, "
    "with the team as it was at each decision (reps, rules, open-lead counts, round robin), "
    "and the draft: `rules` (a rule set as PUT /v1/routing/rules takes it) and `reps` "
    "(`add`, `deactivate`, `reweight`, `leave`, `cap`). Runs in the background: poll "
    "GET /v1/routing/simulations/{id}. Nothing is routed, stored on a lead or sent. 422 "
    "names the bad field (`from`/`to`, `rules[2].countries[0]`, `reps[0].rep_id`), and "
    "`from` and `to` with the count for a window of more recorded decisions than "
    "LEADFLOW_SIMULATION_MAX_DECISIONS (default "
    + f"{simulation_runs.DEFAULT_MAX_DECISIONS:,}"
    + "); 429 "
    "with Retry-After while LEADFLOW_SIMULATIONS_MAX_RUNNING (default "
    + str(simulation_runs.MAX_RUNNING)
    + ") run already, in this process or in the database (all replicas). "
    + roles_text("admin", "analyst"),
)
async def start_simulation(body: RoutingSimulationRequest, a: A, who: Reader) -> SimulationStarted:
    by = f"{who.role}:{who.token_id or who.subject or who.source}"
    try:
        # Its report goes on leadflow.lab too: the dashboard's lab page lists every one.
        simulation_id = await simulation_runs.start(
            a, body, requested_by=by, on_done=routing_lab.reporter(a)
        )
    except simulation_runs.SimulationInvalid as exc:
        raise invalid(exc.errors) from exc
    except simulation_runs.TooManyRunning as exc:
        raise Problem(
            429,
            "Too Many Requests",
            str(exc),
            headers={"Retry-After": str(simulation_runs.RETRY_AFTER)},
        ) from exc
    return SimulationStarted(simulation_id=simulation_id)


@router.get(
    "/routing/simulations/{simulation_id}",
    tags=["routing"],
    responses=NOT_FOUND,
    summary="A routing simulation: running, or its report (done) or error (failed)",
    description="`status` running, done or failed (`error` says why; a simulation whose "
    "process stopped is failed). Done: `leads`, `decisions`, `changed` (leads whose rep "
    "would change), `per_rep` (actual vs simulated leads), `newly_queued`, `cap_hits`, "
    "`rules_never_matched`, `reproduced` (share of the window's decisions that the rules "
    "and team they were made with give again) and `misses` (each reason, count, example "
    "leads), `moved` (at most 500; `moved_total`), `fairness` (per rep, the leads its "
    "weight let it expect in the simulation vs those it got). " + roles_text("admin", "analyst"),
)
async def get_simulation(simulation_id: uuid.UUID, a: A, _: Reader) -> dict[str, Any]:
    found = await simulation_runs.get(a, simulation_id)
    if found is None:
        raise NotFound("simulation")
    return found
