"""route(): account owners, rules, pools, territories, segments, availability, re-routing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from leadflow.events import Lead
from sales_assignment.account_match import Account, AccountIndex
from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.routing import Assignment, NoRepAvailable, RoutingPolicy, route
from sales_assignment.rules import RoutingRule

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # a Monday
LEAD_ID = UUID(int=999)
ANN, BOB, CAT, DAN = (UUID(int=i) for i in (1, 2, 3, 4))


def rep(rep_id: UUID, **overrides: Any) -> Rep:
    name = {ANN: "Ann", BOB: "Bob", CAT: "Cat", DAN: "Dan"}[rep_id]
    return Rep(rep_id=rep_id, name=name, email=f"{name.lower()}@seller.io", **overrides)


def lead(**facts: Any) -> LeadFacts:
    defaults: dict[str, Any] = {"email_domain": "acme.com", "country": "DE", "company_size": 50}
    return LeadFacts(lead_id=LEAD_ID, **(defaults | facts))


def owned(domain: str, rep_id: UUID) -> AccountIndex:
    """The accounts of one owner: `domain` belongs to `rep_id`."""
    return AccountIndex.build([Account(domain, rep_id)])


def assigned(result: Assignment | NoRepAvailable) -> Assignment:
    assert isinstance(result, Assignment), result.reason
    return result


def skipped(result: Assignment | NoRepAvailable, rep_id: UUID, step: str = "pool") -> str | None:
    [entry] = [
        c for c in result.reason["candidates"] if c["rep_id"] == str(rep_id) and c["step"] == step
    ]
    return entry["skipped"]  # type: ignore[no-any-return]


def test_prefers_the_account_owner_over_round_robin() -> None:
    policy = RoutingPolicy(accounts=owned("acme.com", BOB), rr_state={"default": {str(ANN): 99}})
    result = assigned(route(lead(), [rep(ANN), rep(BOB)], policy, now=NOW))
    assert (result.rep_id, result.rule) == (BOB, "account_owner")
    assert result.reason["rule"] == "account_owner"
    assert result.reason["detail"] == "account owner of acme.com"
    assert result.new_rr_state == {"default": {str(ANN): 99}}


@pytest.mark.parametrize(
    ("facts", "owned_domain", "owner_found"),
    [
        ({"email_domain": "eu.acme.com"}, "acme.com", True),
        ({"email_domain": "gmail.com", "website_domain": "acme.com"}, "acme.com", True),
        ({"email_domain": "gmail.com", "website_domain": None}, "gmail.com", False),
        ({"email_domain": "yahoo.co.jp"}, "yahoo.co.jp", False),
        ({"email_domain": "acme.com"}, "com", False),
        ({"email_domain": "acme.com"}, "other.com", False),
    ],
)
def test_finds_the_account_owner_by_company_domain_never_by_free_mail(
    facts: dict[str, Any], owned_domain: str, owner_found: bool
) -> None:
    policy = RoutingPolicy(accounts=owned(owned_domain, BOB), rr_state={"default": {str(ANN): 10}})
    result = assigned(route(lead(**facts), [rep(ANN), rep(BOB)], policy, now=NOW))
    assert (result.rule == "account_owner") is owner_found
    assert result.rep_id == (BOB if owner_found else ANN)


def test_falls_through_to_round_robin_when_the_owner_is_unavailable_and_says_why() -> None:
    owner = rep(BOB, timezone="Asia/Tokyo", working_hours={"mon": ["09:00-17:00"]})
    policy = RoutingPolicy(accounts=owned("acme.com", BOB))
    result = assigned(route(lead(), [rep(ANN), owner], policy, now=NOW))  # 19:00 in Tokyo
    assert (result.rep_id, result.rule) == (ANN, "default")
    assert skipped(result, BOB, "account_owner") == "outside working hours (Asia/Tokyo 19:00)"
    assert "account owner of acme.com skipped: outside working hours" in result.reason["detail"]


def test_skips_a_rep_outside_working_hours_in_their_timezone() -> None:
    reps = [
        rep(ANN, timezone="America/Los_Angeles", working_hours={"mon": ["09:00-17:00"]}),
        rep(BOB, timezone="Europe/Paris", working_hours={"mon": ["09:00-17:00"]}),
    ]
    result = assigned(route(lead(), reps, RoutingPolicy(), now=NOW))
    assert result.rep_id == BOB
    assert skipped(result, ANN) == "outside working hours (America/Los_Angeles 02:00)"
    assert [c["eligible"] for c in result.reason["candidates"]] == [False, True]


EMEA_BIG = RoutingRule(name="emea-big", pool=[CAT], countries=["EMEA"], min_employees=1000)
HOT = RoutingRule(name="hot", pool=[DAN], min_score=80)
FINTECH_NA = RoutingRule(name="fintech-na", pool=[BOB], countries=["NA"], industries=["FinTech"])


@pytest.mark.parametrize(
    ("facts", "rule", "rep_id"),
    [
        ({"country": "FR", "company_size": 5000, "score": 90}, "emea-big", CAT),
        ({"country": "FR", "company_size": 999, "score": 90}, "hot", DAN),
        ({"country": "US", "company_size": 5000, "score": 10}, "default", ANN),
        ({"country": "US", "industry": "fintech", "score": 10}, "fintech-na", BOB),
        ({"country": "CA", "industry": "Retail", "score": 10}, "default", ANN),
        ({"country": None, "company_size": 5000, "score": None}, "default", ANN),
        ({"country": "DE", "company_size": None, "score": 80}, "hot", DAN),
    ],
)
def test_the_first_matching_rule_picks_the_pool(
    facts: dict[str, Any], rule: str, rep_id: UUID
) -> None:
    policy = RoutingPolicy(rules=[EMEA_BIG, HOT, FINTECH_NA])
    reps = [rep(ANN), rep(BOB), rep(CAT), rep(DAN)]
    # Ann has the highest current weight in the default pool, so she wins it.
    state = {"default": {str(ANN): 10}}
    result = assigned(route(lead(**facts), reps, RoutingPolicy(policy.rules, state), now=NOW))
    assert (result.rule, result.rep_id) == (rule, rep_id)


def test_a_matching_rule_with_nobody_free_queues_the_lead_instead_of_falling_through() -> None:
    policy = RoutingPolicy(rules=[HOT], rr_state={"hot": {str(DAN): 3}})
    result = route(lead(score=95), [rep(ANN), rep(DAN, active=False)], policy, now=NOW)
    assert isinstance(result, NoRepAvailable)
    assert result.rule == "hot"
    assert result.reason["candidates"] == [
        {
            "rep_id": str(DAN),
            "name": "Dan",
            "step": "pool",
            "eligible": False,
            "skipped": "inactive",
            "weight": 1,
        }
    ]
    assert result.reason["detail"] == "rule 'hot': no eligible rep among 1"
    assert result.new_rr_state == {"hot": {str(DAN): 3}}


def test_the_territory_pool_holds_reps_whose_territories_name_the_country() -> None:
    rule = RoutingRule(name="local", pool="territory", countries=["EMEA"])
    reps = [rep(ANN), rep(BOB, territories=["NA"]), rep(CAT, territories=["DE", "AT", "CH"])]
    result = assigned(route(lead(country="AT"), reps, RoutingPolicy(rules=[rule]), now=NOW))
    assert result.rep_id == CAT
    assert [c["rep_id"] for c in result.reason["candidates"]] == [str(CAT)]


def test_an_empty_territory_pool_says_no_rep_covers_the_country() -> None:
    rule = RoutingRule(name="local", pool="territory")
    result = route(
        lead(country="JP"), [rep(ANN, territories=["EMEA"])], RoutingPolicy(rules=[rule]), now=NOW
    )
    assert isinstance(result, NoRepAvailable)
    assert "no rep's territories name country JP" in result.reason["detail"]


@pytest.mark.parametrize(
    ("facts", "ann", "expected_skip"),
    [
        ({"country": "US"}, {"territories": ["EMEA"]}, "territory: US not in EMEA"),
        ({"country": "de"}, {"territories": ["de"]}, None),
        (
            {"company_size": 5000},
            {"segments": ["smb", "mid_market"]},
            "segment: enterprise not in smb, mid_market",
        ),
        ({"company_size": 99}, {"segments": ["mid_market"]}, "segment: smb not in mid_market"),
        ({"company_size": 100}, {"segments": ["mid_market"]}, None),
        ({"company_size": 999}, {"segments": ["mid_market"]}, None),
        ({"company_size": 1000}, {"segments": ["enterprise"]}, None),
        (
            {"country": None, "company_size": None},
            {"territories": ["NA"], "segments": ["smb"]},
            None,
        ),
        ({"country": "BR"}, {"territories": [], "segments": []}, None),
    ],
)
def test_rep_territories_and_segments_filter_the_pool_and_empty_lists_restrict_nothing(
    facts: dict[str, Any], ann: dict[str, Any], expected_skip: str | None
) -> None:
    result = route(lead(**facts), [rep(ANN, **ann)], RoutingPolicy(), now=NOW)
    assert skipped(result, ANN) == expected_skip
    assert isinstance(result, Assignment) is (expected_skip is None)


def test_lead_facts_from_a_contract_lead_are_normalised() -> None:
    contract_lead = Lead(
        lead_id=LEAD_ID,
        email="Jo@Sales.ACME.com",
        country="de",
        company_size=120,
        industry="SaaS",
        website="https://www.acme.com/en",
        captured_at=NOW,
    )
    facts = LeadFacts.from_lead(contract_lead, 72)
    assert facts == LeadFacts(LEAD_ID, "sales.acme.com", "acme.com", "DE", 120, "SaaS", 72)
    assert facts.company_domain == "sales.acme.com"


def test_an_unknown_rep_id_in_a_pool_is_skipped_not_fatal() -> None:
    rule = RoutingRule(name="team", pool=[UUID(int=404), ANN])
    result = assigned(route(lead(), [rep(ANN)], RoutingPolicy(rules=[rule]), now=NOW))
    assert result.rep_id == ANN
    assert skipped(result, UUID(int=404)) == "unknown rep"


def test_routing_again_hands_the_lead_to_the_next_rep_not_one_already_tried() -> None:
    reps = [rep(ANN), rep(BOB), rep(CAT)]
    policy = RoutingPolicy(rr_state={"default": {str(ANN): 50}})
    result = assigned(route(lead(), reps, policy, now=NOW, exclude=[ANN]))
    assert result.rep_id != ANN
    assert skipped(result, ANN) == "already tried for this lead"


def test_routing_again_gives_a_tried_rep_the_lead_again_when_nobody_else_is_free() -> None:
    reps = [rep(ANN), rep(BOB, active=False)]
    result = assigned(route(lead(), reps, RoutingPolicy(), now=NOW, exclude=[ANN]))
    assert result.rep_id == ANN
    assert "already tried" in result.reason["detail"]


def test_routing_again_skips_an_account_owner_who_let_the_sla_lapse() -> None:
    policy = RoutingPolicy(accounts=owned("acme.com", BOB))
    result = assigned(route(lead(), [rep(ANN), rep(BOB)], policy, now=NOW, exclude=[BOB]))
    assert (result.rep_id, result.rule) == (ANN, "default")
    assert skipped(result, BOB, "account_owner") == "already tried for this lead"


def test_routing_again_returns_to_the_tried_owner_when_their_pool_is_empty() -> None:
    policy = RoutingPolicy(accounts=owned("acme.com", BOB))
    result = assigned(
        route(lead(), [rep(ANN, active=False), rep(BOB, weight=0)], policy, now=NOW, exclude=[BOB])
    )
    assert (result.rep_id, result.rule) == (BOB, "account_owner")


def test_no_reps_at_all_is_no_rep_available_not_an_error() -> None:
    result = route(lead(), [], RoutingPolicy(), now=NOW)
    assert isinstance(result, NoRepAvailable)
    assert result.reason == {
        "rule": "default",
        "candidates": [],
        "detail": "rule 'default': no eligible rep among 0",
    }


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        route(lead(), [rep(ANN)], RoutingPolicy(), now=datetime(2025, 3, 3))
