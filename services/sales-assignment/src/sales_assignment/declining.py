"""Declining a lead: the use case behind `POST /v1/assignments/{lead_id}/decline`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sales_assignment import repo
from sales_assignment.admin import Conflict, NotFound, NotYours, RepRetired, may_act
from sales_assignment.assigning import Assigner
from sales_assignment.models import AWAITING_ACCEPT, HistoryRow


@dataclass(frozen=True)
class Declined:
    """A rep's decline of a lead: who, why, when, and whether it went on or was queued."""

    lead_id: uuid.UUID
    rep_id: uuid.UUID
    note: str | None
    at: datetime
    outcome: str


def _declined(step: HistoryRow) -> Declined:
    assert step.rep_id is not None
    note, outcome = step.reason.get("note"), step.reason.get("outcome", "reassigned")
    return Declined(step.lead_id, step.rep_id, note, step.at, str(outcome))


async def decline(
    a: Assigner,
    lead_id: uuid.UUID,
    *,
    note: str | None,
    rep_id: uuid.UUID | None = None,
    only_rep: uuid.UUID | None = None,
) -> Declined:
    """The lead's rep will not take it: routed at once to the next eligible rep, the
    decliner never again, else queued. `rep_id` (default: the lead's rep) says who declines;
    a rep token (`only_rep`) declines only for itself. A decline already made is answered
    again as it was (idempotent); checked under the routing lock, as accepting is."""
    if only_rep is not None and rep_id not in (None, only_rep):
        raise NotYours("a rep declines only for itself")
    who = only_rep or rep_id
    async with a.rt.transaction() as uow:
        s = uow.session
        generation = await repo.lock_routing(s)
        row = await repo.get_assignment(s, lead_id)
        if row is None:
            raise NotFound("assignment")
        # Read under the routing lock, as accepting does: a retired or inactive rep's token
        # acts on nothing.
        if only_rep is not None and not may_act(await repo.get_rep(s, only_rep, deleted=True)):
            raise RepRetired
        done = await repo.decline_of(s, lead_id, who) if who is not None else None
        if done is not None:
            return _declined(done)
        if only_rep is not None and row.rep_id != only_rep:  # as UUIDs; None is nobody's
            raise NotYours("the lead is assigned to another rep")
        if row.erased_at is not None:
            raise Conflict("the lead was erased: nobody may contact it")
        if row.status not in AWAITING_ACCEPT:
            raise Conflict(f"the lead is {row.status}, not awaiting acceptance")
        if rep_id is not None and row.rep_id != rep_id:
            raise Conflict("the lead is not assigned to that rep")
        decliner = row.rep_id
        assert decliner is not None
        rep = await repo.get_rep(s, decliner, deleted=True)
        name = rep.name if rep is not None else str(decliner)
        # The note is the rep's own words: kept apart from the detail so erasure can drop it.
        why: dict[str, Any] = {"detail": f"declined by {name}", "note": note}
        now = a.clock()
        outcome = await a.decline(uow, row, generation, why, now)
        return Declined(lead_id, decliner, note, now, outcome)
