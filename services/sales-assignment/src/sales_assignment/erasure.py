"""Erasure of one lead here: strip what identifies the person, tell the subscribed CRMs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.uow import UnitOfWork
from sales_assignment import kept_decisions, replay_repo, repo, webhook_repo
from sales_assignment.models import AssignmentRow, DeliveryRow
from sales_assignment.outbound import DeliveryWorker, erased_rows
from sales_assignment.payloads import (
    erased_words,
    message_seq,
    redact,
    redact_body,
    redact_facts,
    scrub,
)


async def strip(
    session: AsyncSession, row: AssignmentRow, at: datetime, worker: DeliveryWorker | None
) -> None:
    """Drop the person's data: lead, facts, reasons, history, webhooks, replay record;
    the lead, its facts and its webhooks' lead keep only coarse size, industry and country.

    A message never delivered is deleted, not sent stripped: the CRM gets `lead.erased`
    instead, and a lead nobody can contact is no use to it. A delivered one keeps its log
    entry, stripped. `worker` forgets any of them a routing transaction handed it.
    """
    words = erased_words(row.facts)
    # Its exact company size and free-text industry go too: nothing routes it again, and
    # the coarse facts its recorded decisions keep (`kept_decisions`) are all that stays.
    vocab = kept_decisions.vocabulary(await replay_repo.rule_sets(session))

    def kept_lead(lead: dict[str, Any]) -> dict[str, Any]:
        return kept_decisions.coarse_facts(redact(lead), vocab)

    row.lead = kept_lead(row.lead)
    row.facts = kept_decisions.coarse_facts(redact_facts(row.facts), vocab)
    row.reason = scrub(row.reason, words)
    row.erased_at = at
    for step in await repo.history(session, row.lead_id):
        step.reason = scrub(step.reason, words)
        if step.reason.get("note"):  # a rep's own words about the lead (a decline)
            step.reason = step.reason | {"note": "[erased]"}
        if step.event == "rejected":  # outcome reasons go, codes included (the contract)
            step.reason = step.reason | {"reason": None}
    dropped = await webhook_repo.drop_undelivered(session, row.lead_id)
    if dropped and worker is not None:
        worker.drop(dropped)
    for delivery in await webhook_repo.lead_deliveries(session, row.lead_id):
        delivery.body = redact_body(delivery.body, words, kept_lead)
    await coarsen_decisions(session, row.lead_id, vocab)


async def coarsen_decisions(
    session: AsyncSession, lead_id: uuid.UUID, vocab: kept_decisions.Vocabulary
) -> None:
    """Keep only coarse facts in the lead's recorded routing decisions (`kept_decisions`),
    cut by every rule set the record and routing know (`vocab`), so each still replays as
    it was."""
    for decision in await replay_repo.lead_decisions(session, lead_id):
        decision.facts = kept_decisions.coarse_facts(decision.facts, vocab)


async def tell(uow: UnitOfWork, row: AssignmentRow, now: datetime) -> bool:
    """Stage a `lead.erased` delivery to every endpoint subscribed to it; whether any."""
    endpoints = await webhook_repo.list_endpoints(uow.session)
    rows = erased_rows(endpoints, row.lead_id, message_seq("lead.erased", row.attempt), now)
    repo.add_rows(uow, DeliveryRow, rows)
    return bool(rows)
