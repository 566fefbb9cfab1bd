"""What one routing transaction adds, gathered and written together at commit.

Routing a batch of leads adds an assignment row, a history step and webhook deliveries per
lead. Going through the ORM's unit of work that is a flush (and round trips) per lead; here
the rows are collected as plain values and inserted at commit, on PostgreSQL in one
statement with the transaction's outbox rows (`UnitOfWork.stage`).
Changes to rows already stored (re-routing, closing) stay ORM updates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import inspect

from leadflow.fairness import decision_lines
from leadflow.uow import UnitOfWork
from sales_assignment import outbound, repo, webhook_repo
from sales_assignment.models import (
    AssignmentRow,
    DeliveryRow,
    EndpointRow,
    FairnessLineRow,
    HistoryRow,
    RepRow,
)

_ASSIGNMENT_COLUMNS = tuple(attr.key for attr in inspect(AssignmentRow).column_attrs)
# The history steps that are routing decisions: a lead given to a rep, or queued.
DECISIONS = frozenset({"assigned", "reassigned", "queued"})


@dataclass
class Staged:
    """New rows of one transaction: assignments, history steps, webhook deliveries and the
    fairness ledger's lines of its routing decisions."""

    assignments: list[AssignmentRow] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    fairness: list[dict[str, Any]] = field(default_factory=list)
    _endpoints: list[EndpointRow] | None = None

    def new_assignment(self, row: AssignmentRow) -> None:
        """`row` is new (not in the session): inserted with the others, as it is then."""
        self.assignments.append(row)

    def step(self, row: AssignmentRow, event: str, reason: dict[str, Any], at: datetime) -> None:
        """A step of the lead's history (queued, assigned, closed …)."""
        self.history.append(
            {
                "lead_id": row.lead_id,
                "event": event,
                "rep_id": row.rep_id,
                "attempt": row.attempt,
                "reason": reason,
                "at": at,
            }
        )
        if event in DECISIONS:
            self._ledger(row, reason, at)

    def _ledger(self, row: AssignmentRow, reason: dict[str, Any], at: datetime) -> None:
        """The decision's lines in the fairness ledger: who was eligible, with what share."""
        chosen = str(row.rep_id) if row.rep_id is not None else None
        lines = decision_lines(reason.get("candidates") or [], chosen)
        decision = uuid.uuid4()
        for line in lines or ():
            base = {
                "decision_id": decision,
                "decided_at": at,
                "lead_id": row.lead_id,
                "rep_id": uuid.UUID(line.rep_id),
                "eligible": line.eligible,
                "weight": line.weight,
                "share": line.share,
                "chosen": line.chosen,
            }
            self.fairness += [base | {"skipped": kind} for kind in line.skipped or (None,)]

    async def notify(
        self,
        uow: UnitOfWork,
        event_type: str,
        row: AssignmentRow,
        rep: RepRow | None,
        now: datetime,
    ) -> None:
        """Webhook deliveries of `event_type` for every endpoint that wants it (`rep` None:
        the lead is queued)."""
        if self._endpoints is None:  # one read per transaction, however many leads
            self._endpoints = await webhook_repo.list_endpoints(uow.session)
        self.deliveries += outbound.delivery_rows(self._endpoints, event_type, row, rep, now)

    @property
    def endpoints(self) -> list[EndpointRow]:
        """The endpoints the deliveries were made for (read once per transaction)."""
        return self._endpoints or []

    def write(self, uow: UnitOfWork) -> None:
        """Stage what was gathered in the unit of work, which inserts it at commit, in the
        statement that writes the outbox (PostgreSQL), or at `uow.flush()`; and start over."""
        rows = [{key: getattr(r, key) for key in _ASSIGNMENT_COLUMNS} for r in self.assignments]
        repo.add_rows(uow, AssignmentRow, rows)
        repo.add_rows(uow, HistoryRow, self.history)
        repo.add_rows(uow, DeliveryRow, self.deliveries)
        repo.add_rows(uow, FairnessLineRow, self.fairness)
        self.assignments, self.history, self.deliveries, self.fairness = [], [], [], []
