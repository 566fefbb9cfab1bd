"""marketing-intake's use cases: accepting leads and their touches (outbox), idempotent answers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextvars import Context, copy_context
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.events import Lead, LeadCaptured
from leadflow.groupcommit import GroupCommit
from leadflow.leadbody.normalize import (
    FieldError,
    FormSpec,
    LeadInvalid,
    dedupe_key,
    normalize_lead,
)
from leadflow.leadbody.touch import touch_lead
from leadflow.service import Runtime
from leadflow.uow import UnitOfWork
from marketing_intake import repo
from marketing_intake.models import IdempotentResponse
from marketing_intake.settings import IntakeSettings
from marketing_intake.touches import Seen

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    """A capture stored: the id its caller is told (the lead's, or another key's own row
    of it), and the capture's own id (a touch's is tied to nothing: what a form post is told)."""

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

    async def store(uow: UnitOfWork, captures: Sequence[Capture]) -> list[Accepted]:
        return await _store_captures(rt, uow, captures)

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
    async with rt.transaction() as uow:
        stored = await _store_captures(rt, uow, [c for _, c in captures])
        results += [BatchItem(i, accepted=a) for (i, _), a in zip(captures, stored, strict=True)]
        results.sort(key=lambda r: r.index)
        _remember(uow.session, remember, batch_body(results))
    for accepted in stored:
        _log_accepted(accepted, source)
    return results


async def _store_captures(
    rt: Runtime, uow: UnitOfWork, captures: Sequence[Capture]
) -> list[Accepted]:
    """Store new leads or new touches of recent ones, and stage their events.

    One query finds the recent leads of everyone in `captures`; the same person twice in
    one group is one lead with two touches, as if they had come one after the other. A
    touch never rewrites the lead (touches.py), and only the key that captured a lead is
    told its id: another key is answered with a row of its own (`_answer`).
    """
    if not captures:
        return []
    s = uow.session
    window = timedelta(days=_settings(rt).duplicate_window_days)
    keys = [dedupe_key(c.lead.email) for c in captures]
    await repo.lock_people(s, keys)
    known: dict[str, Seen] = {}  # the recent lead of each person, then this group's new ones
    if window:
        since = min(c.lead.captured_at for c in captures) - window
        for stored in await repo.recent_leads(s, set(keys), since):
            known.setdefault(stored.dedupe_key or "", Seen.of(stored))  # newest first
    theirs = await _submissions(s, known.values(), captures)
    return stage_captures(uow, captures, known, theirs, window)


def stage_captures(
    uow: UnitOfWork,
    captures: Sequence[Capture],
    known: dict[str, Seen],
    theirs: dict[tuple[uuid.UUID, uuid.UUID], Seen],
    window: timedelta,
) -> list[Accepted]:
    """Given each person's recent lead (`known`, by dedupe key) and the rows other keys keep
    of those leads (`theirs`), both updated: emit each capture's `leads.captured`, stage the
    new rows (the changed ones are the session's); the answers, in order."""
    seen: list[Seen] = list(known.values())
    accepted: list[Accepted] = []
    keys = [dedupe_key(c.lead.email) for c in captures]
    for capture, key in zip(captures, keys, strict=True):
        lead = capture.lead
        target = known.get(key)
        if not window or target is None or target.last_touch_at < lead.captured_at - window:
            target = Seen.new(lead, capture.key_id, dedupe_key=key)
            if window:
                known[key] = target
            seen.append(target)
            event = LeadCaptured(lead_id=lead.lead_id, lead=lead)
            accepted.append(Accepted(lead.lead_id, False, lead.lead_id))
        else:
            own = capture.key_id is not None and capture.key_id == target.captured_by
            touches = target.touch(lead, own=own)
            touch = touch_lead(target.data, lead)
            event = LeadCaptured(lead_id=target.lead_id, lead=touch, duplicate=True, touch=touches)
            accepted.append(_answer(target, capture, own, theirs))
        # Each lead's event continues the trace of the request that sent it.
        if capture.context:
            capture.context.run(uow.emit, event)
        else:
            uow.emit(event)
        if capture.remember is not None:
            _remember(uow.session, capture.remember, accepted_body(accepted[-1]))
    rows = [*seen, *theirs.values()]
    for row in rows:
        row.save()
    repo.insert_leads(uow, [row.row() for row in rows if row.stored is None])
    return accepted


async def _submissions(
    s: AsyncSession, leads: Iterable[Seen], captures: Sequence[Capture]
) -> dict[tuple[uuid.UUID, uuid.UUID], Seen]:
    """The rows the keys of `captures` keep of these leads that other keys captured."""
    lead_ids = {lead.lead_id for lead in leads}
    key_ids = {c.key_id for c in captures if c.key_id is not None}
    if not lead_ids or not key_ids:
        return {}
    found = await repo.submissions_of(s, lead_ids, key_ids)
    return {
        (row.touch_of, row.captured_by): Seen.of(row)
        for row in found
        if row.touch_of and row.captured_by
    }


def _answer(
    lead: Seen,
    capture: Capture,
    own: bool,
    theirs: dict[tuple[uuid.UUID, uuid.UUID], Seen],
) -> Accepted:
    """The answer to a touch of `lead`. Its own key is told the lead's id (`duplicate`);
    a form post gets its own id (api_submit answers `submission_id`). Another key is
    answered as for a new person, with a row of its own holding what it sent (the id it
    reads, and a duplicate of its own next time): it never learns the lead is known."""
    submitted = capture.lead
    if own or capture.key_id is None:
        return Accepted(lead.lead_id, True, submitted.lead_id)
    mine = theirs.get((lead.lead_id, capture.key_id))
    if mine is not None:
        mine.touch(submitted, own=True)
        return Accepted(mine.lead_id, True, submitted.lead_id)
    mine = Seen.new(submitted, capture.key_id, touch_of=lead.lead_id)
    theirs[(lead.lead_id, capture.key_id)] = mine
    return Accepted(mine.lead_id, False, submitted.lead_id)


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

    Once that has passed, the key is free again: its answer is forgotten (one row; the
    background purge takes the other stale ones), so the request is handled as a new one.
    """
    async with rt.sessions() as s:
        stored = await repo.remembered(s, owner, key)
    if stored is None:
        return None
    cutoff = datetime.now(UTC) - timedelta(hours=_settings(rt).idempotency_ttl_hours)
    if stored.created_at >= cutoff:
        return stored
    async with rt.transaction() as uow:
        s = uow.session
        await repo.forget_stale(s, owner, key, cutoff)
    return None
