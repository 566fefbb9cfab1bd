"""Folding events, without a database: the handler defers the fold to the commit, and the
fold stages the journey and facts rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from feedback.handlers import apply_fold, fold_events, record_events
from feedback.models import JourneyEvent, LeadFacts
from leadflow.events import Attribution, Envelope, Lead, LeadCaptured, LeadErased
from leadflow.uow import MemoryUnitOfWork

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_events_are_folded_once_at_the_commit_into_journey_and_facts_rows() -> None:
    uow = MemoryUnitOfWork()
    lead_id = uuid.uuid4()
    lead = Lead(
        lead_id=lead_id,
        email="ada@acme.example",
        captured_at=NOW,
        attribution=Attribution(source="webinar"),
    )
    envs = [
        Envelope(data=LeadCaptured(lead_id=lead_id, lead=lead), source="/intake"),
        Envelope(data=LeadErased(lead_id=lead_id, erased_at=NOW), source="/intake"),
    ]
    await record_events(uow, envs[:1])
    await record_events(uow, envs[1:])
    assert uow.steps == {fold_events: envs}  # one fold for the transaction, at its commit
    assert uow.staged.rows == []

    seen = {"replayed-before"}
    erased = apply_fold(uow, envs, {}, seen)  # what the fold does once it has read the rows

    assert erased == [lead_id]
    journey, facts = uow.staged.rows
    assert journey.table.name == JourneyEvent.__tablename__
    assert [(r["ce_id"], r["ce_type"]) for r in journey.rows] == [(e.id, e.type) for e in envs]
    assert (facts.table.name, facts.replace) == (LeadFacts.__tablename__, True)
    [row] = facts.rows
    assert (row["lead_id"], row["source"], row["erased_at"]) == (lead_id, "webinar", NOW)
    assert seen == {"replayed-before", *(e.id for e in envs)}
    assert uow.emitted == []
