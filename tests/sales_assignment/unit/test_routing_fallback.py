"""A rule's fallback: a rep or a pool that takes the lead when nobody in the rule's pool can."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.fallback import Fallback
from sales_assignment.routing import Assignment, NoRepAvailable, RoutingPolicy, route
from sales_assignment.rules import RoutingRule, RulesInvalid, rule_docs, validate_rules

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # a Monday
ANN, BOB, CAT, DAN = (UUID(int=i) for i in (1, 2, 3, 4))
NAMES = {ANN: "Ann", BOB: "Bob", CAT: "Cat", DAN: "Dan"}
FACTS = LeadFacts(lead_id=UUID(int=999), email_domain="acme.com", country="DE", company_size=50)


def rep(rep_id: UUID, **overrides: Any) -> Rep:
    name = NAMES[rep_id]
    return Rep(rep_id=rep_id, name=name, email=f"{name.lower()}@seller.io", **overrides)


def rule(fallback: Fallback | None, pool: list[UUID] | None = None) -> RoutingPolicy:
    return RoutingPolicy(rules=[RoutingRule("emea", pool=pool or [ANN], fallback=fallback)])


def assigned(result: Assignment | NoRepAvailable) -> Assignment:
    assert isinstance(result, Assignment), result.reason
    return result


def lines(result: Assignment | NoRepAvailable) -> list[tuple[str, str, str | None]]:
    return [(c["name"], c["step"], c["skipped"]) for c in result.reason["candidates"]]


def test_the_pool_comes_first_while_anyone_in_it_is_eligible() -> None:
    result = assigned(route(FACTS, [rep(ANN), rep(BOB)], rule(Fallback(rep=BOB)), now=NOW))
    assert result.rep_id == ANN
    assert lines(result) == [("Ann", "pool", None)]  # the fallback was not even looked at


def test_a_fallback_rep_takes_the_lead_when_nobody_in_the_pool_is_eligible() -> None:
    reps = [rep(ANN, active=False), rep(BOB)]
    result = assigned(route(FACTS, reps, rule(Fallback(rep=BOB)), now=NOW))
    assert (result.rep_id, result.rule) == (BOB, "emea")
    assert lines(result) == [("Ann", "pool", "inactive"), ("Bob", "fallback", None)]
    assert result.reason["detail"] == "rule 'emea': no eligible rep among 1; fallback rep Bob"
    assert result.new_rr_state == {}  # one rep: no round robin to advance


def test_a_fallback_rep_of_weight_zero_takes_overflow_outside_the_rotation() -> None:
    reps = [rep(ANN, max_open_leads=1, open_leads=1), rep(BOB, weight=0)]
    assert assigned(route(FACTS, reps, rule(Fallback(rep=BOB)), now=NOW)).rep_id == BOB
    # In a fallback pool, weight 0 still means "not in the round robin".
    result = route(FACTS, reps, rule(Fallback(pool=[BOB])), now=NOW)
    assert isinstance(result, NoRepAvailable)
    assert lines(result)[1] == ("Bob", "fallback", "weight 0 (not in round robin)")


def test_a_fallback_pool_is_a_weighted_round_robin_of_its_own() -> None:
    reps = [rep(ANN, active=False), rep(BOB, weight=2), rep(CAT)]
    policy = rule(Fallback(pool=[BOB, CAT]))
    picks = []
    for _ in range(6):
        result = assigned(route(FACTS, reps, policy, now=NOW))
        picks.append(result.rep_id)
        policy = RoutingPolicy(rules=policy.rules, rr_state=result.new_rr_state)
    assert (picks.count(BOB), picks.count(CAT)) == (4, 2)
    # The fallback's own state; the rule's own pool state (key "emea") untouched.
    assert set(policy.rr_state) == {Fallback(pool=[BOB, CAT]).rr_pool("emea")}
    assert "fallback pool: weighted round robin chose" in result.reason["detail"]


@pytest.mark.parametrize(
    ("fallback", "expected"),
    [
        (Fallback(pool="territory"), {CAT}),  # covers DE by territory; Dan covers everywhere
        (Fallback(pool="default"), {CAT, DAN}),  # every rep
    ],
)
def test_named_fallback_pools_are_the_territory_and_the_default_pool(
    fallback: Fallback, expected: set[UUID]
) -> None:
    reps = [rep(ANN, active=False), rep(BOB, territories=["US"]), rep(CAT, territories=["DE"])]
    reps.append(rep(DAN))
    result = route(FACTS, reps, rule(fallback), now=NOW)
    eligible = {c["rep_id"] for c in result.reason["candidates"] if c["eligible"]}
    assert eligible == {str(r) for r in expected}
    assert assigned(result).rep_id in expected


def test_with_nobody_eligible_in_the_fallback_either_the_lead_is_queued_and_says_why() -> None:
    reps = [
        rep(ANN, active=False),
        rep(BOB, out_of_office=[(NOW, datetime(2030, 1, 1, tzinfo=UTC))]),
    ]
    result = route(FACTS, reps, rule(Fallback(rep=BOB)), now=NOW)
    assert isinstance(result, NoRepAvailable)
    assert result.rule == "emea"
    assert (
        result.reason["detail"] == "rule 'emea': no eligible rep among 1, nor in its fallback (1)"
    )
    assert lines(result)[1][2].startswith("out_of_office until")  # type: ignore[union-attr]


def test_a_rep_who_declined_is_never_the_fallback() -> None:
    reps = [rep(ANN, active=False), rep(BOB)]
    result = route(FACTS, reps, rule(Fallback(rep=BOB)), now=NOW, barred={BOB})
    assert isinstance(result, NoRepAvailable)
    assert lines(result)[1] == ("Bob", "fallback", "declined this lead")


def test_after_an_sla_miss_a_fresh_fallback_rep_beats_the_pool_rep_who_missed_it() -> None:
    reps = [rep(ANN), rep(BOB)]
    result = assigned(route(FACTS, reps, rule(Fallback(rep=BOB)), now=NOW, exclude={ANN}))
    assert result.rep_id == BOB
    assert lines(result) == [
        ("Ann", "pool", "already tried for this lead"),
        ("Bob", "fallback", None),
    ]
    # Once the fallback was tried too, the pool's tried rep comes before it again.
    again = assigned(route(FACTS, reps, rule(Fallback(rep=BOB)), now=NOW, exclude={ANN, BOB}))
    assert again.rep_id == ANN
    assert again.reason["detail"].endswith("(every eligible rep was already tried)")


def test_a_fallback_listing_pool_members_judges_them_once() -> None:
    reps = [rep(ANN, active=False), rep(BOB)]
    result = assigned(route(FACTS, reps, rule(Fallback(pool=[ANN, BOB])), now=NOW))
    assert result.rep_id == BOB
    assert lines(result) == [("Ann", "pool", "inactive"), ("Bob", "fallback", None)]


def test_the_rules_document_names_a_fallback_rep_or_pool_and_reads_back() -> None:
    rep_id = str(BOB)
    doc = [
        {"name": "a", "pool": [str(ANN)], "fallback": {"rep": rep_id}},
        {"name": "b", "fallback": {"pool": "default"}},
        {"name": "c", "fallback": {"pool": [rep_id, str(CAT)]}},
    ]
    rules = validate_rules(doc)
    assert [r.fallback for r in rules] == [
        Fallback(rep=BOB),
        Fallback(pool="default"),
        Fallback(pool=[BOB, CAT]),
    ]
    assert rule_docs(rules) == [
        doc[0],
        doc[1] | {"pool": "territory"},
        doc[2] | {"pool": "territory"},
    ]
    assert validate_rules(rule_docs(rules)) == rules


@pytest.mark.parametrize(
    ("fallback", "loc", "message"),
    [
        ({}, "rules[0].fallback", "name either a rep"),
        ({"rep": str(BOB), "pool": "default"}, "rules[0].fallback", "name either a rep"),
        ({"pool": "emea"}, "rules[0].fallback.pool", "'territory', 'default' or a non-empty"),
        ({"pool": []}, "rules[0].fallback.pool", "non-empty list of rep ids"),
        ({"pool": ["bob"]}, "rules[0].fallback.pool", "not a rep id"),
        ({"rep": "bob"}, "rules[0].fallback.rep", "valid UUID"),
        ({"team": "x"}, "rules[0].fallback.team", "Extra inputs"),
        ("bob", "rules[0].fallback", "must be an object"),
    ],
)
def test_a_bad_fallback_is_refused_naming_the_field(
    fallback: object, loc: str, message: str
) -> None:
    with pytest.raises(RulesInvalid) as caught:
        validate_rules([{"name": "a", "fallback": fallback}])
    [error] = caught.value.errors
    assert error["loc"] == loc
    assert message in error["msg"]


def test_a_long_rule_name_still_fits_the_round_robin_key() -> None:
    assert len(Fallback(pool=[ANN]).rr_pool("x" * 100)) <= 100  # rr_state.pool
    assert Fallback(pool="default").rr_pool("x") == "default"  # shares the default pool's state
