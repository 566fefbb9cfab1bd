"""Pure conversions: stored rows → domain reps and facts, webhook bodies, erasure redaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic_core import from_json, to_json

from leadflow.events import LeadQualified, RepRef
from sales_assignment.models import AssignmentRow, RepRow
from sales_assignment.routing import LeadFacts, Rep

# What identifies the person; dropped on erasure. The routing facts hold none of it.
PERSONAL_FIELDS = ("email", "first_name", "last_name", "phone", "custom", "consent")
EVENT_TYPES = ("lead.assigned", "lead.reassigned")


def to_rep(row: RepRow, open_leads: int) -> Rep:
    """The routing domain's view of a stored rep."""
    return Rep(
        rep_id=row.rep_id,
        name=row.name,
        email=row.email,
        active=row.active,
        weight=row.weight,
        max_open_leads=row.max_open_leads,
        territories=tuple(row.territories),
        segments=tuple(row.segments),
        timezone=row.timezone,
        working_hours=row.working_hours,
        out_of_office=tuple(
            (datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"]))
            for p in row.out_of_office
        ),
        open_leads=open_leads,
    )


def rep_doc(row: RepRow) -> dict[str, Any]:
    return {"rep_id": str(row.rep_id), "name": row.name, "email": row.email}


def rep_ref(row: RepRow) -> RepRef:
    return RepRef(rep_id=row.rep_id, name=row.name, email=row.email)


def facts_doc(facts: LeadFacts) -> dict[str, Any]:
    return {
        "email_domain": facts.email_domain,
        "website_domain": facts.website_domain,
        "country": facts.country,
        "company_size": facts.company_size,
        "industry": facts.industry,
        "score": facts.score,
    }


def facts_of(row: AssignmentRow) -> LeadFacts:
    return LeadFacts(lead_id=row.lead_id, **row.facts)


def score_doc(event: LeadQualified) -> dict[str, Any]:
    return event.model_dump(
        mode="json",
        include={"score", "qualified", "threshold", "factors", "model_version", "scored_at"},
    )


def redact(lead: dict[str, Any]) -> dict[str, Any]:
    """The lead without what identifies the person."""
    return {k: v for k, v in lead.items() if k not in PERSONAL_FIELDS} | {"erased": True}


def assignment_doc(row: AssignmentRow) -> dict[str, Any]:
    return {
        "lead_id": str(row.lead_id),
        "status": row.status,
        "attempt": row.attempt,
        "rule": row.rule,
        "reason": row.reason,
        "assigned_at": row.assigned_at.isoformat() if row.assigned_at else None,
        "sla_due_at": row.sla_due_at.isoformat() if row.sla_due_at else None,
    }


def webhook_data(row: AssignmentRow, rep: RepRow) -> dict[str, Any]:
    return {
        "lead": row.lead,
        "rep": rep_doc(rep),
        "score": row.score,
        "assignment": assignment_doc(row),
    }


def webhook_body(event_type: str, timestamp: datetime, data: dict[str, Any]) -> bytes:
    """The exact bytes a delivery sends and signs, on every attempt: compact UTF-8 JSON,
    written by pydantic-core (several times faster than the json module for a lead)."""
    doc = {"type": event_type, "timestamp": timestamp.isoformat(), "data": data}
    return to_json(doc)


def redact_body(body: bytes) -> bytes:
    """A stored webhook body with the lead's personal data dropped."""
    doc = from_json(body)
    doc["data"]["lead"] = redact(doc["data"].get("lead") or {})
    return to_json(doc)


def message_id() -> str:
    """A Standard Webhooks message id, unique per delivery (receivers dedupe on it)."""
    return f"msg_{uuid.uuid4().hex}"
