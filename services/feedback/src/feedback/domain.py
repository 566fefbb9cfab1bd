"""Pure rules: what of an event the journey keeps, what erasure removes, stage order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from leadflow.events import (
    Event,
    Lead,
    LeadAssigned,
    LeadCaptured,
    LeadErased,
    LeadOutcome,
    LeadScored,
)

CLOSES = ("won", "lost")
ATTRIBUTION_KEPT = ("source", "form_id", "utm_source", "utm_medium", "utm_campaign")
# Keys that may carry personal data or free text about the person; erasure drops them.
ERASED_KEYS = frozenset({"lead", "reason", "factors"})


def lead_snapshot(lead: Lead) -> dict[str, Any]:
    """The lead without anything that identifies the person (no names, contact, company)."""
    return {
        "company_size": lead.company_size,
        "industry": lead.industry,
        "country": lead.country,
        "captured_at": lead.captured_at.isoformat(),
        **{k: getattr(lead.attribution, k) for k in ATTRIBUTION_KEPT},
    }


def journey_data(event: Event) -> dict[str, Any]:
    """What the journey stores of an event: its facts, with the lead reduced to a snapshot."""
    if isinstance(event, LeadCaptured):
        return {
            "touch": event.touch,
            "duplicate": event.duplicate,
            "lead": lead_snapshot(event.lead),
        }
    if isinstance(event, LeadScored):  # and LeadQualified
        return {
            "score": event.score,
            "qualified": event.qualified,
            "threshold": event.threshold,
            "model_version": event.model_version,
            "factors": [f.model_dump(mode="json") for f in event.factors],
            "lead": lead_snapshot(event.lead),
        }
    if isinstance(event, LeadAssigned):
        return {
            "rep": {"rep_id": str(event.rep.rep_id), "name": event.rep.name},
            "rule": event.reason.rule,
            "attempt": event.attempt,
            # Who else was considered, with weights and skips: the sales-ops fairness page.
            "candidates": event.reason.candidates,
        }
    if isinstance(event, LeadOutcome):
        entry: dict[str, Any] = {
            "stage": event.stage,
            "amount": str(event.amount) if event.amount is not None else None,
            "currency": event.currency,
            "reason": event.reason,
            "external_id": event.external_id,
        }
        if event.stage == "rejected":  # the journey shows whether it went back to marketing
            entry["recycle"] = event.recycle
        return entry
    if isinstance(event, LeadErased):
        return {}
    raise TypeError(f"no journey shape for {type(event).__name__}")


def occurred_at(event: Event, received: datetime) -> datetime:
    """When the thing happened in the business (not when the event was sent)."""
    if isinstance(event, LeadCaptured):
        return event.lead.captured_at
    if isinstance(event, LeadScored):
        return event.scored_at
    if isinstance(event, LeadAssigned):
        return event.assigned_at
    if isinstance(event, LeadOutcome):
        return event.occurred_at
    if isinstance(event, LeadErased):
        return event.erased_at
    return received


def erased_data(data: dict[str, Any]) -> dict[str, Any]:
    """A journey entry once the person asked to be forgotten."""
    return {k: v for k, v in data.items() if k not in ERASED_KEYS}


def stage_conflict(history: Sequence[str], stage: str, *, reopen: bool) -> str | None:
    """Why `stage` contradicts the lead's earlier stages, if it does (won after lost, a
    won lead rejected)."""
    if reopen:
        return None
    closes = [s for s in history if s in CLOSES]
    if stage == "rejected" and closes and closes[-1] == "won":
        return 'The lead is already won; send "reopen": true to record it as rejected.'
    if stage not in CLOSES:
        return None
    if closes and closes[-1] != stage:
        return f'The lead is already {closes[-1]}; send "reopen": true to record it as {stage}.'
    return None


def earliest(current: datetime | None, candidate: datetime) -> datetime:
    """The earlier of two times, where None means not known yet."""
    return candidate if current is None or candidate < current else current
