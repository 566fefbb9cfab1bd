"""The learned model's write path: a verdict teaches the stored model under the minimum
support (`support`, pure), reading and keeping each typed value's support (`repo`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lead_scoring import repo, support
from lead_scoring.model import LearnedModel
from lead_scoring.models import LeadScore
from leadflow.events import Lead


async def teach(
    session: AsyncSession, row: LeadScore, stage: str, min_support: int, first: bool
) -> tuple[int, LearnedModel]:
    """Teach the stored model one verdict (won, lost or rejected) of the lead on `row`
    (`first`: its first verdict, `support.learn`); the model's new revision and the model,
    saved in this transaction."""
    state = await repo.load_model(session, for_update=True)  # verdicts learn one by one
    model = support.restored(state.doc, min_support) if state else LearnedModel()
    lead = Lead.model_validate(row.lead)
    pending = support.unlearned(model, lead, min_support)
    shared = await repo.shared_verdicts(session, row.lead_id, pending)
    learned = support.learn(model, lead, stage, shared, min_support, first=first)
    await repo.keep_support(session, row.lead_id, stage, learned)
    return await repo.save_model(session, state, model.to_doc()), model
