"""The queue: leads nobody can take yet (not even a rule's fallback).

A lead goes to the queue nobody's, with the reason, and the endpoints subscribed to
`lead.queued` are told. `Assigner.drain_queue` routes queued leads again, oldest first,
whenever someone may have become eligible: a rep added or changed (back from leave,
activated), capacity freed (a lead won, lost, rejected, erased or declined, or moved on after an SLA
miss), rules or owners changed, and every `LEADFLOW_QUEUE_RETRY_SECONDS` for what time
alone changes (working hours begin, an absence ends). Each pass also measures the queue
for `/metrics`: its size per rule and the age of its oldest lead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import datetime

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from leadflow.uow import UnitOfWork
from sales_assignment import repo
from sales_assignment.models import AssignmentRow
from sales_assignment.routing import NoRepAvailable
from sales_assignment.staging import Staged

log = logging.getLogger(__name__)

QUEUED = "lead.queued"


async def enqueue(
    uow: UnitOfWork, staged: Staged, row: AssignmentRow, result: NoRepAvailable, now: datetime
) -> None:
    """Send the lead to the queue, nobody's, with why; tell the sales tools (`lead.queued`)."""
    # A recycled lead's new cycle may start later than `now` (`recycling.new_cycle`): keep it,
    # so the lead's next assignment is still stamped after its last cycle's.
    queued_at = max(now, row.queued_at) if row.queued_at is not None else now
    row.rep_id, row.status, row.queued_at, row.sla_due_at = None, "queued", queued_at, None
    row.rule, row.reason = result.rule, result.reason
    staged.step(row, "queued", result.reason, now)
    await staged.notify(uow, QUEUED, row, None, now)
    log.info("lead queued", extra={"lead_id": str(row.lead_id), "rule": result.rule})


async def measure(uow: UnitOfWork, now: datetime) -> None:
    """Read the queue's size per rule and its oldest lead; `/metrics` shows them once the
    transaction commits."""
    await uow.flush()  # leads this transaction queued or took out count
    stats = await repo.queue_stats(uow.session)
    uow.on_commit(lambda: QUEUE.update(stats, now))


class QueueMetrics(Collector):
    """`leadflow_assignment_queued{rule}` and `leadflow_assignment_queue_oldest_seconds`.

    Every replica reports what the database held at its last pass (the same for all); the
    oldest lead's age goes on growing between passes. The labels are each pass's own: a rule
    whose leads all left shows 0 for one pass (its series ends at 0 rather than at its last
    count), then goes, so renamed and removed rules do not stay forever.
    """

    def __init__(self) -> None:
        self._sizes: dict[str, int] = {}
        self._oldest: datetime | None = None
        self._measured_at: tuple[datetime, float] | None = None  # pass time, monotonic then

    def update(self, stats: Sequence[tuple[str, int, datetime | None]], now: datetime) -> None:
        """Take one pass's reading: (rule, queued leads, oldest queued_at) per rule."""
        now_sizes = {rule: n for rule, n, _ in stats}
        drained = {rule: 0 for rule, n in self._sizes.items() if n and rule not in now_sizes}
        self._sizes = drained | now_sizes
        self._oldest = min((oldest for _, _, oldest in stats if oldest), default=None)
        self._measured_at = (now, time.monotonic())

    def oldest_seconds(self) -> float:
        """How long the oldest queued lead has waited by now (0: the queue is empty)."""
        if self._oldest is None or self._measured_at is None:
            return 0.0
        then, tick = self._measured_at
        return max(0.0, (then - self._oldest).total_seconds() + time.monotonic() - tick)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        oldest = GaugeMetricFamily(
            "leadflow_assignment_queue_oldest_seconds",
            "How long the oldest queued lead (nobody eligible, not even a fallback) has waited",
        )
        oldest.add_metric([], self.oldest_seconds())
        sizes = GaugeMetricFamily(
            "leadflow_assignment_queued",
            "Leads waiting in the assignment queue, per routing rule that queued them",
            labels=["rule"],
        )
        for rule, n in sorted(self._sizes.items()):
            sizes.add_metric([rule], n)
        yield oldest
        yield sizes


QUEUE = QueueMetrics()
REGISTRY.register(QUEUE)
