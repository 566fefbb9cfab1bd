"""marketing-intake's use cases: keys, accepting leads (outbox), export and erasure."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus import Handlers
from leadflow.events import Envelope, Lead, LeadCaptured, LeadErased
from leadflow.service import Runtime
from marketing_intake import repo
from marketing_intake.models import ApiKey, IdempotentResponse, StoredLead
from marketing_intake.normalize import FormSpec, dedupe_key, normalize_lead
from marketing_intake.settings import IntakeSettings

KEY_PREFIX = "lf_sk_"

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


def hash_key(key: str) -> str:
    """Keys are 256 random bits, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(rt: Runtime, name: str) -> tuple[ApiKey, str]:
    """A new key; the plaintext is returned once and never stored."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid.uuid4(),
        name=name,
        prefix=plaintext[: len(KEY_PREFIX) + 4],
        key_hash=hash_key(plaintext),
        created_at=datetime.now(UTC),
    )
    async with rt.transaction() as s:
        s.add(key)
    return key, plaintext


async def authenticate(rt: Runtime, plaintext: str) -> ApiKey | None:
    """The live key with this plaintext, if any."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    async with rt.sessions() as s:
        key = await repo.key_by_hash(s, hash_key(plaintext))
    return key if key is not None and key.revoked_at is None else None


async def accept_lead(
    rt: Runtime,
    raw: Mapping[str, Any],
    *,
    source: str,
    form: FormSpec | None = None,
    remember: Remember | None = None,
) -> Accepted:
    """Validate, store and stage `leads.captured` in one transaction (raises LeadInvalid)."""
    settings = rt.settings
    assert isinstance(settings, IntakeSettings)
    now = datetime.now(UTC)
    lead = normalize_lead(
        raw,
        lead_id=uuid.uuid4(),
        captured_at=now,
        form=form,
        custom_max_bytes=settings.custom_max_bytes,
        source=source,
    )
    key = dedupe_key(lead.email)
    async with rt.transaction() as s:
        await repo.lock_person(s, key)
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
            extra={
                "lead_id": str(accepted.lead_id),
                "duplicate": accepted.duplicate,
                "source": source,
            },
        )
        if remember is not None:
            s.add(
                IdempotentResponse(
                    owner=remember.owner,
                    key=remember.key,
                    request_hash=remember.request_hash,
                    status=202,
                    body=accepted_body(accepted),
                    created_at=now,
                )
            )
    return accepted


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
