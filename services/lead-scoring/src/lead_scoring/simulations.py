"""Scoring simulations: a draft rule set and/or threshold tried on past leads; nothing changes.

The leads are those last scored in [from, to) (`lead_scores.scored_at`: the lead's capture,
or its latest touch), each scored from what lead-scoring holds of it today: the stored lead
and its touches, or for an erased lead the facts kept without its personal data (`kept`).
Both ways use today's learned model (`simulation_tally`); only reads happen, in one session
that is never committed. The answer names leads by id only.

A simulation shares the process with live scoring: at most LEADFLOW_SIMULATIONS_MAX_RUNNING
run at once (`slot`: the API is refused with Busy, the lab channel waits), and each chunk is
scored in a worker thread, so the event loop keeps consuming meanwhile.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from lead_scoring import kept, learning, repo, support
from lead_scoring.rules import DEFAULT_RULES, RuleSet, lead_facts, parse_rules
from lead_scoring.simulation_schemas import ScoringSimulationRequest
from lead_scoring.simulation_tally import PastLead, Tally, Way
from leadflow.events import Lead
from leadflow.service import Runtime

RETRY_AFTER = 5  # seconds: about what a simulation of 100,000 leads takes
LEARNED_NOTE = (
    "Both ways blend in what the model learned from outcomes, as today's scoring does; the "
    "learned part is not a draft parameter."
)


class Busy(RuntimeError):
    """As many simulations as LEADFLOW_SIMULATIONS_MAX_RUNNING run in this process already."""


# The slots of this process, per event loop (a semaphore belongs to one) and per limit.
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
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


def _add(tally: Tally, chunk: Sequence[Any]) -> None:
    """Score a chunk of stored rows into the tally (run in a worker thread: CPU only)."""
    for stored in chunk:
        past = past_lead(stored)
        if past is None:
            tally.skip()
        else:
            tally.add(past)


@dataclass(frozen=True)
class Simulator:
    """Runs scoring simulations on a runtime with the limits the app gives it
    (LEADFLOW_MIN_VERDICTS, LEADFLOW_SIMULATIONS_MAX_RUNNING) and the learned model's
    minimum support (LEADFLOW_LEARN_MIN_SUPPORT: the model as live scoring restores it)."""

    rt: Runtime
    min_verdicts: int
    max_running: int
    min_support: int = support.DEFAULT_MIN_SUPPORT

    @asynccontextmanager
    async def slot(self, *, wait: bool) -> AsyncIterator[None]:
        """Hold one of the process's simulation slots while the block runs: wait for one to
        be free, or (`wait=False`) raise Busy when none is."""
        limit = self.max_running
        by_limit = _slots.setdefault(asyncio.get_running_loop(), {})
        semaphore = by_limit.setdefault(limit, asyncio.Semaphore(limit))
        if not wait and semaphore.locked():  # also when others wait for a slot already
            raise Busy(
                f"{limit} scoring simulations are running (LEADFLOW_SIMULATIONS_MAX_RUNNING); "
                f"try again in {RETRY_AFTER} s"
            )
        async with semaphore:
            yield

    async def simulate(
        self, request: ScoringSimulationRequest, *, wait: bool = True
    ) -> dict[str, Any]:
        """The answer of `POST /v1/scoring/simulations`; raises RuleSetInvalid (fields named
        under `rules`) for an invalid draft, before anything is read. Runs in one of the
        process's slots: waits for one, or (`wait=False`) raises Busy when none is free."""
        draft_rules = request.draft_rules()
        async with self.slot(wait=wait):
            return await self._simulate(request, draft_rules)

    async def _simulate(
        self, request: ScoringSimulationRequest, draft_rules: RuleSet | None
    ) -> dict[str, Any]:
        async with self.rt.sessions() as s:
            row = await repo.active_rules(s)
            version = row.version if row is not None else 0
            active = (
                parse_rules(row.doc, version=str(version)) if row is not None else DEFAULT_RULES
            )
            state = await repo.load_model(s)
            model = (
                support.restored(learning.stored(state), self.min_support)
                if state is not None
                else None
            )
            rules = draft_rules or active
            threshold = request.threshold if request.threshold is not None else rules.threshold
            tally = Tally(Way(active, active.threshold), Way(rules, threshold), model)
            async for chunk in repo.past_leads(s, request.from_, request.to):
                await asyncio.to_thread(_add, tally, chunk)
            await s.rollback()  # a read, never a write
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
                "weight": round(tally.learned.weight, 4),
                "note": LEARNED_NOTE,
            },
            **tally.report(self.min_verdicts),
        }
