"""marketing-intake's lead reads and erasure: export, erase, and erasures seen on the bus."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus import Handlers
from leadflow.events import Envelope, Lead, LeadErased
from leadflow.service import Runtime
from leadflow.uow import UnitOfWork
from marketing_intake import repo
from marketing_intake.models import StoredLead


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
    """Remove the person's data and publish `leads.erased` once; False if unknown.

    Another key's row of a lead (`touch_of`) names the same person: erasing it erases the
    lead, and erasing the lead erases every such row.
    """
    async with rt.transaction() as uow:
        s = uow.session
        stored = await repo.get_lead(s, lead_id)
        if stored is None:
            return False
        if stored.touch_of is not None:
            stored = await repo.get_lead(s, stored.touch_of) or stored
        if stored.erased_at is None:
            now = datetime.now(UTC)
            _erase(stored, now)
            await _erase_submissions(s, stored.lead_id, now)
            await uow.forget_lead(stored.lead_id)  # its leads.captured, published or not
            uow.emit(LeadErased(lead_id=stored.lead_id, erased_at=now))
    return True


async def _erase_submissions(s: AsyncSession, lead_id: uuid.UUID, now: datetime) -> None:
    for row in await repo.submissions_to(s, lead_id):
        if row.erased_at is None:
            _erase(row, now)


def _erase(stored: StoredLead, now: datetime) -> None:
    stored.data = {"lead_id": str(stored.lead_id)}
    stored.dedupe_key = None
    stored.erased_at = now


def stored_lead(stored: StoredLead) -> Lead | None:
    return None if stored.erased_at else Lead.model_validate(stored.data)


async def on_lead_erased(uow: UnitOfWork, env: Envelope) -> None:
    """Another replica (or a replay) erased the lead: make sure nothing personal is left."""
    assert isinstance(env.data, LeadErased)
    session = uow.session
    stored = await repo.get_lead(session, env.data.lead_id)
    if stored is None:
        return
    if stored.erased_at is None:
        _erase(stored, env.data.erased_at)
    await _erase_submissions(session, stored.lead_id, env.data.erased_at)


HANDLERS: Handlers = {LeadErased: on_lead_erased}
