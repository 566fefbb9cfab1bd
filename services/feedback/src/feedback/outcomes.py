"""Outcomes in: the one code path for POST /v1/outcomes and inbound webhooks; integrations."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from feedback import domain, repo
from feedback.models import Integration, Outcome, WebhookReceipt
from feedback.schemas import OutcomeIn
from leadflow import webhooks
from leadflow.events import LeadOutcome, reason_code
from leadflow.secretbox import SecretUnreadable, secret_box
from leadflow.service import Runtime

TOKEN_PREFIX = "lf_it_"
MAX_TOKEN_CHARS = 200  # ours are 49; a longer one is not looked up
Kind = Literal["token", "webhook"]


@dataclass(frozen=True)
class Recorded:
    outcome_id: uuid.UUID
    duplicate: bool


class OutcomeConflict(Exception):
    """The outcome contradicts what was reported before (answered with 409)."""


class NotARepeat(Exception):
    """An outcome let through as its sender's retry is no longer one under the lead's lock."""


class WebhookRefused(Exception):
    """The webhook is not from a live webhook integration, or its signature does not check."""


@dataclass(frozen=True)
class Receipt:
    """Where an outcome came from: an integration, the `webhook-id` of a signed delivery, and
    the sender's id space for `external_id` (auth.external_scope; "" is the admin's)."""

    integration_id: uuid.UUID | None = None
    webhook_id: str | None = None
    scope: str = ""


async def record_outcome(
    rt: Runtime, body: OutcomeIn, receipt: Receipt | None = None, *, must_repeat: bool = False
) -> Recorded:
    """Store the outcome and stage `leads.outcomes` in one transaction; repeats are no-ops.

    A repeat is the same `external_id` (else the same lead and stage) or, for a webhook, the
    same `webhook-id` from the same integration: it returns the first answer. `must_repeat`
    (its rights were not checked because it was a retry) raises NotARepeat unless it still is
    the same sender's repeat, storing and publishing nothing.
    """
    receipt = receipt or Receipt()
    try:
        return await _record_outcome(rt, body, receipt, must_repeat)
    except IntegrityError:
        # A concurrent request with the same external_id or webhook-id committed first.
        return await _record_outcome(rt, body, receipt, must_repeat)


async def _record_outcome(
    rt: Runtime, body: OutcomeIn, receipt: Receipt, must_repeat: bool
) -> Recorded:
    now = datetime.now(UTC)
    async with rt.transaction() as uow:
        s = uow.session
        await repo.lock_lead(s, body.lead_id)
        if await repo.lead_erased(s, body.lead_id):
            # The person asked to be forgotten: the stage (and recycle) still count, the
            # reason does not, not even a code (contract: Erasure lists outcome reasons).
            body = body.model_copy(update={"reason": None})
        if receipt.integration_id is not None and receipt.webhook_id is not None:
            seen = await repo.webhook_receipt(s, receipt.integration_id, receipt.webhook_id)
            if seen is not None:
                return Recorded(seen.outcome_id, duplicate=True)
        if must_repeat:
            # Decided again under the lock: the lead may have been assigned again since the
            # retry was recognised, which makes the same body a new outcome of another rep's.
            recorded = await _own_repeat(s, body, receipt.scope)
            if recorded is None:
                raise NotARepeat("no longer a repeat of this sender's outcome")
        else:
            recorded = await _first_answer(s, body, receipt.scope)
        if recorded is None:
            event = LeadOutcome(
                lead_id=body.lead_id,
                stage=body.stage,
                occurred_at=body.occurred_at or now,
                amount=body.amount,
                currency=body.currency,
                # Free text stays in this service's table (erased with the lead), off the log.
                reason=reason_code(body.reason),
                external_id=body.external_id,
                recycle=bool(body.recycle),  # OutcomeIn has applied the default
            )
            envelope = uow.emit(event)
            outcome = Outcome(
                outcome_id=uuid.uuid4(),
                lead_id=body.lead_id,
                stage=body.stage,
                occurred_at=event.occurred_at,
                amount=body.amount,
                currency=body.currency,
                reason=body.reason,
                external_id=body.external_id,
                external_scope=receipt.scope,
                reopen=body.reopen,
                recycle=event.recycle,
                ce_id=envelope.id,
                created_at=now,
                integration_id=receipt.integration_id,
            )
            s.add(outcome)
            recorded = Recorded(outcome.outcome_id, duplicate=False)
        if receipt.integration_id is not None and receipt.webhook_id is not None:
            s.add(
                WebhookReceipt(
                    integration_id=receipt.integration_id,
                    webhook_id=receipt.webhook_id,
                    outcome_id=recorded.outcome_id,
                    received_at=now,
                )
            )
    return recorded


async def repeated(rt: Runtime, body: OutcomeIn, receipt: Receipt) -> bool:
    """Whether the same sender already reported this outcome (a retry: it gets the first
    answer even where its sender may no longer post new outcomes on the lead)."""
    async with rt.sessions() as s:
        return await _own_repeat(s, body, receipt.scope) is not None


async def _own_repeat(s: AsyncSession, body: OutcomeIn, scope: str) -> Recorded | None:
    """The first answer to this outcome if the same sender (id space) gave it, else None."""
    try:
        recorded = await _first_answer(s, body, scope)
    except OutcomeConflict:
        return None
    if recorded is None:
        return None
    first = await s.get(Outcome, recorded.outcome_id)
    return recorded if first is not None and first.external_scope == scope else None


async def _first_answer(s: AsyncSession, body: OutcomeIn, scope: str) -> Recorded | None:
    """The answer already given to this outcome, or None; raises on a contradiction."""
    if body.external_id:
        first = await repo.outcome_by_external_id(s, scope, body.external_id)
    elif body.stage == "rejected":
        # A recycled lead may come back, be assigned again and be rejected again: a
        # rejection repeats the latest one only while no assignment followed it. Followed
        # it on our clock: when it was stored, not the `occurred_at` its sender backdates.
        first = await repo.latest_rejection(s, body.lead_id)
        if first is not None and await repo.assigned_after(s, body.lead_id, first.created_at):
            first = None
    else:
        first = await repo.first_outcome_at_stage(s, body.lead_id, body.stage)
    if first is not None:
        if (first.lead_id, first.stage) != (body.lead_id, body.stage):
            raise OutcomeConflict("This external_id was already used for another outcome.")
        return Recorded(first.outcome_id, duplicate=True)
    history = await repo.stage_history(s, body.lead_id)
    why = domain.stage_conflict(history, body.stage, reopen=body.reopen)
    if why:
        raise OutcomeConflict(why)
    return None


# ---------------------------------------------------------------- integrations


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Created:
    """A new integration and its credential, which is shown this once."""

    integration: Integration
    token: str | None = None
    secret: str | None = None


async def create_integration(rt: Runtime, name: str, kind: Kind) -> Created:
    """A token (`lf_it_…`, stored as its SHA-256) or a webhook secret (`whsec_…`, stored)."""
    token = secret = None
    if kind == "token":
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        hint = token[: len(TOKEN_PREFIX) + 4] + "…"
    else:
        secret = webhooks.new_secret()
        hint = secret[:10] + "…"
    integration = Integration(
        integration_id=uuid.uuid4(),
        name=name,
        kind=kind,
        token_hash=token_hash(token) if token else None,
        hint=hint,
        secret=secret_box(rt.settings).seal(secret) if secret else None,  # stored sealed
        created_at=datetime.now(UTC),
    )
    async with rt.transaction() as uow:
        s = uow.session
        s.add(integration)
    return Created(integration, token=token, secret=secret)


async def assigned_rep(rt: Runtime, lead_id: uuid.UUID) -> uuid.UUID | None:
    """The rep the lead is assigned to now, as this service has folded it."""
    async with rt.sessions() as s:
        return await repo.assigned_rep(s, lead_id)


async def list_integrations(rt: Runtime) -> list[Integration]:
    async with rt.sessions() as s:
        return await repo.integrations(s)


async def revoke_integration(rt: Runtime, integration_id: uuid.UUID) -> bool:
    """Revoke (idempotent); False when there is no such integration."""
    async with rt.transaction() as uow:
        s = uow.session
        integration = await repo.get_integration(s, integration_id)
        if integration is None:
            return False
        integration.revoked_at = integration.revoked_at or datetime.now(UTC)
    return True


async def token_integration(rt: Runtime, token: str) -> uuid.UUID | None:
    """The live token integration this bearer token belongs to, if any."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_CHARS:
        return None
    async with rt.sessions() as s:
        found = await repo.live_token_integration(s, token_hash(token))
    return found.integration_id if found else None


async def verified_webhook(
    rt: Runtime,
    integration_id: uuid.UUID,
    raw: bytes,
    headers: Mapping[str, str],
    *,
    now: float | None = None,
) -> tuple[OutcomeIn, Receipt]:
    """Verify a signed delivery; its outcome then goes to `record_outcome` like any other.

    The body is the outcome, or a Standard Webhooks payload `{type, timestamp, data}` whose
    `data` is the outcome. Raises WebhookRefused, or pydantic's ValidationError for a bad body.
    """
    async with rt.sessions() as s:
        integration = await repo.get_integration(s, integration_id)
    if (
        integration is None
        or integration.kind != "webhook"
        or integration.revoked_at is not None
        or integration.secret is None
    ):
        raise WebhookRefused("no live webhook integration with this id")
    try:
        secret = secret_box(rt.settings).open(integration.secret)
    except SecretUnreadable as exc:
        raise WebhookRefused("this integration's secret cannot be read; create a new one") from exc
    try:
        webhooks.verify(secret, raw, headers, now=now)
    except webhooks.InvalidSignature as exc:
        raise WebhookRefused(str(exc)) from exc
    body = OutcomeIn.model_validate(_outcome_body(raw))
    webhook_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
    if len(webhook_id) > 200:  # fits the column without two ids sharing a prefix colliding
        webhook_id = "sha256:" + hashlib.sha256(webhook_id.encode()).hexdigest()
    return body, Receipt(integration_id, webhook_id, scope=str(integration_id))


def _outcome_body(raw: bytes) -> Any:
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested beyond the decoder's stack
        return None  # pydantic reports it: not an object
    if isinstance(parsed, dict) and "data" in parsed and "type" in parsed:
        return parsed["data"]
    return parsed
