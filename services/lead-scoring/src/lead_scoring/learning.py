"""The learned model's write path: a verdict teaches the stored model under the minimum
support (`support`, pure), reading and keeping each typed value's support (`repo`); the
stored model is cut to this replica's minimum at start and whenever it was cut to another."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from lead_scoring import repo, support
from lead_scoring.model import LearnedModel
from lead_scoring.models import LeadScore, ModelState
from leadflow.events import Lead
from leadflow.uow import UnitOfWork

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0  # a start-up cut that failed (the database not up yet) tries again


@dataclass
class Minimum:
    """LEADFLOW_LEARN_MIN_SUPPORT as this replica runs it."""

    value: int
    _warned: bool = False

    def restored(self, state: ModelState) -> LearnedModel:
        """A stored model as scoring uses it (`support.restored`); warns once when another
        replica cut it to another minimum (replicas must run one setting)."""
        cut = state.min_support
        if cut is not None and cut != self.value and not self._warned:
            self._warned = True
            log.warning(
                "the learned model was cut to a minimum support of %s by another replica; "
                "this one runs LEADFLOW_LEARN_MIN_SUPPORT=%s: every replica must run one "
                "setting",
                cut,
                self.value,
            )
        return support.restored(stored(state), self.value)


def for_scoring(
    m: Minimum, state: ModelState | None, revision: int, had: LearnedModel | None
) -> LearnedModel | None:
    """The stored model (at `revision`) as scoring uses it; when it cannot be read, the one
    scoring had (`had`; None: rules only), logged once per revision as the caller keeps the
    revision: a lead is never dead-lettered for the model, while a verdict fails (`teach`
    must not overwrite a model it cannot read)."""
    if state is None:
        return None
    try:
        return m.restored(state)
    except ValueError:  # pydantic's ValidationError
        kept = had.version if had is not None else "none: rules only"
        log.exception(
            "the learned model at revision %s cannot be read; scoring goes on with the model "
            "it had (%s) until a readable revision is saved, and verdicts fail meanwhile",
            revision,
            kept,
        )
        return had


def stored(state: ModelState) -> LearnedModel:
    """The stored model as saved (`repo.save_model`), uncut; raises
    pydantic.ValidationError if unreadable."""
    return LearnedModel.from_doc(state.doc, state.leads, state.min_support)


async def _model(session: AsyncSession, state: ModelState | None, m: Minimum) -> LearnedModel:
    """The locked stored model, cut to this replica's minimum first if it was not yet."""
    if state is None:
        return LearnedModel(min_support=m.value)
    model = m.restored(state)
    if model.min_support == m.value:
        return model
    model = stored(state)  # uncut: `support.cut` reads every value
    learned = support.cut(model, await repo.support_tallies(session), m.value)
    await repo.forget_values(session, learned)
    return model


async def teach(
    session: AsyncSession, row: LeadScore, stage: str, m: Minimum, first: bool
) -> tuple[int, LearnedModel]:
    """Teach the stored model one verdict (won, lost or rejected) of the lead on `row`
    (`first`: its first verdict, `support.learn`); the model's new revision and the model,
    saved in this transaction."""
    state = await repo.load_model(session, for_update=True)  # verdicts learn one by one
    model = await _model(session, state, m)
    lead = Lead.model_validate(row.lead)
    pending = support.unlearned(model, lead, m.value)
    shared = await repo.shared_verdicts(session, row.lead_id, pending)
    learned = support.learn(model, lead, stage, shared, m.value, first=first)
    await repo.keep_support(session, row.lead_id, stage, learned)
    return await repo.save_model(session, state, model), model


async def cut(session: AsyncSession, m: Minimum) -> bool:
    """Cut the stored model to this replica's minimum and save it, unless it is already;
    whether it was saved."""
    state = await repo.load_model(session, for_update=True)
    if state is None or state.min_support == m.value:
        return False
    model = await _model(session, state, m)
    await repo.save_model(session, state, model)
    return True


async def keep_cut(
    transaction: Callable[[], contextlib.AbstractAsyncContextManager[UnitOfWork]], m: Minimum
) -> None:
    """A worker: cut the stored model once at start, so that no value rarer than this
    minimum stays stored until the next verdict; then wait for the runtime to stop."""
    while True:
        try:
            async with transaction() as uow:
                await cut(uow.session, m)
            break
        except Exception:
            log.exception("cutting the learned model to its minimum support failed; retrying")
            await asyncio.sleep(RETRY_SECONDS)
    await asyncio.Event().wait()  # a worker that ends reads as stuck (`Runtime.stuck`)
