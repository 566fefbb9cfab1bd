"""Scoring captured leads, without a database: what the handler emits and stages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from lead_scoring import repo
from lead_scoring.handlers import score_captured
from lead_scoring.models import LeadScore
from lead_scoring.rules import DEFAULT_RULES
from leadflow.events import Envelope, Lead, LeadCaptured, LeadQualified, LeadScored
from leadflow.uow import MemoryUnitOfWork

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def captured(**fields: object) -> Envelope:
    lead = Lead.model_validate(
        {"lead_id": uuid.uuid4(), "email": "ada@acme.example", "captured_at": NOW, **fields}
    )
    return Envelope(data=LeadCaptured(lead_id=lead.lead_id, lead=lead), source="/intake")


def test_a_new_lead_is_scored_staged_and_published_once_and_an_erased_one_is_skipped() -> None:
    uow = MemoryUnitOfWork()
    strong = captured(job_title="VP Sales", company_size=5000, country="US", industry="software")
    weak, erased = captured(), captured()
    states = {erased.data.lead_id: repo.ScoreState(1, False, True, None)}

    rescored = score_captured(uow, [strong, weak, erased], states, DEFAULT_RULES, None, now=NOW)

    assert rescored == {}  # nothing was stored before
    scored = [e.data for e in uow.emitted if type(e.data) is LeadScored]
    assert [s.lead_id for s in scored] == [strong.data.lead_id, weak.data.lead_id]
    qualified = [e.data.lead_id for e in uow.emitted if type(e.data) is LeadQualified]
    assert qualified == [s.lead_id for s in scored if s.qualified]
    assert all(e.id != env.id for e in uow.emitted for env in (strong, weak))  # new events
    messages, [(table, rows, replace)] = uow.staged
    assert len(messages) == len(uow.emitted)
    assert (table.name, replace) == (LeadScore.__tablename__, False)
    assert [r["lead_id"] for r in rows] == [strong.data.lead_id, weak.data.lead_id]
    assert states[strong.data.lead_id].touches == 1  # what later events of the batch see
