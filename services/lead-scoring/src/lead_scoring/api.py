"""lead-scoring's routes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from lead_scoring.handlers import Scorer
from lead_scoring.rules import RuleSetInvalid, rules_to_doc
from lead_scoring.schemas import ModelOut, RulesOut, ScoreOut, StoredScoreOut, preview_lead
from leadflow.access import AdminOnly, Reader, roles_text
from leadflow.events import Factor
from leadflow.http import Problem, from_state, invalid
from leadflow.leadbody.normalize import LeadInvalid
from leadflow.leadbody.schema import LeadIn

router = APIRouter(prefix="/v1")


ScorerDep = Annotated[Scorer, from_state("scorer", Scorer)]


@router.get(
    "/scores/{lead_id}",
    response_model=StoredScoreOut,
    tags=["scores"],
    summary="A lead's latest score, with every factor that made it",
    description=roles_text("admin", "analyst"),
)
async def get_score(lead_id: uuid.UUID, s: ScorerDep, _: Reader) -> StoredScoreOut:
    row = await s.get(lead_id)
    if row is None:
        raise Problem(404, "Not Found", "This lead has not been scored (yet).")
    return StoredScoreOut(
        lead_id=row.lead_id,
        score=row.score,
        qualified=row.qualified,
        threshold=row.threshold,
        factors=[Factor.model_validate(f) for f in row.factors],
        model_version=row.model_version,
        scored_at=row.scored_at,
        qualified_at=row.qualified_at,
        rejected_at=row.rejected_at,
        rejection_reason=row.rejection_reason,
        recycled_at=row.recycled_at,
    )


@router.post(
    "/scores/preview",
    response_model=ScoreOut,
    tags=["scores"],
    summary="Score a lead body with the active rules and model; nothing is stored",
    description="Takes the body of marketing-intake's `POST /v1/leads` (flat `utm_*`, "
    "country names, employee ranges, ...) and normalises it as intake does. "
    + roles_text("admin", "analyst"),
    responses={422: {"description": "Invalid fields, each named"}},
)
async def preview(
    body: LeadIn,
    s: ScorerDep,
    _: Reader,
    touches: Annotated[int, Query(ge=1, le=1000, description="How often the person came back")] = 1,
) -> ScoreOut:
    try:
        lead = preview_lead(body)
    except LeadInvalid as exc:
        raise invalid((e.field, e.message) for e in exc.errors) from exc
    result = await s.preview(lead, touches)
    return ScoreOut.model_validate(result.to_doc())


@router.get(
    "/scoring/rules",
    response_model=RulesOut,
    tags=["rules"],
    summary="The active rule set",
    description=roles_text("admin", "analyst"),
)
async def get_rules(s: ScorerDep, _: Reader) -> RulesOut:
    version, rules, created_at = await s.current_rules()
    return RulesOut(version=version, created_at=created_at, rules=rules_to_doc(rules))


@router.put(
    "/scoring/rules",
    response_model=RulesOut,
    tags=["rules"],
    summary="Replace the rule set: validated, stored as the next version, active at once",
    description=roles_text("admin"),
    responses={422: {"description": "A rule is invalid; `errors` names it"}},
)
async def put_rules(
    doc: Annotated[dict[str, Any], Body(description="threshold, caps, rules[]", max_length=8)],
    s: ScorerDep,
    _: AdminOnly,
) -> RulesOut:
    try:
        row = await s.replace_rules(doc)
    except RuleSetInvalid as exc:
        raise invalid(exc.errors) from exc
    return RulesOut(version=row.version, created_at=row.created_at, rules=row.doc)


@router.get(
    "/scoring/model",
    response_model=ModelOut,
    tags=["model"],
    summary="What won, lost and rejected outcomes taught the model, per attribute value",
    description=roles_text("admin", "analyst")
    + " Per attribute value: won, lost and rejected MQLs, win_rate (won of all three) and "
    "the learned weight. A rejection teaches as much as two lost deals. A typed value "
    "(industry, country, source, utm_medium, utm_campaign) is listed only once at least "
    "LEADFLOW_LEARN_MIN_SUPPORT leads with a verdict share it: rarer ones are not stored.",
)
async def get_model(s: ScorerDep, _: Reader) -> ModelOut:
    return ModelOut.model_validate(await s.learned())
