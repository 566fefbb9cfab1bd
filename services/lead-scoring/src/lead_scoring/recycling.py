"""Rejected MQLs: sales's verdict on the lead's row, and recycling (back to marketing).

A rejection (`leads.outcomes`, stage `rejected`) ends the lead's MQL: its row keeps when and
why (`rejected_at`, `rejection_reason`) and its history (scores, touches, when it first
qualified). With `recycle` the lead goes back to marketing (`recycled_at`): it qualifies
again, and `leads.qualified` is published again, only on new evidence — a touch (a later
`leads.captured` of the same lead: a new form post, a repeat submission) captured at least
`LEADFLOW_RECYCLE_COOLDOWN_DAYS` after the rejection. A touch during the cool-down is scored
and stored as usual, never qualified. Without `recycle` (always for spam and duplicates) the
lead never qualifies again, whatever its score.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from lead_scoring.domain import Score
from lead_scoring.models import LeadScore
from lead_scoring.repo import ScoreState
from leadflow.events import LeadOutcome


def reject(row: LeadScore, ev: LeadOutcome, now: datetime) -> None:
    """Record a rejection on the lead's row at `now`, when scoring learns of it (this clock,
    not the sender's `occurred_at`, orders it against the lead's qualifications): not an MQL
    any more; recycled when it says so."""
    row.rejected_at = now
    row.rejection_reason = ev.reason
    row.recycled_at = now if ev.recycle else None
    row.qualified = False


def gate(
    result: Score, state: ScoreState | None, touched_at: datetime, cooldown: timedelta
) -> Score:
    """The score of a touch captured at `touched_at`, not qualified while the lead may not
    qualify: rejected for good, or recycled less than `cooldown` before the touch (a touch
    captured before the rejection, delivered late, is no new evidence either)."""
    if state is None or state.qualified or state.rejected_at is None or not result.qualified:
        return result
    if state.recycled_at is not None and touched_at >= state.recycled_at + cooldown:
        return result
    return replace(result, qualified=False)
