"""Capturing leads, without a database: what the handler emits and stages in its unit of work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from leadflow.events import Lead, LeadCaptured
from leadflow.uow import MemoryUnitOfWork
from marketing_intake.handlers import Capture, stage_captures
from marketing_intake.models import StoredLead

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def lead(email: str, minutes: int = 0) -> Lead:
    return Lead(lead_id=uuid.uuid4(), email=email, captured_at=NOW + timedelta(minutes=minutes))


def test_a_new_person_is_one_new_row_and_one_event_and_a_second_capture_is_a_touch() -> None:
    uow = MemoryUnitOfWork()
    key = uuid.uuid4()
    first, again = lead("ada@acme.example"), lead("ADA@acme.example", minutes=5)
    other = lead("bob@acme.example")
    captures = [Capture(first, "api", key_id=key), Capture(other, "api", key_id=key),
                Capture(again, "api", key_id=key)]  # fmt: skip

    accepted = stage_captures(uow, captures, {}, {}, timedelta(days=30))

    assert [(a.lead_id, a.duplicate) for a in accepted] == [
        (first.lead_id, False),
        (other.lead_id, False),
        (first.lead_id, True),  # the same person: the first lead's id, a touch
    ]
    events = [e.data for e in uow.emitted]
    assert all(isinstance(e, LeadCaptured) for e in events)
    assert [(e.lead_id, e.duplicate) for e in events if isinstance(e, LeadCaptured)] == [
        (first.lead_id, False),
        (other.lead_id, False),
        (first.lead_id, True),
    ]
    messages, rows = uow.staged
    assert [m.topic for m in messages] == ["leads.captured"] * 3
    [(table, stored, replace)] = rows
    assert (table.name, replace) == (StoredLead.__tablename__, False)
    assert [r["lead_id"] for r in stored] == [first.lead_id, other.lead_id]  # two people
    assert uow.callbacks == []
