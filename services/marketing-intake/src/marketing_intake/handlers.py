"""marketing-intake's use cases: keys, accepting leads (outbox), export and erasure."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from contextvars import Context, copy_context
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus import Handlers
from leadflow.events import Envelope, Lead, LeadCaptured, LeadErased
from leadflow.groupcommit import GroupCommit
from leadflow.leadbody.normalize import (
    FieldError,
    FormSpec,
    LeadInvalid,
    dedupe_key,
    normalize_lead,
)
from leadflow.outbox import add_event, forget_lead
from leadflow.service import Runtime
from marketing_intake import repo
from marketing_intake.models import IdempotentResponse, StoredLead
from marketing_intake.settings import IntakeSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    """A capture stored: its lead, and the id it was given, which is the lead's only if it
    made the lead (a touch's is its own, tied to nothing: what an anonymous post is told)."""

    lead_id: uuid.UUID
    duplicate: bool
    submission_id: uuid.UUID


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


@dataclass(frozen=True)
class Capture:
    """A valid lead on its way into the database, with the request context it came from."""

    lead: Lead
    source: str
    remember: Remember | None = None
    context: Context | None = None  # the request's trace, for the event
    key_id: uuid.UUID | None = None  # the API key it came with (None: a web form)


async def accept_lead(
    rt: Runtime,
    raw: Mapping[str, Any],
    *,
    source: str,
    form: FormSpec | None = None,
    remember: Remember | None = None,
    key_id: uuid.UUID | None = None,
) -> Accepted:
    """Validate, store and stage `leads.captured` in one transaction (raises LeadInvalid).

    Concurrent requests share their transaction (group commit): the answer still waits for
    the commit that holds this lead, its event and its idempotency record.
    """
    lead = _normalize(rt, raw, source, form)
    capture = Capture(lead, source, remember, copy_context(), key_id)
    accepted = await capture_group(rt).submit(capture)
    _log_accepted(accepted, source)
    return accepted


def capture_group(rt: Runtime) -> GroupCommit[Capture, Accepted]:
    """The group commit that stores this process's single leads."""

    async def store(s: AsyncSession, captures: Sequence[Capture]) -> list[Accepted]:
        return await _store_captures(rt, s, captures)

    return rt.group_commit("capture", store)


async def accept_batch(
    rt: Runtime,
    items: Sequence[Mapping[str, Any] | Sequence[FieldError]],
    *,
    source: str,
    remember: Remember | None = None,
    key_id: uuid.UUID | None = None,
) -> list[BatchItem]:
    """Each item a raw lead (or its errors); every valid one is stored in ONE transaction."""
    results: list[BatchItem] = []
    captures: list[tuple[int, Capture]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            results.append(BatchItem(index, errors=tuple(item)))
            continue
        try:
            lead = _normalize(rt, item, source, None)
            captures.append((index, Capture(lead, source, key_id=key_id)))
        except LeadInvalid as exc:
            results.append(BatchItem(index, errors=tuple(exc.errors)))
    async with rt.transaction() as s:
        stored = await _store_captures(rt, s, [c for _, c in captures])
        results += [BatchItem(i, accepted=a) for (i, _), a in zip(captures, stored, strict=True)]
        results.sort(key=lambda r: r.index)
        _remember(s, remember, batch_body(results))
    for accepted in stored:
        _log_accepted(accepted, source)
    return results


async def _store_captures(
    rt: Runtime, s: AsyncSession, captures: Sequence[Capture]
) -> list[Accepted]:
    """Store new leads or new touches of recent ones, and stage their events.

    One query finds the recent leads of everyone in `captures`; the same person twice in
    one group is one lead with two touches, as if they had come one after the other.
    """
    if not captures:
        return []
    window = timedelta(days=_settings(rt).duplicate_window_days)
    keys = [dedupe_key(c.lead.email) for c in captures]
    await repo.lock_people(s, keys)
    known: dict[str, StoredLead] = {}
    if window:
        since = min(c.lead.captured_at for c in captures) - window
        for stored in await repo.recent_leads(s, set(keys), since):
            known.setdefault(stored.dedupe_key or "", stored)  # newest first
    accepted: list[Accepted] = []
    fresh: dict[str, dict[str, Any]] = {}  # new leads of this group, by person
    rows: list[dict[str, Any]] = []
    for capture, key in zip(captures, keys, strict=True):
        lead, now = capture.lead, capture.lead.captured_at
        row, existing = fresh.get(key), known.get(key)
        if window and row is not None:  # new in this group and here again: a second touch
            row["touches"] += 1
            row["last_touch_at"] = now
            lead_id, touches = row["lead_id"], row["touches"]
        elif window and existing is not None and existing.last_touch_at >= now - window:
            existing.touches += 1
            existing.last_touch_at = now
            lead_id, touches = existing.lead_id, existing.touches
        else:
            lead_id, touches = lead.lead_id, 1
            row = fresh[key] = repo.lead_row(lead, key, capture.key_id)
            rows.append(row)
        if touches > 1:
            touch = lead.model_copy(update={"lead_id": lead_id})
            event = LeadCaptured(lead_id=lead_id, lead=touch, duplicate=True, touch=touches)
        else:
            event = LeadCaptured(lead_id=lead_id, lead=lead)
        accepted.append(Accepted(lead_id, touches > 1, lead.lead_id))
        envelope = (
            capture.context.run(rt.envelope, event) if capture.context else rt.envelope(event)
        )
        await add_event(s, envelope)
        if capture.remember is not None:
            _remember(s, capture.remember, accepted_body(accepted[-1]))
    repo.insert_leads(s, rows)
    return accepted


def _log_accepted(accepted: Accepted, source: str) -> None:
    log.info(
        "lead accepted",
        extra={"lead_id": str(accepted.lead_id), "duplicate": accepted.duplicate, "source": source},
    )


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


def accepted_json(accepted: Accepted) -> bytes:
    """`accepted_body` as JSON."""
    return to_json(accepted_body(accepted))


async def replay(rt: Runtime, owner: str, key: str) -> IdempotentResponse | None:
    """The first answer under this key, while it is remembered (`idempotency_ttl_hours`).

    Once that has passed, the key is free again: the answers remembered as long are
    forgotten with it (one indexed DELETE), so the request is handled as a new one.
    """
    async with rt.sessions() as s:
        stored = await repo.remembered(s, owner, key)
    if stored is None:
        return None
    cutoff = datetime.now(UTC) - timedelta(hours=_settings(rt).idempotency_ttl_hours)
    if stored.created_at >= cutoff:
        return stored
    async with rt.transaction() as s:
        await repo.forget_before(s, cutoff)
    return None


async def export_lead(
    rt: Runtime, lead_id: uuid.UUID, *, key_id: uuid.UUID | None = None
) -> StoredLead | None:
    """The lead; with `key_id`, only if that key captured it (None for another's)."""
    async with rt.sessions() as s:
        stored = await repo.get_lead(s, lead_id)
    if stored is not None and key_id is not None and stored.captured_by != key_id:
        return None
    return stored


async def erase_lead(rt: Runtime, lead_id: uuid.UUID) -> bool:
    """Remove the person's data and publish `leads.erased` once; False if unknown."""
    async with rt.transaction() as s:
        stored = await repo.get_lead(s, lead_id)
        if stored is None:
            return False
        if stored.erased_at is None:
            now = datetime.now(UTC)
            _erase(stored, now)
            await forget_lead(s, lead_id)  # its leads.captured, published or not
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
        await forget_lead(session, stored.lead_id)


HANDLERS: Handlers = {LeadErased: on_lead_erased}
