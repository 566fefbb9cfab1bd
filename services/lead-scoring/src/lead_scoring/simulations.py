"""Scoring simulations: a draft rule set and/or threshold tried on past leads; nothing changes.

The leads are those last scored in [from, to) (`lead_scores.scored_at`: the lead's capture,
or its latest touch), each scored from what lead-scoring holds of it today: the stored lead
and its touches, or for an erased lead the facts kept without its personal data (`kept`).
Both ways use today's learned model (`simulation_tally`); only reads happen, in one session
that is never committed. The answer names leads by id only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lead_scoring import kept, repo
from lead_scoring.domain import learned_weight
from lead_scoring.model import LearnedModel
from lead_scoring.rules import DEFAULT_RULES, lead_facts, parse_rules
from lead_scoring.settings import ScoringSettings
from lead_scoring.simulation_schemas import ScoringSimulationRequest
from lead_scoring.simulation_tally import PastLead, Tally, Way
from leadflow.events import Lead
from leadflow.service import Runtime

DEFAULT_MIN_VERDICTS = ScoringSettings.model_fields["min_verdicts"].default
LEARNED_NOTE = (
    "Both ways blend in what the model learned from outcomes, as today's scoring does; the "
    "learned part is not a draft parameter."
)


def past_lead(row: Sequence[Any]) -> PastLead | None:
    """A stored score row as a simulation sees it; None for an erased lead of which no facts
    were kept."""
    lead_id, lead, facts, touches, erased, outcome, rejected_at, amount, currency = row
    if erased:
        if facts is None:
            return None
        found = kept.facts_of(facts, touches)
    else:
        found = lead_facts(Lead.model_validate(lead), touches=touches)
    # A lead rejected, recycled and qualified again has no verdict on its new cycle yet:
    # its last verdict is the rejection.
    verdict = outcome or ("rejected" if rejected_at is not None else None)
    return PastLead(lead_id, found, erased, verdict, amount, currency)


async def simulate(rt: Runtime, request: ScoringSimulationRequest) -> dict[str, Any]:
    """The answer of `POST /v1/scoring/simulations`; raises RuleSetInvalid (fields named
    under `rules`) for an invalid draft, before anything is read."""
    draft_rules = request.draft_rules()
    settings = rt.settings
    min_verdicts = (
        settings.min_verdicts if isinstance(settings, ScoringSettings) else DEFAULT_MIN_VERDICTS
    )
    async with rt.sessions() as s:
        row = await repo.active_rules(s)
        version = row.version if row is not None else 0
        active = parse_rules(row.doc, version=str(version)) if row is not None else DEFAULT_RULES
        state = await repo.load_model(s)
        model = LearnedModel.from_doc(state.doc) if state is not None else None
        rules = draft_rules or active
        threshold = request.threshold if request.threshold is not None else rules.threshold
        tally = Tally(Way(active, active.threshold), Way(rules, threshold), model)
        async for chunk in repo.past_leads(s, request.from_, request.to):
            for stored in chunk:
                past = past_lead(stored)
                if past is None:
                    tally.skip()
                else:
                    tally.add(past)
        await s.rollback()  # a read, never a write
    n = model.n_outcomes if model is not None else 0
    return {
        "from": request.from_,
        "to": request.to,
        "now": {"rules_version": str(version), "threshold": active.threshold},
        "draft": {
            "rules_version": "draft" if draft_rules is not None else str(version),
            "threshold": threshold,
        },
        "learned": {
            "version": model.version if model is not None else "learned-0",
            "weight": round(learned_weight(n), 4),
            "note": LEARNED_NOTE,
        },
        **tally.report(min_verdicts),
    }
