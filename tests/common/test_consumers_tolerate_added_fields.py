"""Each service's consumer handles an event carrying fields a newer producer added (at the
top and inside lead, attribution, consent) instead of dead-lettering it: real broker, the
service's own app and handlers, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from feedback import app as feedback_app
from feedback.settings import FeedbackSettings
from lead_scoring import app as scoring_app
from lead_scoring.settings import ScoringSettings
from leadflow.events import (
    AssignmentReason,
    Attribution,
    Consent,
    Envelope,
    Event,
    Factor,
    Lead,
    LeadAssigned,
    LeadCaptured,
    LeadErased,
    LeadOutcome,
    LeadQualified,
    LeadScored,
    RepRef,
    dlq_topic,
)
from leadflow.outbox import inbox_table
from leadflow.settings import Settings
from marketing_intake import app as intake_app
from marketing_intake.settings import IntakeSettings
from sales_assignment import app as assignment_app
from sales_assignment.settings import AssignmentSettings
from support.apps import build, dispose, runtime
from support.kafka_tools import end_offsets, eventually, place_group_at_end, read_after

pytestmark = pytest.mark.kafka

NOW = datetime.now(UTC)


def a_lead() -> Lead:
    return Lead(
        lead_id=uuid.uuid4(),
        email="grace@bigco.example.com",
        company="BigCo",
        job_title="CTO",
        company_size=400,
        country="DE",
        attribution=Attribution(source="webinar", utm_campaign="q4"),
        consent=Consent(marketing=True, text="Yes", granted_at=NOW),
        captured_at=NOW,
    )


def scored(cls: type[LeadScored], lead: Lead) -> LeadScored:
    factors = [Factor(name="title", points=30, reason="CTO")]
    return cls(
        lead_id=lead.lead_id,
        score=80,
        qualified=True,
        threshold=60,
        factors=factors,
        model_version="test",
        scored_at=NOW,
        lead=lead,
    )


def every_event() -> dict[type[Event], Event]:
    lead = a_lead()
    rep = RepRef(rep_id=uuid.uuid4(), name="Rep", email="rep@example.com")
    return {
        LeadCaptured: LeadCaptured(lead_id=lead.lead_id, lead=lead),
        LeadScored: scored(LeadScored, lead),
        LeadQualified: scored(LeadQualified, lead),
        LeadAssigned: LeadAssigned(
            lead_id=lead.lead_id,
            rep=rep,
            reason=AssignmentReason(rule="round_robin"),
            assigned_at=NOW,
            attempt=1,
        ),
        LeadOutcome: LeadOutcome(
            lead_id=lead.lead_id, stage="won", occurred_at=NOW, amount=Decimal("10"), currency="EUR"
        ),
        LeadErased: LeadErased(lead_id=uuid.uuid4(), erased_at=NOW),  # another person
    }


def with_added_fields(doc: Any, depth: int = 0) -> Any:
    """Every object gains a field this code does not know (a custom map's keys are data)."""
    if not isinstance(doc, dict):
        return doc
    out = {k: v if k == "custom" else with_added_fields(v, depth + 1) for k, v in doc.items()}
    out[f"added_in_a_later_version_{depth}"] = {"any": ["shape", 1]}
    return out


Service = tuple[type[Settings], Callable[[Any], FastAPI], Path, list[type[Event]]]
SERVICES: dict[str, Service] = {
    "marketing-intake": (IntakeSettings, intake_app.build_app, intake_app.MIGRATIONS, [LeadErased]),
    "lead-scoring": (
        ScoringSettings,
        scoring_app.build_app,
        scoring_app.MIGRATIONS,
        [LeadCaptured, LeadOutcome, LeadErased],
    ),
    "sales-assignment": (
        AssignmentSettings,
        assignment_app.build_app,
        assignment_app.MIGRATIONS,
        [LeadQualified, LeadOutcome, LeadErased],
    ),
    "feedback": (
        FeedbackSettings,
        feedback_app.build_app,
        feedback_app.MIGRATIONS,
        [LeadCaptured, LeadScored, LeadQualified, LeadAssigned, LeadOutcome, LeadErased],
    ),
}


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_a_consumer_handles_events_with_added_fields_instead_of_dead_lettering_them(
    service: str, database_url: str, kafka_bootstrap: str
) -> None:
    settings_cls, build_app, migrations, kinds = SERVICES[service]
    group = f"{service}-evolution-{uuid.uuid4().hex[:8]}"
    app = await build(
        settings_cls,
        build_app,
        migrations,
        database_url,
        kafka_bootstrap=kafka_bootstrap,
        consumer_group=group,
        consumer_max_attempts=1,
    )
    rt = runtime(app)
    events = every_event()
    sent = [Envelope(data=events[kind], source="/a-newer-producer") for kind in kinds]
    topics = sorted({env.topic for env in sent})
    await place_group_at_end(kafka_bootstrap, group, topics)
    dlq_start = await end_offsets(kafka_bootstrap, [dlq_topic(t) for t in topics])
    producer = await rt.producer.get()
    for env in sent:
        value = json.dumps(with_added_fields(json.loads(env.value()))).encode()
        assert b"added_in_a_later_version_2" in value or not hasattr(env.data, "lead")
        await producer.send_and_wait(env.topic, value, key=env.key, headers=env.headers())
    ids = {env.id for env in sent}

    async def handled() -> bool:
        async with rt.sessions() as s:
            q = select(inbox_table.c.event_id).where(inbox_table.c.consumer == group)
            return ids <= set((await s.scalars(q)).all())

    await rt.start()
    try:
        await eventually(handled, timeout=45)
    finally:
        await rt.stop()
        await dispose(app)
    dead = await read_after(kafka_bootstrap, dlq_start, lambda m: False, timeout=1)
    # The dead letters of these events only: the group reads the shared topics, where other
    # tests (other workers) publish events meant to be dead-lettered.
    keys = {env.key for env in sent}
    ours = [
        m
        for m in dead
        if dict(m.headers).get("dlq_consumer_group") == group.encode()
        and dict(m.headers).get("dlq_original_key") in keys
    ]
    assert ours == []
