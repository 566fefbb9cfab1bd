"""Who owns each lead: route qualified leads, drain the queue, re-route on SLA misses, close.

Every change runs in one transaction under the routing lock (`repo.lock_routing`): the
assignment row, its history, the round-robin weights, the `leads.assigned` event (outbox) and
the webhook deliveries commit together or not at all. New rows are gathered (`Staged`) and
written in one statement per table; the team is kept between transactions (`TeamCache`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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
from leadflow.tracing import following
from leadflow.uow import UnitOfWork
from sales_assignment import erasure, queueing, recycling, repo, stamps
from sales_assignment.assignment_metrics import SLA_MISSED
from sales_assignment.doorbell import Doorbell
from sales_assignment.models import AWAITING_ACCEPT, OPEN_STATUSES, AssignmentRow, RepRow
from sales_assignment.outbound import DeliveryWorker
from sales_assignment.payloads import cycle_columns, redact, rep_ref
from sales_assignment.routing import Assignment
from sales_assignment.settings import AssignmentSettings
from sales_assignment.sla import sla_due
from sales_assignment.staging import Staged
from sales_assignment.team import Team, TeamCache

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
BATCH = 100
PASS_BUDGET = 1_000  # queued leads one queue pass looks at, BATCH at a time


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Assigner:
    """The service's use cases on the event side; `clock` is injectable for tests."""

    rt: Runtime
    settings: AssignmentSettings
    clock: Clock = utcnow
    # Rung after a commit that staged webhook deliveries: the delivery worker sends at once.
    doorbell: Doorbell = field(default_factory=Doorbell)
    # The routing team between transactions, checked against the routing lock's generation.
    teams: TeamCache = field(default_factory=TeamCache)
    # This process's webhook worker: a transaction's new deliveries go to it at commit.
    deliveries: DeliveryWorker | None = None

    def handlers(self) -> Handlers:
        return {
            LeadQualified: self.on_qualified,
            LeadOutcome: self.on_outcome,
            LeadErased: self.on_erased,
        }

    def batch_handlers(self) -> BatchHandlers:
        return {LeadQualified: self.on_qualified_many}

    # ------------------------------------------------------------ consumers

    async def on_qualified(self, uow: UnitOfWork, env: Envelope) -> None:
        """Assign a new MQL (or queue it); a lead that already has a row keeps its owner,
        unless it was rejected and recycled: then its qualification starts a new cycle."""
        await self.on_qualified_many(uow, [env])

    async def on_qualified_many(self, uow: UnitOfWork, envs: list[Envelope]) -> None:
        """The same for a run of MQLs: one lock, one team, one write per table."""
        await uow.flush()  # rows an earlier handler of this transaction staged: read them too
        session = uow.session
        generation = await repo.lock_routing(session)
        ids = {env.data.lead_id for env in envs}
        seen = await repo.assigned_lead_ids(session, ids)
        # Only a lead seen before can have been recycled: a batch of new MQLs asks nothing.
        again = await repo.recycled(session, ids & seen) if ids & seen else {}
        reopen = set(again)  # each recycled lead's first qualification in the run
        todo: list[tuple[Envelope, LeadQualified]] = []
        for env in envs:
            event = env.data
            assert isinstance(event, LeadQualified)
            if event.lead_id not in seen or event.lead_id in reopen:
                seen.add(event.lead_id)
                reopen.discard(event.lead_id)
                todo.append((env, event))
        if not todo:
            return
        team = await self.teams.take(uow, generation)
        await self.assign_new(uow, team, todo, Staged(), again)

    async def assign_new(
        self,
        uow: UnitOfWork,
        team: Team,
        todo: list[tuple[Envelope, LeadQualified]],
        staged: Staged,
        again: dict[uuid.UUID, AssignmentRow] | None = None,
    ) -> None:
        """Route MQLs that have no row yet with `team` (taken under the routing lock): their
        rows, history, `leads.assigned` events and webhooks staged in `uow`. The closed rows
        of recycled leads qualified again (`again`, each taken once) start a new cycle."""
        now = self.clock()
        again = again or {}
        for env, event in todo:
            # What this lead causes (event, webhooks) continues its own trace.
            with following(env):
                cycle = again.pop(event.lead_id, None)
                await self._qualify(uow, staged, team, event, now, recycled=cycle)
        self._write(uow, staged, team, now)

    async def _qualify(
        self,
        uow: UnitOfWork,
        staged: Staged,
        team: Team,
        event: LeadQualified,
        now: datetime,
        *,
        recycled: AssignmentRow | None,
    ) -> None:
        if recycled is not None:
            row = recycled
            recycling.new_cycle(staged, row, event, now)
        else:
            row = self._new_row(staged, event, now)
        result = team.decide(row, now, kind="new" if recycled is None else "recycled")
        if isinstance(result, Assignment):
            await self._give(uow, staged, team, row, result, now=now)
        else:
            await queueing.enqueue(uow, staged, row, result, now)

    @staticmethod
    def _new_row(staged: Staged, event: LeadQualified, now: datetime) -> AssignmentRow:
        """A new MQL's row: nobody's, queued until routed (inserted at commit)."""
        row = AssignmentRow(lead_id=event.lead_id, created_at=now, **cycle_columns(event, now))
        staged.new_assignment(row)
        return row

    async def on_outcome(self, uow: UnitOfWork, env: Envelope) -> None:
        """Won/lost closes the lead (freeing the rep); contact counts as accepting it; a
        rejection closes it too, even when queued, and says whether it was recycled."""
        await uow.flush()  # the lead's row may be staged by this transaction
        session = uow.session
        event = env.data
        assert isinstance(event, LeadOutcome)
        await repo.lock_routing(session)
        row = await repo.get_assignment(session, event.lead_id)
        if row is not None and row.erased_at is None and event.stage == "rejected":
            now = self.clock()
            freed, why_rejected = recycling.reject(row, event, now)
            self._step(uow, row, "rejected", why_rejected, now)
            if freed:
                await self.drain_queue(uow)  # the rep (or the queue's place) is free
            return
        if row is None or row.status == "closed":
            return
        now = self.clock()
        why = {"stage": event.stage, "occurred_at": event.occurred_at.isoformat()}
        if event.stage in ("won", "lost"):
            row.status, row.closed_at, row.sla_due_at = "closed", now, None
            self._step(uow, row, "closed", why, now)
            await self.drain_queue(uow)
        elif row.status in AWAITING_ACCEPT:
            # The rep is already working the lead: the SLA must not take it away.
            row.status, row.accepted_at, row.sla_due_at = "accepted", now, None
            self._step(uow, row, "accepted", why, now)

    async def on_erased(self, uow: UnitOfWork, env: Envelope) -> None:
        """Drop the person's data everywhere here, close the lead for good (never routed
        again), and tell the endpoints subscribed to `lead.erased`; a replay does nothing.
        An unknown lead gets a closed row so a late MQL is ignored."""
        event = env.data
        assert isinstance(event, LeadErased)
        await uow.flush()  # the lead's rows may be staged by this transaction
        session = uow.session
        await repo.lock_routing(session)
        row = await repo.get_assignment(session, event.lead_id)
        if row is None:
            row = AssignmentRow(
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
            session.add(row)
        elif row.erased_at is None:
            await erasure.strip(session, row, event.erased_at, self.deliveries)
            if row.status != "closed":
                # Nobody can contact a person whose data is gone: no rep, no SLA, no queue.
                was_open = row.status in OPEN_STATUSES
                row.status, row.closed_at, row.sla_due_at = "closed", event.erased_at, None
                self._step(uow, row, "closed", {"detail": "erased"}, event.erased_at)
                if was_open:
                    await self.drain_queue(uow)  # the rep has room again
        else:
            return  # erased before: told already
        if await erasure.tell(uow, row, self.clock()):
            uow.on_commit(self.doorbell.ring)

    # ------------------------------------------------------------ background work

    async def drain_queue(self, uow: UnitOfWork, limit: int = BATCH, *, fresh: bool = False) -> int:
        """Assign queued leads, oldest first, to whoever can take them now; returns how many.

        `fresh` reloads the team from the database rather than trusting the cached one.
        """
        await uow.flush()  # the history this transaction staged counts (who declined)
        session = uow.session
        generation = await repo.lock_routing(session)
        rows = await repo.queued(session, limit)
        if not rows:
            return 0
        now = self.clock()
        team = await self.teams.take(uow, generation, fresh=fresh)
        staged = Staged()
        assigned, waited = 0, set[uuid.UUID]()
        # Page on past leads nobody can take (a country without a rep): a newer lead someone
        # can take must not wait behind them; PASS_BUDGET bounds one pass's work.
        while rows:
            _, declined = await repo.reps_by_history(session, [row.lead_id for row in rows])
            last = rows[-1]
            # The next page starts past this one's last lead as it was queued: handing it out
            # below clears its queued_at.
            cursor = (last.queued_at, last.lead_id)
            for row in rows:
                result = team.decide(row, now, barred=declined[row.lead_id], kind="queue")
                if isinstance(result, Assignment):
                    await self._give(uow, staged, team, row, result, now=now)
                    assigned += 1
            waited |= {row.lead_id for row in rows}
            if len(rows) < limit or len(waited) >= PASS_BUDGET:
                break
            rows = await repo.queued(session, min(limit, PASS_BUDGET - len(waited)), cursor)
        self._write(uow, staged, team, now, waited=waited)
        return assigned

    async def retry_queue(self) -> int:
        """One pass over the queue in its own transaction (the periodic worker).

        It reads the team afresh, so a change made behind the service's back (in the
        database, not through the API) is noticed within one pass.
        """
        async with self.rt.transaction() as uow:
            assigned = await self.drain_queue(uow, fresh=True)
            await queueing.measure(uow, self.clock())  # for /metrics
        return assigned

    async def retire(self, uow: UnitOfWork, rep: RepRow) -> int:
        """The rep was retired (deleted, flushed): each lead they had not accepted goes on now
        to the next eligible rep, as after an SLA miss (never to one who declined it), else to the
        queue; returns how many went on. The history says why (`rep_retired`); no SLA miss is
        counted against the rep. Waiting for the SLA pass left the leads with the rep,
        whose token could still accept them meanwhile."""
        session = uow.session
        generation = await repo.lock_routing(session)
        rows = await repo.awaiting_of(session, rep.rep_id)
        if not rows:
            return 0
        now = self.clock()
        team = await self.teams.take(uow, generation, fresh=True)
        lead_ids = [row.lead_id for row in rows]
        tried, declined = await repo.reps_by_history(session, lead_ids)
        why = {"detail": f"{rep.name} was retired before accepting the lead"}
        staged = Staged()
        moved = 0
        for row in rows:
            staged.step(row, "rep_retired", why, now)
            avoid, barred = tried[row.lead_id], declined[row.lead_id]
            result = team.decide(row, now, avoid, barred, kind="retired")
            if isinstance(result, Assignment):
                await self._give(uow, staged, team, row, result, now=now)
                moved += 1
                continue
            await queueing.enqueue(uow, staged, row, result, now)
        self._write(uow, staged, team, now)
        return moved

    async def check_sla(self, limit: int = BATCH) -> int:
        """Re-route leads not accepted in time to the next eligible rep (never one who
        declined the lead); returns how many moved. Each miss is in the history and counted
        per rep in `leadflow_assignment_sla_missed_total`."""
        missed: list[str] = []
        async with self.rt.transaction() as uow:
            session = uow.session
            generation = await repo.lock_routing(session)
            now = self.clock()
            rows = await repo.overdue(session, now, limit)
            if not rows:
                return 0
            team = await self.teams.take(uow, generation, fresh=True)
            lead_ids = [row.lead_id for row in rows]
            tried, declined = await repo.reps_by_history(session, lead_ids)
            staged = Staged()
            moved = 0
            for row in rows:
                missed.append(str(row.rep_id))
                avoid = tried[row.lead_id] | ({row.rep_id} if row.rep_id else set())
                result = team.decide(row, now, avoid, declined[row.lead_id], kind="sla")
                if isinstance(result, Assignment) and result.rep_id != row.rep_id:
                    staged.step(row, "sla_missed", self._missed(team, row, "re-routed"), now)
                    await self._give(uow, staged, team, row, result, now=now)
                    moved += 1
                    continue
                # Nobody else can take it: it stays with its rep, who gets another SLA period.
                row.sla_due_at = self._due(team, row.rep_id, now)
                staged.step(row, "sla_missed", result.reason, now)
            self._write(uow, staged, team, now)
            if moved:  # the reps who missed have room again: the queue may go to them
                await self.drain_queue(uow)
        for rep_id in missed:  # counted once committed
            SLA_MISSED.labels(rep_id=rep_id).inc()
        return moved

    async def decline(
        self,
        uow: UnitOfWork,
        row: AssignmentRow,
        generation: int,
        why: dict[str, Any],
        now: datetime,
    ) -> str:
        """The lead's rep declined it: give it at once to the next eligible rep, never to one
        who declined it, else queue it; returns which (`reassigned` or `queued`). The caller
        holds the routing lock (`generation`)."""
        assert row.rep_id is not None
        team = await self.teams.take(uow, generation)
        tried, declined = await repo.reps_by_history(uow.session, [row.lead_id])
        barred = declined[row.lead_id] | {row.rep_id}
        result = team.decide(row, now, tried[row.lead_id], barred, kind="declined")
        outcome = "reassigned" if isinstance(result, Assignment) else "queued"
        staged = Staged()
        staged.step(row, "declined", why | {"outcome": outcome}, now)
        if isinstance(result, Assignment):
            await self._give(uow, staged, team, row, result, now=now)
        else:
            # Nobody else may take it: it waits in the queue, and the decliner's room is free.
            team.release(row.rep_id)
            await queueing.enqueue(uow, staged, row, result, now)
        self._write(uow, staged, team, now)
        await self.drain_queue(uow)  # the decliner has room again, for other leads
        return outcome

    # ------------------------------------------------------------ internals

    @property
    def _sla(self) -> timedelta:
        return timedelta(seconds=self.settings.assignment_sla_seconds)

    def _due(self, team: Team, rep_id: uuid.UUID | None, now: datetime) -> datetime:
        """When the SLA of a lead given to the rep at `now` runs out, in their working time."""
        rep = team.reps.get(rep_id) if rep_id is not None else None
        if rep is None:  # retired: nobody's working hours to count in
            return now + self._sla
        return sla_due(now, self._sla, rep.hours, rep.zone, rep.out_of_office)

    def _missed(self, team: Team, row: AssignmentRow, then: str) -> dict[str, Any]:
        """The history reason of an SLA miss: whose, when it was due, and what happened."""
        rep = team.rows.get(row.rep_id) if row.rep_id is not None else None
        name = rep.name if rep is not None else str(row.rep_id)
        due = row.sla_due_at.isoformat() if row.sla_due_at else "?"
        return {"detail": f"not accepted by {name} by {due} (SLA in working hours): {then}"}

    async def _give(
        self,
        uow: UnitOfWork,
        staged: Staged,
        team: Team,
        row: AssignmentRow,
        result: Assignment,
        *,
        now: datetime,
    ) -> None:
        """Hand the lead to the chosen rep: row, history, event and webhooks together."""
        previous = row.rep_id if row.status in OPEN_STATUSES else None
        rep = team.rows[result.rep_id]
        first = row.attempt == 0
        at = stamps.assignment_time(row, now)  # after the lead's last one, whatever our clock
        row.rep_id, row.rule, row.reason = rep.rep_id, result.rule, result.reason
        row.status = "assigned" if first else "reassigned"
        row.attempt += 1
        row.assigned_at, row.accepted_at, row.queued_at = at, None, None
        row.sla_due_at = self._due(team, rep.rep_id, now)
        team.took(result, previous)
        staged.step(row, row.status, result.reason, now)
        uow.emit(
            LeadAssigned(
                lead_id=row.lead_id,
                rep=rep_ref(rep),
                reason=AssignmentReason(**result.reason),
                assigned_at=at,
                attempt=row.attempt,
            ),
        )
        event_type = "lead.assigned" if first else "lead.reassigned"
        await staged.notify(uow, event_type, row, rep, now)
        log.info(
            "lead %s", row.status, extra={"lead_id": str(row.lead_id), "rep_id": str(rep.rep_id)}
        )

    def _write(
        self,
        uow: UnitOfWork,
        staged: Staged,
        team: Team,
        now: datetime,
        waited: Collection[uuid.UUID] = (),
    ) -> None:
        """Save the round-robin state and the staged rows; the webhook worker takes what it
        can send at once when the transaction commits, and is woken for the rest. Leads that
        `waited` in the queue may have an earlier message (`lead.queued`) still unsent: their
        deliveries are claimed in order, never sent at once."""
        team.save(uow, now)
        left = bool(staged.deliveries)
        if left and self.deliveries is not None:
            fresh = [d for d in staged.deliveries if d["lead_id"] not in waited]
            left = len(fresh) < len(staged.deliveries)
            left = self.deliveries.lease_fresh(uow, fresh, staged.endpoints) or left
        staged.write(uow)
        if left:
            uow.on_commit(self.doorbell.ring)

    @staticmethod
    def _step(
        uow: UnitOfWork, row: AssignmentRow, event: str, reason: dict[str, Any], at: datetime
    ) -> None:
        """One step of a lead's history, written at commit (the one-lead paths)."""
        staged = Staged()
        staged.step(row, event, reason, at)
        staged.write(uow)
