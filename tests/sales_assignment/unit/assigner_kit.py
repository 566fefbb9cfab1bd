"""What sales-assignment's database-free handler tests share: their Monday morning, an MQL as
lead-scoring publishes it, and an assigner with no runtime behind it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import cast

from leadflow.events import Envelope, Lead, LeadQualified
from leadflow.service import Runtime
from sales_assignment.assigning import Assigner
from sales_assignment.settings import AssignmentSettings

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning


def qualified() -> tuple[Envelope, LeadQualified]:
    """A new MQL (80 at 60) from Germany, captured and scored at NOW: its envelope and event."""
    lead_id = uuid.uuid4()
    lead = Lead(lead_id=lead_id, email="ada@acme.example", captured_at=NOW, country="DE")
    event = LeadQualified(lead_id=lead_id, lead=lead, score=80, qualified=True, threshold=60,
                          factors=[], model_version="rules-1", scored_at=NOW)  # fmt: skip
    return Envelope(data=event, source="/scoring"), event


def assigner() -> Assigner:
    """An assigner whose clock says NOW; no runtime needed (the unit of work is given)."""
    settings = AssignmentSettings(admin_token="dev-test-admin", database_url="sqlite://")
    return Assigner(cast(Runtime, None), settings, clock=lambda: NOW)
