"""Webhooks out: one delivery row per subscribed endpoint, sent and retried by a worker.

Standard Webhooks: each attempt signs the stored body with the endpoint's current secret,
and also with the previous one while a rotation's grace period runs (two space-separated
signatures, the new one first); 2xx is delivered, 410 disables the endpoint, anything else
(or a timeout) is retried on the schedule, `Retry-After` honoured. A delivery out of
attempts is `dead` (kept, retryable).

Latency: the transaction that stages deliveries rings a `Doorbell` once it has committed,
and the worker sends at once; polling every `webhook_poll_seconds` is only the fallback
(another replica's commits, retries coming due).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from leadflow.service import Runtime
from leadflow.tracing import client_span, responded, traceparent
from leadflow.webhooks import headers_for
from sales_assignment import webhook_repo
from sales_assignment.models import AssignmentRow, DeliveryRow, EndpointRow, RepRow
from sales_assignment.payloads import message_id, webhook_body, webhook_data
from sales_assignment.settings import AssignmentSettings
from sales_assignment.targets import target_problem
from sales_assignment.webhook_repo import RETRYING

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# A claimed delivery is someone's for the timeout plus this margin, then anyone may retry it.
LEASE_MARGIN = timedelta(seconds=30)


_RINGS = "sales_assignment.doorbell"


class Doorbell:
    """Wakes the delivery worker after a commit (like the kernel's `OutboxRelay.wake`)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        self._event.set()

    def ring_after_commit(self, session: AsyncSession) -> None:
        """Ring once the session's transaction commits; nothing happens on a rollback."""
        sync = session.sync_session
        if sync.info.get(_RINGS) is self:
            return  # already listening: one ring per transaction however many deliveries
        sync.info[_RINGS] = self

        def committed(_: Session) -> None:
            sync.info.pop(_RINGS, None)
            self.ring()

        event.listen(sync, "after_commit", committed, once=True)

    async def wait(self, seconds: float) -> None:
        """Return when rung or after `seconds`, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=seconds)
        self._event.clear()


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
    rep: RepRow,
    now: datetime,
) -> list[dict[str, Any]]:
    """The deliveries of `event_type` to every endpoint that wants it, as rows to insert.

    A disabled endpoint gets its deliveries too; they are not sent until it is re-enabled.
    """
    wanted = [e for e in endpoints if event_type in e.event_types]
    if not wanted:
        return []
    body = webhook_body(event_type, now, webhook_data(row, rep))
    trace = traceparent()  # the span handling the lead's event, when there is one
    return [
        {
            "id": message_id(),
            "endpoint_id": endpoint.id,
            "lead_id": row.lead_id,
            "seq": row.attempt,
            "event_type": event_type,
            "body": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "traceparent": trace,
        }
        for endpoint in wanted
    ]


@dataclass(frozen=True)
class _Job:
    delivery_id: str
    body: bytes
    endpoint_id: uuid.UUID
    url: str
    secrets: list[str]
    traceparent: str | None = None


@dataclass(frozen=True)
class _Result:
    status_code: int | None
    error: str | None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        return max(0.0, (parsedate_to_datetime(text) - now).total_seconds())
    return None


@dataclass
class DeliveryWorker:
    """Sends due deliveries, a batch at a time, and records each outcome."""

    rt: Runtime
    settings: AssignmentSettings
    clock: Clock = field(default=lambda: datetime.now(UTC))
    doorbell: Doorbell = field(default_factory=Doorbell)
    _client: httpx.AsyncClient | None = None

    async def run(self) -> None:
        """Deliver until cancelled; survives database and network failures by retrying."""
        try:
            while True:
                try:
                    sent = await self.deliver_due()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("webhook delivery: %s: %s", type(exc).__name__, exc)
                    sent = 0
                if sent < self.settings.webhook_batch_size:
                    await self.doorbell.wait(self.settings.webhook_poll_seconds)
        finally:
            await self.close()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def deliver_due(self) -> int:
        """Claim, send and record one batch of due deliveries; returns how many were tried."""
        s = self.settings
        now = self.clock()
        lease = now + timedelta(seconds=s.webhook_timeout_seconds) + LEASE_MARGIN
        async with self.rt.transaction() as session:
            pairs = await webhook_repo.claim_due(session, now, s.webhook_batch_size, lease)
            jobs = [
                _Job(d.id, d.body, e.id, e.url, signing_secrets(e, now), d.traceparent)
                for d, e in pairs
            ]
        results = await asyncio.gather(*(self._send(job) for job in jobs))
        if jobs:
            await self._record(jobs, results)
        return len(jobs)

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
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=s.webhook_timeout_seconds, follow_redirects=False
            )
        headers = headers_for(job.secrets, job.delivery_id, job.body)
        trace = traceparent()  # the client span's
        if trace:
            headers["traceparent"] = trace
        try:
            response = await self._client.post(job.url, content=job.body, headers=headers)
        except httpx.TimeoutException:
            return _Result(None, f"timeout after {s.webhook_timeout_seconds:g} s")
        except httpx.HTTPError as exc:
            return _Result(None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= response.status_code < 300:
            return _Result(response.status_code, None)
        wait = retry_after_seconds(response.headers.get("retry-after"), self.clock())
        return _Result(response.status_code, f"HTTP {response.status_code}", wait)

    async def _record(self, jobs: Sequence[_Job], results: Sequence[_Result]) -> None:
        """Record a batch's outcomes in one transaction."""
        async with self.rt.transaction() as session:
            found = await webhook_repo.deliveries_by_id(session, [j.delivery_id for j in jobs])
            endpoints = await webhook_repo.endpoints_by_id(session, {j.endpoint_id for j in jobs})
            now = self.clock()
            for job, result in zip(jobs, results, strict=True):
                delivery = found.get(job.delivery_id)
                endpoint = endpoints.get(job.endpoint_id)
                if delivery is None or endpoint is None or delivery.status not in RETRYING:
                    continue  # gone, or recorded meanwhile (its lease ran out elsewhere)
                self._outcome(delivery, endpoint, result, now)

    def _outcome(
        self, delivery: DeliveryRow, endpoint: EndpointRow, result: _Result, now: datetime
    ) -> None:
        s = self.settings
        delivery.attempts += 1
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        extra = {"delivery_id": delivery.id, "endpoint_id": str(endpoint.id)}
        if result.ok:
            delivery.status, delivery.delivered_at = "delivered", now
            endpoint.consecutive_failures = 0
            return
        if result.status_code == 410:
            # The receiver says it is gone: stop calling it; the delivery waits, not lost.
            endpoint.enabled = False
            endpoint.disabled_reason = "the receiver answered 410 Gone"
            delivery.status, delivery.next_attempt_at = "failed", now
            log.warning("webhook endpoint disabled (410)", extra=extra)
            return
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
            return
        delay = schedule[delivery.attempts]
        if result.retry_after is not None:
            delay = min(result.retry_after, s.webhook_max_retry_after_seconds)
        delivery.status = "failed"
        delivery.next_attempt_at = now + timedelta(seconds=delay)
