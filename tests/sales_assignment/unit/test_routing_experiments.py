"""Routing experiments, pure: the hash split, the variant's own rotation, and a shadow that
computes the variant's decision without touching the live one or its state."""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from sales_assignment.account_match import AccountIndex
from sales_assignment.experiment_trial import Trial, Trialled
from sales_assignment.experiments import CONTROL, VARIANT, Experiment, hash_fraction
from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.routing import Assignment, NoRepAvailable, RoutingPolicy, route
from sales_assignment.rules import RoutingRule

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
ANN, BOB, CID = UUID(int=1), UUID(int=2), UUID(int=3)
REPS = [Rep(rep_id=r, name=f"rep{r.int}", email="r@x.io") for r in (ANN, BOB, CID)]
EXP = UUID(int=0xE1)


def ids(n: int) -> list[UUID]:
    """`n` lead ids as a producer makes them (random UUIDs), reproducibly."""
    return [uuid.uuid5(uuid.NAMESPACE_URL, f"lead-{i}") for i in range(n)]


def test_the_hash_is_sha256_of_the_experiment_and_lead_ids_first_8_bytes_over_2_to_64() -> None:
    # Pinned: a lead keeps its arm across processes, replicas and releases.
    lead = UUID(int=0)
    assert hash_fraction(EXP, lead) == 0x7ECA4780A35DE515 / 2**64 == 0.49527403727130764
    assert hash_fraction(EXP, lead) == hash_fraction(EXP, lead)
    assert hash_fraction(UUID(int=0xE2), lead) != hash_fraction(EXP, lead)  # salted


def test_two_experiments_of_the_same_share_pick_independent_variant_arms() -> None:
    # Unsalted, every 0.2 split would take the same leads (overlap 0.2): effects carry over.
    first = Experiment(UUID(int=0xA1), "a", "split", [], 0.2)
    second = Experiment(UUID(int=0xB2), "b", "split", [], 0.2)
    both = sum(1 for i in ids(10_000) if first.arm(i) == second.arm(i) == VARIANT)
    sigma = (10_000 * 0.04 * 0.96) ** 0.5
    assert abs(both - 10_000 * 0.04) < 4 * sigma  # about 0.2 × 0.2, not 0.2


@pytest.mark.parametrize("share", [0.05, 0.2, 0.5, 0.9])
def test_the_split_is_close_to_the_share_over_10000_leads(share: float) -> None:
    exp = Experiment(EXP, "x", "split", [RoutingRule("r", pool=[BOB])], share)
    arms = Counter(exp.arm(lead) for lead in ids(10_000))
    sigma = (10_000 * share * (1 - share)) ** 0.5
    assert abs(arms[VARIANT] - 10_000 * share) < 4 * sigma
    assert arms[VARIANT] + arms[CONTROL] == 10_000


def test_a_lead_keeps_its_arm_and_a_bigger_share_only_adds_leads() -> None:
    small = Experiment(EXP, "x", "split", [], 0.1)
    big = Experiment(EXP, "x", "split", [], 0.3)  # the same experiment, a bigger share
    for lead in ids(2_000):
        assert small.arm(lead) == small.arm(lead)
        if small.arm(lead) == VARIANT:
            assert big.arm(lead) == VARIANT


def test_shadow_routes_every_lead_by_the_control_and_a_split_needs_a_share() -> None:
    shadow = Experiment(EXP, "x", "shadow", [])
    assert {shadow.arm(lead) for lead in ids(500)} == {CONTROL}
    with pytest.raises(ValueError, match="share"):
        Experiment(EXP, "x", "split", [])
    with pytest.raises(ValueError, match="share"):
        Experiment(EXP, "x", "split", [], 1.0)
    with pytest.raises(ValueError, match="share"):
        Experiment(EXP, "x", "shadow", [], 0.5)


def test_the_variant_rotates_in_its_own_pools_and_leaves_the_others_alone() -> None:
    exp = Experiment(EXP, "x", "split", [RoutingRule("both", pool=[ANN, BOB])], 0.5)
    live = {"both": {str(ANN): -1, str(BOB): 1}, "default": {str(CID): 0}}
    state = copy.deepcopy(live)
    lead = LeadFacts(lead_id=UUID(int=5))
    picks = []
    for _ in range(4):
        result = exp.route(lead, REPS, state, AccountIndex(), now=NOW)
        assert isinstance(result, Assignment)
        picks.append(result.rep_id)
        assert {k: v for k, v in result.new_rr_state.items() if k in live} == live
        state = result.new_rr_state
    assert picks == [ANN, BOB, ANN, BOB]  # afresh: the live pool "both" favoured Bob
    own = [k for k in state if k not in live]
    assert own == [exp.stored_key("both")]
    assert own[0].startswith(" exp ")
    assert len(own[0]) <= 100
    other = Experiment(UUID(int=8), "y", "split", [RoutingRule("both", pool=[ANN])], 0.5)
    assert other.stored_key("both") != own[0]


def test_the_variant_shares_the_pools_it_leaves_alone_and_changes_none_it_is_given() -> None:
    exp = Experiment(EXP, "x", "split", [RoutingRule("both", pool=[ANN, BOB])], 0.5)
    state = {"both": {str(ANN): -1, str(BOB): 1}, exp.stored_key("both"): {str(ANN): 0}}
    before = copy.deepcopy(state)
    result = exp.route(LeadFacts(lead_id=UUID(int=6)), REPS, state, AccountIndex(), now=NOW)
    assert state == before
    assert result.new_rr_state["both"] is state["both"]  # not the variant's: not copied
    assert result.new_rr_state[exp.stored_key("both")] != before[exp.stored_key("both")]


def trial_route(
    trial: Trial, lead: LeadFacts, state: dict[str, dict[str, int]], rules: list[RoutingRule]
) -> Trialled:
    def control() -> Assignment | NoRepAvailable:
        return route(lead, REPS, RoutingPolicy(rules, state), now=NOW)

    def variant() -> Assignment | NoRepAvailable:
        return trial.experiment.route(lead, REPS, state, AccountIndex(), now=NOW)

    return trial.route(lead.lead_id, control, variant)


def test_shadow_computes_the_variant_without_touching_the_live_decision_or_state() -> None:
    active = [RoutingRule("ann-only", pool=[ANN])]
    variant = [RoutingRule("bob-only", pool=[BOB])]
    trial = Trial(Experiment(EXP, "x", "shadow", variant))
    state: dict[str, dict[str, int]] = {"ann-only": {str(ANN): 0}}
    before = copy.deepcopy(state)
    lead = LeadFacts(lead_id=UUID(int=9))
    plain = route(lead, REPS, RoutingPolicy(active, state), now=NOW)
    trialled = trial_route(trial, lead, state, active)
    result = trialled.result
    assert state == before  # the input is never changed
    assert isinstance(result, Assignment)
    assert isinstance(plain, Assignment)
    assert (result.rep_id, result.rule) == (plain.rep_id, plain.rule) == (ANN, "ann-only")
    assert result.reason["variant"] == {"experiment": "x", "arm": "control"}
    # The live pools are the plain decision's; the shadow's own pool rides along, to be
    # saved only with a lead that is handed out.
    shadow_key = trial.experiment.stored_key("bob-only")
    assert {k: v for k, v in result.new_rr_state.items() if k != shadow_key} == plain.new_rr_state
    assert shadow_key in result.new_rr_state
    assert trialled.arm == CONTROL
    assert isinstance(trialled.shadow, Assignment)
    assert trialled.shadow.rep_id == BOB


def test_a_shadow_that_queues_moves_nothing_and_a_queued_live_lead_saves_no_shadow_pool() -> None:
    trial = Trial(Experiment(EXP, "x", "shadow", [RoutingRule("none", pool=[UUID(int=77)])]))
    lead = LeadFacts(lead_id=UUID(int=10))
    trialled = trial_route(trial, lead, {}, [])
    assert isinstance(trialled.result, Assignment)  # live: the default pool
    assert isinstance(trialled.shadow, NoRepAvailable)
    nobody = Trial(Experiment(EXP, "x", "shadow", [RoutingRule("both", pool=[ANN, BOB])]))
    queued = trial_route(nobody, lead, {}, [RoutingRule("ghost", pool=[UUID(int=78)])]).result
    assert isinstance(queued, NoRepAvailable)
    assert not any(k.startswith(" exp ") for k in queued.new_rr_state)


def test_a_split_variant_lead_is_routed_by_the_variant_rules_and_says_so() -> None:
    exp = Experiment(EXP, "x", "split", [RoutingRule("bob-only", pool=[BOB])], 0.5)
    trial = Trial(exp)
    seen: dict[str, set[Any]] = {CONTROL: set(), VARIANT: set()}
    for lead_id in ids(40):
        lead = LeadFacts(lead_id=lead_id)
        result = trial_route(trial, lead, {}, [RoutingRule("ann-only", pool=[ANN])]).result
        assert isinstance(result, Assignment)
        arm = exp.arm(lead_id)
        assert result.reason["variant"] == {"experiment": "x", "arm": arm}
        seen[arm].add((result.rep_id, result.rule))
    assert seen == {CONTROL: {(ANN, "ann-only")}, VARIANT: {(BOB, "bob-only")}}
