"""Webhooks out: one delivery row per subscribed endpoint, sent and retried by a worker.

Standard Webhooks: each attempt signs the stored body with the endpoint's current secret,
and also with the previous one while a rotation's grace period runs (two space-separated
signatures, the new one first); 2xx is delivered, 410 disables the endpoint, anything else
(or a timeout) is retried on the schedule, `Retry-After` honoured. A delivery out of
attempts is `dead` (kept, retryable).

Latency: a routing transaction hands the new deliveries this process can send at once (a
lead's first message, to an enabled endpoint, while there is room) to its worker: they are
inserted already leased to it and sent as soon as the transaction commits, with no claim.
The rest ring a `Doorbell` at commit, and the worker claims them at once; polling every
`webhook_poll_seconds` is only the fallback (another replica's commits, retries coming due).
Up to `webhook_batch_size` deliveries are in flight at a time, each on its own: a slow
receiver holds up only its own. Outcomes are recorded together, by one transaction at most
every `RECORD_AFTER_SECONDS` that also claims what is due as far as there is room; a crash
before that leaves the delivery leased, and it is sent again (same webhook-id) when the lease
runs out, as for a crash mid-send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.secretbox import SecretUnreadable, secret_box
from leadflow.service import Runtime
from leadflow.tracing import client_span, responded, traceparent
from leadflow.uow import UnitOfWork
from leadflow.webhooks import headers_for
from sales_assignment import webhook_repo
from sales_assignment.doorbell import Doorbell
from sales_assignment.models import AssignmentRow, DeliveryRow, EndpointRow, RepRow
from sales_assignment.payloads import (
    erased_body,
    message_id,
    message_seq,
    webhook_body,
    webhook_data,
)
from sales_assignment.sender import WebhookSender, retry_after_seconds
from sales_assignment.settings import AssignmentSettings
from sales_assignment.targets import GuardedResolver, target_problem
from sales_assignment.webhook_metrics import WEBHOOK_DELIVERIES, WEBHOOK_ENDPOINTS_DISABLED
from sales_assignment.webhook_repo import RETRYING

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# A claimed delivery is someone's for the timeout plus this margin, then anyone may retry it.
LEASE_MARGIN = timedelta(seconds=30)
# Finished sends wait this long to be recorded together (one transaction for many).
RECORD_AFTER_SECONDS = 0.1


def signing_secrets(endpoint: EndpointRow, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, plus the previous one during its grace."""
    expires = endpoint.previous_secret_expires_at
    if expires is not None and now < expires:
        return list(endpoint.secrets[:2])
    return list(endpoint.secrets[:1])


def delivery_rows(
    endpoints: Sequence[EndpointRow],
    event_type: str,
    row: AssignmentRow,
    rep: RepRow | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The deliveries of `event_type` to every endpoint that wants it, as rows to insert.

    A disabled endpoint gets its deliveries too; they are not sent until it is re-enabled.
    """
    if not any(event_type in e.event_types for e in endpoints):
        return []
    body = webhook_body(event_type, now, webhook_data(row, rep))
    seq = message_seq(event_type, row.attempt)
    return _rows(endpoints, event_type, row.lead_id, seq, body, now=now)


def erased_rows(
    endpoints: Sequence[EndpointRow], lead_id: uuid.UUID, seq: int, now: datetime
) -> list[dict[str, Any]]:
    """`lead.erased` deliveries of a lead to every endpoint that wants them (after its
    other messages: `seq`), as rows to insert."""
    return _rows(endpoints, "lead.erased", lead_id, seq, erased_body(lead_id, now), now=now)


def _rows(
    endpoints: Sequence[EndpointRow],
    event_type: str,
    lead_id: uuid.UUID,
    seq: int,
    body: bytes,
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """Pending deliveries of `body` to every endpoint that wants `event_type`, as rows."""
    trace = traceparent()  # the span handling the lead's event, when there is one
    return [
        {
            "id": message_id(),
            "endpoint_id": endpoint.id,
            "lead_id": lead_id,
            "seq": seq,
            "event_type": event_type,
            "body": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "traceparent": trace,
        }
        for endpoint in endpoints
        if event_type in endpoint.event_types
    ]


@dataclass(frozen=True)
class _Job:
    delivery_id: str
    body: bytes
    endpoint_id: uuid.UUID
    url: str
    secrets: list[str]
    traceparent: str | None = None


def _job(
    delivery_id: str, body: bytes, trace: str | None, endpoint: EndpointRow, now: datetime
) -> _Job:
    """A delivery to send now to `endpoint`, signed with the secrets valid now."""
    return _Job(delivery_id, body, endpoint.id, endpoint.url, signing_secrets(endpoint, now), trace)


@dataclass(frozen=True)
class _Result:
    status_code: int | None
    error: str | None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class DeliveryWorker:
    """Sends due deliveries, many in flight at once, and records each outcome."""

    rt: Runtime
    settings: AssignmentSettings
    clock: Clock = field(default=lambda: datetime.now(UTC))
    doorbell: Doorbell = field(default_factory=Doorbell)
    _sender: WebhookSender | None = None
    _sending: set[asyncio.Task[None]] = field(default_factory=set)
    _done: list[tuple[_Job, _Result]] = field(default_factory=list)
    # Deliveries dropped by an erasure after a routing transaction handed them over.
    _dropped: set[str] = field(default_factory=set)

    async def run(self) -> None:
        """Deliver until cancelled; survives database and network failures by retrying.

        Each pass is one transaction: the outcomes of sends that finished since the last
        pass, and a claim of due deliveries for the room left in flight. A commit that
        stages deliveries it did not hand over rings the doorbell for the next pass, and
        finished sends ring it `RECORD_AFTER_SECONDS` after the first of them.
        """
        try:
            while True:
                try:
                    await self._pass()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("webhook delivery: %s: %s", type(exc).__name__, exc)
                await self.doorbell.wait(self.settings.webhook_poll_seconds)
        finally:
            await self._wind_down()
            await self.close()

    async def _pass(self) -> None:
        room = self.settings.webhook_batch_size - len(self._sending)
        done, self._done = self._done, []
        if room <= 0 and not done:
            return  # a finished send rings again
        try:
            async with self.rt.transaction() as uow:
                if done:
                    await self._record_in(uow, done)
                jobs = await self._claim(uow.session, room) if room > 0 else []
        except BaseException:
            self._done[:0] = done  # recorded by the next pass instead
            raise
        self._start(jobs)

    def drop(self, delivery_ids: Sequence[str]) -> None:
        """Never start these (an erasure deleted them; their bodies hold personal data).
        Only a hand-over committed with the erasure can still hold them: a minute covers it."""
        ids = set(delivery_ids)
        self._dropped.update(ids)
        asyncio.get_running_loop().call_later(60, self._dropped.difference_update, ids)

    def _start(self, jobs: Sequence[_Job]) -> None:
        for job in jobs:
            if job.delivery_id in self._dropped:
                continue
            task = asyncio.create_task(self._send_and_keep(job))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    def lease_fresh(
        self,
        uow: UnitOfWork,
        deliveries: list[dict[str, Any]],
        endpoints: Sequence[EndpointRow],
    ) -> bool:
        """Take what this worker can send at once of a transaction's new deliveries (rows to
        insert): a lead's first message, to an enabled endpoint, while there is room. Their
        rows are leased to it and they are sent as soon as `uow` commits (nothing if it
        rolls back). Returns whether any is left for a
        claim. (Routing transactions run one at a time under the routing lock, so the room
        is not promised twice.)"""
        now = self.clock()
        lease = self._lease_until(now)
        room = self.settings.webhook_batch_size - len(self._sending)
        by_id = {e.id: e for e in endpoints}
        jobs: list[_Job] = []
        for row in deliveries:
            endpoint = by_id.get(row["endpoint_id"])
            # A later message (a re-assignment) may have to wait for an earlier one.
            if len(jobs) >= room or row["seq"] != 1 or endpoint is None or not endpoint.enabled:
                continue
            row["next_attempt_at"] = lease
            jobs.append(_job(row["id"], row["body"], row["traceparent"], endpoint, now))
        if jobs:
            uow.on_commit(lambda: self._start(jobs))
        return len(jobs) < len(deliveries)

    async def _send_and_keep(self, job: _Job) -> None:
        try:
            result = await self._send(job)
        except asyncio.CancelledError:
            raise  # winding down: the lease runs out and the message is sent again
        except Exception as exc:  # never lose an outcome: a failed attempt is retried
            result = _Result(None, f"{type(exc).__name__}: {exc}"[:500])
        # Appended after the await: each pass takes `_done` and starts a new list.
        self._done.append((job, result))
        if len(self._done) == 1:  # the first since the last pass: record them soon
            asyncio.get_running_loop().call_later(RECORD_AFTER_SECONDS, self.doorbell.ring)

    async def _wind_down(self) -> None:
        """Stop the sends in flight and record what finished; the rest is sent again when
        its lease runs out (at least once, same webhook-id)."""
        for task in self._sending:
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
        if self._done:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5), self.rt.transaction() as uow:
                    await self._record_in(uow, self._done)
            self._done = []

    async def close(self) -> None:
        if self._sender is not None:
            await self._sender.close()
            self._sender = None

    async def deliver_due(self) -> int:
        """Claim, send and record one batch of due deliveries; returns how many were tried."""
        async with self.rt.transaction() as uow:
            jobs = await self._claim(uow.session, self.settings.webhook_batch_size)
        results = await asyncio.gather(*(self._send(job) for job in jobs))
        if jobs:
            async with self.rt.transaction() as uow:
                await self._record_in(uow, list(zip(jobs, results, strict=True)))
        return len(jobs)

    async def _claim(self, session: AsyncSession, limit: int) -> list[_Job]:
        """Lease up to `limit` due deliveries (for the timeout plus a margin)."""
        now = self.clock()
        pairs = await webhook_repo.claim_due(session, now, limit, self._lease_until(now))
        return [_job(d.id, d.body, d.traceparent, e, now) for d, e in pairs]

    def _lease_until(self, now: datetime) -> datetime:
        """Until when a delivery taken now is this worker's: its timeout plus a margin."""
        return now + timedelta(seconds=self.settings.webhook_timeout_seconds) + LEASE_MARGIN

    async def _send(self, job: _Job) -> _Result:
        """POST one delivery in a client span of its lead's trace."""
        tracer = self.rt.tracing.tracer
        with client_span(tracer, "POST", job.url, parent=job.traceparent) as span:
            result = await self._post(job)
            responded(span, result.status_code, result.error)
            return result

    async def _post(self, job: _Job) -> _Result:
        s = self.settings
        # Checked again at send time: a name can start resolving somewhere private.
        problem = await target_problem(job.url, env=s.env, allowed_hosts=s.webhook_allowed_hosts)
        if problem is not None:
            return _Result(None, f"refused: {problem}")
        if self._sender is None:
            self._sender = WebhookSender(
                timeout=s.webhook_timeout_seconds,
                per_host=s.webhook_connections_per_host,
                resolver=GuardedResolver(env=s.env, allowed_hosts=s.webhook_allowed_hosts),
            )
        box = secret_box(s)  # the secrets are stored sealed; opened only to sign
        try:
            secrets = [box.open(x) for x in job.secrets]
        except SecretUnreadable as exc:
            return _Result(None, f"cannot sign: {exc}")
        headers = headers_for(secrets, job.delivery_id, job.body)
        trace = traceparent()  # the client span's
        if trace:
            headers["traceparent"] = trace
        answer = await self._sender.post(job.url, job.body, headers)
        status = answer.status_code
        if status is None or 200 <= status < 300:
            return _Result(status, answer.error)
        wait = retry_after_seconds(answer.retry_after, self.clock())
        return _Result(status, f"HTTP {status}", wait)

    async def _record_in(self, uow: UnitOfWork, done: Sequence[tuple[_Job, _Result]]) -> None:
        """Record sends' outcomes in the caller's transaction.

        The deliveries that succeeded, to endpoints with no failure among these outcomes
        (nearly all of them), are recorded by a bulk update; the rest row by row, in order.
        """
        session = uow.session
        now = self.clock()
        counted: list[tuple[str, str | None]] = []  # (result, why disabled), once committed
        _count_on_commit(uow, counted)
        failing = {j.endpoint_id for j, r in done if not r.ok}
        fast = [(j, r) for j, r in done if j.endpoint_id not in failing]  # all succeeded
        if fast:
            delivered = await webhook_repo.mark_delivered(
                session,
                [(j.delivery_id, r.status_code, r.error) for j, r in fast],
                {j.endpoint_id for j, _ in fast},
                now,
            )
            counted.extend([("delivered", None)] * delivered)
        done = [(j, r) for j, r in done if j.endpoint_id in failing]
        if not done:
            return
        found = await webhook_repo.deliveries_by_id(session, [j.delivery_id for j, _ in done])
        endpoints = await webhook_repo.endpoints_by_id(session, {j.endpoint_id for j, _ in done})
        for job, result in done:
            delivery = found.get(job.delivery_id)
            endpoint = endpoints.get(job.endpoint_id)
            if delivery is None or endpoint is None or delivery.status not in RETRYING:
                continue  # gone, or recorded meanwhile (its lease ran out elsewhere)
            enabled = endpoint.enabled
            outcome = self._outcome(delivery, endpoint, result, now)
            counted.append((outcome, outcome if enabled and not endpoint.enabled else None))

    def _outcome(
        self, delivery: DeliveryRow, endpoint: EndpointRow, result: _Result, now: datetime
    ) -> str:
        """Record one attempt's outcome on its rows; what became of the delivery (the
        metric's result: delivered, gone, dead or retrying)."""
        s = self.settings
        delivery.attempts += 1
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        extra = {"delivery_id": delivery.id, "endpoint_id": str(endpoint.id)}
        if result.ok:
            delivery.status, delivery.delivered_at = "delivered", now
            endpoint.consecutive_failures = 0
            return "delivered"
        if result.status_code == 410:
            # The receiver says it is gone: stop calling it; the delivery waits, not lost.
            endpoint.enabled = False
            endpoint.disabled_reason = "the receiver answered 410 Gone"
            delivery.status, delivery.next_attempt_at = "failed", now
            log.warning("webhook endpoint disabled (410)", extra=extra)
            return "gone"
        schedule = s.webhook_retry_schedule
        if delivery.attempts >= len(schedule):
            delivery.status = "dead"
            endpoint.consecutive_failures += 1
            log.warning("webhook delivery dead", extra=extra)
            if endpoint.consecutive_failures >= s.webhook_disable_after:
                endpoint.enabled = False
                endpoint.disabled_reason = (
                    f"{endpoint.consecutive_failures} deliveries in a row failed every attempt"
                )
                log.warning("webhook endpoint disabled (failing)", extra=extra)
            return "dead"
        delay = schedule[delivery.attempts]
        if result.retry_after is not None:
            delay = min(result.retry_after, s.webhook_max_retry_after_seconds)
        delivery.status = "failed"
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        return "retrying"


def _count_on_commit(uow: UnitOfWork, counted: list[tuple[str, str | None]]) -> None:
    """Count the recorded outcomes once their transaction commits (a rolled-back pass
    records them again in the next)."""

    def committed() -> None:
        for result, disabled in counted:
            WEBHOOK_DELIVERIES.labels(result).inc()
            if disabled is not None:
                WEBHOOK_ENDPOINTS_DISABLED.labels(
                    "failing" if disabled == "dead" else disabled
                ).inc()

    uow.on_commit(committed)
