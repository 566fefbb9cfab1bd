"""Pure conversions: stored rows → domain reps and facts, webhook bodies, erasure redaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic_core import from_json, to_json

from leadflow.events import LeadQualified, RepRef
from sales_assignment.account_match import walk_up
from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.models import AssignmentRow, RepRow

# What identifies the person (the contract's list); dropped on erasure, with the
# attribution's free text and the routing facts' domains.
PERSONAL_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "company",
    "job_title",
    "website",
    "custom",
    "consent",
)
PERSONAL_ATTRIBUTION = ("referrer", "landing_page", "utm_term", "utm_content")
PERSONAL_FACTS = ("email_domain", "website_domain", "company")
ERASED = "[erased]"
EVENT_TYPES = ("lead.assigned", "lead.reassigned", "lead.queued", "lead.erased")


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
        "company": facts.company,
    }


def facts_of(row: AssignmentRow) -> LeadFacts:
    return LeadFacts(lead_id=row.lead_id, **row.facts)


def score_doc(event: LeadQualified) -> dict[str, Any]:
    return event.model_dump(
        mode="json",
        include={"score", "qualified", "threshold", "factors", "model_version", "scored_at"},
    )


def cycle_columns(event: LeadQualified, now: datetime) -> dict[str, Any]:
    """An assignment row's columns as a qualification starts its cycle (a new MQL, or a
    recycled lead qualified again): nobody's, queued until routed, the lead and score as now."""
    return {
        "rep_id": None,
        "status": "queued",
        "attempt": 0,
        "rule": None,
        "reason": {},
        "lead": event.lead.model_dump(mode="json"),
        "facts": facts_doc(LeadFacts.from_lead(event.lead, event.score)),
        "score": score_doc(event),
        "queued_at": now,
        "assigned_at": None,
        "accepted_at": None,
        "sla_due_at": None,
        "closed_at": None,
        "recycled_at": None,
    }


def redact(lead: dict[str, Any]) -> dict[str, Any]:
    """The lead without what identifies the person."""
    kept = {k: v for k, v in lead.items() if k not in PERSONAL_FIELDS} | {"erased": True}
    if isinstance(kept.get("attribution"), dict):
        attribution = kept["attribution"]
        kept["attribution"] = {
            k: v for k, v in attribution.items() if k not in PERSONAL_ATTRIBUTION
        }
    return kept


def redact_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Routing facts without the company's domains (nothing routes an erased lead again)."""
    return facts | dict.fromkeys(PERSONAL_FACTS)


def erased_words(facts: dict[str, Any]) -> set[str]:
    """What of an erased lead routing wrote into reasons: its domains and their parents
    (an account owner of acme.com matched eu.acme.com), down to two labels."""
    words: set[str] = set()
    for name in PERSONAL_FACTS:
        # A parent with an empty label ("com." of "acme.com.") is no domain to scrub.
        words.update(w for w in walk_up(str(facts.get(name) or "")) if "" not in w.split("."))
    return words


def scrub(value: Any, words: set[str]) -> Any:
    """`value` (JSON) with every string's occurrences of `words` replaced, longest first."""
    if isinstance(value, str):
        for word in sorted(words, key=len, reverse=True):
            value = value.replace(word, ERASED)
        return value
    if isinstance(value, dict):
        return {k: scrub(v, words) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, words) for v in value]
    return value


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


def webhook_data(row: AssignmentRow, rep: RepRow | None) -> dict[str, Any]:
    """A webhook's `data`; `rep` is null while the lead waits in the queue (`lead.queued`)."""
    return {
        "lead": row.lead,
        "rep": rep_doc(rep) if rep is not None else None,
        "score": row.score,
        "assignment": assignment_doc(row),
    }


def webhook_body(event_type: str, timestamp: datetime, data: dict[str, Any]) -> bytes:
    """The exact bytes a delivery sends and signs, on every attempt: compact UTF-8 JSON,
    written by pydantic-core (less CPU than the json module: docs/decisions.md, session 5)."""
    doc = {"type": event_type, "timestamp": timestamp.isoformat(), "data": data}
    return to_json(doc)


def redact_body(
    body: bytes, words: set[str], kept: Callable[[dict[str, Any]], dict[str, Any]]
) -> bytes:
    """A stored webhook body with the lead's personal data dropped (`words`: see `scrub`);
    `kept` gives what stays of its lead (erasure also coarsens the facts: `erasure.strip`)."""
    doc = from_json(body)
    doc["data"]["lead"] = kept(doc["data"].get("lead") or {})
    return to_json(scrub(doc, words))


def erased_body(lead_id: uuid.UUID, timestamp: datetime) -> bytes:
    """A `lead.erased` webhook: it names the lead and nothing else."""
    return webhook_body("lead.erased", timestamp, {"lead": {"lead_id": str(lead_id)}})


def message_seq(event_type: str, attempt: int) -> int:
    """Where a message goes in its lead's order (deliveries are sent in it): attempt n's
    assignment is 2n - 1, the queue after attempt n 2n (a new lead's: 0), the erasure last."""
    if event_type == "lead.queued":
        return 2 * attempt
    if event_type == "lead.erased":
        return 2 * attempt + 1
    return 2 * attempt - 1


def message_id() -> str:
    """A Standard Webhooks message id, unique per delivery (receivers dedupe on it)."""
    return f"msg_{uuid.uuid4().hex}"
