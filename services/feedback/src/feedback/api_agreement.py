"""Routes of the marketing–sales agreement: its terms and how each promise is doing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from feedback import agreements
from feedback.agreement import PromiseStatus
from feedback.agreement_schemas import AgreementIn, AgreementOut, AgreementStatusOut, PromiseOut
from feedback.settings import FeedbackSettings
from leadflow.access import AdminOnly, Reader, roles_text
from leadflow.bounds import RANGE, month_in_range
from leadflow.http import Problem, from_state
from leadflow.service import Runtime

router = APIRouter(prefix="/v1", tags=["agreement"])

RT = Annotated[Runtime, from_state("runtime", Runtime)]
Config = Annotated[FeedbackSettings, from_state("settings", FeedbackSettings)]
MonthParam = Annotated[
    Annotated[str, AfterValidator(month_in_range)] | None,
    Query(
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description=f"YYYY-MM (UTC; {RANGE}); default: the current month",
    ),
]
NO_AGREEMENT = "No agreement has been made yet: PUT /v1/agreement."


@router.put(
    "/agreement",
    response_model=AgreementOut,
    summary="Set what marketing and sales promised each other per month",
    description=(
        "Replaces the agreement: `mqls_per_month` (marketing delivers), "
        "`min_acceptance_rate` (share of MQLs with a verdict that sales accepts, 0–1), "
        "`contact_within_minutes` (sales' median from assignment to first contact), and "
        "optionally the same per source (`per_source`: {source: {…}}, each promise "
        "optional). A bad field is 422, named. " + roles_text("admin")
    ),
)
async def put_agreement(body: AgreementIn, rt: RT, _: AdminOnly) -> AgreementOut:
    return await agreements.save(rt, body)


@router.get(
    "/agreement",
    response_model=AgreementOut,
    summary="The agreement between marketing and sales",
    description=roles_text("admin", "analyst"),
    responses={404: {"description": "No agreement has been made yet"}},
)
async def get_agreement(rt: RT, _: Reader) -> AgreementOut:
    found = await agreements.load(rt)
    if found is None:
        raise Problem(404, "Not Found", NO_AGREEMENT)
    return found


def _promise(p: PromiseStatus) -> PromiseOut:
    return PromiseOut.model_validate(p, from_attributes=True)


@router.get(
    "/agreement/status",
    response_model=AgreementStatusOut,
    summary="Each promise this month: target, actual so far, projection, on track",
    description=(
        "Marketing: MQLs in the month (projected to the month's end from the days elapsed, "
        "once LEADFLOW_MIN_PROJECTION_DAYS have passed) and the acceptance rate of the "
        "month's MQLs with its 95 % Wilson interval (given from LEADFLOW_MIN_VERDICTS "
        "verdicts). Sales: the median minutes from first assignment to first contacted-or-"
        "later outcome of the MQLs assigned in the month, a lead not contacted yet counting "
        "with its wait so far. `on_track` is null and `status` insufficient_data when there "
        "is too little to say; `projection_days` says how many days the figures rest on. "
        "docs/feedback.md has the definitions. " + roles_text("admin", "analyst")
    ),
    responses={404: {"description": "No agreement has been made yet"}},
)
async def get_agreement_status(
    rt: RT, settings: Config, _: Reader, month: MonthParam = None
) -> AgreementStatusOut:
    terms = await agreements.load(rt)
    if terms is None:
        raise Problem(404, "Not Found", NO_AGREEMENT)
    now = datetime.now(UTC)
    year, number = (int(x) for x in month.split("-")) if month else (now.year, now.month)
    found = await agreements.status(
        rt,
        terms,
        year,
        number,
        min_verdicts=settings.min_verdicts,
        min_projection_days=settings.min_projection_days,
        now=now,
    )
    return AgreementStatusOut(
        month=f"{year:04d}-{number:02d}",
        days_in_month=found.month.days,
        days_elapsed=round(found.month.elapsed_days, 2),
        as_of=found.as_of,
        min_verdicts=settings.min_verdicts,
        min_projection_days=settings.min_projection_days,
        promises=[_promise(p) for p in found.promises],
    )
