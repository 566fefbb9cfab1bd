"""Routing simulations as stored jobs: `start` one in the background, `get` its report.

Callers: `POST/GET /v1/routing/simulations` (`api_simulations`), the lab channel's consumer
and, through the API, the `leadflow routing simulate` command. A simulation is a row in
`routing_simulations`: `running` while this process replays it (its heartbeat touched every
few seconds), then `done` with the report or `failed` with why. A `running` row whose
heartbeat stopped (the process died) is stored `failed` by `sweep` (a background pass) or
the first GET, whichever comes first, and its failed report goes on `leadflow.lab`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow import lab
from leadflow.sql import lock_keys
from sales_assignment import fairness, replay_repo, simulation, simulation_names
from sales_assignment.assigning import Assigner
from sales_assignment.replay_models import SimulationRow
from sales_assignment.rules import RulesInvalid
from sales_assignment.schemas_lab import RoutingSimulationRequest
from sales_assignment.settings import AssignmentSettings

log = logging.getLogger(__name__)

DEFAULT_MAX_RUNNING: int = AssignmentSettings.model_fields["simulations_max_running"].default
MAX_RUNNING = DEFAULT_MAX_RUNNING  # the default limit, for the route's description
DEFAULT_MAX_DECISIONS: int = AssignmentSettings.model_fields["simulation_max_decisions"].default
RETRY_AFTER = 10  # seconds, the 429's Retry-After
LOCK = "routing-simulations"  # taken to count the running ones and insert one
BEAT = timedelta(seconds=5)
STALE = timedelta(seconds=120)  # a heartbeat this old: its process is gone
SWEEP_SECONDS = 60.0  # how often `sweep` looks for those
INTERRUPTED = "interrupted: the process running it stopped"
OnDone = Callable[[dict[str, Any]], Awaitable[None]]
_tasks: set[asyncio.Task[None]] = set()  # running ones, kept from the garbage collector
# This process's slots, per database engine (one per process; a test builds several apps,
# replicas of one another) and limit.
_slots: weakref.WeakKeyDictionary[AsyncEngine, dict[int, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


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
        if not errors:
            errors += _too_large(await replay_repo.count_in(s, start, end), max_decisions(a))
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
    simulation_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Store a `running` simulation and replay it in the background; `on_done(body)` gets
    the GET body when it is done or failed. With `simulation_id` (a lab requester's), a
    simulation of that id already stored is not run again: when final, `on_done` gets its
    body again. SimulationInvalid, TooManyRunning."""
    if simulation_id is not None:
        known = await get(a, simulation_id)
        if known is not None:
            return await _again(known, on_done)
    await check(a, request)
    request = simulation_names.with_added_ids(request)
    limit = max_running(a)
    slots = _slots.setdefault(a.rt.engine, {}).setdefault(limit, asyncio.Semaphore(limit))
    if slots.locked():  # this process runs as many as it may (each holds a connection)
        raise TooManyRunning(_too_many(limit))
    await slots.acquire()  # free: returns at once
    try:
        new_id = await _insert(a, request, requested_by, simulation_id or uuid.uuid4(), limit)
    except BaseException:
        slots.release()
        raise
    if new_id is None:  # another replica stored that id in between: not run twice
        slots.release()
        assert simulation_id is not None  # a new uuid4 is never stored already
        known = await get(a, simulation_id)
        return await _again(known, on_done) if known is not None else simulation_id
    task = asyncio.create_task(_run(a, new_id, request, on_done, slots))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return new_id


async def _again(body: dict[str, Any], on_done: OnDone | None) -> uuid.UUID:
    """A simulation asked for again: its report told again when final."""
    if on_done is not None and body.get("status") != "running":
        await on_done(body)
    return uuid.UUID(str(body["simulation_id"]))


async def _insert(
    a: Assigner,
    request: RoutingSimulationRequest,
    requested_by: str,
    simulation_id: uuid.UUID,
    limit: int,
) -> uuid.UUID | None:
    """Store the `running` row, counted and inserted under one lock so that replicas
    starting at once never pass the limit together; None when that id is stored already."""
    now = a.clock()
    async with a.rt.transaction() as uow:
        await lock_keys(uow.session, [LOCK])
        if await uow.session.get(SimulationRow, simulation_id) is not None:
            return None
        running = await uow.session.scalar(
            select(func.count()).where(
                SimulationRow.status == "running", SimulationRow.heartbeat_at >= now - STALE
            )
        )
        if (running or 0) >= limit:
            raise TooManyRunning(_too_many(limit))
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
    return simulation_id


def max_decisions(a: Assigner) -> int:
    """LEADFLOW_SIMULATION_MAX_DECISIONS of this service."""
    return int(getattr(a.settings, "simulation_max_decisions", DEFAULT_MAX_DECISIONS))


def _too_large(n: int, limit: int) -> list[tuple[str, str]]:
    """The window's fields, when it holds more decisions than a replay may keep leads of."""
    if n <= limit:
        return []
    msg = (
        f"the window holds {n:,} recorded routing decisions, more than "
        f"LEADFLOW_SIMULATION_MAX_DECISIONS ({limit:,}): narrow from/to"
    )
    return [("from", msg), ("to", msg)]


def max_running(a: Assigner) -> int:
    """LEADFLOW_SIMULATIONS_MAX_RUNNING of this service."""
    return int(getattr(a.settings, "simulations_max_running", DEFAULT_MAX_RUNNING))


def _too_many(limit: int) -> str:
    return (
        f"{limit} routing simulations are running (LEADFLOW_SIMULATIONS_MAX_RUNNING); "
        f"try again in {RETRY_AFTER} s"
    )


async def _run(
    a: Assigner,
    simulation_id: uuid.UUID,
    request: RoutingSimulationRequest,
    on_done: OnDone | None,
    slots: asyncio.Semaphore,
) -> None:
    last = a.clock()

    async def beat() -> None:
        nonlocal last
        if a.clock() - last >= BEAT:
            last = a.clock()
            await _set(a, simulation_id, heartbeat_at=last)

    try:
        report = simulation_names.unnamed(await simulation.simulate(a, request, beat=beat))
        await _set(a, simulation_id, status="done", report=report, finished_at=a.clock())
    except Exception as exc:  # reported in the simulation: nobody else awaits this task
        log.exception("routing simulation %s failed", simulation_id)
        await _set(a, simulation_id, status="failed", error=str(exc)[:2000], finished_at=a.clock())
    finally:
        slots.release()
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
    if row.status == "running" and row.heartbeat_at < a.clock() - STALE:
        await _interrupt(a, row.id)
        async with a.rt.sessions() as s:
            row = await s.get(SimulationRow, simulation_id)
        assert row is not None  # simulations are deleted by retention only, days later
    return await _body(a, row)


async def sweep(a: Assigner) -> int:
    """Store as failed the `running` simulations whose process stopped (their heartbeat),
    each with its failed report on `leadflow.lab`; how many."""
    async with a.rt.sessions() as s:
        stale = list(
            await s.scalars(
                select(SimulationRow.id).where(
                    SimulationRow.status == "running",
                    SimulationRow.heartbeat_at < a.clock() - STALE,
                )
            )
        )
    done = [sid for sid in stale if await _interrupt(a, sid)]
    if done:
        log.warning("routing simulations interrupted", extra={"count": len(done)})
    return len(done)


async def _interrupt(a: Assigner, simulation_id: uuid.UUID) -> bool:
    """Fail a stale `running` simulation and stage its report, in one transaction: of two
    replicas (or a GET and the sweep) only the one that changes the row reports it."""
    now = a.clock()
    async with a.rt.transaction() as uow:
        stmt = (
            update(SimulationRow)
            .where(
                SimulationRow.id == simulation_id,
                SimulationRow.status == "running",
                SimulationRow.heartbeat_at < now - STALE,
            )
            .values(status="failed", error=INTERRUPTED, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        if (await uow.session.execute(stmt)).rowcount != 1:  # type: ignore[attr-defined]
            return False
        row = await uow.session.get(SimulationRow, simulation_id, populate_existing=True)
        assert row is not None
        body = await _body(a, row)
        # The id it was asked for under: the lab page's own id, or the API's (see lab.py).
        lab.stage(uow, lab.reported(simulation_id, "routing", body), source=a.rt.source)
    return True


async def _body(a: Assigner, row: SimulationRow) -> dict[str, Any]:
    body: dict[str, Any] = {
        "simulation_id": str(row.id),
        "status": row.status,
        "request": row.request,
        "requested_by": row.requested_by,
        "created_at": _iso(row.created_at),
        "finished_at": _iso(row.finished_at),
    }
    if row.error is not None:
        body["error"] = row.error
    if row.report is None:
        return body
    return body | await simulation_names.named(a, row.report, row.request)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
