"""The use cases behind the HTTP API: reps, accepting leads, webhook endpoints and deliveries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadflow.secretbox import secret_box
from leadflow.webhooks import new_secret
from sales_assignment import repo, webhook_repo
from sales_assignment.assigning import Assigner
from sales_assignment.models import (
    AWAITING_ACCEPT,
    AssignmentRow,
    DeliveryRow,
    EndpointRow,
    HistoryRow,
    RepRow,
)
from sales_assignment.payloads import to_rep
from sales_assignment.rep_csv import RowError


class NotFound(LookupError):
    """No such rep, lead, endpoint or delivery (answered 404 by the app, see api_deps)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"No {what} with this id.")
        self.what = what


class Conflict(Exception):
    """The request does not fit the current state (e.g. accepting a closed lead)."""


class NotYours(Exception):
    """A rep acted on a lead assigned to someone else."""


class RepRetired(NotYours):
    """A rep token of a rep who was retired (deleted) or made inactive: it acts no more."""

    def __init__(self) -> None:
        super().__init__("This rep is retired or inactive: its token no longer acts on leads.")


def may_act(rep: RepRow | None) -> bool:
    """Whether a rep's own token may still read and accept its leads: live and active."""
    return rep is not None and rep.deleted_at is None and rep.active


class ImportRejected(ValueError):
    """A rep import that cannot be applied; nothing was stored."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


@dataclass(frozen=True)
class AssignmentView:
    row: AssignmentRow
    rep: RepRow | None
    history: list[HistoryRow]


def check_rep(row: RepRow) -> None:
    """Raise ValueError if the stored rep could not be routed (cross-field checks)."""
    to_rep(row, 0)


async def create_rep(a: Assigner, doc: dict[str, Any]) -> RepRow:
    """Add a rep, then give them what the queue holds for them."""
    now = a.clock()
    row = RepRow(rep_id=uuid.uuid4(), created_at=now, updated_at=now, **doc)
    check_rep(row)
    async with repo.routing_change(a.rt) as uow:
        s = uow.session
        s.add(row)
        await s.flush()
        await a.drain_queue(uow)
    return row


async def import_reps(a: Assigner, docs: list[tuple[int, dict[str, Any]]]) -> list[RepRow]:
    """Add many reps at once, all or nothing (row number, RepIn document) each.

    A row whose email already belongs to a live rep rejects the import: importing the same
    file twice must not double the team.
    """
    now = a.clock()
    rows = [(n, RepRow(rep_id=uuid.uuid4(), created_at=now, updated_at=now, **d)) for n, d in docs]
    errors = []
    for number, row in rows:
        try:
            check_rep(row)
        except ValueError as exc:
            errors.append(RowError(number, "row", str(exc)))
    if errors:
        raise ImportRejected(errors)
    async with repo.routing_change(a.rt) as uow:
        s = uow.session
        taken = await repo.reps_by_email(s, [row.email for _, row in rows])
        errors = [
            RowError(n, "email", f"a rep with this email exists ({taken[row.email]})")
            for n, row in rows
            if row.email in taken
        ]
        if errors:
            raise ImportRejected(errors)
        s.add_all([row for _, row in rows])
        await s.flush()
        await a.drain_queue(uow)
    return [row for _, row in rows]


async def update_rep(a: Assigner, rep_id: uuid.UUID, changes: dict[str, Any]) -> RepRow:
    async with repo.routing_change(a.rt) as uow:
        s = uow.session
        row = await repo.get_rep(s, rep_id)
        if row is None:
            raise NotFound("rep")
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = a.clock()
        check_rep(row)  # a ValueError rolls the change back
        await s.flush()
        await a.drain_queue(uow)
    return row


async def delete_rep(a: Assigner, rep_id: uuid.UUID) -> None:
    """Retire a rep (kept for history): their unaccepted leads go on to other reps at once
    (queued when nobody can take them), and their token no longer reads or accepts leads."""
    async with repo.routing_change(a.rt) as uow:
        s = uow.session
        row = await repo.get_rep(s, rep_id)
        if row is None:
            raise NotFound("rep")
        row.deleted_at = row.updated_at = a.clock()
        await s.flush()  # the team `retire` loads must not hold the rep any more
        await a.retire(uow, row)


async def list_reps(a: Assigner) -> list[tuple[RepRow, int]]:
    async with a.rt.sessions() as s:
        counts = await repo.open_counts(s)
        return [(r, counts.get(r.rep_id, 0)) for r in await repo.live_reps(s)]


async def get_rep(a: Assigner, rep_id: uuid.UUID) -> tuple[RepRow, int]:
    async with a.rt.sessions() as s:
        row = await repo.get_rep(s, rep_id)
        if row is None:
            raise NotFound("rep")
        return row, (await repo.open_counts(s)).get(rep_id, 0)


async def get_assignment(a: Assigner, lead_id: uuid.UUID) -> AssignmentView:
    async with a.rt.sessions() as s:
        row = await repo.get_assignment(s, lead_id)
        if row is None:
            raise NotFound("assignment")
        rep = await repo.get_rep(s, row.rep_id, deleted=True) if row.rep_id else None
        return AssignmentView(row, rep, await repo.history(s, lead_id))


async def accept(
    a: Assigner, lead_id: uuid.UUID, *, only_rep: uuid.UUID | None = None
) -> AssignmentView:
    """The rep took the lead: no SLA re-routing from now on. With `only_rep` (a rep's own
    token), only if the lead is assigned to that rep, checked under the routing lock."""
    async with repo.routing_change(a.rt) as uow:
        s = uow.session
        row = await repo.get_assignment(s, lead_id)
        if row is None:
            raise NotFound("assignment")
        if only_rep is not None and row.rep_id != only_rep:  # as UUIDs; None is nobody's
            raise NotYours("the lead is assigned to another rep")
        # Read under the routing lock: a rep retired meanwhile cannot keep the lead.
        own = await repo.get_rep(s, row.rep_id, deleted=True) if only_rep and row.rep_id else None
        if only_rep is not None and not may_act(own):
            raise RepRetired
        if row.status not in AWAITING_ACCEPT:
            raise Conflict(f"the lead is {row.status}, not awaiting acceptance")
        now = a.clock()
        row.status, row.accepted_at, row.sla_due_at = "accepted", now, None
        s.add(
            HistoryRow(
                lead_id=lead_id,
                event="accepted",
                rep_id=row.rep_id,
                attempt=row.attempt,
                reason={"detail": "accepted by the rep"},
                at=now,
            )
        )
    return await get_assignment(a, lead_id)


async def create_endpoint(a: Assigner, url: str, event_types: list[str]) -> tuple[EndpointRow, str]:
    """A new endpoint and its signing secret (returned once; kept sealed to sign deliveries)."""
    secret = new_secret()
    row = EndpointRow(
        id=uuid.uuid4(),
        url=url,
        secrets=[secret_box(a.settings).seal(secret)],
        event_types=list(dict.fromkeys(event_types)),
        enabled=True,
        consecutive_failures=0,
        created_at=a.clock(),
    )
    async with a.rt.transaction() as uow:
        s = uow.session
        s.add(row)
    return row, secret


async def list_endpoints(a: Assigner) -> list[EndpointRow]:
    async with a.rt.sessions() as s:
        return await webhook_repo.list_endpoints(s)


async def update_endpoint(
    a: Assigner, endpoint_id: uuid.UUID, changes: dict[str, Any]
) -> EndpointRow:
    """Change subscriptions, disable, or re-enable.

    Re-enabling resets the failure count and makes every undelivered message of the
    endpoint (pending, failed or dead) due now with a fresh attempt budget, sent in each
    lead's order: what waited while the endpoint was off is not lost.
    """
    async with a.rt.transaction() as uow:
        s = uow.session
        row = await webhook_repo.get_endpoint(s, endpoint_id, lock=True)
        if row is None:
            raise NotFound("webhook endpoint")
        if changes.get("event_types") is not None:
            row.event_types = list(dict.fromkeys(changes["event_types"]))
        if changes.get("enabled") is True and not row.enabled:
            row.enabled, row.consecutive_failures, row.disabled_reason = True, 0, None
            if await webhook_repo.revive_undelivered(s, endpoint_id, a.clock()):
                uow.on_commit(a.doorbell.ring)
        elif changes.get("enabled") is False and row.enabled:
            row.enabled, row.disabled_reason = False, "disabled by an operator"
    return row


async def deliveries(
    a: Assigner, endpoint_id: uuid.UUID, status: str | None, limit: int
) -> list[DeliveryRow]:
    async with a.rt.sessions() as s:
        if await webhook_repo.get_endpoint(s, endpoint_id) is None:
            raise NotFound("webhook endpoint")
        return await webhook_repo.deliveries_of(s, endpoint_id, status, limit)


async def retry_delivery(a: Assigner, endpoint_id: uuid.UUID, delivery_id: str) -> DeliveryRow:
    """Send a delivery again now, with a fresh schedule (same id and bytes: receivers dedupe)."""
    async with a.rt.transaction() as uow:
        s = uow.session
        row = await webhook_repo.get_delivery(s, delivery_id)
        if row is None or row.endpoint_id != endpoint_id:
            raise NotFound("delivery")
        lead = await repo.get_assignment(s, row.lead_id)
        if row.event_type != "lead.erased" and lead is not None and lead.erased_at is not None:
            raise Conflict("the lead was erased: only its lead.erased message may be sent")
        row.status, row.attempts, row.next_attempt_at = "pending", 0, a.clock()
        uow.on_commit(a.doorbell.ring)
    return row


async def rotate_secret(a: Assigner, endpoint_id: uuid.UUID) -> tuple[str, datetime | None]:
    """A new signing secret; the current one keeps signing too until the grace period ends.

    Returns the new secret and when the previous one stops signing (None without grace).
    Rotating again during a grace period drops the oldest secret at once.
    """
    secret = new_secret()
    async with a.rt.transaction() as uow:
        s = uow.session
        row = await webhook_repo.get_endpoint(s, endpoint_id, lock=True)
        if row is None:
            raise NotFound("webhook endpoint")
        grace = timedelta(seconds=a.settings.webhook_secret_grace_seconds)
        until = a.clock() + grace if grace else None
        sealed = secret_box(a.settings).seal(secret)
        row.secrets = [sealed, row.secrets[0]] if until else [sealed]
        row.previous_secret_expires_at = until
    return secret, until
