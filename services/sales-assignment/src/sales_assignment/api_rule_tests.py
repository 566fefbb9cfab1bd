"""`POST /v1/routing/rules/test` (admin, analyst): golden routing cases, checked, not applied.

The cases are routed with the pure `routing.route` against the live team (reps, their
open-lead counts, accounts) and a draft rule set or the active one, each on a fresh
round-robin state (see `rule_tests`). Nothing is written: no row, counter, round-robin
state or event. `leadflow routing test CASES.yaml` is its client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from leadflow.access import Reader, roles_text
from leadflow.bounds import RANGE, BoundedDateTime
from leadflow.http import invalid
from sales_assignment import rule_tests
from sales_assignment.api_deps import A
from sales_assignment.api_routing import _rules_invalid
from sales_assignment.assigning import Assigner
from sales_assignment.facts import LeadFacts
from sales_assignment.places import COUNTRIES, website_domain
from sales_assignment.policy_admin import check_named_reps
from sales_assignment.rules import RoutingRule, RulesInvalid, validate_rules
from sales_assignment.schemas import RuleDoc
from sales_assignment.team import Team

router = APIRouter(prefix="/v1")
MAX_CASES = 1000
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Domain = Annotated[str, StringConstraints(strip_whitespace=True, max_length=253)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeadIn(_Strict):
    """What routing reads of a lead (no personal data: domains, not addresses)."""

    country: str | None = Field(None, max_length=2, description="ISO 3166-1 alpha-2 code")
    company_size: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    industry: Annotated[str, Field(max_length=100)] | None = None
    score: Annotated[int, Field(ge=0, le=100)] | None = None
    email_domain: Domain | None = Field(None, description="acme.com (an address: its domain)")
    website_domain: Domain | None = Field(None, description="acme.com (a URL: its host)")
    company: Annotated[str, Field(max_length=200)] | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and value.strip().upper() not in COUNTRIES:
            raise ValueError(f"unknown country {value!r}: use an ISO 3166-1 alpha-2 code")
        return value

    def facts(self, index: int) -> LeadFacts:
        email = self.email_domain.rsplit("@", 1)[-1] if self.email_domain else None
        return LeadFacts(
            lead_id=UUID(int=index + 1),  # routing reads no lead id; the case's place will do
            email_domain=email,
            website_domain=website_domain(self.website_domain),
            country=self.country,
            company_size=self.company_size,
            industry=self.industry,
            score=self.score,
            company=self.company,
        )


class ExpectIn(_Strict):
    rule: Text | None = Field(None, description='A rule name, "account_owner" or "default"')
    rep: Text | None = Field(None, description="The rep chosen: a rep id or exact rep name")
    pool: Annotated[list[Text], Field(min_length=1, max_length=1000)] | None = Field(
        None, description="The rep chosen is one of these (rep ids or exact names)"
    )
    queued: bool | None = Field(None, description="true: nobody can take the lead (queued)")

    @model_validator(mode="after")
    def _something(self) -> ExpectIn:
        if self.rule is None and self.rep is None and self.pool is None and self.queued is None:
            raise ValueError("expect at least one of rule, rep, pool, queued")
        if self.queued and (self.rep is not None or self.pool is not None):
            raise ValueError("queued: true expects no rep: drop rep and pool")
        return self


class CaseIn(_Strict):
    name: Text
    lead: LeadIn
    at: BoundedDateTime | None = Field(
        None, description=f"When the lead arrives, for availability (no zone: UTC; {RANGE}); "
        "default now"
    )  # fmt: skip
    expect: ExpectIn


class RuleTestIn(_Strict):
    rules: list[RuleDoc] | None = Field(
        None,
        max_length=200,
        description="A draft rule set, validated exactly as PUT /v1/routing/rules; "
        "absent: the active rules",
    )
    cases: list[CaseIn] = Field(min_length=1, max_length=MAX_CASES)


class CaseOut(BaseModel):
    # `rule_tests.Outcome`, field for field (built from one: `rules_test`).
    name: str
    passed: bool
    at: datetime = Field(description="The time availability was judged at")
    rule: str = Field(description='The rule that matched ("account_owner", "default" too)')
    rep_id: UUID | None = Field(description="The rep chosen; null: queued")
    rep_name: str | None
    queued: bool
    differences: list[str] = Field(description="Each expectation missed; empty when passed")
    reason: dict[str, Any] = Field(description="The routing reason: candidates and detail")


class RuleTestOut(BaseModel):
    draft: bool = Field(description="true: the request's draft rules; false: the active ones")
    rules_version: int | None = Field(description="The active version tested (draft: null)")
    passed: int
    failed: int
    cases: list[CaseOut]


async def check_cases(
    a: Assigner, draft: list[dict[str, Any]] | None, cases: list[rule_tests.Case]
) -> tuple[int | None, list[rule_tests.Outcome]]:
    """The cases against the live team and the draft (RulesInvalid as PUT gives it) or the
    active rules; reads only."""
    rules: list[RoutingRule] | None = validate_rules(draft) if draft is not None else None
    async with a.rt.sessions() as s:
        team = await Team.load(s)
    if rules is not None:
        check_named_reps(rules, team.rows.keys())
    reps = list(team.reps.values())
    outcomes = rule_tests.check_all(
        cases, reps, team.rules if rules is None else rules, team.accounts, now=a.clock()
    )
    return (team.rules_version if rules is None else None), outcomes


def _case(doc: CaseIn, index: int) -> rule_tests.Case:
    e = doc.expect
    expect = rule_tests.Expect(rule=e.rule, rep=e.rep, pool=tuple(e.pool or ()), queued=e.queued)
    return rule_tests.Case(doc.name, doc.lead.facts(index), expect, doc.at)


@router.post(
    "/routing/rules/test",
    response_model=RuleTestOut,
    tags=["routing"],
    summary="Check golden cases (lead facts → expected rule, rep or pool) against the rules",
    description=(
        "Routes each case's lead as `leads.qualified` would be routed (account owner, first "
        "matching rule, weighted round robin over the eligible reps, fallback, queue) "
        "against today's team and accounts and the draft `rules` (validated as PUT "
        "/v1/routing/rules: a 422 names the rule field) or, without them, the active rules. "
        "Each case starts from a fresh round-robin state, so the answer does not depend on "
        "the order of the cases or on live traffic; `at` sets the time availability is "
        f"judged at. At most {MAX_CASES} cases (422 naming `cases`; a body over the "
        "service's limit is 413); case names must be unique. Nothing is written: no "
        "assignment, counter, round-robin state or event. " + roles_text("admin", "analyst")
    ),
)
async def rules_test(body: RuleTestIn, a: A, _: Reader) -> RuleTestOut:
    seen: dict[str, int] = {}
    for i, case in enumerate(body.cases):
        if case.name in seen:
            msg = f"duplicate case name {case.name!r} (also cases.{seen[case.name]})"
            raise invalid([(f"cases.{i}.name", msg)])
        seen[case.name] = i
    try:
        version, outcomes = await check_cases(
            a, body.rules, [_case(c, i) for i, c in enumerate(body.cases)]
        )
    except RulesInvalid as exc:
        raise _rules_invalid(exc, body.rules or []) from exc
    passed = sum(o.passed for o in outcomes)
    return RuleTestOut(
        draft=body.rules is not None,
        rules_version=version,
        passed=passed,
        failed=len(outcomes) - passed,
        cases=[CaseOut.model_validate(o, from_attributes=True) for o in outcomes],
    )
