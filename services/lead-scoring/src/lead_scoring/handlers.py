"""lead-scoring's use cases: score captured leads, learn from outcomes, manage rules."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lead_scoring import kept, learning, recycling, repo, support
from lead_scoring.domain import Score, learned_weight, score
from lead_scoring.model import LearnedModel
from lead_scoring.models import ERASED_UNSCORED, LeadScore, RuleSetVersion
from lead_scoring.rules import DEFAULT_RULES, RuleSet, parse_rules, rules_to_doc
from leadflow.bus import BatchHandlers, Handlers
from leadflow.events import (
    Envelope,
    Lead,
    LeadCaptured,
    LeadErased,
    LeadOutcome,
    LeadQualified,
    LeadScored,
)
from leadflow.leadbody.touch import filled, touch_lead
from leadflow.service import Runtime
from leadflow.uow import UnitOfWork

TERMINAL = {"won", "lost"}
# Sales's verdicts on an MQL: the first of each qualification cycle teaches the model once.
VERDICTS = TERMINAL | {"rejected"}
DEFAULT_COOLDOWN = timedelta(days=30)  # LEADFLOW_RECYCLE_COOLDOWN_DAYS
# How stale another replica's rule or model change may be here; this process's own
# changes are seen at once.
RECHECK_SECONDS = 1.0


def _scored(result: Score) -> dict[str, Any]:
    """What a score says, as both a lead_scores row and a leads.scored event carry it."""
    return {
        "score": result.score,
        "qualified": result.qualified,
        "threshold": result.threshold,
        "factors": result.factors,
        "model_version": result.model_version,
        "scored_at": result.scored_at,
    }


def _row(lead: Lead, touches: int, result: Score) -> dict[str, Any]:
    """A lead_scores row's columns for a new score (lead_id and qualified_at aside); the
    JSON columns take the models as they are."""
    return {"lead": lead, "touches": touches, **_scored(result)}


def _touched(state: repo.ScoreState | None, ev: LeadCaptured) -> Lead:
    """The lead to score and store: a touch of a stored lead keeps every field it holds and
    fills only the empty ones (intake sends the stored lead with a touch; an event from an
    intake of before, still on the topic, carried whatever the toucher typed)."""
    if not ev.duplicate or state is None or state.lead is None:
        return ev.lead
    stored = state.lead
    if isinstance(stored, Lead):
        stored = stored.model_dump(mode="json")
    return touch_lead(filled(stored, ev.lead), ev.lead)


def score_captured(
    uow: UnitOfWork,
    envs: list[Envelope],
    states: dict[uuid.UUID, repo.ScoreState],
    rules: RuleSet,
    model: LearnedModel | None,
    *,
    now: datetime,
    cooldown: timedelta = DEFAULT_COOLDOWN,
) -> dict[uuid.UUID, dict[str, Any]]:
    """Score captured leads given what is stored of them (`states`, updated here): emit
    `leads.scored` (and `leads.qualified` on a first MQL) and stage the new score rows;
    returns the changes to rows stored already. One scoring time (`now`) per transaction."""
    new: dict[uuid.UUID, dict[str, Any]] = {}
    rescored: dict[uuid.UUID, dict[str, Any]] = {}
    for env in envs:
        ev = env.data
        assert isinstance(ev, LeadCaptured)
        state = states.get(ev.lead_id)
        if state is not None and state.erased:
            continue
        touches = max(ev.touch, state.touches + 1 if state is not None and ev.duplicate else 1)
        lead = _touched(state, ev)
        result = score(lead, rules, model, touches=touches, now=now)
        # A rejected lead qualifies again only if recycled, on a touch after the cool-down.
        result = recycling.gate(result, state, env.time, cooldown)
        first_mql = result.qualified and (state is None or not state.qualified)
        values = _row(lead, touches, result)
        if first_mql:
            values["qualified_at"] = result.scored_at
            if state is not None and state.rejected_at is not None:
                values["outcome"] = None  # a new cycle: its verdict teaches the model again
                values["won_amount"] = values["won_currency"] = None
        if ev.lead_id in new:  # captured twice in this batch
            new[ev.lead_id] |= values
        elif state is None:
            new[ev.lead_id] = {"lead_id": ev.lead_id, "qualified_at": None, **values}
        else:
            rescored[ev.lead_id] = rescored.get(ev.lead_id, {}) | values
        was_mql = state is not None and state.qualified
        states[ev.lead_id] = repo.ScoreState(
            touches,
            was_mql or result.qualified,
            False,
            lead,
            state.rejected_at if state is not None else None,
            state.recycled_at if state is not None else None,
        )
        fields = {"lead_id": ev.lead_id, "lead": lead, **_scored(result)}
        scored = uow.emit(LeadScored(**fields), cause=env)
        if first_mql:
            # The same data as leads.scored, so the same JSON: encoded once.
            uow.emit(LeadQualified(**fields), cause=env, value=scored.value())
    repo.insert_scores(uow, list(new.values()))  # at commit, with the outbox rows
    return rescored


@dataclass
class Scorer:
    """Scores with the active rules and the learned model, cached until either changes."""

    rt: Runtime
    recycle_cooldown: timedelta = DEFAULT_COOLDOWN
    min_support: int = support.DEFAULT_MIN_SUPPORT  # LEADFLOW_LEARN_MIN_SUPPORT
    _rules: tuple[int, RuleSet] = (0, DEFAULT_RULES)
    _model: tuple[int, LearnedModel | None] = (0, None)
    _rules_checked: float = -1e9
    _model_checked: float = -1e9
    _vocabularies: kept.Vocabularies = field(default_factory=kept.Vocabularies)
    minimum: learning.Minimum = field(init=False)
    handlers: Handlers = field(init=False)
    batch_handlers: BatchHandlers = field(init=False)

    def __post_init__(self) -> None:
        self.minimum = learning.Minimum(self.min_support)
        self.handlers = {
            LeadCaptured: self.on_lead_captured,
            LeadOutcome: self.on_lead_outcome,
            LeadErased: self.on_lead_erased,
        }
        self.batch_handlers = {LeadCaptured: self.on_leads_captured}

    async def rules(self, session: AsyncSession, *, fresh: bool = False) -> tuple[int, RuleSet]:
        now = time.monotonic()
        if fresh or now - self._rules_checked > RECHECK_SECONDS:
            row = await repo.active_rules(session)
            if row is not None and row.version != self._rules[0]:
                self._rules = (row.version, parse_rules(row.doc, version=str(row.version)))
            self._rules_checked = now
        return self._rules

    async def model(self, session: AsyncSession, *, fresh: bool = False) -> LearnedModel | None:
        now = time.monotonic()
        if fresh or now - self._model_checked > RECHECK_SECONDS:
            revision = await repo.model_revision(session)
            if revision != self._model[0]:
                state = await repo.load_model(session)
                had = self._model[1]  # kept if the stored one cannot be read
                self._model = (revision, learning.for_scoring(self.minimum, state, revision, had))
            self._model_checked = now
        return self._model[1]

    async def score(self, session: AsyncSession, lead: Lead, touches: int = 1) -> Score:
        _, rules = await self.rules(session)
        model = await self.model(session)
        return score(lead, rules, model, touches=touches, now=datetime.now(UTC))

    async def on_lead_captured(self, uow: UnitOfWork, env: Envelope) -> None:
        """Score (or rescore, for a new touch) and publish; MQL once, when it first qualifies."""
        await self.on_leads_captured(uow, [env])

    async def on_leads_captured(self, uow: UnitOfWork, envs: list[Envelope]) -> None:
        """The same for a run of events: one query reads their rows, one statement inserts
        the new ones and one (per set of columns) updates the others."""
        await uow.flush()  # an earlier run of this transaction staged scores: read them too
        session = uow.session
        states = await repo.score_states(session, {env.data.lead_id for env in envs})
        _, rules = await self.rules(session)
        model = await self.model(session)
        now = datetime.now(UTC)
        cooldown = self.recycle_cooldown
        rescored = score_captured(uow, envs, states, rules, model, now=now, cooldown=cooldown)
        await repo.rescore(session, rescored)

    async def on_lead_outcome(self, uow: UnitOfWork, env: Envelope) -> None:
        """The first won/lost/rejected of a lead's qualification cycle teaches the model once;
        a rejection also ends the MQL (`recycling`)."""
        await uow.flush()  # the lead's score may be staged by this transaction
        session = uow.session
        ev = env.data
        assert isinstance(ev, LeadOutcome)
        if ev.stage not in VERDICTS:
            return
        row = await repo.get_score(session, ev.lead_id, for_update=True)
        if row is None or row.lead is None:
            return
        first = row.rejected_at is None  # else judged before: rejected, maybe recycled
        if ev.stage == "rejected":
            recycling.reject(row, ev, datetime.now(UTC))
        if row.outcome in VERDICTS:
            return
        revision, model = await learning.teach(session, row, ev.stage, self.minimum, first)
        row.outcome = ev.stage
        if ev.stage == "won":  # the MQL's revenue, for scoring simulations (ISO 4217 codes)
            code = ev.currency if ev.currency is not None and len(ev.currency) == 3 else None
            row.won_amount, row.won_currency = ev.amount, code
        self._keep_when_committed(uow, revision, model)

    def _keep_when_committed(self, uow: UnitOfWork, revision: int, model: LearnedModel) -> None:
        """Cache the updated model once its transaction commits: a rolled-back outcome
        never happened, and this replica must not score with it meanwhile."""

        def committed() -> None:
            # Another transaction of this process may have committed a later revision.
            if revision > self._model[0]:
                self._model = (revision, model)

        uow.on_commit(committed)

    async def on_lead_erased(self, uow: UnitOfWork, env: Envelope) -> None:
        """Drop the lead's personal data; the anonymous score stays for the model's history,
        with the coarse facts a simulation scores it from (`kept`)."""
        await uow.flush()  # the lead's score may be staged by this transaction
        session = uow.session
        row = await repo.get_score(session, env.data.lead_id, for_update=True)
        await repo.forget_support(session, env.data.lead_id)  # its typed values
        now = datetime.now(UTC)
        if row is not None:
            version, rules = await self.rules(session)  # the values and sizes it may keep
            kept.erase(row, self._vocabularies.of(version, rules), now)
            return
        # Not captured here yet: a marker row, so that the capture is not stored when it comes.
        session.add(
            LeadScore(
                lead_id=env.data.lead_id,
                lead=None,
                touches=0,
                score=0,
                qualified=False,
                threshold=0,
                factors=[],
                model_version=ERASED_UNSCORED,
                scored_at=kept.day(now),
                erased_at=kept.day(now),
            )
        )

    async def preview(self, lead: Lead, touches: int = 1) -> Score:
        """Score a lead without storing anything."""
        async with self.rt.sessions() as s:
            return await self.score(s, lead, touches)

    async def get(self, lead_id: uuid.UUID) -> LeadScore | None:
        """The lead's stored score; None if it was never scored."""
        async with self.rt.sessions() as s:
            row = await repo.get_score(s, lead_id)
        return None if row is None or row.model_version == ERASED_UNSCORED else row

    async def current_rules(self) -> tuple[int, RuleSet, datetime | None]:
        async with self.rt.sessions() as s:
            row = await repo.active_rules(s)
            version, rules = await self.rules(s, fresh=True)
            return version, rules, row.created_at if row else None

    async def replace_rules(self, doc: dict[str, Any]) -> RuleSetVersion:
        """Validate (raises RuleSetInvalid) and store as the next version, which becomes active."""
        async with self.rt.transaction() as uow:
            s = uow.session
            version = await repo.next_rules_version(s)
            rules = parse_rules(doc, version=str(version))
            row = RuleSetVersion(
                version=version, doc=rules_to_doc(rules), created_at=datetime.now(UTC)
            )
            s.add(row)
        self._rules_checked = -1e9  # use the new rules from the next event on
        return row

    async def learned(self) -> dict[str, Any]:
        async with self.rt.sessions() as s:
            model = await self.model(s, fresh=True)
        n = model.n_outcomes if model else 0
        return {
            "version": model.version if model else "learned-0",
            "n_outcomes": n,
            "n_won": model.n_won if model else 0,
            "n_rejected": model.n_rejected if model else 0,
            "weight": learned_weight(n),
            "attributes": model.stats() if model else [],
        }
