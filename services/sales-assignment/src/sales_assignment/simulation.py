"""A routing simulation over the replay record: read a window in chunks, replay, report.

The database is only read; the replay (`replay.Replay`) runs each chunk in a worker thread
so the service's event loop stays responsive, and holds one chunk of decisions at a time.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sales_assignment import replay_repo
from sales_assignment.assigning import Assigner
from sales_assignment.facts import Rep
from sales_assignment.replay import Replay
from sales_assignment.replay_inputs import Checkpoint, Decision, Draft, RepChange, Snapshot
from sales_assignment.rules import validate_rules
from sales_assignment.schemas_lab import RepChangeIn, RoutingSimulationRequest

CHUNK = 2000  # decisions read (and held) at a time
Beat = Callable[[], Awaitable[None]]
Item = tuple[Decision, Snapshot | None, Checkpoint | None, bool]


def draft_of(request: RoutingSimulationRequest) -> Draft:
    """The request's draft; a bad rule raises `rules.RulesInvalid`."""
    rules = tuple(validate_rules(request.rules)) if request.rules is not None else None
    return Draft(rules, tuple(_change(c) for c in request.reps))


def _change(c: RepChangeIn) -> RepChange:
    rep_id = c.rep_id or uuid.uuid4()
    if c.action == "add":
        rep = Rep(
            rep_id=rep_id,
            name=c.name or "added rep",
            email="",
            weight=1 if c.weight is None else c.weight,
            max_open_leads=c.max_open_leads,
            territories=tuple(c.territories),
            segments=tuple(c.segments),
            timezone=c.timezone,
            working_hours=c.working_hours,
        )
        return RepChange("add", rep_id, rep=rep)
    leave = (c.start, c.end) if c.start is not None and c.end is not None else None
    return RepChange(c.action, rep_id, c.weight, c.max_open_leads, leave)


async def simulate(
    a: Assigner, request: RoutingSimulationRequest, *, beat: Beat | None = None
) -> dict[str, Any]:
    """The report of replaying the request's window with its draft (`beat`: per chunk)."""
    start, end = request.window
    replay = Replay(draft_of(request))
    snaps: dict[str, Snapshot] = {}
    async with a.rt.sessions() as s:
        n, examples = await replay_repo.unrecorded(s, start, end)
        for i, lead_id in enumerate(examples):
            replay.tally.miss("not_recorded", lead_id, n if i == 0 else 0)
        replay.tally.decisions += n
        bounds = await replay_repo.span(s, start, end)
        if bounds is not None:
            async for rows in replay_repo.chunks(s, *bounds, CHUNK):
                cps = await replay_repo.checkpoints(s, {r.checkpoint_id for r in rows})
                wanted = {c.snapshot_id for c in cps.values()} - snaps.keys()
                if wanted:
                    snaps |= await replay_repo.snapshots(s, wanted)
                items = [_item(r, cps, snaps, start, end) for r in rows]
                s.expunge_all()  # the session holds no more than a chunk
                await asyncio.to_thread(_feed, replay, items)
                if beat is not None:
                    await beat()
        names = await replay_repo.rep_names(s, replay.tally.rep_ids())
    added = {str(c.rep_id): c.rep.name for c in replay.draft.changes if c.rep is not None}
    return replay.report(added | names)


def _item(
    row: Any,
    cps: dict[uuid.UUID, Checkpoint],
    snaps: dict[str, Snapshot],
    start: datetime,
    end: datetime,
) -> Item:
    cp = cps.get(row.checkpoint_id)
    snap = snaps.get(cp.snapshot_id) if cp is not None else None
    return replay_repo.decision(row), snap, cp, start <= row.decided_at < end


def _feed(replay: Replay, items: Sequence[Item]) -> None:
    for d, snapshot, checkpoint, in_window in items:
        replay.feed(d, snapshot, checkpoint, in_window=in_window)
