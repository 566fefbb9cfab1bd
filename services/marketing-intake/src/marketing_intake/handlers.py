"""marketing-intake's use cases: keys, accepting leads (outbox), export and erasure."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus import Handlers
from leadflow.events import Envelope, Lead, LeadCaptured, LeadErased
from leadflow.service import Runtime
from marketing_intake import repo
from marketing_intake.models import IdempotentResponse, StoredLead
from marketing_intake.normalize import FieldError, FormSpec, LeadInvalid, dedupe_key, normalize_lead
from marketing_intake.settings import IntakeSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    lead_id: uuid.UUID
    duplicate: bool


@dataclass(frozen=True)
class Remember:
    """Store the answer under an Idempotency-Key, in the lead's own transaction."""

    owner: str
    key: str
    request_hash: str
    status: int = 202


@dataclass(frozen=True)
class BatchItem:
    """One lead of a batch: accepted (with its id) or invalid (with its errors)."""

    index: int
    accepted: Accepted | None = None
    errors: tuple[FieldError, ...] = ()


def _normalize(rt: Runtime, raw: Mapping[str, Any], source: str, form: FormSpec | None) -> Lead:
    settings = _settings(rt)
    now = datetime.now(UTC)
    return normalize_lead(
        raw,
        lead_id=uuid.uuid4(),
        captured_at=now,
        form=form,
        custom_max_bytes=settings.custom_max_bytes,
        source=source,
    )


def _settings(rt: Runtime) -> IntakeSettings:
    assert isinstance(rt.settings, IntakeSettings)
    return rt.settings


async def accept_lead(
    rt: Runtime,
    raw: Mapping[str, Any],
    *,
    source: str,
    form: FormSpec | None = None,
    remember: Remember | None = None,
) -> Accepted:
    """Validate, store and stage `leads.captured` in one transaction (raises LeadInvalid)."""
    lead = _normalize(rt, raw, source, form)
    async with rt.transaction() as s:
        await repo.lock_people(s, [dedupe_key(lead.email)])
        accepted = await _capture(rt, s, lead, source)
        _remember(s, remember, accepted_body(accepted))
    return accepted


async def accept_batch(
    rt: Runtime,
    items: Sequence[Mapping[str, Any] | Sequence[FieldError]],
    *,
    source: str,
    remember: Remember | None = None,
) -> list[BatchItem]:
    """Each item a raw lead (or its errors); every valid one is stored in ONE transaction."""
    results: list[BatchItem] = []
    leads: list[tuple[int, Lead]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            results.append(BatchItem(index, errors=tuple(item)))
            continue
        try:
            leads.append((index, _normalize(rt, item, source, None)))
        except LeadInvalid as exc:
            results.append(BatchItem(index, errors=tuple(exc.errors)))
    async with rt.transaction() as s:
        await repo.lock_people(s, [dedupe_key(lead.email) for _, lead in leads])
        for index, lead in leads:
            results.append(BatchItem(index, accepted=await _capture(rt, s, lead, source)))
        results.sort(key=lambda r: r.index)
        _remember(s, remember, batch_body(results))
    return results


async def _capture(rt: Runtime, s: AsyncSession, lead: Lead, source: str) -> Accepted:
    """Store a new lead or a new touch of a recent one, and stage its event (caller's lock)."""
    settings = _settings(rt)
    now = lead.captured_at
    key = dedupe_key(lead.email)
    since = now - timedelta(days=settings.duplicate_window_days)
    existing = await repo.recent_lead(s, key, since) if settings.duplicate_window_days else None
    if existing is not None:
        existing.touches += 1
        existing.last_touch_at = now
        touch = lead.model_copy(update={"lead_id": existing.lead_id})
        event = LeadCaptured(
            lead_id=existing.lead_id, lead=touch, duplicate=True, touch=existing.touches
        )
        accepted = Accepted(existing.lead_id, duplicate=True)
    else:
        s.add(
            StoredLead(
                lead_id=lead.lead_id,
                dedupe_key=key,
                data=lead.model_dump(mode="json"),
                touches=1,
                captured_at=now,
                last_touch_at=now,
            )
        )
        event = LeadCaptured(lead_id=lead.lead_id, lead=lead)
        accepted = Accepted(lead.lead_id, duplicate=False)
    await rt.emit(s, event)
    log.info(
        "lead accepted",
        extra={"lead_id": str(accepted.lead_id), "duplicate": accepted.duplicate, "source": source},
    )
    return accepted


def _remember(s: AsyncSession, remember: Remember | None, body: dict[str, Any]) -> None:
    """Store the answer under its Idempotency-Key; a concurrent twin fails on commit."""
    if remember is not None:
        s.add(
            IdempotentResponse(
                owner=remember.owner,
                key=remember.key,
                request_hash=remember.request_hash,
                status=remember.status,
                body=body,
                created_at=datetime.now(UTC),
            )
        )


def batch_body(results: Sequence[BatchItem]) -> dict[str, Any]:
    items = []
    for r in results:
        a = r.accepted
        items.append(
            {
                "index": r.index,
                "status": "accepted" if a else "invalid",
                "lead_id": str(a.lead_id) if a else None,
                "duplicate": a.duplicate if a else False,
                "errors": [{"field": e.field, "message": e.message} for e in r.errors],
            }
        )
    accepted = sum(1 for r in results if r.accepted)
    return {"accepted": accepted, "invalid": len(results) - accepted, "results": items}


def accepted_body(accepted: Accepted) -> dict[str, Any]:
    return {"lead_id": str(accepted.lead_id), "status": "accepted", "duplicate": accepted.duplicate}


async def replay(rt: Runtime, owner: str, key: str) -> IdempotentResponse | None:
    async with rt.sessions() as s:
        return await repo.remembered(s, owner, key)


async def export_lead(rt: Runtime, lead_id: uuid.UUID) -> StoredLead | None:
    async with rt.sessions() as s:
        return await repo.get_lead(s, lead_id)


async def erase_lead(rt: Runtime, lead_id: uuid.UUID) -> bool:
    """Remove the person's data and publish `leads.erased` once; False if unknown."""
    async with rt.transaction() as s:
        stored = await repo.get_lead(s, lead_id)
        if stored is None:
            return False
        if stored.erased_at is None:
            now = datetime.now(UTC)
            _erase(stored, now)
            await rt.emit(s, LeadErased(lead_id=lead_id, erased_at=now))
    return True


def _erase(stored: StoredLead, now: datetime) -> None:
    stored.data = {"lead_id": str(stored.lead_id)}
    stored.dedupe_key = None
    stored.erased_at = now


def stored_lead(stored: StoredLead) -> Lead | None:
    return None if stored.erased_at else Lead.model_validate(stored.data)


async def on_lead_erased(session: AsyncSession, env: Envelope) -> None:
    """Another replica (or a replay) erased the lead: make sure nothing personal is left."""
    stored = await repo.get_lead(session, env.data.lead_id)
    if stored is not None and stored.erased_at is None:
        assert isinstance(env.data, LeadErased)
        _erase(stored, env.data.erased_at)


HANDLERS: Handlers = {LeadErased: on_lead_erased}
