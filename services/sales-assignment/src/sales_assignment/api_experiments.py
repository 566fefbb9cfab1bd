"""sales-assignment's routing-experiment routes: shadow and split experiments of rule sets."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from leadflow.access import AdminOnly, Reader, roles_text
from sales_assignment import experiment_admin
from sales_assignment.api_deps import NOT_FOUND, A, bad
from sales_assignment.api_routing import _rules_invalid
from sales_assignment.rules import RulesInvalid
from sales_assignment.schemas_experiments import EndIn, ExperimentIn, ExperimentOut

router = APIRouter(prefix="/v1")
CONFLICT: dict[int | str, dict[str, str]] = {409: {"description": "Conflict"}}
SUMMARY = (
    "Each shows its decisions and leads per arm (control, variant) and, in shadow, the "
    "decisions, those the variant would have made otherwise, and per rep the leads handed "
    "out actually and in the shadow. "
)


@router.post(
    "/routing/experiments",
    response_model=ExperimentOut,
    status_code=201,
    tags=["routing"],
    responses=CONFLICT,
    summary="Start a shadow or split experiment of a variant rule set (one runs at a time)",
    description="split: a lead whose lead_id, salted by the experiment_id, hashes (sha256) "
    "below `share` is routed by the "
    "variant rules, with their own round robin, for as long as the experiment runs; shadow: "
    "every lead is routed by the active rules and the variant's decision is recorded, "
    'nothing else. leads.assigned carries the arm in reason.variant {"experiment", "arm"}. '
    "409 while another experiment runs, or if the name was used. " + roles_text("admin"),
)
async def start_experiment(body: ExperimentIn, a: A, _: AdminOnly) -> ExperimentOut:
    try:
        row = await experiment_admin.start(a, body.name, body.mode, body.share, body.rules)
    except RulesInvalid as exc:
        raise _rules_invalid(exc, body.rules) from exc
    except experiment_admin.ExperimentInvalid as exc:
        raise bad(exc.field, str(exc)) from exc
    return ExperimentOut.model_validate(await experiment_admin.view(a, row.experiment_id))


@router.get(
    "/routing/experiments",
    response_model=list[ExperimentOut],
    tags=["routing"],
    summary="Routing experiments, newest first",
    description=SUMMARY + roles_text("admin", "analyst"),
)
async def list_experiments(
    a: A, _: Reader, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[ExperimentOut]:
    return [ExperimentOut.model_validate(v) for v in await experiment_admin.views(a, limit)]


@router.get(
    "/routing/experiments/{experiment_id}",
    response_model=ExperimentOut,
    tags=["routing"],
    responses=NOT_FOUND,
    summary="One routing experiment and how its arms fared",
    description=SUMMARY + roles_text("admin", "analyst"),
)
async def get_experiment(experiment_id: uuid.UUID, a: A, _: Reader) -> ExperimentOut:
    return ExperimentOut.model_validate(await experiment_admin.view(a, experiment_id))


@router.post(
    "/routing/experiments/{experiment_id}/end",
    response_model=ExperimentOut,
    tags=["routing"],
    responses=NOT_FOUND | CONFLICT,
    summary="End an experiment: promote the variant to the next rules version, or not",
    description='{"promote": true}: the variant rules become the next active rules version, '
    'stored as PUT /v1/routing/rules stores them (queued leads routed again); {"promote": '
    "false}: the active rules are left as they are. Either way every lead is routed by the "
    "active rules from then on. The variant replaces the active rules whole: if they changed "
    "since the start (active_version != base_version), promoting is 409 naming both "
    'versions unless the body confirms the active one: {"promote": true, "over_version": '
    "<active_version>}. 409 if it ended already. " + roles_text("admin"),
)
async def end_experiment(
    experiment_id: uuid.UUID, body: EndIn, a: A, _: AdminOnly
) -> ExperimentOut:
    if body.over_version is not None and not body.promote:
        raise bad("over_version", 'over_version confirms a promotion: send it with "promote": true')
    row = await experiment_admin.end(a, experiment_id, body.promote, body.over_version)
    return ExperimentOut.model_validate(await experiment_admin.view(a, row.experiment_id))
