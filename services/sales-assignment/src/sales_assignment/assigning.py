"""Who owns each lead: route qualified leads, drain the queue, re-route on SLA misses, close.

Every change runs in one transaction under the routing lock (`repo.lock_routing`): the
assignment row, its history, the round-robin weights, the `leads.assigned` event (outbox) and
the webhook deliveries commit together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus import BatchHandlers, Handlers
from leadflow.events import (
    AssignmentReason,
    Envelope,
    LeadAssigned,
    LeadErased,
    LeadOutcome,
    LeadQualified,
)
from leadflow.service import Runtime
from leadflow.tracing import current_traceparent
from sales_assignment import outbound, repo
from sales_assignment.models import (
    AWAITING_ACCEPT,
    OPEN_STATUSES,
    AssignmentRow,
    HistoryRow,
)
from sales_assignment.payloads import facts_doc, redact, redact_body, rep_ref, score_doc
from sales_assignment.routing import Assignment, LeadFacts
from sales_assignment.settings import AssignmentSettings
from sales_assignment.team import Team

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
BATCH = 100


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Assigner:
    """The service's use cases on the event side; `clock` is injectable for tests."""

    rt: Runtime
    settings: AssignmentSettings
    clock: Clock = utcnow
    # Rung after a commit that staged webhook deliveries: the delivery worker sends at once.
    doorbell: outbound.Doorbell = field(default_factory=outbound.Doorbell)

    def handlers(self) -> Handlers:
        return {
            LeadQualified: self.on_qualified,
            LeadOutcome: self.on_outcome,
            LeadErased: self.on_erased,
        }

    def batch_handlers(self) -> BatchHandlers:
        return {LeadQualified: self.on_qualified_many}

    # ------------------------------------------------------------ consumers

    async def on_qualified(self, session: AsyncSession, env: Envelope) -> None:
        """Assign a new MQL (or queue it); a lead that already has a row keeps its owner."""
        await self.on_qualified_many(session, [env])

    async def on_qualified_many(self, session: AsyncSession, envs: list[Envelope]) -> None:
        """The same for a run of MQLs: one lock, one team load, one round-robin save."""
        await repo.lock_routing(session)
        seen = await repo.assigned_lead_ids(session, {env.data.lead_id for env in envs})
        team: Team | None = None
        now = self.clock()
        for env in envs:
            event = env.data
            assert isinstance(event, LeadQualified)
            if event.lead_id in seen:
                continue
            seen.add(event.lead_id)
            team = team or await Team.load(session)
            # What this lead causes (event, webhooks) continues its own trace.
            token = current_traceparent.set(env.traceparent)
            try:
                await self._qualify(session, team, event, now)
            finally:
                current_traceparent.reset(token)
        if team is not None:
            await team.save(session, now)

    async def _qualify(
        self, session: AsyncSession, team: Team, event: LeadQualified, now: datetime
    ) -> None:
        row = AssignmentRow(
            lead_id=event.lead_id,
            rep_id=None,
            status="queued",
            attempt=0,
            reason={},
            lead=event.lead.model_dump(mode="json"),
            facts=facts_doc(LeadFacts.from_lead(event.lead, event.score)),
            score=score_doc(event),
            queued_at=now,
            created_at=now,
        )
        session.add(row)
        result = team.route(row, now)
        if isinstance(result, Assignment):
            await self._give(session, team, row, result, now)
        else:
            row.rule, row.reason = result.rule, result.reason
            self._history(session, row, "queued", result.reason, now)
            log.info("lead queued", extra={"lead_id": str(row.lead_id), "rule": result.rule})

    async def on_outcome(self, session: AsyncSession, env: Envelope) -> None:
        """Won/lost closes the lead (freeing the rep); contact counts as accepting it."""
        event = env.data
        assert isinstance(event, LeadOutcome)
        await repo.lock_routing(session)
        row = await repo.get_assignment(session, event.lead_id)
        if row is None or row.status == "closed":
            return
        now = self.clock()
        why = {"stage": event.stage, "occurred_at": event.occurred_at.isoformat()}
        if event.stage in ("won", "lost"):
            row.status, row.closed_at, row.sla_due_at = "closed", now, None
            self._history(session, row, "closed", why, now)
            await self.drain_queue(session)
        elif row.status in AWAITING_ACCEPT:
            # The rep is already working the lead: the SLA must not take it away.
            row.status, row.accepted_at, row.sla_due_at = "accepted", now, None
            self._history(session, row, "accepted", why, now)

    async def on_erased(self, session: AsyncSession, env: Envelope) -> None:
        """Drop the person's data; an unknown lead gets a closed row so a late MQL is ignored."""
        event = env.data
        assert isinstance(event, LeadErased)
        await repo.lock_routing(session)
        row = await repo.get_assignment(session, event.lead_id)
        if row is None:
            session.add(
                AssignmentRow(
                    lead_id=event.lead_id,
                    status="closed",
                    attempt=0,
                    reason={"detail": "erased before it was qualified"},
                    lead=redact({"lead_id": str(event.lead_id)}),
                    facts={},
                    score={},
                    closed_at=event.erased_at,
                    erased_at=event.erased_at,
                    created_at=self.clock(),
                )
            )
            return
        row.lead = redact(row.lead)
        row.erased_at = row.erased_at or event.erased_at
        if row.status == "queued":
            # Nobody can contact a person whose data is gone: do not hand them to a rep.
            row.status, row.closed_at = "closed", event.erased_at
            self._history(session, row, "closed", {"detail": "erased"}, event.erased_at)
        for delivery in await repo.lead_deliveries(session, event.lead_id):
            delivery.body = redact_body(delivery.body)

    # ------------------------------------------------------------ background work

    async def drain_queue(self, session: AsyncSession, limit: int = BATCH) -> int:
        """Assign queued leads, oldest first, to whoever can take them now; returns how many."""
        await repo.lock_routing(session)
        rows = await repo.queued(session, limit)
        if not rows:
            return 0
        now = self.clock()
        team = await Team.load(session)
        assigned = 0
        for row in rows:
            result = team.route(row, now)
            if isinstance(result, Assignment):
                await self._give(session, team, row, result, now)
                assigned += 1
        await team.save(session, now)
        return assigned

    async def retry_queue(self) -> int:
        """One pass over the queue in its own transaction (the periodic worker)."""
        async with self.rt.transaction() as session:
            return await self.drain_queue(session)

    async def check_sla(self, limit: int = BATCH) -> int:
        """Re-route leads not accepted in time to the next eligible rep; returns how many moved."""
        async with self.rt.transaction() as session:
            await repo.lock_routing(session)
            now = self.clock()
            rows = await repo.overdue(session, now, limit)
            if not rows:
                return 0
            team = await Team.load(session)
            moved = 0
            for row in rows:
                tried = await repo.tried_reps(session, row.lead_id)
                result = team.route(row, now, tried | ({row.rep_id} if row.rep_id else set()))
                if isinstance(result, Assignment) and result.rep_id != row.rep_id:
                    await self._give(session, team, row, result, now)
                    moved += 1
                    continue
                # Nobody else can take it: it stays with its rep, who gets another SLA period.
                row.sla_due_at = now + self._sla
                self._history(session, row, "sla_missed", result.reason, now)
            await team.save(session, now)
            return moved

    # ------------------------------------------------------------ internals

    @property
    def _sla(self) -> timedelta:
        return timedelta(seconds=self.settings.assignment_sla_seconds)

    async def _give(
        self,
        session: AsyncSession,
        team: Team,
        row: AssignmentRow,
        result: Assignment,
        now: datetime,
    ) -> None:
        """Hand the lead to the chosen rep: row, history, event and webhooks together."""
        previous = row.rep_id if row.status in OPEN_STATUSES else None
        rep = team.rows[result.rep_id]
        first = row.attempt == 0
        row.rep_id, row.rule, row.reason = rep.rep_id, result.rule, result.reason
        row.status = "assigned" if first else "reassigned"
        row.attempt += 1
        row.assigned_at, row.accepted_at, row.queued_at = now, None, None
        row.sla_due_at = now + self._sla
        team.took(result, previous)
        self._history(session, row, row.status, result.reason, now)
        await self.rt.emit(
            session,
            LeadAssigned(
                lead_id=row.lead_id,
                rep=rep_ref(rep),
                reason=AssignmentReason(**result.reason),
                assigned_at=now,
                attempt=row.attempt,
            ),
        )
        event_type = "lead.assigned" if first else "lead.reassigned"
        if await outbound.enqueue(session, event_type, row, rep, now):
            self.doorbell.ring_after_commit(session)
        log.info(
            "lead %s", row.status, extra={"lead_id": str(row.lead_id), "rep_id": str(rep.rep_id)}
        )

    @staticmethod
    def _history(
        session: AsyncSession, row: AssignmentRow, event: str, reason: dict[str, Any], at: datetime
    ) -> None:
        session.add(
            HistoryRow(
                lead_id=row.lead_id,
                event=event,
                rep_id=row.rep_id,
                attempt=row.attempt,
                reason=reason,
                at=at,
            )
        )
