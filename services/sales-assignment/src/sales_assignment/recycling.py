"""Rejected leads: sales closes the assignment; a recycled lead that qualifies again starts over.

A rejection (`leads.outcomes`, stage `rejected`, with its reason code) closes the lead's
assignment whatever its status: the rep's open-lead count drops (capacity freed, so the queue
is drained), a queued lead leaves the queue, and the history says `rejected` with the reason
and whether the lead was recycled. A recycled lead goes back to marketing; when lead-scoring
qualifies it again (a new `leads.qualified`, on a later touch), the closed row starts a new
cycle: `requalified` in the history, then routed like a new MQL (attempt 1 again, webhook
`lead.assigned`). That happens once per recycling: the cycle clears `recycled_at`. A lead
rejected without recycle (spam, duplicate) stays closed, whatever comes later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadflow.events import LeadOutcome, LeadQualified
from sales_assignment import stamps
from sales_assignment.models import OPEN_STATUSES, AssignmentRow
from sales_assignment.payloads import cycle_columns
from sales_assignment.staging import Staged


def reject(row: AssignmentRow, event: LeadOutcome, now: datetime) -> tuple[bool, dict[str, Any]]:
    """Close the lead's assignment for its rejection; whether a rep's capacity (or a queue
    place) was freed, and the history step's reason."""
    freed = row.status in OPEN_STATUSES or row.status == "queued"
    why = {
        "stage": "rejected",
        "reason": event.reason,
        "recycle": event.recycle,
        "occurred_at": event.occurred_at.isoformat(),
    }
    row.status, row.sla_due_at, row.queued_at = "closed", None, None
    if freed or row.closed_at is None:
        row.closed_at = now
    row.recycled_at = now if event.recycle else None
    return freed, why


def new_cycle(staged: Staged, row: AssignmentRow, event: LeadQualified, now: datetime) -> None:
    """Reopen a recycled lead's closed row for its new qualification, as a new MQL's row is
    made (`Assigner._qualify`): nobody's, queued until routed, the lead and score as now.
    The cycle starts after the last one ended, whatever this replica's clock says: its
    assignments are stamped after its start (`stamps.assignment_time`)."""
    start = max(now, stamps.after(row.assigned_at, row.closed_at) or now)
    for column, value in cycle_columns(event, now).items():
        setattr(row, column, value)
    row.queued_at = start
    why = {"detail": "qualified again after it was recycled", "score": event.score}
    staged.step(row, "requalified", why, now)
