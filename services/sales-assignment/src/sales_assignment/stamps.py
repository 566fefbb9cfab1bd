"""Pure: when an assignment is stamped, so that each lead's stamps only ever go forward.

`assigned_at` is the clock of whichever replica routes the lead. A replica whose clock runs
behind would stamp a re-route before the assignment it replaces, one running ahead would
stamp an assignment after the ones that follow it, and feedback orders a lead's assignments
by their stamps (a recycled lead's next cycle starts again at attempt 1). So a lead's next
stamp is never before its previous assignment, close or new cycle (on the row, which the
routing lock holds) plus one microsecond; on time, it is the clock's own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sales_assignment.models import AssignmentRow

TICK = timedelta(microseconds=1)


def after(*times: datetime | None) -> datetime | None:
    """One tick after the latest of `times` (None where none is known)."""
    known = [t for t in times if t is not None]
    return max(known) + TICK if known else None


def assignment_time(row: AssignmentRow, now: datetime) -> datetime:
    """The stamp of the lead's next assignment: `now`, unless that is not after the lead's
    last assignment or close, nor at or after the start of its cycle (`queued_at`)."""
    floor = after(row.assigned_at, row.closed_at)
    return max(t for t in (now, floor, row.queued_at) if t is not None)
