"""Routing simulations as stored jobs: `start` one in the background, `get` its report.

Callers: `POST/GET /v1/routing/simulations` (`api_simulations`), the lab channel's consumer
and, through the API, the `leadflow routing simulate` command. A simulation is a row in
`routing_simulations`: `running` while this process replays it (its heartbeat touched every
few seconds), then `done` with the report or `failed` with why. A `running` row whose
heartbeat stopped (the process died) is answered, and stored, as `failed`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from sales_assignment import fairness, replay_repo, simulation
from sales_assignment.assigning import Assigner
from sales_assignment.replay_models import SimulationRow
from sales_assignment.rules import RulesInvalid
from sales_assignment.schemas_lab import RoutingSimulationRequest

log = logging.getLogger(__name__)

MAX_RUNNING = 2  # simulations replaying at once (each holds a core while it runs)
BEAT = timedelta(seconds=5)
STALE = timedelta(seconds=120)  # a heartbeat this old: its process is gone
INTERRUPTED = "interrupted: the process running it stopped"
OnDone = Callable[[dict[str, Any]], Awaitable[None]]
_tasks: set[asyncio.Task[None]] = set()  # running ones, kept from the garbage collector


class SimulationInvalid(ValueError):
    """A request that cannot run; `errors` are (field, message) pairs, as a 422 names them."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))


class TooManyRunning(RuntimeError):
    """`MAX_RUNNING` simulations run already."""


async def check(a: Assigner, request: RoutingSimulationRequest) -> None:
    """SimulationInvalid naming each bad field: the window, the rules, the reps changed."""
    start, end = request.window
    errors = fairness.window_errors(start, end)
    try:
        draft = simulation.draft_of(request)
    except RulesInvalid as exc:
        errors += [(e["loc"], e["msg"]) for e in exc.errors]
        draft = None
    named = [(f"reps[{i}].rep_id", c.rep_id) for i, c in enumerate(request.reps)]
    wanted = {str(r) for _, r in named if r is not None}
    if draft is not None and draft.rules is not None:
        named += [(f, r) for i, rule in enumerate(draft.rules) for f, r in rule.named_reps(i)]
        wanted |= {str(r) for _, r in named if r is not None}
    async with a.rt.sessions() as s:
        known = set(await replay_repo.rep_names(s, wanted))
    added = {str(c.rep_id) for c in request.reps if c.action == "add" and c.rep_id}
    for i, change in enumerate(request.reps):
        if change.action == "add" and change.rep_id is not None and str(change.rep_id) in known:
            errors.append((f"reps[{i}].rep_id", "a rep of that id exists: add a new one"))
    for field, rep_id in named:
        if rep_id is None or (field.startswith("reps[") and str(rep_id) in added):
            continue
        if str(rep_id) not in known | added:
            errors.append((field, f"no rep {rep_id} (nor one the draft adds)"))
    if errors:
        raise SimulationInvalid(errors)


async def start(
    a: Assigner,
    request: RoutingSimulationRequest,
    *,
    requested_by: str,
    on_done: OnDone | None = None,
) -> uuid.UUID:
    """Store a `running` simulation and replay it in the background; `on_done(body)` gets
    the GET body when it is done or failed. SimulationInvalid, TooManyRunning."""
    await check(a, request)
    now = a.clock()
    simulation_id = uuid.uuid4()
    async with a.rt.transaction() as uow:
        running = await uow.session.scalar(
            select(func.count()).where(
                SimulationRow.status == "running", SimulationRow.heartbeat_at >= now - STALE
            )
        )
        if (running or 0) >= MAX_RUNNING:
            raise TooManyRunning(f"{MAX_RUNNING} simulations are running; try again later")
        uow.session.add(
            SimulationRow(
                id=simulation_id,
                status="running",
                request=request.doc(),
                requested_by=requested_by[:200],
                created_at=now,
                heartbeat_at=now,
            )
        )
    task = asyncio.create_task(_run(a, simulation_id, request, on_done))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return simulation_id


async def _run(
    a: Assigner, simulation_id: uuid.UUID, request: RoutingSimulationRequest, on_done: OnDone | None
) -> None:
    last = a.clock()

    async def beat() -> None:
        nonlocal last
        if a.clock() - last >= BEAT:
            last = a.clock()
            await _set(a, simulation_id, heartbeat_at=last)

    try:
        report = await simulation.simulate(a, request, beat=beat)
        await _set(a, simulation_id, status="done", report=report, finished_at=a.clock())
    except Exception as exc:  # reported in the simulation: nobody else awaits this task
        log.exception("routing simulation %s failed", simulation_id)
        await _set(a, simulation_id, status="failed", error=str(exc)[:2000], finished_at=a.clock())
    if on_done is not None:
        body = await get(a, simulation_id)
        try:
            await on_done(body or {})
        except Exception:
            log.exception("routing simulation %s: on_done failed", simulation_id)


async def _set(a: Assigner, simulation_id: uuid.UUID, **values: Any) -> None:
    async with a.rt.transaction() as uow:
        stmt = update(SimulationRow).where(SimulationRow.id == simulation_id).values(**values)
        await uow.session.execute(stmt.execution_options(synchronize_session=False))


async def get(a: Assigner, simulation_id: uuid.UUID) -> dict[str, Any] | None:
    """The simulation as `GET /v1/routing/simulations/{id}` shows it; None if unknown."""
    async with a.rt.sessions() as s:
        row = await s.get(SimulationRow, simulation_id)
    if row is None:
        return None
    now = a.clock()
    if row.status == "running" and row.heartbeat_at < now - STALE:
        await _set(a, simulation_id, status="failed", error=INTERRUPTED, finished_at=now)
        row.status, row.error, row.finished_at = "failed", INTERRUPTED, now
    body: dict[str, Any] = {
        "simulation_id": str(row.id),
        "status": row.status,
        "request": row.request,
        "requested_by": row.requested_by,
        "created_at": row.created_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }
    if row.error is not None:
        body["error"] = row.error
    return body | (row.report or {})
